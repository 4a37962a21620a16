//! Live tests against a real PostgreSQL: run them with `scripts/with-postgres cargo test --workspace`.
//!
//! Each test creates its own database (see `support`), so they run in parallel.

mod support;

mod citus;
mod cli;
mod convert;
mod drift;
mod encodings;
mod entity;
mod hostile;
mod indexes;
mod kinds;
mod maintenance;
mod migration;
mod properties;
mod recipes;
mod statements;
mod status_page;
mod time_range;
mod time_range_more;
