//! PostgreSQL declarative table partitioning for [SeaORM](https://www.sea-ql.org/SeaORM/) and
//! [SeaQuery](https://github.com/SeaQL/sea-query): partitioned tables created from your entities and
//! migrations, and their partitions managed while your service runs.
//!
//! # The statement extension
//!
//! [`schema`] extends sea-query with what PostgreSQL partitioning needs and sea-query lacks. It is pure: it
//! builds SQL text and sends nothing. Every statement checks itself in `build` and returns a typed [`StatementError`]
//! before any SQL exists.
//!
//! ## A partitioned parent from any `TableCreateStatement`
//!
//! [`partitioned_by`](schema::PartitionedBy::partitioned_by) turns a hand-written statement, or one that
//! SeaORM builds from an entity, into a partitioned parent. PostgreSQL requires every unique constraint of a
//! partitioned table, the primary key included, to contain all partition key columns; a primary key that does
//! not is suppressed by default, or widened on request ([`PrimaryKeyPolicy`](schema::PrimaryKeyPolicy)).
//!
//! ```
//! use sea_orm::sea_query::{ColumnDef, PostgresQueryBuilder, Table};
//! use sea_orm_pg_partitioning::prelude::*;
//!
//! let sql = Table::create()
//!     .table("event")
//!     .col(ColumnDef::new("id").big_integer().not_null().primary_key())
//!     .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
//!     .partitioned_by(PartitionKey::range(["created_at"]))
//!     .primary_key_policy(PrimaryKeyPolicy::IncludeKey)
//!     .build(PostgresQueryBuilder)?;
//! assert_eq!(
//!     sql,
//!     r#"CREATE TABLE "event" ( "id" bigint NOT NULL, "created_at" timestamp with time zone NOT NULL, PRIMARY KEY ("id", "created_at") ) PARTITION BY RANGE ("created_at")"#
//! );
//! # Ok::<(), Error>(())
//! ```
//!
//! Keys may be several columns, or expressions ([`KeyPart::expr`](schema::KeyPart::expr)), with a collation or
//! an operator class; a UNIQUE constraint that PostgreSQL would reject is reported with the fix:
//!
//! ```
//! use sea_orm::sea_query::{ColumnDef, PostgresQueryBuilder, Table};
//! use sea_orm_pg_partitioning::prelude::*;
//!
//! let err = Table::create()
//!     .table("account")
//!     .col(ColumnDef::new("email").text().unique_key())
//!     .col(ColumnDef::new("region").text())
//!     .partitioned_by(PartitionKey::list(["region"]))
//!     .build(PostgresQueryBuilder)
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"unique constraint UNIQUE ("email") on table "account" does not contain the partition key column(s) "region"; PostgreSQL requires every unique constraint of a partitioned table to contain all partition key columns: add "region" to the constraint, or drop it"#
//! );
//! ```
//!
//! ## Partitions, ATTACH, DETACH and tablespaces
//!
//! [`Partition`](schema::Partition) is the entry point, in the manner of sea-query's `Table`: range bounds of
//! any type with `MINVALUE` / `MAXVALUE` (timestamps carry an explicit offset), list bounds with `NULL` and
//! `''`, hash bounds, `DEFAULT`, `IF NOT EXISTS`, `TABLESPACE`, and partitions that are themselves partitioned.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use sea_orm::sea_query::PostgresQueryBuilder;
//! use sea_orm_pg_partitioning::prelude::*;
//!
//! let sql = Partition::create()
//!     .table("event_2024_01")
//!     .partition_of("event")
//!     .values_from_to(
//!         [Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()],
//!         [Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap()],
//!     )
//!     .tablespace("fast")
//!     .build(PostgresQueryBuilder)?;
//! assert_eq!(
//!     sql,
//!     r#"CREATE TABLE "event_2024_01" PARTITION OF "event" FOR VALUES FROM ('2024-01-01 00:00:00.000000 +00:00') TO ('2024-02-01 00:00:00.000000 +00:00') TABLESPACE "fast""#
//! );
//!
//! let sql = Partition::detach().table("event").partition("event_2024_01").concurrently().build(PostgresQueryBuilder)?;
//! assert_eq!(sql, r#"ALTER TABLE "event" DETACH PARTITION "event_2024_01" CONCURRENTLY"#);
//!
//! let sql = Partition::set_tablespace().index("event_2024_01_pkey").tablespace("archive").build(PostgresQueryBuilder)?;
//! assert_eq!(sql, r#"ALTER INDEX "event_2024_01_pkey" SET TABLESPACE "archive""#);
//! # Ok::<(), Error>(())
//! ```
//!
//! ## In migrations
//!
//! With the `migration` feature, [`PartitionSchemaManagerExt`](prelude::PartitionSchemaManagerExt) adds
//! `create_partitioned_table`, `create_partition`, `attach_partition`, `detach_partition` and
//! `set_tablespace` to sea-orm-migration's `SchemaManager`; each validates before it executes.
//!
//! # Managing partitions while your service runs
//!
//! [`PartitionService`](service::PartitionService) keeps its configuration and history in two tables of its
//! own, [`partition_config`](entity::partition_config) and [`partition_log`](entity::partition_log), created
//! by the `sea-orm-pg-partitioning-migration` crate. It registers a table partitioned by RANGE on a timestamp
//! column and then creates partitions ahead, detaches old ones by a retention rule, attaches them back, moves
//! them and all their indexes between tablespaces, drops and truncates them. Period boundaries are local
//! midnights (or hours) of a configured time zone, correct across DST; "now" comes from a replaceable
//! [`Clock`](service::Clock).
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use sea_orm::{ConnectOptions, ConnectionTrait, Database};
//! use sea_orm_migration::MigratorTrait;
//! use sea_orm_pg_partitioning::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let Ok(url) = std::env::var("DATABASE_URL") else { return Ok(()) }; // run by `scripts/with-postgres cargo test`
//! # let setup = Database::connect(url.as_str()).await?;
//! # setup.execute_unprepared("DROP SCHEMA IF EXISTS doc_tour CASCADE; CREATE SCHEMA doc_tour").await?;
//! # let mut options = ConnectOptions::new(url);
//! # options.set_schema_search_path("doc_tour");
//! let db = Database::connect(options).await?;
//! sea_orm_pg_partitioning_migration::Migrator::up(&db, None).await?; // the crate's tables
//! db.execute_unprepared(
//!     "CREATE TABLE event (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)",
//! )
//! .await?;
//!
//! let clock = ManualClock::new(Utc.with_ymd_and_hms(2024, 1, 15, 12, 0, 0).unwrap());
//! let service = PartitionService::new(db.clone()).with_clock(clock.clone());
//! let events = service
//!     .time_range_table("event")
//!     .period(Period::Month)
//!     .interval(1)                                  // detach a month after a partition ends
//!     .time_zone(chrono_tz::Europe::Berlin)
//!     .register()                                   // config row + the partition of this month
//!     .await?;
//! assert_eq!(events.latest().await?.unwrap().partition_name, "event_2024-01-01_2024-02-01");
//!
//! clock.set(Utc.with_ymd_and_hms(2024, 3, 31, 0, 0, 0).unwrap());
//! let created = events.create_partition(1).await?; // catches up to a day before it is needed
//! assert_eq!(created.len(), 3);                     // February, March, April
//! let detached = events.detach_partitions(None).await?; // by the rule: January ended before 29 February
//! assert_eq!(detached[0].partition_name, "event_2024-01-01_2024-02-01");
//! events.attach_partitions(Some(&detached), None).await?; // and back
//! events.update_config(|s| s.period = Period::Week).await?; // applies at once
//! # db.execute_unprepared("DROP SCHEMA doc_tour CASCADE").await?;
//! # Ok(()) }
//! ```
//!
//! Every change runs in one transaction holding an advisory lock on the table and its configuration row
//! `FOR UPDATE`: the DDL, the log row and the [hooks](service::PartitionHook) commit together or not at all,
//! and any number of service instances may call the same operation at once.
//!
//! List, hash and integer-range tables are registered the same way
//! ([`list_table`](service::PartitionService::list_table), [`hash_table`](service::PartitionService::hash_table),
//! [`id_range_table`](service::PartitionService::id_range_table)); range and list tables may keep a DEFAULT
//! partition, whose rows move into a partition created later for them, in the same transaction.
//!
//! # Maintenance
//!
//! [`run_maintenance`](service::PartitionService::run_maintenance) premakes, applies retention (detach, or drop
//! after a grace period) and finishes interrupted concurrent detaches for every registered table;
//! [`plan`](service::PartitionService::plan) shows the same work as typed steps without doing it, and
//! [`spawn_maintenance`](service::PartitionService::spawn_maintenance) runs it in a tokio task. Steps re-check
//! themselves under the table's lock, so replicas can all run it; DDL waits at most a `lock_timeout` and is
//! retried; a low-lock creation mode and `DETACH .. CONCURRENTLY` keep writers going.
//!
//! # Partitioning a table you already have
//!
//! [`convert`](service::PartitionService::convert) turns a plain table into a partitioned one of the same
//! name while the application keeps reading and writing it. It copies the table in batches while a trigger
//! records the application's changes, catches up, and swaps under one short lock. With
//! [`legacy_partition`](service::ConversionBuilder::legacy_partition) it keeps the old rows in place as one
//! partition instead. A conversion is resumed from its recorded phase after a kill, and can be rolled back
//! before its swap. [`model::convert`] gives the method and why it loses nothing.
//!
//! # Status, drift and repair
//!
//! [`status`](service::PartitionService::status) reads every partition from the catalog in a constant number
//! of queries and joins it with the log: bounds, attached or not, the tablespace of each table and index,
//! estimated rows and size, how far ahead partitions reach, rows in DEFAULT, and every
//! [`Anomaly`](service::Anomaly) between the catalog, the log and the configuration.
//! [`reconcile`](service::PartitionService::reconcile) reports them or repairs each kind in the
//! [`Direction`](service::Direction) a [`RepairPolicy`](service::RepairPolicy) gives it, one locked
//! transaction per repair; [`adopt`](service::TimeRangeRegistration::adopt) takes over a table partitioned by
//! hand or by pg_partman. The `pg-partition` binary (feature `cli`) does all of this from a shell.
//!
//! # The status page
//!
//! [`status_page`] draws a [`Status`](service::Status) as one self-contained HTML page: per table, its
//! partitions on the key axis with their sizes and states, the premake horizon and the retention threshold as
//! lines, and every anomaly marked where it is (`status.to_html()`, or `pg-partition status --html FILE`).
//!
//! # Layers
//!
//! Data flows one way. [`schema`] builds statements and [`calendar`] computes boundaries, both pure;
//! [`model`] decides without a connection: a partition's bound as the log records it
//! ([`LoggedBound`](model::LoggedBound)), the maintenance [`plan`](model::plan), and the assessment behind
//! [`status`](model::status); [`service`] reads the catalog and the log, hands them to the model and runs
//! what it returns, one transaction per change; [`status_page`] and the `pg-partition` binary present it.
//!
//! # Identifiers
//!
//! Table, index, tablespace, schema, collation and operator class names are quoted by sea-query; values are
//! written by sea-query. A name PostgreSQL would not keep exactly as given (empty, containing NUL, longer than
//! 63 bytes, which PostgreSQL silently truncates) is refused with a typed error. sea-query writes *constraint*
//! names into `CREATE TABLE` without escaping them, so a constraint or index name containing `"` is refused too.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    missing_debug_implementations,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

pub mod calendar;
pub mod encoding;
pub mod entity;
mod error;
mod exec;
#[cfg(feature = "migration")]
mod migration;
#[cfg(feature = "migration")]
pub mod migrations;
pub mod model;
pub mod schema;
pub mod service;
pub mod status_page;

pub use error::{
    ConfigProblem, EncodingError, Error, Result, StatementError, StatementResult, sqlstate,
};

/// What a migration or a service needs, in one import; names that other crates' preludes use too (`Result`,
/// `Status`, `Report`, `Step`) are left out, as is what only reports and tests name (find those in
/// [`service`], [`model`] and [`entity`]).
///
/// ```
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let key = PartitionKey::range(["created_at"]);
/// let period = Period::Month;
/// # let _ = (key, period);
/// ```
pub mod prelude {
    pub use crate::calendar::Period;
    pub use crate::encoding::TimeEncoding;
    pub use crate::entity::partition_config::{CreationMode, RetentionAction};
    pub use crate::entity::partition_log;
    pub use crate::error::Error;
    #[cfg(feature = "migration")]
    pub use crate::migration::PartitionSchemaManagerExt;
    pub use crate::schema::{
        KeyPart, ListValue, Partition, PartitionBound, PartitionKey, PartitionedBy,
        PrimaryKeyPolicy, RangeValue,
    };
    pub use crate::service::{
        HashTable, HookError, IdRangeTable, ListTable, MaintenanceOptions, ManualClock,
        PartitionEvent, PartitionEventKind, PartitionHook, PartitionService, TableHandle,
        TimeRangeTable,
    };
}
