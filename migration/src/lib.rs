//! The migrations that create sea-orm-pg-partitioning's own tables, for you to add to your `Migrator`.
//!
//! It also re-exports the `SchemaManager` extension, so a migration crate needs one dependency for both.

pub use sea_orm_pg_partitioning::prelude::PartitionSchemaManagerExt;
