//! The crate's own tables, `sopp_partition_config` and `sopp_partition_log`: their migrations (feature
//! `migration`), to run in either of two ways.
//!
//! - **In your `Migrator`**, through `sea-orm-pg-partitioning-migration` (which re-exports [`Migrator`]): they
//!   are recorded in your `seaql_migrations` table with your own.
//! - **On their own**, with [`up`], [`down`] and [`status`] here or `pg-partition migrate up|down|status`:
//!   they are recorded in the same `seaql_migrations` table under the same names, whatever else it holds, so
//!   either way sees what the other did.
//!
//! ```no_run
//! # async fn run(db: sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
//! use sea_orm_pg_partitioning::migrations;
//!
//! migrations::up(&db).await?;                  // at start-up: the crate's tables, created or brought up to date
//! for (name, applied) in migrations::status(&db).await? {
//!     println!("{name}: {}", if applied { "applied" } else { "pending" });
//! }
//! # Ok(()) }
//! ```

use std::collections::HashSet;

use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use sea_orm_migration::prelude::*;

mod m20261124_000001_sopp_create_partition_tables;
mod m20261124_000002_sopp_partition_kinds;
mod m20261124_000003_sopp_maintenance;
mod m20261201_000001_sopp_created_tablespace;
mod m20261201_000002_sopp_key_encoding;
mod m20261201_000003_sopp_conversion;
mod m20261201_000004_sopp_partition_properties;
mod m20261201_000005_sopp_columnar;
mod m20261201_000006_sopp_log_hot_updates;

/// The crate's migrations, in order: a sea-orm-migration `Migrator` of its own, or a list to merge into
/// yours (`Migrator::migrations()`).
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
            Box::new(m20261201_000003_sopp_conversion::Migration),
            Box::new(m20261201_000004_sopp_partition_properties::Migration),
            Box::new(m20261201_000005_sopp_columnar::Migration),
            Box::new(m20261201_000006_sopp_log_hot_updates::Migration),
        ]
    }
}

/// Your migrations with the crate's, ordered by name: `mYYYYMMDD_HHMMSS_..`, so by when each was written, which
/// is the order they are applied in. sea-orm-migration rolls back in list order, so this order keeps `down`
/// rolling back what was applied last, whatever the dates of yours against the crate's.
///
/// ```
/// use sea_orm_migration::prelude::*;
///
/// pub struct Migrator;
///
/// #[async_trait::async_trait]
/// impl MigratorTrait for Migrator {
///     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
///         sea_orm_pg_partitioning::migrations::merge(Self::own())
///     }
/// }
///
/// impl Migrator {
///     /// Yours: `sea-orm-cli migrate generate` keeps this list.
///     fn own() -> Vec<Box<dyn MigrationTrait>> {
///         vec![]
///     }
/// }
/// assert!(Migrator::migrations().len() >= 5);
/// ```
pub fn merge(own: Vec<Box<dyn MigrationTrait>>) -> Vec<Box<dyn MigrationTrait>> {
    let mut all = Migrator::migrations();
    all.extend(own);
    all.sort_by(|a, b| a.name().cmp(b.name()));
    all
}

/// The names of the crate's migrations recorded as applied in `seaql_migrations` (the table is created when
/// missing, as sea-orm-migration does).
async fn applied(db: &DatabaseConnection) -> Result<HashSet<String>, DbErr> {
    Migrator::install(db).await?;
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let select = Query::select()
        .column(Alias::new("version"))
        .from(Migrator::migration_table_name())
        .and_where(Expr::col(Alias::new("version")).is_in(names))
        .to_owned();
    let mut found = HashSet::new();
    for row in db.query_all(&select).await? {
        found.insert(row.try_get_by_index::<String>(0)?);
    }
    Ok(found)
}

/// Each of the crate's migrations, in order, with whether it is applied.
pub async fn status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    let applied = applied(db).await?;
    Ok(Migrator::migrations()
        .iter()
        .map(|m| (m.name().to_owned(), applied.contains(m.name())))
        .collect())
}

/// Applies the crate's pending migrations in order, each in a transaction with its record; returns their
/// names. Other migrations recorded in the same table are left alone.
pub async fn up(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let applied = applied(db).await?;
    let mut done = Vec::new();
    for migration in Migrator::migrations() {
        if applied.contains(migration.name()) {
            continue;
        }
        let txn = db.begin().await?;
        migration.up(&SchemaManager::new(&txn)).await?;
        let record = Query::insert()
            .into_table(Migrator::migration_table_name())
            .columns([Alias::new("version"), Alias::new("applied_at")])
            .values([
                migration.name().into(),
                chrono::Utc::now().timestamp().into(),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .to_owned();
        txn.execute(&record).await?;
        txn.commit().await?;
        done.push(migration.name().to_owned());
    }
    Ok(done)
}

/// Rolls back the last `steps` applied migrations of the crate (all of them with `None`), newest first, each
/// in a transaction with its record; returns their names. Rolling back the first drops the crate's tables
/// and everything they record (not the partitions themselves).
pub async fn down(db: &DatabaseConnection, steps: Option<usize>) -> Result<Vec<String>, DbErr> {
    let applied = applied(db).await?;
    let mut done = Vec::new();
    for migration in Migrator::migrations().into_iter().rev() {
        if steps.is_some_and(|s| done.len() >= s) {
            break;
        }
        if !applied.contains(migration.name()) {
            continue;
        }
        let txn = db.begin().await?;
        migration.down(&SchemaManager::new(&txn)).await?;
        let forget = Query::delete()
            .from_table(Migrator::migration_table_name())
            .and_where(Expr::col(Alias::new("version")).eq(migration.name()))
            .to_owned();
        txn.execute(&forget).await?;
        txn.commit().await?;
        done.push(migration.name().to_owned());
    }
    Ok(done)
}
