//! `PartitionService`: registers partitioned tables and manages their partitions, recording every change in
//! the crate's own tables (see [`entity`](crate::entity)).
//!
//! Every state change runs in one transaction that first takes a transaction-scoped advisory lock on the
//! parent table and reads its configuration row `FOR UPDATE`; the DDL, the log rows and the hooks commit
//! together or not at all. Several service instances (replicas, tasks) may therefore call the same operation on
//! the same table at once: they serialise, and each sees what the previous one did.

mod catalog;
mod clock;
mod hook;
mod time_range;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityName, EntityTrait, QueryFilter,
    QueryOrder,
};

pub use clock::{Clock, ManualClock, SystemClock};
pub use hook::{HookError, PartitionEvent, PartitionEventKind, PartitionHook};
pub use time_range::{ConfigUpdated, TimeRangeRegistration, TimeRangeSettings, TimeRangeTable};

use crate::entity::partition_config;
use crate::error::{Error, Result};

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
}

impl PartitionService {
    /// A service over `db`, reading time from the system clock.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock: Arc::new(SystemClock),
                hooks: Vec::new(),
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
            }),
        }
    }

    /// The connection.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.inner.db
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

    /// The handle of a registered time-range table.
    pub async fn time_range_of<T: Into<QualifiedTable>>(&self, table: T) -> Result<TimeRangeTable> {
        let table = table.into();
        let schema = self.resolve_schema(&table).await?;
        let config = partition_config::Entity::find()
            .filter(partition_config::Column::SchemaName.eq(schema.as_str()))
            .filter(partition_config::Column::TableName.eq(table.name.as_str()))
            .one(self.connection())
            .await?
            .ok_or_else(|| Error::NotRegistered {
                table: format!("{schema}.{}", table.name),
            })?;
        Ok(TimeRangeTable::from_config(self.clone(), &config))
    }

    /// The configuration of every registered table, by schema and name.
    pub async fn configs(&self) -> Result<Vec<partition_config::Model>> {
        Ok(partition_config::Entity::find()
            .order_by_asc(partition_config::Column::SchemaName)
            .order_by_asc(partition_config::Column::TableName)
            .all(self.connection())
            .await?)
    }

    pub(crate) async fn resolve_schema(&self, table: &QualifiedTable) -> Result<String> {
        match &table.schema {
            Some(schema) => Ok(schema.clone()),
            None => catalog::current_schema(self.connection()).await,
        }
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

/// Runs one statement built by [`schema`](crate::schema). The text comes from a statement's `build`, which
/// quoted every identifier and wrote every value through sea-query.
pub(crate) async fn execute<C: sea_orm::ConnectionTrait>(conn: &C, sql: String) -> Result<()> {
    tracing::trace!(%sql);
    conn.execute_raw(sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        sql,
    ))
    .await?;
    Ok(())
}
