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
//!         let mut migrations = sea_orm_pg_partitioning_migration::Migrator::migrations();
//!         // migrations.push(Box::new(m20250101_000001_create_event::Migration)); // yours, after ours
//!         migrations
//!     }
//! }
//! ```
//!
//! Their names start with `m20261124_000001_sopp_`, so they sort before migrations written later and never
//! clash with yours. The crate also re-exports the `SchemaManager` extension, so a migration crate needs one
//! dependency for both.

pub use sea_orm_pg_partitioning::migrations::Migrator;
pub use sea_orm_pg_partitioning::prelude::PartitionSchemaManagerExt;
