//! `PartitionService`: registers partitioned tables and manages their partitions, recording every change in
//! the crate's own tables (see [`entity`](crate::entity)).
//!
//! Every state change runs in one transaction that first takes a transaction-scoped advisory lock on the
//! parent table and reads its configuration row `FOR UPDATE`; the DDL, the log rows and the hooks commit
//! together or not at all. Several service instances (replicas, tasks) may therefore call the same operation on
//! the same table at once: they serialise, and each sees what the previous one did.

mod catalog;
mod citus;
mod clock;
mod convert;
mod core;
mod group;
pub(crate) mod handle;
mod hook;
pub(crate) mod index;
mod kinds;
mod maintenance;
pub mod metrics;
mod properties;
mod reconcile;
mod status;
mod time_range;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityName, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

pub use crate::model::convert::{
    Carried, ConversionKind, ConversionPlan, ConversionProblem, MAX_CONVERSION_PARTITIONS,
    PlannedPartition,
};
pub use crate::model::plan::{
    BlockedStep, Blocker, MAX_CREATES_PER_RUN, Plan, Step, StepAction, StepRange,
};
pub use crate::model::report::{Report, StepOutcome, StepReport, TableReport};
pub use crate::model::status::{
    Anomaly, AnomalyKind, CatalogPartition, IndexPlacement, PartitionState, PartitionStatus,
    Status, TableStatus,
};
pub use crate::model::{CatalogBound, Edge};
#[cfg(feature = "migration")]
pub(crate) use catalog::current_schema as catalog_current_schema;
pub use clock::{Clock, ManualClock, SystemClock};
pub use convert::{
    ConversionBuilder, ConversionPhase, ConversionProgress, ConversionReport, DEFAULT_BATCH_BLOCKS,
    ProgressFn,
};
pub use handle::{DefaultRows, KeepPartitions, MaintenanceSettings, TableHandle, Unregistered};
pub use hook::{HookError, PartitionEvent, PartitionEventKind, PartitionHook};
pub use index::IndexBuild;
pub use kinds::{
    HashRegistration, HashTable, IdRangeRegistration, IdRangeTable, ListRegistration, ListTable,
};
pub use maintenance::{HealthWatch, MaintenanceHealth, MaintenanceOptions, MaintenanceTask};
pub use reconcile::{
    Adoption, Direction, ReconcileMode, Reconciliation, Repair, RepairOutcome, RepairPolicy,
};
pub use time_range::{ConfigUpdated, TimeRangeRegistration, TimeRangeSettings, TimeRangeTable};

use crate::entity::partition_config;
use crate::error::{Error, Result};
use crate::model::{TableKind, TableSpec};

#[cfg(test)]
pub(crate) use crate::model::plan::fixtures;

/// A table name, optionally schema-qualified. Unqualified names resolve through the connection's
/// `current_schema()` (normally `public`).
///
/// ```
/// use sea_orm_pg_partitioning::service::QualifiedTable;
///
/// let plain = QualifiedTable::from("event");
/// let qualified = QualifiedTable::from(("app", "event"));
/// assert_eq!(qualified.schema.as_deref(), Some("app"));
/// assert_eq!(plain.name, "event");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedTable {
    /// The schema, if given.
    pub schema: Option<String>,
    /// The table's name.
    pub name: String,
}

impl QualifiedTable {
    /// The table of a SeaORM entity, with its `schema_name` if it has one.
    pub fn of<E: EntityName>(entity: E) -> Self {
        Self {
            schema: entity.schema_name().map(str::to_owned),
            name: entity.table_name().to_owned(),
        }
    }
}

impl From<&str> for QualifiedTable {
    fn from(name: &str) -> Self {
        Self {
            schema: None,
            name: name.to_owned(),
        }
    }
}

impl From<String> for QualifiedTable {
    fn from(name: String) -> Self {
        Self { schema: None, name }
    }
}

impl From<(&str, &str)> for QualifiedTable {
    fn from((schema, name): (&str, &str)) -> Self {
        Self {
            schema: Some(schema.to_owned()),
            name: name.to_owned(),
        }
    }
}

impl From<(String, String)> for QualifiedTable {
    fn from((schema, name): (String, String)) -> Self {
        Self {
            schema: Some(schema),
            name,
        }
    }
}

/// Manages partitioned tables over a SeaORM connection. Cheap to clone; clones share the connection, the
/// clock and the hooks.
///
/// # Examples
///
/// ```no_run
/// use chrono::Duration;
/// use sea_orm::Database;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let db = Database::connect("postgres://localhost/app").await?;
/// let service = PartitionService::new(db);
/// let events = service
///     .time_range_table("event")          // partitioned by RANGE on a timestamp column
///     .period(Period::Month)
///     .interval(3)                        // detach partitions that ended more than 3 months ago
///     .detach_tablespace("archive")
///     .time_zone(chrono_tz::Europe::Berlin)
///     .register()                         // config row + first partition; idempotent
///     .await?;
/// events.create_partition(7).await?;      // keep a partition ready 7 days before it is needed
/// events.detach_partitions(None).await?;  // by the retention rule
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PartitionService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    hooks: Vec<Arc<dyn PartitionHook>>,
    maintenance: MaintenanceOptions,
    /// Whether the database is a Citus worker, read once.
    citus_worker: tokio::sync::OnceCell<bool>,
    /// The server's `server_version_num`, read once.
    server_version: tokio::sync::OnceCell<i32>,
}

impl PartitionService {
    /// A service over `db`, reading time from the system clock.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock: Arc::new(SystemClock),
                hooks: Vec::new(),
                maintenance: MaintenanceOptions::default(),
                citus_worker: tokio::sync::OnceCell::new(),
                server_version: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The same service reading "now" from `clock` (e.g. a [`ManualClock`] in tests).
    pub fn with_clock<C: Clock + 'static>(self, clock: C) -> Self {
        Self {
            inner: Arc::new(Inner {
                db: self.inner.db.clone(),
                clock: Arc::new(clock),
                hooks: self.inner.hooks.clone(),
                maintenance: self.inner.maintenance.clone(),
                citus_worker: tokio::sync::OnceCell::new(),
                server_version: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The same service, also running `hook` after each partition is created, attached or detached, inside
    /// the transaction of that change. Hooks run in the order they were added.
    pub fn with_hook<H: PartitionHook + 'static>(self, hook: H) -> Self {
        let mut hooks = self.inner.hooks.clone();
        hooks.push(Arc::new(hook));
        Self {
            inner: Arc::new(Inner {
                db: self.inner.db.clone(),
                clock: self.inner.clock.clone(),
                hooks,
                maintenance: self.inner.maintenance.clone(),
                citus_worker: tokio::sync::OnceCell::new(),
                server_version: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The same service with these maintenance options (lock timeout, retries, backoff).
    pub fn with_maintenance_options(self, options: MaintenanceOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                db: self.inner.db.clone(),
                clock: self.inner.clock.clone(),
                hooks: self.inner.hooks.clone(),
                maintenance: options,
                citus_worker: tokio::sync::OnceCell::new(),
                server_version: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The maintenance options.
    pub fn maintenance_options(&self) -> &MaintenanceOptions {
        &self.inner.maintenance
    }

    /// The connection.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// [`Error::CitusWorker`] when the database is a Citus worker (read once per service).
    pub(crate) async fn refuse_citus_worker(&self) -> Result<()> {
        let worker = self
            .inner
            .citus_worker
            .get_or_try_init(|| async {
                match citus::refuse_worker(self.connection()).await {
                    Ok(()) => Ok(false),
                    Err(Error::CitusWorker) => Ok(true),
                    Err(other) => Err(other),
                }
            })
            .await?;
        if *worker {
            Err(Error::CitusWorker)
        } else {
            Ok(())
        }
    }

    /// The server's `server_version_num` (e.g. 150020), read once per service; 0 when it cannot be read.
    pub(crate) async fn server_version(&self) -> i32 {
        use sea_orm::ConnectionTrait as _;
        *self
            .inner
            .server_version
            .get_or_init(|| async {
                self.connection()
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Postgres,
                        "SELECT current_setting('server_version_num')::int",
                    ))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|r| r.try_get_by_index::<i32>(0).ok())
                    .unwrap_or(0)
            })
            .await
    }

    /// The current instant, from the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Starts registering the table of a SeaORM entity for time-range partitioning. The key column is read
    /// from the catalog unless given with [`TimeRangeRegistration::key_column`].
    pub fn time_range<E: EntityName>(&self, entity: E) -> TimeRangeRegistration {
        TimeRangeRegistration::new(self.clone(), QualifiedTable::of(entity))
    }

    /// Starts registering a table, by name, for time-range partitioning.
    pub fn time_range_table<T: Into<QualifiedTable>>(&self, table: T) -> TimeRangeRegistration {
        TimeRangeRegistration::new(self.clone(), table.into())
    }

    /// Starts registering the table of a SeaORM entity, partitioned by LIST.
    pub fn list<E: EntityName>(&self, entity: E) -> ListRegistration {
        ListRegistration::new(self.clone(), QualifiedTable::of(entity))
    }

    /// Starts registering a table, by name, partitioned by LIST.
    pub fn list_table<T: Into<QualifiedTable>>(&self, table: T) -> ListRegistration {
        ListRegistration::new(self.clone(), table.into())
    }

    /// Starts registering the table of a SeaORM entity, partitioned by HASH.
    pub fn hash<E: EntityName>(&self, entity: E) -> HashRegistration {
        HashRegistration::new(self.clone(), QualifiedTable::of(entity))
    }

    /// Starts registering a table, by name, partitioned by HASH.
    pub fn hash_table<T: Into<QualifiedTable>>(&self, table: T) -> HashRegistration {
        HashRegistration::new(self.clone(), table.into())
    }

    /// Starts registering the table of a SeaORM entity, partitioned by RANGE on an integer column with a step.
    pub fn id_range<E: EntityName>(&self, entity: E) -> IdRangeRegistration {
        IdRangeRegistration::new(self.clone(), QualifiedTable::of(entity))
    }

    /// Starts registering a table, by name, partitioned by RANGE on an integer column with a step.
    pub fn id_range_table<T: Into<QualifiedTable>>(&self, table: T) -> IdRangeRegistration {
        IdRangeRegistration::new(self.clone(), table.into())
    }

    /// Checks that the server is PostgreSQL 14 or later ([`Error::UnsupportedServer`] otherwise) and that the
    /// crate's tables exist where this connection looks for them (its `search_path`):
    /// [`Error::NotInstalled`] when the migrations have not run there, [`Error::CitusWorker`] on a Citus
    /// worker (the tables are the coordinator's).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// service.check_installed().await?; // before anything else, e.g. in a health check at start-up
    /// # Ok(()) }
    /// ```
    pub async fn check_installed(&self) -> Result<()> {
        use sea_orm::EntityName as _;
        // A Citus worker has none of the crate's tables: say where they are instead.
        self.refuse_citus_worker().await?;
        let found = catalog::tables_found(
            self.connection(),
            &[
                partition_config::Entity.table_name(),
                crate::entity::partition_log::Entity.table_name(),
            ],
        )
        .await?;
        match found {
            (_, _, num, version) if num < MIN_SERVER_VERSION_NUM => {
                Err(Error::UnsupportedServer { version })
            }
            (true, ..) => Ok(()),
            (false, search_path, ..) => Err(Error::NotInstalled { search_path }),
        }
    }

    /// The configuration of a registered table.
    pub async fn config_of<T: Into<QualifiedTable>>(
        &self,
        table: T,
    ) -> Result<partition_config::Model> {
        let table = table.into();
        let schema = self.resolve_schema(&table).await?;
        partition_config::Entity::find()
            .filter(partition_config::Column::SchemaName.eq(schema.as_str()))
            .filter(partition_config::Column::TableName.eq(table.name.as_str()))
            .one(self.connection())
            .await?
            .ok_or_else(|| Error::NotRegistered {
                table: format!("{schema}.{}", table.name),
            })
    }

    /// The handle of a registered table of any kind: detach, attach, move, drop and truncate its
    /// partitions.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let event = service.table_of("event").await?;
    /// let oldest = event.all_partitions().await?.into_iter().take(1).collect::<Vec<_>>();
    /// event.set_tablespace(&oldest[0], "archive").await?; // the table and its indexes
    /// # Ok(()) }
    /// ```
    pub async fn table_of<T: Into<QualifiedTable>>(&self, table: T) -> Result<TableHandle> {
        let config = self.config_of(table).await?;
        Ok(TableHandle::from_config(self.clone(), &config))
    }

    /// The handle of a registered time-range table.
    pub async fn time_range_of<T: Into<QualifiedTable>>(&self, table: T) -> Result<TimeRangeTable> {
        Ok(TimeRangeTable::from_config(
            self.clone(),
            &self.config_of(table).await?,
        ))
    }

    /// The handle of a registered list table.
    pub async fn list_of<T: Into<QualifiedTable>>(&self, table: T) -> Result<ListTable> {
        Ok(ListTable::from_config(
            self.clone(),
            &self.config_of(table).await?,
        ))
    }

    /// The handle of a registered hash table.
    pub async fn hash_of<T: Into<QualifiedTable>>(&self, table: T) -> Result<HashTable> {
        Ok(HashTable::from_config(
            self.clone(),
            &self.config_of(table).await?,
        ))
    }

    /// The handle of a registered integer-range table.
    pub async fn id_range_of<T: Into<QualifiedTable>>(&self, table: T) -> Result<IdRangeTable> {
        Ok(IdRangeTable::from_config(
            self.clone(),
            &self.config_of(table).await?,
        ))
    }

    /// The configuration of every registered table, by schema and name.
    pub async fn configs(&self) -> Result<Vec<partition_config::Model>> {
        Ok(partition_config::Entity::find()
            .order_by_asc(partition_config::Column::SchemaName)
            .order_by_asc(partition_config::Column::TableName)
            .all(self.connection())
            .await?)
    }

    /// Starts a registration: a transaction holding the table's lock, and its configuration if it has one.
    pub(crate) async fn begin_registration(
        &self,
        table: &QualifiedTable,
        kind: TableKind,
    ) -> Result<Registering> {
        let schema = self.resolve_schema(table).await?;
        crate::schema::check_name("schema", &schema)?;
        crate::schema::check_name("table", &table.name)?;
        self.refuse_citus_worker().await?;
        let txn = self.connection().begin().await?;
        catalog::lock_table(&txn, &schema, &table.name).await?;
        let existing = partition_config::Entity::find()
            .filter(partition_config::Column::SchemaName.eq(schema.as_str()))
            .filter(partition_config::Column::TableName.eq(table.name.as_str()))
            .lock_exclusive()
            .one(&txn)
            .await?;
        if let Some(config) = &existing {
            let spec = TableSpec::of(config)?;
            if spec.kind() != kind {
                return Err(Error::RegisteredAsAnotherKind {
                    table: format!("{schema}.{}", table.name),
                    registered: spec.to_string(),
                    asked: kind.as_str(),
                });
            }
        }
        Ok(Registering {
            txn,
            schema,
            table: table.name.clone(),
            existing,
        })
    }

    pub(crate) async fn resolve_schema(&self, table: &QualifiedTable) -> Result<String> {
        match &table.schema {
            Some(schema) => Ok(schema.clone()),
            None => catalog::current_schema(self.connection()).await,
        }
    }

    /// Whether any hook is registered (when none, nothing needs the rows a change wrote).
    pub(crate) fn has_hooks(&self) -> bool {
        !self.inner.hooks.is_empty()
    }

    pub(crate) async fn run_hooks(
        &self,
        txn: &DatabaseTransaction,
        event: &PartitionEvent,
    ) -> Result<()> {
        for hook in &self.inner.hooks {
            hook.after(txn, event).await.map_err(|source| Error::Hook {
                event: event.kind.as_str(),
                partition: event.partition.partition_name.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// A registration in progress.
pub(crate) struct Registering {
    pub txn: DatabaseTransaction,
    pub schema: String,
    pub table: String,
    pub existing: Option<partition_config::Model>,
}

/// Checks that the table exists and is partitioned with `strategy` (`r`, `l`, `h`) on exactly one plain
/// column (the given one, if any); returns that column and its type.
pub(crate) async fn check_single_key<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
    strategy: &str,
    key_column: Option<&str>,
) -> Result<SingleKey> {
    let qualified = format!("{schema}.{table}");
    let keyword = match strategy {
        "l" => "LIST",
        "h" => "HASH",
        _ => "RANGE",
    };
    let info = catalog::table_info(conn, schema, table)
        .await?
        .ok_or_else(|| Error::UnknownTable {
            table: qualified.clone(),
        })?;
    let (Some(found), Some(definition)) = (info.strategy.as_deref(), info.key_definition.clone())
    else {
        return Err(Error::NotPartitioned {
            table: qualified,
            expected: keyword,
        });
    };
    let expected = match key_column {
        Some(column) => format!("{keyword} on column {column:?}"),
        None => format!("{keyword} on one column"),
    };
    let wrong = |fix| Error::WrongPartitionKey {
        table: qualified.clone(),
        expected: expected.clone(),
        found: definition.clone(),
        fix,
    };
    if found != strategy {
        return Err(wrong(
            "register the table as the kind its partitioning is (time_range, id_range, list or hash)",
        ));
    }
    let (Some(column), Some(key_type)) = (info.key_column, info.key_type) else {
        return Err(wrong(
            "the service manages keys of exactly one plain column, not several columns or an expression",
        ));
    };
    if key_column.is_some_and(|wanted| wanted != column) {
        return Err(wrong(
            "register the table with its actual key column, or leave key_column out",
        ));
    }
    Ok(SingleKey {
        column,
        key_type,
        collation: info.key_collation,
    })
}

/// A table's partition key of one plain column, as [`check_single_key`] found it.
pub(crate) struct SingleKey {
    pub column: String,
    /// Its type, e.g. `timestamp with time zone`.
    pub key_type: String,
    /// The key's collation, for a collatable type.
    pub collation: Option<String>,
}

/// The oldest PostgreSQL the crate works with, as `server_version_num`: 14 (`DETACH .. CONCURRENTLY` and
/// its pending state in `pg_inherits`). Tested on 14 to 18.
pub const MIN_SERVER_VERSION_NUM: i32 = 140_000;

/// The most partitions `premake` may ask for: what one maintenance run creates at most.
pub const MAX_PREMAKE: u32 = MAX_CREATES_PER_RUN as u32;

/// The largest hash modulus (of a hash table or a sub-partitioning): every one of its partitions is created
/// in one transaction, each taking a lock.
pub const MAX_HASH_MODULUS: u32 = 1024;

/// Refuses `value` outside `[min, max]` with [`Error::OutOfRange`].
pub(crate) fn check_range(
    setting: &'static str,
    value: i64,
    (min, max): (i64, i64),
    why: &'static str,
) -> Result<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            setting,
            value,
            min,
            max,
            why,
        })
    }
}

/// Refuses a `premake` past [`MAX_PREMAKE`].
pub(crate) fn check_premake(premake: u32) -> Result<()> {
    check_range(
        "premake",
        i64::from(premake),
        (0, i64::from(MAX_PREMAKE)),
        "one maintenance run creates at most 1000 partitions",
    )
}

/// Refuses a hash modulus of 0 or past [`MAX_HASH_MODULUS`].
pub(crate) fn check_modulus(modulus: u32) -> Result<()> {
    check_range(
        "modulus",
        i64::from(modulus),
        (1, i64::from(MAX_HASH_MODULUS)),
        "all hash partitions are created in one transaction",
    )
}

/// Refuses a count stored as a PostgreSQL `integer` that does not fit one.
pub(crate) fn check_count(setting: &'static str, value: u32, min: i64) -> Result<()> {
    check_range(
        setting,
        i64::from(value),
        (min, i64::from(i32::MAX)),
        "it is stored as a PostgreSQL integer",
    )
}

/// Checks a requested hash sub-partitioning.
pub(crate) fn validate_sub_partition(sub: Option<&(String, u32)>) -> Result<Option<(String, i32)>> {
    let Some((column, modulus)) = sub else {
        return Ok(None);
    };
    crate::schema::check_name("sub-partition column", column)?;
    check_modulus(*modulus)?;
    Ok(Some((
        column.clone(),
        i32::try_from(*modulus).unwrap_or(i32::MAX),
    )))
}

pub(crate) use crate::exec::execute;
