//! The pure model of what the service manages: no connection, no I/O, everything unit-tested without a
//! database. The service reads the catalog and the log, hands them to the model, and runs what it returns.
//!
//! - [`bound`]: a partition's bound, as the log records it and as the catalog prints it;
//! - [`convert`]: converting a plain table into a partitioned one online;
//! - [`spec`]: what kind of table it is, with that kind's settings;
//! - [`plan`]: what maintenance must do now;
//! - [`recipe`]: the statements of each change, composed in one place;
//! - [`report`]: what a maintenance run did;
//! - [`status`]: what status reports, and the pure assessment behind it.

pub(crate) mod assess;
pub mod bound;
pub mod convert;
pub mod group;
pub mod index;
pub mod plan;
pub mod properties;
pub mod recipe;
pub mod report;
#[cfg(feature = "serde")]
pub mod serialize;
pub mod spec;
pub mod status;

pub use bound::{CatalogBound, Edge, LoggedBound};
pub use spec::{TableKind, TableSpec};
pub(crate) mod table;
