//! Time-range partitioning: registration and every operation on a registered table.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::IntoIden;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, IntoActiveModel,
    QueryFilter, QueryOrder, Set,
};

use super::Adoption;
use super::core;
use super::handle::{check_tablespace, typed_handle};
use super::{PartitionService, QualifiedTable, Registering};
use crate::calendar::{Period, partition_name};
use crate::encoding::TimeEncoding;
use crate::entity::{partition_config, partition_log};
use crate::error::{ConfigProblem, Error, Result};
use crate::model::properties::PartitionProperties;
use crate::model::table::Table;
use crate::model::{LoggedBound, TableKind};
use crate::schema::PartitionStrategy;

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
        let invalid = |problem| Error::InvalidConfig {
            table: table.clone(),
            problem,
        };
        if config.strategy != PartitionStrategy::Range {
            return Err(invalid(ConfigProblem::WrongKind {
                expected: "RANGE",
                found: config.strategy.as_sql().to_owned(),
            }));
        }
        let period = config
            .period
            .ok_or_else(|| invalid(ConfigProblem::NoPeriod))?;
        let interval = match config.interval {
            None => None,
            Some(n) if n >= 1 => Some(n.unsigned_abs()),
            Some(n) => return Err(invalid(ConfigProblem::NonPositiveInterval(n))),
        };
        let time_zone = Tz::from_str(&config.time_zone)
            .map_err(|_| invalid(ConfigProblem::UnknownTimeZone(config.time_zone.clone())))?;
        Ok(Self {
            period,
            interval,
            attach_tablespace: config.attach_tablespace.clone(),
            detach_tablespace: config.detach_tablespace.clone(),
            time_zone,
        })
    }

    /// Checks the settings of `table`: a positive interval, tablespaces that exist (and none on a table
    /// distributed by Citus).
    async fn validate<C: ConnectionTrait>(&self, conn: &C, table: (&str, &str)) -> Result<()> {
        super::citus::refuse_tablespaces(
            conn,
            table,
            self.attach_tablespace.as_deref(),
            self.detach_tablespace.as_deref(),
        )
        .await?;
        match self.interval {
            Some(0) => return Err(Error::ZeroInterval),
            Some(n) => super::check_count("interval", n, 1)?,
            None => {}
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

enum ZoneSetting {
    Zone(Tz),
    Name(String),
}

/// Registers a table partitioned by RANGE on a timestamp column; made by
/// [`PartitionService::time_range`] or [`PartitionService::time_range_table`].
///
/// Defaults: monthly partitions, no retention, tablespaces left alone, UTC, no DEFAULT partition.
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
    default_partition: bool,
    sub_partition: Option<(String, u32)>,
    encoding: Option<TimeEncoding>,
    properties: PartitionProperties,
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
            default_partition: false,
            sub_partition: None,
            encoding: None,
            properties: PartitionProperties::default(),
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

    /// Keep a DEFAULT partition (`{table}_default`) for rows no range partition accepts. When a partition is
    /// created or attached whose range covers rows sitting in DEFAULT, exactly those rows move into it in the
    /// same transaction.
    pub fn default_partition(mut self, keep: bool) -> Self {
        self.default_partition = keep;
        self
    }

    /// Sub-partition every new range partition by HASH of `column` into `modulus` partitions
    /// (`{partition}_h0` .. `_h{modulus-1}`), created and recorded with it.
    pub fn sub_partition_by_hash<C: IntoIden>(mut self, column: C, modulus: u32) -> Self {
        self.sub_partition = Some((column.into_iden().to_string(), modulus));
        self
    }

    /// How the key encodes time, for a key that is not a `timestamptz`, `timestamp` or `date` (those need
    /// none): epoch integers, UUIDv7, ULIDs, snowflake IDs. Checked against the key column at registration;
    /// see [`encoding`](crate::encoding).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// // CREATE TABLE event (id uuid PRIMARY KEY, ..) PARTITION BY RANGE (id), with ids from Uuid::now_v7().
    /// let events = service
    ///     .time_range_table("event")
    ///     .period(Period::Day)
    ///     .encoding(TimeEncoding::UuidV7)
    ///     .register()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn encoding(mut self, encoding: TimeEncoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// The properties every partition carries: owner, grants, storage options, replica identity,
    /// per-partition unique indexes (see [`model::properties`](crate::model::properties)). Checked at
    /// registration; a table registered already keeps its own (change them with
    /// [`set_properties`](TimeRangeTable::set_properties)).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// use sea_orm_pg_partitioning::model::properties::PartitionProperties;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let events = service
    ///     .time_range_table("event")
    ///     .period(Period::Day)
    ///     .properties(PartitionProperties::new().grant("reporting", ["SELECT"]).storage("fillfactor", "90"))
    ///     .register()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn properties(mut self, properties: PartitionProperties) -> Self {
        self.properties = properties;
        self
    }

    /// Verifies the table (it exists and is partitioned by RANGE on a timestamp column) and the tablespaces,
    /// then records the configuration and creates the first partition (and the DEFAULT one when asked), in
    /// one transaction.
    ///
    /// Registering a table again returns the configuration it already has, unchanged (change it with
    /// [`TimeRangeTable::update_config`]).
    pub async fn register(self) -> Result<TimeRangeTable> {
        Ok(self.register_or_adopt(false).await?.0)
    }

    /// Registers a table that already has partitions (made by hand, by pg_partman or by another tool):
    /// the configuration is recorded as by [`register`](Self::register), but nothing is created; each
    /// partition whose bound is exactly one period in the configured zone (and a DEFAULT partition) is
    /// written to the log, read from the catalog. A partition that does not fit is reported in
    /// [`Adoption::misfits`] and left as it is, unlogged. Maintenance then continues after the newest
    /// adopted partition. Adopting a registered table again logs what the log does not know yet.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// // A table whose daily partitions pg_partman made.
    /// let (table, adoption) = service.time_range_table("event").period(Period::Day).adopt().await?;
    /// println!("adopted {} partitions", adoption.adopted.len());
    /// for misfit in &adoption.misfits {
    ///     println!("left alone: {misfit}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn adopt(self) -> Result<(TimeRangeTable, Adoption)> {
        let (table, adoption) = self.register_or_adopt(true).await?;
        Ok((table, adoption.unwrap_or_default()))
    }

    /// The settings asked for, with the time zone resolved.
    fn settings(&self) -> Result<TimeRangeSettings> {
        let time_zone = match &self.time_zone {
            ZoneSetting::Zone(zone) => *zone,
            ZoneSetting::Name(name) => {
                Tz::from_str(name).map_err(|_| Error::InvalidTimeZone { name: name.clone() })?
            }
        };
        Ok(TimeRangeSettings {
            period: self.period,
            interval: self.interval,
            attach_tablespace: self.attach_tablespace.clone(),
            detach_tablespace: self.detach_tablespace.clone(),
            time_zone,
        })
    }

    async fn register_or_adopt(self, adopt: bool) -> Result<(TimeRangeTable, Option<Adoption>)> {
        let service = self.service.clone();
        let settings = self.settings()?;
        let Registering {
            txn,
            schema,
            table,
            existing,
        } = service
            .begin_registration(&self.table, TableKind::TimeRange)
            .await?;
        if let Some(config) = existing {
            let handle = TimeRangeTable::from_config(service.clone(), &config);
            let adoption = super::reconcile::adopt_if(&service, &txn, config, adopt).await?;
            txn.commit().await?;
            return Ok((handle, adoption));
        }

        let (key_column, encoding) = check_range_table(
            &txn,
            (&schema, &table),
            self.key_column.as_deref(),
            self.encoding,
            &settings,
            service.now(),
        )
        .await?;
        settings.validate(&txn, (&schema, &table)).await?;
        super::properties::check(&txn, (&schema, &table), &self.properties).await?;
        let sub = super::validate_sub_partition(self.sub_partition.as_ref())?;
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
            default_partition: Set(self.default_partition),
            sub_partition_column: Set(sub.as_ref().map(|(c, _)| c.clone())),
            sub_partition_modulus: Set(sub.as_ref().map(|(_, m)| *m)),
            key_encoding: Set(encoding.map(|e| e.to_string())),
            properties: Set((!self.properties.is_empty()).then(|| self.properties.to_json())),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let handle = TimeRangeTable::from_config(service.clone(), &config);
        let ctx = core::load(&txn, config).await?;
        if adopt {
            let adoption = super::reconcile::adopt_unlogged(&service, &txn, &ctx).await?;
            txn.commit().await?;
            tracing::info!(table = %format!("{schema}.{table}"), adopted = adoption.adopted.len(), misfits = adoption.misfits.len(), "adopted for time-range partitioning");
            return Ok((handle, Some(adoption)));
        }
        if self.default_partition {
            super::reconcile::register_default(
                &service,
                &txn,
                &ctx,
                settings.attach_tablespace.clone(),
            )
            .await?;
        }
        let start = settings.period.start(now, settings.time_zone);
        handle.create_one(&txn, &ctx, &settings, start).await?;
        txn.commit().await?;
        tracing::info!(table = %format!("{schema}.{table}"), "registered for time-range partitioning");
        Ok((handle, None))
    }
}

/// Checks that the table exists and is partitioned by RANGE on one column whose values encode time: a
/// `timestamptz`, `timestamp` or `date`, or a column the given encoding fits (and that holds the current
/// period). Returns the column, and the encoding to record (`None`: the column's type says it).
async fn check_range_table<C: ConnectionTrait>(
    conn: &C,
    (schema, table): (&str, &str),
    key_column: Option<&str>,
    encoding: Option<TimeEncoding>,
    settings: &TimeRangeSettings,
    now: DateTime<Utc>,
) -> Result<(String, Option<TimeEncoding>)> {
    let key = super::check_single_key(conn, schema, table, "r", key_column).await?;
    let problem = |problem| Error::KeyEncoding {
        table: format!("{schema}.{table}"),
        problem,
    };
    let fitted = match encoding.or_else(|| TimeEncoding::of_column(&key.key_type)) {
        Some(encoding) => encoding
            .fit(&key.key_type, key.collation.as_deref(), settings.period)
            .map_err(problem)?,
        None => {
            return Err(Error::UnsupportedKeyType {
                table: format!("{schema}.{table}"),
                column: key.column,
                data_type: key.key_type,
                needed: "timestamp with time zone, timestamp or date; or give the encoding of an integer,                          uuid or text key (.encoding(..), --encoding)",
            });
        }
    };
    // The current period must fit the column (an integer in seconds ends in January 2038).
    let start = settings.period.start(now, settings.time_zone);
    let value = fitted.encode(start, settings.time_zone).map_err(problem)?;
    fitted
        .check_fits(start, &value, &key.key_type)
        .map_err(problem)?;
    let recorded = (!fitted.is_temporal()).then_some(fitted);
    Ok((key.column, recorded))
}

/// The result of [`TimeRangeTable::update_config`].
#[derive(Debug, Clone)]
pub struct ConfigUpdated {
    /// The configuration as saved.
    pub config: partition_config::Model,
    /// Partitions the rule-based detach detached because the period or interval changed.
    pub detached: Vec<partition_log::Model>,
}

typed_handle! {
    /// A registered time-range table: every operation of the original, each in one transaction. Attach and
    /// detach go through `attach_partitions` and `detach_partitions` (given partitions, or by the rule); delete,
    /// truncate, tablespaces and the DEFAULT partition are as [`TableHandle`](super::TableHandle).
    TimeRangeTable, ranges
}

/// `(start, end)` of a time-range log row.
fn span(log: &partition_log::Model) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    match log.bound()? {
        LoggedBound::Time { start, end } => Ok((start, end)),
        _ => Err(Error::InvalidLogRow {
            partition: log.partition_name.clone(),
            missing: "time range (start and end)",
        }),
    }
}

impl TimeRangeTable {
    /// The current settings.
    pub async fn settings(&self) -> Result<TimeRangeSettings> {
        TimeRangeSettings::from_config(&self.config().await?)
    }

    async fn lock_settings(&self) -> Result<(DatabaseTransaction, Table, TimeRangeSettings)> {
        let (txn, ctx) = self.handle.lock().await?;
        let settings = TimeRangeSettings::from_config(&ctx.config)?;
        Ok((txn, ctx, settings))
    }

    /// The range partition that ends last (attached or not), if any.
    pub async fn latest(&self) -> Result<Option<partition_log::Model>> {
        latest(self.handle.service.connection(), self.handle.config_id).await
    }

    /// The range partitions, by start (not the DEFAULT partition, nor sub-partitions).
    pub async fn partitions(&self) -> Result<Vec<partition_log::Model>> {
        Ok(core::range_partitions(self.handle.config_id)
            .order_by_asc(partition_log::Column::Start)
            .all(self.handle.service.connection())
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
    /// partition is created in its own transaction; rows of the DEFAULT partition that fall in its range move
    /// into it (see `moved_rows` of its log row). Returns the partitions created.
    pub async fn create_partition(&self, max_days: i64) -> Result<Vec<partition_log::Model>> {
        if max_days > MAX_HORIZON_DAYS {
            return Err(Error::InvalidConfig {
                table: self.handle.qualified(),
                problem: ConfigProblem::HorizonTooFar(max_days),
            });
        }
        let horizon = Duration::days(max_days.max(0));
        let mut created = Vec::new();
        loop {
            let (txn, ctx, settings) = self.lock_settings().await?;
            let now = self.handle.service.now();
            let latest = latest(&txn, self.handle.config_id).await?;
            let latest_end = match &latest {
                Some(log) => Some(span(log)?.1),
                None => None,
            };
            if max_days > 0
                && let Some(end) = latest_end
                && now < end - horizon
            {
                break;
            }
            let start =
                latest_end.unwrap_or_else(|| settings.period.start(now, settings.time_zone));
            let log = self.create_one(&txn, &ctx, &settings, start).await?;
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
        ctx: &Table,
        settings: &TimeRangeSettings,
        start: DateTime<Utc>,
    ) -> Result<partition_log::Model> {
        let end = settings.period.end(start, settings.time_zone);
        let name = partition_name(
            &self.handle.table,
            start,
            end,
            settings.period,
            settings.time_zone,
        );
        let new = ctx.time_partition(start, end, name)?;
        let log = core::create(&self.handle.service, txn, ctx, new).await?;
        tracing::debug!(partition = %log.partition_name, %start, %end, "partition created");
        Ok(log)
    }

    /// Attached partitions due for the retention rule: `end < now - interval × period`, and `detach_time`
    /// unset or past.
    async fn due_for_detach(
        &self,
        txn: &DatabaseTransaction,
        settings: &TimeRangeSettings,
    ) -> Result<Vec<partition_log::Model>> {
        let Some(interval) = settings.interval else {
            return Ok(Vec::new());
        };
        let now = self.handle.service.now();
        let threshold = settings
            .period
            .shift_back(now, interval, settings.time_zone);
        Ok(core::range_partitions(self.handle.config_id)
            .filter(partition_log::Column::IsAttached.eq(true))
            .filter(partition_log::Column::End.lt(threshold))
            .filter(core::unprotected(now))
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
        partitions: Option<&[partition_log::Model]>,
    ) -> Result<Vec<partition_log::Model>> {
        let (txn, ctx, settings) = self.lock_settings().await?;
        let targets = match partitions {
            Some(logs) => core::reread(&txn, &ctx, logs).await?,
            None => self.due_for_detach(&txn, &settings).await?,
        };
        let detached = self.handle.detach_locked(&txn, &ctx, targets).await?;
        txn.commit().await?;
        Ok(detached)
    }

    /// Attaches partitions back: the given ones, or with `None` every detached range partition. Each is first
    /// moved with its indexes to the attach tablespace when one is configured; `detach_time` protects it from
    /// the rule-based detach until then. Partitions already attached are left alone. Returns the partitions
    /// attached; all of them or none (one transaction).
    pub async fn attach_partitions(
        &self,
        partitions: Option<&[partition_log::Model]>,
        detach_time: Option<DateTime<Utc>>,
    ) -> Result<Vec<partition_log::Model>> {
        self.handle
            .attach_ranges(partitions, detach_time, partition_log::Column::Start)
            .await
    }

    /// Changes the settings. A change of period or interval applies at once: the rule-based detach runs in
    /// the same transaction. A new period shapes the partitions created from now on; they continue from the
    /// latest end and re-align to the calendar.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(events: TimeRangeTable) -> Result<(), Error> {
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
        let (txn, mut ctx, before) = self.lock_settings().await?;
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            txn.commit().await?;
            return Ok(ConfigUpdated {
                config: ctx.config,
                detached: Vec::new(),
            });
        }
        after
            .validate(&txn, (&ctx.config.schema_name, &ctx.config.table_name))
            .await?;
        ctx.encoding()?
            .check_period(after.period)
            .map_err(|problem| Error::KeyEncoding {
                table: ctx.qualified(),
                problem,
            })?;
        let mut active = ctx.config.clone().into_active_model();
        active.period = Set(Some(after.period));
        active.interval = Set(after.interval_column());
        active.attach_tablespace = Set(after.attach_tablespace.clone());
        active.detach_tablespace = Set(after.detach_tablespace.clone());
        active.time_zone = Set(after.time_zone.name().to_owned());
        active.updated_at = Set(self.handle.service.now());
        let config = active.update(&txn).await?;
        let rule_changed = after.period != before.period || after.interval != before.interval;
        ctx.config = config.clone();
        let detached = if rule_changed {
            let due = self.due_for_detach(&txn, &after).await?;
            self.handle.detach_locked(&txn, &ctx, due).await?
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
    Ok(core::range_partitions(config_id)
        .order_by_desc(partition_log::Column::End)
        .one(conn)
        .await?)
}
