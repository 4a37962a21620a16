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

use sea_orm_migration::prelude::*;

pub use sea_orm_pg_partitioning::prelude::PartitionSchemaManagerExt;

mod m20261124_000001_sopp_create_partition_tables;
mod m20261124_000002_sopp_partition_kinds;
mod m20261124_000003_sopp_maintenance;
mod m20261201_000001_sopp_created_tablespace;
mod m20261201_000002_sopp_key_encoding;

/// The crate's migrations, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_sopp_create_partition_tables::Migration),
            Box::new(m20261124_000002_sopp_partition_kinds::Migration),
            Box::new(m20261124_000003_sopp_maintenance::Migration),
            Box::new(m20261201_000001_sopp_created_tablespace::Migration),
            Box::new(m20261201_000002_sopp_key_encoding::Migration),
        ]
    }
}
