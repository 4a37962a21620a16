//! Time-range partitioning: registration and every operation on a registered table.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, IntoIden, PostgresQueryBuilder};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::catalog::{self, Placement};
use super::{PartitionEvent, PartitionEventKind, PartitionService, QualifiedTable, execute};
use crate::calendar::{Period, partition_name};
use crate::entity::{partition_config, partition_log};
use crate::error::{Error, Result, sqlstate};
use crate::schema::{Partition, PartitionStrategy};

/// The longest premake horizon `create_partition` accepts, in days (a century).
const MAX_HORIZON_DAYS: i64 = 36_525;

/// The settings of a time-range table that [`TimeRangeTable::update_config`] may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRangeSettings {
    /// Length of each partition.
    pub period: Period,
    /// Retention in periods: attached partitions that ended more than this many periods ago are detached by
    /// the rule-based detach. `None`: never.
    pub interval: Option<u32>,
    /// Tablespace of partitions and their indexes while attached (`None`: leave them where they are).
    pub attach_tablespace: Option<String>,
    /// Tablespace of partitions and their indexes once detached (`None`: leave them where they are).
    pub detach_tablespace: Option<String>,
    /// Zone in which period boundaries fall.
    pub time_zone: Tz,
}

impl TimeRangeSettings {
    fn from_config(config: &partition_config::Model) -> Result<Self> {
        let table = format!("{}.{}", config.schema_name, config.table_name);
        let invalid = |problem: String| Error::InvalidConfig {
            table: table.clone(),
            problem,
        };
        if config.strategy != PartitionStrategy::Range {
            return Err(invalid(format!(
                "strategy is {:?}, not range",
                config.strategy
            )));
        }
        let period = config
            .period
            .ok_or_else(|| invalid("a time-range table needs a period".to_owned()))?;
        let interval = match config.interval {
            None => None,
            Some(n) if n >= 1 => Some(n.unsigned_abs()),
            Some(n) => {
                return Err(invalid(format!(
                    "interval {n} is not a positive number of periods"
                )));
            }
        };
        let time_zone = Tz::from_str(&config.time_zone)
            .map_err(|_| invalid(format!("unknown time zone {:?}", config.time_zone)))?;
        Ok(Self {
            period,
            interval,
            attach_tablespace: config.attach_tablespace.clone(),
            detach_tablespace: config.detach_tablespace.clone(),
            time_zone,
        })
    }

    async fn validate<C: ConnectionTrait>(&self, conn: &C) -> Result<()> {
        if self.interval == Some(0) {
            return Err(Error::ZeroInterval);
        }
        for tablespace in [&self.attach_tablespace, &self.detach_tablespace]
            .into_iter()
            .flatten()
        {
            check_tablespace(conn, tablespace).await?;
        }
        Ok(())
    }

    fn interval_column(&self) -> Option<i32> {
        self.interval.map(|n| i32::try_from(n).unwrap_or(i32::MAX))
    }
}

async fn check_tablespace<C: ConnectionTrait>(conn: &C, tablespace: &str) -> Result<()> {
    crate::schema::check_name("tablespace", tablespace)?;
    if !catalog::tablespace_exists(conn, tablespace).await? {
        return Err(Error::MissingTablespace {
            tablespace: tablespace.to_owned(),
        });
    }
    Ok(())
}

enum ZoneSetting {
    Zone(Tz),
    Name(String),
}

/// Registers a table partitioned by RANGE on a timestamp column; made by
/// [`PartitionService::time_range`] or [`PartitionService::time_range_table`].
///
/// Defaults: monthly partitions, no retention, tablespaces left alone, UTC.
#[must_use = "call .register() to register the table"]
pub struct TimeRangeRegistration {
    service: PartitionService,
    table: QualifiedTable,
    key_column: Option<String>,
    period: Period,
    interval: Option<u32>,
    attach_tablespace: Option<String>,
    detach_tablespace: Option<String>,
    time_zone: ZoneSetting,
}

impl std::fmt::Debug for TimeRangeRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeRangeRegistration")
            .field("table", &self.table)
            .field("key_column", &self.key_column)
            .field("period", &self.period)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl TimeRangeRegistration {
    pub(super) fn new(service: PartitionService, table: QualifiedTable) -> Self {
        Self {
            service,
            table,
            key_column: None,
            period: Period::Month,
            interval: None,
            attach_tablespace: None,
            detach_tablespace: None,
            time_zone: ZoneSetting::Zone(chrono_tz::UTC),
        }
    }

    /// The key column the table must be partitioned by (checked against the catalog). Without it, the
    /// table's one key column is used.
    pub fn key_column<C: IntoIden>(mut self, column: C) -> Self {
        self.key_column = Some(column.into_iden().to_string());
        self
    }

    /// Length of each partition (default: [`Period::Month`]).
    pub fn period(mut self, period: Period) -> Self {
        self.period = period;
        self
    }

    /// Retention: detach attached partitions that ended more than `periods` periods ago (at least 1).
    pub fn interval(mut self, periods: u32) -> Self {
        self.interval = Some(periods);
        self
    }

    /// Tablespace of partitions and their indexes while attached.
    pub fn attach_tablespace<T: Into<String>>(mut self, tablespace: T) -> Self {
        self.attach_tablespace = Some(tablespace.into());
        self
    }

    /// Tablespace of partitions and their indexes once detached.
    pub fn detach_tablespace<T: Into<String>>(mut self, tablespace: T) -> Self {
        self.detach_tablespace = Some(tablespace.into());
        self
    }

    /// Zone in which period boundaries fall (default: UTC).
    pub fn time_zone(mut self, zone: Tz) -> Self {
        self.time_zone = ZoneSetting::Zone(zone);
        self
    }

    /// Zone by IANA name, e.g. from configuration; an unknown name fails [`register`](Self::register) with
    /// [`Error::InvalidTimeZone`].
    pub fn time_zone_name<T: Into<String>>(mut self, zone: T) -> Self {
        self.time_zone = ZoneSetting::Name(zone.into());
        self
    }

    /// Verifies the table (it exists and is partitioned by RANGE on a timestamp column) and the tablespaces,
    /// then records the configuration and creates the first partition, in one transaction.
    ///
    /// Registering a table again returns the configuration it already has, unchanged (change it with
    /// [`TimeRangeTable::update_config`]).
    pub async fn register(self) -> Result<TimeRangeTable> {
        let service = self.service.clone();
        let db = service.connection();
        let schema = service.resolve_schema(&self.table).await?;
        let table = self.table.name.clone();
        crate::schema::check_name("schema", &schema)?;
        crate::schema::check_name("table", &table)?;
        let time_zone = match &self.time_zone {
            ZoneSetting::Zone(zone) => *zone,
            ZoneSetting::Name(name) => {
                Tz::from_str(name).map_err(|_| Error::InvalidTimeZone { name: name.clone() })?
            }
        };
        let settings = TimeRangeSettings {
            period: self.period,
            interval: self.interval,
            attach_tablespace: self.attach_tablespace.clone(),
            detach_tablespace: self.detach_tablespace.clone(),
            time_zone,
        };

        let txn = db.begin().await?;
        catalog::lock_table(&txn, &schema, &table).await?;
        let existing = partition_config::Entity::find()
            .filter(partition_config::Column::SchemaName.eq(schema.as_str()))
            .filter(partition_config::Column::TableName.eq(table.as_str()))
            .lock_exclusive()
            .one(&txn)
            .await?;
        if let Some(config) = existing {
            txn.commit().await?;
            return Ok(TimeRangeTable::from_config(service, &config));
        }

        let key_column =
            check_range_table(&txn, &schema, &table, self.key_column.as_deref()).await?;
        settings.validate(&txn).await?;
        let now = service.now();
        let config = partition_config::ActiveModel {
            schema_name: Set(schema.clone()),
            table_name: Set(table.clone()),
            key_column: Set(key_column),
            strategy: Set(PartitionStrategy::Range),
            period: Set(Some(settings.period)),
            interval: Set(settings.interval_column()),
            attach_tablespace: Set(settings.attach_tablespace.clone()),
            detach_tablespace: Set(settings.detach_tablespace.clone()),
            time_zone: Set(settings.time_zone.name().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let handle = TimeRangeTable::from_config(service, &config);
        let ctx = Locked::new(&txn, config, settings).await?;
        let start = ctx.settings.period.start(now, ctx.settings.time_zone);
        handle.create_one(&txn, &ctx, start).await?;
        txn.commit().await?;
        tracing::info!(table = %format!("{schema}.{table}"), "registered for time-range partitioning");
        Ok(handle)
    }
}

/// Checks that the table exists and is partitioned by RANGE on one timestamp column; returns that column.
async fn check_range_table<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
    key_column: Option<&str>,
) -> Result<String> {
    let qualified = format!("{schema}.{table}");
    let info = catalog::table_info(conn, schema, table)
        .await?
        .ok_or_else(|| Error::UnknownTable {
            table: qualified.clone(),
        })?;
    let (Some(strategy), Some(definition)) =
        (info.strategy.as_deref(), info.key_definition.clone())
    else {
        return Err(Error::NotPartitioned {
            table: qualified,
            expected: "RANGE",
        });
    };
    let expected = match key_column {
        Some(column) => format!("RANGE on column {column:?}"),
        None => "RANGE on one timestamp column".to_owned(),
    };
    let wrong = |fix| Error::WrongPartitionKey {
        table: qualified.clone(),
        expected: expected.clone(),
        found: definition.clone(),
        fix,
    };
    if strategy != "r" {
        return Err(wrong(
            "time-range partitioning needs a table partitioned by RANGE; register list and hash tables with their own kind",
        ));
    }
    let Some(column) = info.key_column else {
        return Err(wrong(
            "time-range partitioning needs a key of exactly one plain column, not several columns or an expression",
        ));
    };
    if key_column.is_some_and(|wanted| wanted != column) {
        return Err(wrong(
            "register the table with its actual key column, or leave key_column out",
        ));
    }
    match info.key_type.as_deref() {
        Some("timestamp with time zone" | "timestamp without time zone") => Ok(column),
        other => Err(Error::UnsupportedKeyType {
            table: qualified,
            column,
            data_type: other.unwrap_or("unknown").to_owned(),
        }),
    }
}

/// What the configuration says, read under the table's lock.
struct Locked {
    config: partition_config::Model,
    settings: TimeRangeSettings,
    /// Whether the key column is `timestamp with time zone` (else without).
    with_time_zone: bool,
}

impl Locked {
    async fn new<C: ConnectionTrait>(
        conn: &C,
        config: partition_config::Model,
        settings: TimeRangeSettings,
    ) -> Result<Self> {
        let info = catalog::table_info(conn, &config.schema_name, &config.table_name)
            .await?
            .ok_or_else(|| Error::UnknownTable {
                table: format!("{}.{}", config.schema_name, config.table_name),
            })?;
        let with_time_zone = info.key_type.as_deref() != Some("timestamp without time zone");
        Ok(Self {
            config,
            settings,
            with_time_zone,
        })
    }

    /// A bound value: an instant with its offset in the configured zone, or the local wall-clock time for a
    /// `timestamp without time zone` key.
    fn bound(&self, at: DateTime<Utc>) -> Expr {
        let local = at.with_timezone(&self.settings.time_zone);
        if self.with_time_zone {
            Expr::from(local.fixed_offset())
        } else {
            Expr::from(local.naive_local())
        }
    }

    fn parent(&self) -> (String, String) {
        (
            self.config.schema_name.clone(),
            self.config.table_name.clone(),
        )
    }
}

/// The result of [`TimeRangeTable::update_config`].
#[derive(Debug, Clone)]
pub struct ConfigUpdated {
    /// The configuration as saved.
    pub config: partition_config::Model,
    /// Partitions the rule-based detach detached because the period or interval changed.
    pub detached: Vec<partition_log::Model>,
}

/// A registered time-range table: every operation of the original, each in one transaction.
#[derive(Debug, Clone)]
pub struct TimeRangeTable {
    service: PartitionService,
    config_id: i32,
    schema: String,
    table: String,
}

impl TimeRangeTable {
    pub(super) fn from_config(service: PartitionService, config: &partition_config::Model) -> Self {
        Self {
            service,
            config_id: config.id,
            schema: config.schema_name.clone(),
            table: config.table_name.clone(),
        }
    }

    /// The schema of the table.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// The configuration row.
    pub async fn config(&self) -> Result<partition_config::Model> {
        partition_config::Entity::find_by_id(self.config_id)
            .one(self.service.connection())
            .await?
            .ok_or_else(|| Error::NotRegistered {
                table: self.qualified(),
            })
    }

    /// The current settings.
    pub async fn settings(&self) -> Result<TimeRangeSettings> {
        TimeRangeSettings::from_config(&self.config().await?)
    }

    /// Begins a transaction holding the table's advisory lock and its configuration row `FOR UPDATE`.
    async fn lock(&self) -> Result<(DatabaseTransaction, Locked)> {
        let txn = self.service.connection().begin().await?;
        catalog::lock_table(&txn, &self.schema, &self.table).await?;
        let config = partition_config::Entity::find_by_id(self.config_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| Error::NotRegistered {
                table: self.qualified(),
            })?;
        let settings = TimeRangeSettings::from_config(&config)?;
        let locked = Locked::new(&txn, config, settings).await?;
        Ok((txn, locked))
    }

    /// The partition that ends last (attached or not), if any.
    pub async fn latest(&self) -> Result<Option<partition_log::Model>> {
        latest(self.service.connection(), self.config_id).await
    }

    /// Every recorded partition, by start.
    pub async fn partitions(&self) -> Result<Vec<partition_log::Model>> {
        Ok(partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.eq(self.config_id))
            .order_by_asc(partition_log::Column::Start)
            .all(self.service.connection())
            .await?)
    }

    /// Creates partitions ahead, as the original's `create_partition(max_days_to_next_partition)`:
    ///
    /// repeat: if `max_days > 0`, a partition exists, and `now < latest.end - max_days days`, stop; otherwise
    /// create the next partition (from the latest end, or for the first one from the start of the current
    /// period). With `max_days <= 0`, create exactly one and stop.
    ///
    /// So `create_partition(1)` called daily keeps the next partition ready a day before it is needed, and
    /// after an outage it catches up, partition by partition, until the horizon is reached again. Each
    /// partition is created in its own transaction. Returns the partitions created.
    pub async fn create_partition(&self, max_days: i64) -> Result<Vec<partition_log::Model>> {
        if max_days > MAX_HORIZON_DAYS {
            return Err(Error::InvalidConfig {
                table: self.qualified(),
                problem: format!("a premake horizon of {max_days} days is more than a century"),
            });
        }
        let horizon = Duration::days(max_days.max(0));
        let mut created = Vec::new();
        loop {
            let (txn, ctx) = self.lock().await?;
            let now = self.service.now();
            let latest = latest(&txn, self.config_id).await?;
            if max_days > 0
                && let Some(latest) = &latest
                && now < latest.end - horizon
            {
                break;
            }
            let start = match &latest {
                Some(latest) => latest.end,
                None => ctx.settings.period.start(now, ctx.settings.time_zone),
            };
            let log = self.create_one(&txn, &ctx, start).await?;
            txn.commit().await?;
            created.push(log);
            if max_days <= 0 {
                break;
            }
        }
        Ok(created)
    }

    async fn create_one(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Locked,
        start: DateTime<Utc>,
    ) -> Result<partition_log::Model> {
        let settings = &ctx.settings;
        let end = settings.period.end(start, settings.time_zone);
        let name = partition_name(&self.table, start, end, settings.period, settings.time_zone);
        if catalog::relation_exists(txn, &self.schema, &name).await? {
            return Err(Error::PartitionNameTaken {
                schema: self.schema.clone(),
                partition: name,
                table: self.qualified(),
            });
        }
        let mut create = Partition::create();
        create
            .table((self.schema.clone(), name.clone()))
            .partition_of(ctx.parent())
            .values_from_to([ctx.bound(start)], [ctx.bound(end)]);
        if let Some(tablespace) = &settings.attach_tablespace {
            create.tablespace(tablespace.clone());
        }
        let sql = create.build(PostgresQueryBuilder)?;
        execute(txn, sql).await.map_err(|err| match err {
            Error::Db(db) if sqlstate(&db).as_deref() == Some("42P17") => Error::RangeOverlap {
                table: self.qualified(),
                partition: name.clone(),
                start,
                end,
                detail: db.to_string(),
            },
            other => other,
        })?;
        if let Some(tablespace) = &settings.attach_tablespace {
            place(txn, &self.schema, &name, tablespace).await?;
        }
        let now = self.service.now();
        let log = partition_log::ActiveModel {
            config_id: Set(self.config_id),
            schema_name: Set(self.schema.clone()),
            partition_name: Set(name),
            start: Set(start),
            end: Set(end),
            is_attached: Set(true),
            detach_time: Set(None),
            tablespace: Set(settings.attach_tablespace.clone()),
            created_at: Set(now),
            detached_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        self.fire(txn, ctx, PartitionEventKind::Created, &log)
            .await?;
        tracing::debug!(partition = %log.partition_name, start = %log.start, end = %log.end, "partition created");
        Ok(log)
    }

    async fn fire(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Locked,
        kind: PartitionEventKind,
        partition: &partition_log::Model,
    ) -> Result<()> {
        let event = PartitionEvent {
            kind,
            config: ctx.config.clone(),
            partition: partition.clone(),
        };
        self.service.run_hooks(txn, &event).await
    }

    /// The given partitions, re-read under the lock, after checking they belong to this table.
    async fn reread(
        &self,
        txn: &DatabaseTransaction,
        logs: &[partition_log::Model],
    ) -> Result<Vec<partition_log::Model>> {
        if let Some(foreign) = logs.iter().find(|log| log.config_id != self.config_id) {
            return Err(Error::ForeignPartition {
                partition: foreign.partition_name.clone(),
                table: self.qualified(),
            });
        }
        let ids: Vec<i64> = logs.iter().map(|log| log.id).collect();
        Ok(partition_log::Entity::find()
            .filter(partition_log::Column::Id.is_in(ids))
            .order_by_asc(partition_log::Column::Start)
            .all(txn)
            .await?)
    }

    /// Attached partitions due for the retention rule: `end < now - interval × period`, and `detach_time`
    /// unset or past.
    async fn due_for_detach(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Locked,
    ) -> Result<Vec<partition_log::Model>> {
        let Some(interval) = ctx.settings.interval else {
            return Ok(Vec::new());
        };
        let now = self.service.now();
        let threshold = ctx
            .settings
            .period
            .shift_back(now, interval, ctx.settings.time_zone);
        Ok(partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.eq(self.config_id))
            .filter(partition_log::Column::IsAttached.eq(true))
            .filter(partition_log::Column::End.lt(threshold))
            .filter(
                Condition::any()
                    .add(partition_log::Column::DetachTime.is_null())
                    .add(partition_log::Column::DetachTime.lte(now)),
            )
            .order_by_asc(partition_log::Column::Start)
            .all(txn)
            .await?)
    }

    /// Detaches partitions: the given ones, or with `None` those due by the retention rule (`interval` set,
    /// `end < now - interval × period`, `detach_time` unset or past). Each is moved with its indexes to the
    /// detach tablespace when one is configured, and its `detach_time` is cleared. Partitions already detached
    /// are left alone. Returns the partitions detached; all of them or none (one transaction).
    pub async fn detach_partitions(
        &self,
        logs: Option<&[partition_log::Model]>,
    ) -> Result<Vec<partition_log::Model>> {
        let (txn, ctx) = self.lock().await?;
        let targets = match logs {
            Some(logs) => self.reread(&txn, logs).await?,
            None => self.due_for_detach(&txn, &ctx).await?,
        };
        let detached = self.detach_all(&txn, &ctx, targets).await?;
        txn.commit().await?;
        Ok(detached)
    }

    async fn detach_all(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Locked,
        targets: Vec<partition_log::Model>,
    ) -> Result<Vec<partition_log::Model>> {
        let mut detached = Vec::new();
        for log in targets.into_iter().filter(|log| log.is_attached) {
            let sql = Partition::detach()
                .table(ctx.parent())
                .partition((log.schema_name.clone(), log.partition_name.clone()))
                .build(PostgresQueryBuilder)?;
            execute(txn, sql).await?;
            if let Some(tablespace) = &ctx.settings.detach_tablespace {
                place(txn, &log.schema_name, &log.partition_name, tablespace).await?;
            }
            let tablespace = ctx
                .settings
                .detach_tablespace
                .clone()
                .or(log.tablespace.clone());
            let mut active = log.into_active_model();
            active.is_attached = Set(false);
            active.detach_time = Set(None);
            active.detached_at = Set(Some(self.service.now()));
            active.tablespace = Set(tablespace);
            let log = active.update(txn).await?;
            self.fire(txn, ctx, PartitionEventKind::Detached, &log)
                .await?;
            detached.push(log);
        }
        Ok(detached)
    }

    /// Attaches partitions back: the given ones, or with `None` every detached one. Each is first moved with
    /// its indexes to the attach tablespace when one is configured; `detach_time` protects it from the
    /// rule-based detach until then. Partitions already attached are left alone. Returns the partitions
    /// attached; all of them or none (one transaction).
    pub async fn attach_partitions(
        &self,
        logs: Option<&[partition_log::Model]>,
        detach_time: Option<DateTime<Utc>>,
    ) -> Result<Vec<partition_log::Model>> {
        let (txn, ctx) = self.lock().await?;
        let targets = match logs {
            Some(logs) => self.reread(&txn, logs).await?,
            None => {
                partition_log::Entity::find()
                    .filter(partition_log::Column::ConfigId.eq(self.config_id))
                    .filter(partition_log::Column::IsAttached.eq(false))
                    .order_by_asc(partition_log::Column::Start)
                    .all(&txn)
                    .await?
            }
        };
        let mut attached = Vec::new();
        for log in targets.into_iter().filter(|log| !log.is_attached) {
            if let Some(tablespace) = &ctx.settings.attach_tablespace {
                place(&txn, &log.schema_name, &log.partition_name, tablespace).await?;
            }
            let sql = Partition::attach()
                .table(ctx.parent())
                .partition((log.schema_name.clone(), log.partition_name.clone()))
                .values_from_to([ctx.bound(log.start)], [ctx.bound(log.end)])
                .build(PostgresQueryBuilder)?;
            execute(&txn, sql).await.map_err(|err| match err {
                Error::Db(db) if sqlstate(&db).as_deref() == Some("42P17") => Error::RangeOverlap {
                    table: self.qualified(),
                    partition: log.partition_name.clone(),
                    start: log.start,
                    end: log.end,
                    detail: db.to_string(),
                },
                other => other,
            })?;
            let tablespace = ctx
                .settings
                .attach_tablespace
                .clone()
                .or(log.tablespace.clone());
            let mut active = log.into_active_model();
            active.is_attached = Set(true);
            active.detach_time = Set(detach_time);
            active.tablespace = Set(tablespace);
            let log = active.update(&txn).await?;
            self.fire(&txn, &ctx, PartitionEventKind::Attached, &log)
                .await?;
            attached.push(log);
        }
        txn.commit().await?;
        Ok(attached)
    }

    /// Drops the given partitions (attached or not) with their rows, and their log rows. A partition whose
    /// table is already gone only loses its log row.
    pub async fn delete_partitions(&self, logs: &[partition_log::Model]) -> Result<()> {
        let (txn, _ctx) = self.lock().await?;
        for log in self.reread(&txn, logs).await? {
            let sql = Partition::drop()
                .table((log.schema_name.clone(), log.partition_name.clone()))
                .if_exists()
                .build(PostgresQueryBuilder)?;
            execute(&txn, sql).await?;
            partition_log::Entity::delete_by_id(log.id)
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Removes every row of a partition.
    pub async fn truncate(&self, log: &partition_log::Model) -> Result<()> {
        let (txn, _ctx) = self.lock().await?;
        for log in self.reread(&txn, std::slice::from_ref(log)).await? {
            let sql = Partition::truncate()
                .table((log.schema_name.clone(), log.partition_name.clone()))
                .build(PostgresQueryBuilder)?;
            execute(&txn, sql).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Moves a partition and all its indexes to `tablespace` (`pg_default` for the default), attached or not.
    /// Returns the updated log row.
    pub async fn set_tablespace(
        &self,
        log: &partition_log::Model,
        tablespace: &str,
    ) -> Result<partition_log::Model> {
        let (txn, _ctx) = self.lock().await?;
        check_tablespace(&txn, tablespace).await?;
        let Some(log) = self.reread(&txn, std::slice::from_ref(log)).await?.pop() else {
            return Err(Error::ForeignPartition {
                partition: log.partition_name.clone(),
                table: self.qualified(),
            });
        };
        place(&txn, &log.schema_name, &log.partition_name, tablespace).await?;
        let mut active = log.into_active_model();
        active.tablespace = Set(Some(tablespace.to_owned()));
        let log = active.update(&txn).await?;
        txn.commit().await?;
        Ok(log)
    }

    /// Changes the settings. A change of period or interval applies at once: the rule-based detach runs in
    /// the same transaction. A new period shapes the partitions created from now on; they continue from the
    /// latest end and re-align to the calendar.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(events: TimeRangeTable) -> Result<()> {
    /// let updated = events
    ///     .update_config(|s| {
    ///         s.period = Period::Week;
    ///         s.interval = Some(2);
    ///     })
    ///     .await?;
    /// println!("detached {} partitions", updated.detached.len());
    /// # Ok(()) }
    /// ```
    pub async fn update_config<F>(&self, change: F) -> Result<ConfigUpdated>
    where
        F: FnOnce(&mut TimeRangeSettings),
    {
        let (txn, mut ctx) = self.lock().await?;
        let before = ctx.settings.clone();
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            txn.commit().await?;
            return Ok(ConfigUpdated {
                config: ctx.config,
                detached: Vec::new(),
            });
        }
        after.validate(&txn).await?;
        let mut active = ctx.config.clone().into_active_model();
        active.period = Set(Some(after.period));
        active.interval = Set(after.interval_column());
        active.attach_tablespace = Set(after.attach_tablespace.clone());
        active.detach_tablespace = Set(after.detach_tablespace.clone());
        active.time_zone = Set(after.time_zone.name().to_owned());
        active.updated_at = Set(self.service.now());
        let config = active.update(&txn).await?;
        let rule_changed = after.period != before.period || after.interval != before.interval;
        ctx.config = config.clone();
        ctx.settings = after;
        let detached = if rule_changed {
            let due = self.due_for_detach(&txn, &ctx).await?;
            self.detach_all(&txn, &ctx, due).await?
        } else {
            Vec::new()
        };
        txn.commit().await?;
        Ok(ConfigUpdated { config, detached })
    }
}

async fn latest<C: ConnectionTrait>(
    conn: &C,
    config_id: i32,
) -> Result<Option<partition_log::Model>> {
    Ok(partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.eq(config_id))
        .order_by_desc(partition_log::Column::End)
        .one(conn)
        .await?)
}

/// Moves a table and every index of it to `tablespace`, skipping those already there.
async fn place<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
    tablespace: &str,
) -> Result<()> {
    let (table, indexes) = catalog::placements(conn, schema, name).await?;
    if let Some(Placement {
        tablespace: current,
        ..
    }) = &table
        && current != tablespace
    {
        let sql = Partition::set_tablespace()
            .table((schema.to_owned(), name.to_owned()))
            .tablespace(tablespace.to_owned())
            .build(PostgresQueryBuilder)?;
        execute(conn, sql).await?;
    }
    for index in indexes
        .into_iter()
        .filter(|index| index.tablespace != tablespace)
    {
        let sql = Partition::set_tablespace()
            .index((schema.to_owned(), index.name))
            .tablespace(tablespace.to_owned())
            .build(PostgresQueryBuilder)?;
        execute(conn, sql).await?;
    }
    Ok(())
}
