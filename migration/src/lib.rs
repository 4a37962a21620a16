//! The migrations that create sea-orm-pg-partitioning's own tables, `sopp_partition_config` and
//! `sopp_partition_log`, for you to add to your `Migrator`.
//!
//! ```
//! use sea_orm_migration::prelude::*;
//!
//! pub struct Migrator;
//!
//! #[async_trait::async_trait]
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         sea_orm_pg_partitioning_migration::merge(Self::own())
//!     }
//! }
//!
//! // Last in the file: `sea-orm-cli migrate generate` rewrites this list.
//! impl Migrator {
//!     fn own() -> Vec<Box<dyn MigrationTrait>> {
//!         vec![]
//!     }
//! }
//! ```
//!
//! [`merge`] orders yours and the crate's by name, that is by when each was written, so sea-orm-migration's
//! `down` (which follows the list) rolls back what was applied last. `sea-orm-cli migrate generate` keeps
//! working: it adds the new module and rewrites the `vec![..]` of `own`, which must stay the last list in the
//! file.
//!
//! The crate's migrations can also run on their own, recorded in the same table:
//! `sea_orm_pg_partitioning::migrations::up(&db)` or `pg-partition migrate up`.
//!
//! Their names start with `m20261124_000001_sopp_`, so they sort before migrations written later and never
//! clash with yours. The crate also re-exports the `SchemaManager` extension, so a migration crate needs one
//! dependency for both.

pub use sea_orm_pg_partitioning::migrations::{Migrator, merge};
pub use sea_orm_pg_partitioning::prelude::PartitionSchemaManagerExt;
