//! Converting a plain table into a partitioned one while the application keeps writing:
//! [`PartitionService::convert`]. The method, and why it loses nothing, is in
//! [`model::convert`](crate::model::convert); this module reads the catalog, runs the phases and records
//! each one's progress with its work.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, IsolationLevel,
    Set, Statement, TransactionTrait,
};

use super::maintenance::{backoff, is_lock_timeout, pace};
use super::{PartitionService, QualifiedTable};
use crate::calendar::Period;
use crate::encoding::TimeEncoding;
use crate::entity::conversion;
use crate::entity::partition_config::{self, CreationMode, RetentionAction};
use crate::error::{Error, Result, sqlstate};
use crate::exec;
use crate::model::convert::sql::{self, Names};
use crate::model::convert::{
    ConversionKind, ConversionPlan, ConversionSettings, PlannedPartition, Registration,
    SourceTable, row_identity,
};
use crate::model::recipe;
use crate::model::table::{NewPartition, Table};
use crate::model::{LoggedBound, convert as model};
use crate::schema::{PartitionBound, PartitionStrategy, PrimaryKeyPolicy};

mod legacy;
mod source;

/// Where a conversion is.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConversionPhase {
    /// Copying the table's rows, batch by batch, while the application's changes are recorded.
    Copying,
    /// Applying the recorded changes, until few enough are left to swap.
    CatchingUp,
    /// Keeping the old rows in place: validating the `CHECK` that proves the legacy partition's bound.
    Validating,
    /// Keeping the old rows in place: building, `CONCURRENTLY`, the indexes the legacy partition lacks.
    Indexing,
    /// The partitioned table has the table's name (the point of no return); registering it, carrying the
    /// foreign keys over and dropping the old heap are left.
    Swapped,
    /// Done.
    Finished,
    /// Rolled back before the swap: the table is as it was.
    RolledBack,
}

impl ConversionPhase {
    /// `copying`, `catching-up`, `validating`, `indexing`, `swapped`, `finished` or `rolled-back`, as the
    /// state row keeps it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversionPhase::Copying => "copying",
            ConversionPhase::CatchingUp => "catching-up",
            ConversionPhase::Validating => "validating",
            ConversionPhase::Indexing => "indexing",
            ConversionPhase::Swapped => "swapped",
            ConversionPhase::Finished => "finished",
            ConversionPhase::RolledBack => "rolled-back",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            ConversionPhase::Copying,
            ConversionPhase::CatchingUp,
            ConversionPhase::Validating,
            ConversionPhase::Indexing,
            ConversionPhase::Swapped,
            ConversionPhase::Finished,
            ConversionPhase::RolledBack,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }

    /// Whether the conversion is over (finished or rolled back).
    pub fn is_over(self) -> bool {
        matches!(
            self,
            ConversionPhase::Finished | ConversionPhase::RolledBack
        )
    }
}

impl std::fmt::Display for ConversionPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a conversion is, as it reports after each batch.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionProgress {
    /// The table, `schema.name`.
    pub table: String,
    /// The phase.
    pub phase: ConversionPhase,
    /// Blocks of the table copied, of `total_blocks`.
    pub copied_blocks: i64,
    /// The table's size in blocks when the copy started.
    pub total_blocks: i64,
    /// Rows copied.
    pub rows_copied: i64,
    /// Recorded changes applied.
    pub changes_applied: i64,
}

/// What a conversion did, when it finished.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionReport {
    /// How far it got (and its counts).
    pub progress: ConversionProgress,
    /// The partitions the converted table has.
    pub partitions: usize,
    /// How long the swap held the table's ACCESS EXCLUSIVE lock (`None` if no swap happened in this run or
    /// the one it resumed).
    pub swap_lock: Option<StdDuration>,
    /// The name the old heap was kept under (`keep_old_table`), if kept.
    pub kept_as: Option<String>,
}

/// A callback told how far a conversion is after every batch.
pub type ProgressFn = Arc<dyn Fn(&ConversionProgress) + Send + Sync>;

/// Converts a plain table into a partitioned one while the application keeps using it; made by
/// [`PartitionService::convert`]. See [`model::convert`](crate::model::convert) for how.
///
/// Defaults: monthly partitions in UTC on the key column given with [`key`](Self::key), the primary key
/// widened with the key ([`PrimaryKeyPolicy::IncludeKey`]: a converted table keeps its row identity), no
/// DEFAULT partition, the old heap dropped after the swap.
#[must_use = "call .plan() or .run()"]
pub struct ConversionBuilder {
    service: PartitionService,
    table: QualifiedTable,
    key: Option<String>,
    period: Period,
    time_zone: std::result::Result<Tz, String>,
    encoding: Option<TimeEncoding>,
    step: Option<i64>,
    policy: PrimaryKeyPolicy,
    default_partition: bool,
    attach_tablespace: Option<String>,
    registration: Registration,
    keep_old: bool,
    legacy: bool,
    batch_blocks: i64,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for ConversionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversionBuilder")
            .field("table", &self.table)
            .field("key", &self.key)
            .field("period", &self.period)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

/// How many blocks (8 kB each) a copy batch reads by default: about 16 MB.
pub const DEFAULT_BATCH_BLOCKS: i64 = 2048;
/// At most this many recorded changes are applied in one batch.
const CHANGES_PER_BATCH: i64 = 20_000;
/// The swap is attempted once fewer changes than this are left after a batch.
const SWAP_BELOW: i64 = 2_000;

impl PartitionService {
    /// Converts the plain table `table` into a partitioned one with the same name, columns, indexes,
    /// constraints, grants and triggers, while the application goes on reading and writing it; then
    /// registers it. See [`ConversionBuilder`] for the settings, and
    /// [`model::convert`](crate::model::convert) for how it stays online and loses nothing.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let conversion = service.convert("event").key("created_at").period(Period::Month);
    /// let plan = conversion.plan().await?;    // what it would do, and what stops it
    /// println!("{plan}");
    /// let report = conversion.run().await?;   // copy, catch up, swap, register
    /// println!("{} rows copied; the swap held the lock {:?}", report.progress.rows_copied, report.swap_lock);
    /// # Ok(()) }
    /// ```
    pub fn convert<T: Into<QualifiedTable>>(&self, table: T) -> ConversionBuilder {
        ConversionBuilder {
            service: self.clone(),
            table: table.into(),
            key: None,
            period: Period::Month,
            time_zone: Ok(chrono_tz::UTC),
            encoding: None,
            step: None,
            policy: PrimaryKeyPolicy::IncludeKey,
            default_partition: false,
            attach_tablespace: None,
            registration: Registration::default(),
            keep_old: false,
            legacy: false,
            batch_blocks: DEFAULT_BATCH_BLOCKS,
            progress: None,
        }
    }

    /// The state of the conversion of `table` (the last one, if several ran), if any.
    pub async fn conversion<T: Into<QualifiedTable>>(
        &self,
        table: T,
    ) -> Result<Option<conversion::Model>> {
        check_installed(self).await?;
        let table = table.into();
        let schema = self.resolve_schema(&table).await?;
        find_state(self.connection(), &schema, &table.name).await
    }

    /// Resumes an interrupted conversion of `table` from its recorded phase (after a crash, a kill, a
    /// failed batch), with the settings it started with; a finished one is left as it is.
    pub async fn resume_conversion<T: Into<QualifiedTable>>(
        &self,
        table: T,
    ) -> Result<ConversionReport> {
        self.resume_conversion_with(table, None).await
    }

    /// [`resume_conversion`](Self::resume_conversion), calling `progress` after every batch.
    pub async fn resume_conversion_with<T: Into<QualifiedTable>>(
        &self,
        table: T,
        progress: Option<ProgressFn>,
    ) -> Result<ConversionReport> {
        let state = self.state_under_way(table.into()).await?;
        Runner::new(self.clone(), state, progress)?.drive().await
    }

    /// Rolls back a conversion of `table` that has not swapped yet: the trigger is dropped, the
    /// partitioned copy and the recorded changes are deleted, and the table is exactly as it was. After the
    /// swap: [`Error::PastPointOfNoReturn`].
    pub async fn rollback_conversion<T: Into<QualifiedTable>>(&self, table: T) -> Result<()> {
        let state = self.state_under_way(table.into()).await?;
        Runner::new(self.clone(), state, None)?.rollback().await
    }

    async fn state_under_way(&self, table: QualifiedTable) -> Result<conversion::Model> {
        check_installed(self).await?;
        let schema = self.resolve_schema(&table).await?;
        let qualified = format!("{schema}.{}", table.name);
        match find_state(self.connection(), &schema, &table.name).await? {
            Some(state) if !phase_of(&state)?.is_over() => Ok(state),
            _ => Err(Error::NoConversion { table: qualified }),
        }
    }
}

/// [`Error::NotInstalled`] unless the conversion's tables are where the connection looks (a database whose
/// crate tables predate them has not run the newest migration).
async fn check_installed(service: &PartitionService) -> Result<()> {
    match super::catalog::tables_found(
        service.connection(),
        &["sopp_conversion", "sopp_conversion_change"],
    )
    .await?
    {
        (true, ..) => Ok(()),
        (false, search_path, ..) => Err(Error::NotInstalled { search_path }),
    }
}

async fn find_state<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<Option<conversion::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(conversion::Entity::find()
        .filter(conversion::Column::SchemaName.eq(schema))
        .filter(conversion::Column::TableName.eq(table))
        .one(conn)
        .await?)
}

fn phase_of(state: &conversion::Model) -> Result<ConversionPhase> {
    ConversionPhase::parse(&state.phase).ok_or_else(|| Error::CheckFailed {
        table: format!("{}.{}", state.schema_name, state.table_name),
        check: "reading the conversion's state",
        detail: format!("unknown phase {:?}", state.phase),
    })
}

impl ConversionBuilder {
    /// The key column to partition by. Required.
    pub fn key<C: Into<String>>(mut self, column: C) -> Self {
        self.key = Some(column.into());
        self
    }

    /// Partitions of one period (default [`Period::Month`]): a time-range table.
    pub fn period(mut self, period: Period) -> Self {
        self.period = period;
        self.step = None;
        self
    }

    /// The zone period boundaries fall in (default UTC).
    pub fn time_zone(mut self, zone: Tz) -> Self {
        self.time_zone = Ok(zone);
        self
    }

    /// The zone by IANA name; an unknown one fails with [`Error::InvalidTimeZone`].
    pub fn time_zone_name<S: Into<String>>(mut self, zone: S) -> Self {
        let zone = zone.into();
        self.time_zone = Tz::from_str(&zone).map_err(|_| zone);
        self
    }

    /// How the key encodes time, for an integer, uuid or text key (see [`encoding`](crate::encoding)).
    pub fn encoding(mut self, encoding: TimeEncoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// Partitions of `step` keys of an integer key instead of time: an integer-range table.
    pub fn step(mut self, step: i64) -> Self {
        self.step = Some(step);
        self
    }

    /// What happens to a primary key without the partition key (default: widened with it).
    pub fn primary_key_policy(mut self, policy: PrimaryKeyPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Keep a DEFAULT partition: rows with a NULL key, or outside every partition, go there.
    pub fn default_partition(mut self, keep: bool) -> Self {
        self.default_partition = keep;
        self
    }

    /// Tablespace of the partitions (and their indexes).
    pub fn attach_tablespace<S: Into<String>>(mut self, tablespace: S) -> Self {
        self.attach_tablespace = Some(tablespace.into());
        self
    }

    /// Tablespace of partitions once detached by retention (registered with the table).
    pub fn detach_tablespace<S: Into<String>>(mut self, tablespace: S) -> Self {
        self.registration.detach_tablespace = Some(tablespace.into());
        self
    }

    /// Retention, registered with the table: detach partitions that ended more than `n` periods ago, or (by
    /// integers) more than `n` partitions below the one holding the largest key.
    pub fn retention(mut self, n: u32) -> Self {
        self.registration.retention = Some(n);
        self
    }

    /// Keep the old heap after the swap, renamed `{table}_sopp_old`, instead of dropping it.
    pub fn keep_old_table(mut self, keep: bool) -> Self {
        self.keep_old = keep;
        self
    }

    /// Keep the old rows where they are: the table becomes one partition of the new table (`{table}_legacy`,
    /// from its oldest key to the end of the period after the current one), attached with a `CHECK` that
    /// proves its bound, validated without blocking writes. Nothing is copied: the conversion takes as long
    /// as that validation and the indexes the legacy partition needs (a primary key widened with the key,
    /// built `CONCURRENTLY`). New periods get partitions of their own; retention detaches the legacy partition
    /// whole once its end passes the threshold. While it runs, a write whose key lies past the legacy
    /// partition's end fails its `CHECK`.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// service.convert("event").key("created_at").period(Period::Month).legacy_partition(true).run().await?;
    /// # Ok(()) }
    /// ```
    pub fn legacy_partition(mut self, keep: bool) -> Self {
        self.legacy = keep;
        self
    }

    /// Blocks (8 kB each) a copy batch reads (default [`DEFAULT_BATCH_BLOCKS`]); at least 1.
    pub fn batch_blocks(mut self, blocks: u32) -> Self {
        self.batch_blocks = i64::from(blocks.max(1));
        self
    }

    /// Called after every batch with how far the conversion is (for a progress bar).
    pub fn on_progress<F: Fn(&ConversionProgress) + Send + Sync + 'static>(mut self, f: F) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    fn settings(&self) -> Result<ConversionSettings> {
        let key = self.key.clone().ok_or_else(|| Error::CheckFailed {
            table: self.table.name.clone(),
            check: "the conversion's settings",
            detail: "no key column: give it with .key(\"column\") (--key COLUMN)".to_owned(),
        })?;
        let kind = match self.step {
            Some(step) => {
                super::check_range(
                    "step",
                    step,
                    (1, i64::MAX),
                    "a partition holds at least one key",
                )?;
                ConversionKind::IntRange { step }
            }
            None => ConversionKind::TimeRange {
                period: self.period,
                time_zone: self
                    .time_zone
                    .clone()
                    .map_err(|name| Error::InvalidTimeZone { name })?,
                encoding: self.encoding,
            },
        };
        Ok(ConversionSettings {
            key,
            kind,
            policy: self.policy,
            default_partition: self.default_partition,
            attach_tablespace: self.attach_tablespace.clone(),
            legacy: self.legacy,
        })
    }

    /// What the conversion would do, without changing anything: the partitions, how each object is carried
    /// over, and every problem that stops it (with its fix). Reads the key's smallest and largest value and
    /// counts NULL keys: one scan of the table (or of an index on the key).
    pub async fn plan(&self) -> Result<ConversionPlan> {
        let settings = self.settings()?;
        let schema = self.service.resolve_schema(&self.table).await?;
        let db = self.service.connection();
        let source = source::read(db, &schema, &self.table.name, &settings).await?;
        Ok(model::plan(&source, &settings, self.service.now()))
    }

    /// Runs the conversion to its end: [`Error::CannotConvert`] (nothing changed) when the plan has
    /// problems, [`Error::ConversionUnderWay`] when one already is (resume or roll it back).
    pub async fn run(self) -> Result<ConversionReport> {
        let settings = self.settings()?;
        check_installed(&self.service).await?;
        let schema = self.service.resolve_schema(&self.table).await?;
        let db = self.service.connection();
        let qualified = format!("{schema}.{}", self.table.name);
        let previous = find_state(db, &schema, &self.table.name).await?;
        if let Some(state) = &previous {
            let phase = phase_of(state)?;
            if !phase.is_over() {
                return Err(Error::ConversionUnderWay {
                    table: qualified,
                    phase: phase.to_string(),
                });
            }
        }
        let source = source::read(db, &schema, &self.table.name, &settings).await?;
        // Converted already (and still partitioned): done, nothing to do.
        if let Some(state) = previous
            && phase_of(&state)? == ConversionPhase::Finished
            && source.relkind == Some('p')
        {
            return Runner::new(self.service.clone(), state, None)?
                .report()
                .await;
        }
        let plan = model::plan(&source, &settings, self.service.now());
        if !plan.is_possible() {
            return Err(Error::CannotConvert {
                table: qualified,
                problems: plan.problems,
            });
        }
        let state = self.prepare(&schema, &source, &settings, &plan).await?;
        Runner::new(self.service.clone(), state, self.progress.clone())?
            .drive()
            .await
    }

    /// The prepare transaction: the state row, the partitioned copy with its partitions and identity index,
    /// the capture trigger. Retried when `lock_timeout` stops the trigger's creation.
    async fn prepare(
        &self,
        schema: &str,
        source: &SourceTable,
        settings: &ConversionSettings,
        plan: &ConversionPlan,
    ) -> Result<conversion::Model> {
        let options = self.service.maintenance_options().clone();
        let mut attempt = 0;
        loop {
            match self.prepare_once(schema, source, settings, plan).await {
                Err(err) if is_lock_timeout(&err) && attempt < options.retries => {
                    tokio::time::sleep(backoff(options.backoff, attempt)).await;
                    attempt += 1;
                }
                Err(err) if is_lock_timeout(&err) => {
                    return Err(busy(&plan.table, "the conversion's prepare", &options));
                }
                other => return other,
            }
        }
    }

    async fn prepare_once(
        &self,
        schema: &str,
        source: &SourceTable,
        settings: &ConversionSettings,
        plan: &ConversionPlan,
    ) -> Result<conversion::Model> {
        let table = self.table.name.as_str();
        let (shadow, retired) = model::work_names(table);
        let names = Names {
            schema,
            table,
            shadow: &shadow,
        };
        let txn = self.service.connection().begin().await?;
        set_lock_timeout(&txn, self.service.maintenance_options().lock_timeout).await?;
        // A rolled-back or finished conversion of a table of this name leaves its row: replaced.
        if let Some(old) = find_state(&txn, schema, table).await? {
            forget_changes(&txn, old.id).await?;
            conversion::Entity::delete_by_id(old.id).exec(&txn).await?;
        }
        let now = self.service.now();
        let mut json = sql::settings::to_json(settings, &self.registration);
        json["indexes_built"] = false.into();
        json["batch_blocks"] = self.batch_blocks.into();
        let state = conversion::ActiveModel {
            schema_name: Set(schema.to_owned()),
            table_name: Set(table.to_owned()),
            shadow_name: Set(shadow.clone()),
            retired_name: Set(retired),
            phase: Set(ConversionPhase::Copying.as_str().to_owned()),
            settings: Set(json.clone()),
            keep_retired: Set(self.keep_old),
            started_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        exec::execute(&txn, sql::create_shadow(names, &settings.key)).await?;
        let shadow_table = shadow_table(schema, &shadow, settings, source.key_type(&settings.key))?;
        let mut active: conversion::ActiveModel = state.clone().into();
        if let (true, Some((legacy, rest))) = (settings.legacy, plan.partitions.split_first()) {
            // The old rows stay: the new periods get partitions, the table a CHECK proving its bound.
            create_partitions(&txn, &shadow_table, rest, &source.storage).await?;
            let (_, condition) = range_of(&shadow_table, &legacy.bound)?;
            let check = sql::add_legacy_check((schema, table), &settings.key, &condition);
            exec::execute(&txn, check).await?;
            json["legacy_bound"] = bound_json(&legacy.bound);
            active.phase = Set(ConversionPhase::Validating.as_str().to_owned());
        } else {
            create_partitions(&txn, &shadow_table, &plan.partitions, &source.storage).await?;
            let identity = row_identity(source).unwrap_or_default();
            for statement in sql::create_triggers(names, state.id, &identity) {
                exec::execute(&txn, statement).await?;
            }
            active.total_blocks = Set(source::blocks(&txn, schema, table).await?);
            json["filenode"] = source::filenode(&txn, schema, table).await?.into();
        }
        active.settings = Set(json);
        let state = active.update(&txn).await?;
        txn.commit().await?;
        tracing::info!(table = %format!("{schema}.{table}"), partitions = plan.partitions.len(), "conversion prepared");
        Ok(state)
    }
}

/// The bound and row condition of a range of the new table.
fn range_of(
    shadow: &Table,
    bound: &LoggedBound,
) -> Result<(PartitionBound, sea_orm::sea_query::Expr)> {
    match bound {
        LoggedBound::Time { start, end } => shadow.time_range(*start, *end),
        LoggedBound::Int { start, end } => Ok(shadow.int_range(*start, *end)),
        _ => Err(Error::CheckFailed {
            table: shadow.qualified(),
            check: "the legacy partition's bound",
            detail: bound.to_string(),
        }),
    }
}

/// A range bound as the state row keeps it.
fn bound_json(bound: &LoggedBound) -> serde_json::Value {
    match bound {
        LoggedBound::Time { start, end } => {
            serde_json::json!({"start": start.to_rfc3339(), "end": end.to_rfc3339()})
        }
        LoggedBound::Int { start, end } => serde_json::json!({"int_start": start, "int_end": end}),
        _ => serde_json::Value::Null,
    }
}

/// A range bound back from the state row.
fn bound_from_json(v: &serde_json::Value) -> Option<LoggedBound> {
    let instant = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(v[k].as_str()?)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    match (instant("start"), instant("end")) {
        (Some(start), Some(end)) => Some(LoggedBound::Time { start, end }),
        _ => Some(LoggedBound::Int {
            start: v["int_start"].as_i64()?,
            end: v["int_end"].as_i64()?,
        }),
    }
}

/// `SET LOCAL lock_timeout` for the rest of the transaction.
async fn set_lock_timeout(txn: &DatabaseTransaction, timeout: StdDuration) -> Result<()> {
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('lock_timeout', $1, true)",
        [format!("{}ms", timeout.as_millis().max(1)).into()],
    ))
    .await?;
    Ok(())
}

/// The partitioned table being filled, as the recipes see a managed table: created directly (nobody uses it
/// yet), its partitions named after the table it becomes.
fn shadow_table(
    schema: &str,
    shadow: &str,
    settings: &ConversionSettings,
    key_type: Option<&str>,
) -> Result<Table> {
    let now = chrono::Utc::now();
    let (period, time_zone, step, encoding) = match settings.kind {
        ConversionKind::TimeRange {
            period,
            time_zone,
            encoding,
        } => (
            Some(period),
            time_zone.name().to_owned(),
            None,
            encoding.filter(|e| !e.is_temporal()).map(|e| e.to_string()),
        ),
        ConversionKind::IntRange { step } => (None, "UTC".to_owned(), Some(step), None),
    };
    let config = partition_config::Model {
        id: 0,
        schema_name: schema.to_owned(),
        table_name: shadow.to_owned(),
        key_column: settings.key.clone(),
        strategy: PartitionStrategy::Range,
        period,
        interval: None,
        attach_tablespace: settings.attach_tablespace.clone(),
        detach_tablespace: None,
        time_zone,
        step,
        premake: None,
        default_partition: settings.default_partition,
        sub_partition_column: None,
        sub_partition_modulus: None,
        retention_action: RetentionAction::Detach,
        drop_after_seconds: None,
        creation_mode: CreationMode::Direct,
        concurrent_detach: false,
        key_encoding: encoding,
        properties: None,
        retire_group: None,
        created_at: now,
        updated_at: now,
    };
    Ok(Table {
        config,
        key_type: key_type.map(str::to_owned),
    })
}

/// The converted table's name, for looking it up.
fn target_name((schema, table, _): (String, String, String)) -> QualifiedTable {
    QualifiedTable::from((schema, table))
}

/// Creates `partitions` of the new table (with the table's storage options), skipping those that exist.
async fn create_partitions<C: ConnectionTrait>(
    conn: &C,
    shadow: &Table,
    partitions: &[PlannedPartition],
    storage: &[String],
) -> Result<usize> {
    let schema = shadow.config.schema_name.clone();
    let mut created = 0;
    for planned in partitions {
        if source::exists(conn, &schema, &planned.name).await? {
            continue;
        }
        let new = match &planned.bound {
            LoggedBound::Time { start, end } => {
                shadow.time_partition(*start, *end, planned.name.clone())?
            }
            LoggedBound::Int { start, end } => {
                let mut new = shadow.int_partition(*start, *end);
                new.name = planned.name.clone();
                new
            }
            _ => NewPartition {
                name: planned.name.clone(),
                bound: PartitionBound::Default,
                condition: None,
                tablespace: shadow.config.attach_tablespace.clone(),
                logged: LoggedBound::Default,
                sub_partition: None,
            },
        };
        let recipe = recipe::create(shadow, &new, None)?;
        exec::run(conn, &shadow.qualified(), &recipe, |_, e| e).await?;
        if !storage.is_empty()
            && let Some(set) = sql::set_storage((&schema, &planned.name), storage)
        {
            exec::execute(conn, set).await?;
        }
        created += 1;
    }
    Ok(created)
}

/// Runs a conversion's phases from its recorded state.
struct Runner {
    service: PartitionService,
    state: conversion::Model,
    settings: ConversionSettings,
    registration: Registration,
    /// The plain table as it was when this run started (before the swap).
    source: Option<SourceTable>,
    columns: Vec<String>,
    identity: Vec<String>,
    progress: Option<ProgressFn>,
    swap_lock: Option<StdDuration>,
}

impl Runner {
    fn new(
        service: PartitionService,
        state: conversion::Model,
        progress: Option<ProgressFn>,
    ) -> Result<Self> {
        let (settings, registration) =
            sql::settings::from_json(&state.settings).ok_or_else(|| Error::CheckFailed {
                table: format!("{}.{}", state.schema_name, state.table_name),
                check: "reading the conversion's settings",
                detail: state.settings.to_string(),
            })?;
        Ok(Self {
            service,
            state,
            settings,
            registration,
            source: None,
            columns: Vec::new(),
            identity: Vec::new(),
            progress,
            swap_lock: None,
        })
    }

    fn qualified(&self) -> String {
        format!("{}.{}", self.state.schema_name, self.state.table_name)
    }

    fn names(&self) -> (String, String, String) {
        (
            self.state.schema_name.clone(),
            self.state.table_name.clone(),
            self.state.shadow_name.clone(),
        )
    }

    fn phase(&self) -> Result<ConversionPhase> {
        phase_of(&self.state)
    }

    /// Reads the plain table's columns and identity (before the swap).
    async fn load_source(&mut self) -> Result<()> {
        if self.source.is_some() || self.phase()? >= ConversionPhase::Swapped {
            return Ok(());
        }
        let (schema, table, _) = self.names();
        let source = source::shape(self.service.connection(), &schema, &table).await?;
        self.columns = sql::copied_columns(&source);
        self.identity = row_identity(&source).ok_or_else(|| Error::CannotConvert {
            table: self.qualified(),
            problems: vec![model::ConversionProblem::NoRowIdentity],
        })?;
        self.source = Some(source);
        Ok(())
    }

    /// Runs the phases left, recording the error that stops it.
    async fn drive(mut self) -> Result<ConversionReport> {
        let result = self.drive_phases().await;
        if let Err(err) = &result {
            let message = err.to_string();
            use sea_orm::{ColumnTrait, QueryFilter};
            let _ = conversion::Entity::update_many()
                .col_expr(
                    conversion::Column::LastError,
                    sea_orm::sea_query::Expr::value(message),
                )
                .filter(conversion::Column::Id.eq(self.state.id))
                .exec(self.service.connection())
                .await;
        }
        result
    }

    async fn drive_phases(&mut self) -> Result<ConversionReport> {
        loop {
            match self.phase()? {
                ConversionPhase::Copying => {
                    self.load_source().await?;
                    self.copy().await?;
                }
                ConversionPhase::CatchingUp => {
                    self.load_source().await?;
                    self.catch_up().await?;
                    self.swap().await?;
                }
                ConversionPhase::Validating => {
                    self.load_source().await?;
                    self.validate().await?;
                }
                ConversionPhase::Indexing => {
                    self.load_source().await?;
                    self.legacy_indexes().await?;
                    self.swap().await?;
                }
                ConversionPhase::Swapped => self.finish().await?,
                ConversionPhase::Finished | ConversionPhase::RolledBack => break,
            }
        }
        self.report().await
    }

    fn progress(&self) -> ConversionProgress {
        ConversionProgress {
            table: self.qualified(),
            phase: self.phase().unwrap_or(ConversionPhase::Copying),
            copied_blocks: self.state.copied_blocks,
            total_blocks: self.state.total_blocks,
            rows_copied: self.state.rows_copied,
            changes_applied: self.state.changes_applied,
        }
    }

    fn tell(&self) {
        if let Some(f) = &self.progress {
            f(&self.progress());
        }
    }

    async fn report(&self) -> Result<ConversionReport> {
        let (schema, table, _) = self.names();
        let partitions = source::partitions(self.service.connection(), &schema, &table).await?;
        Ok(ConversionReport {
            progress: self.progress(),
            partitions: partitions.len(),
            swap_lock: self.swap_lock.or_else(|| {
                self.state
                    .swap_lock_ms
                    .map(|ms| StdDuration::from_millis(ms.max(0) as u64))
            }),
            kept_as: (self.state.keep_retired
                && self.phase().ok() == Some(ConversionPhase::Finished))
            .then(|| self.state.retired_name.clone()),
        })
    }

    /// Begins a batch: the state row locked (batches of concurrent runners take turns) and read again.
    async fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<DatabaseTransaction> {
        let txn = self
            .service
            .connection()
            .begin_with_config(isolation, None)
            .await?;
        use sea_orm::QuerySelect as _;
        // NO KEY UPDATE: batches of two runners take turns, and nothing else waits for them.
        self.state = conversion::Entity::find_by_id(self.state.id)
            .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::NoConversion {
                table: self.qualified(),
            })?;
        Ok(txn)
    }

    /// Whether a failed batch may be tried again, after what makes it succeed: a missing partition created,
    /// a pause after a lock timeout or a serialization failure.
    async fn recover(&mut self, err: &Error, attempt: u32) -> Result<bool> {
        let options = self.service.maintenance_options().clone();
        if attempt >= options.retries.max(3) {
            return Ok(false);
        }
        let code = err.sqlstate();
        match code.as_deref() {
            Some(sqlstate::CHECK_VIOLATION) => self.extend_partitions().await.map(|n| n > 0),
            Some("40001" | "40P01") => Ok(true),
            _ if is_lock_timeout(err) => {
                tokio::time::sleep(backoff(options.backoff, attempt)).await;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Creates the partitions the table's keys now need that the new table lacks (a key older than the
    /// first partition, or newer than the last, written meanwhile); how many.
    async fn extend_partitions(&mut self) -> Result<usize> {
        let (schema, table, shadow) = self.names();
        let db = self.service.connection();
        let key_type = self
            .source
            .as_ref()
            .and_then(|s| s.key_type(&self.settings.key))
            .unwrap_or("")
            .to_owned();
        let utc = sql::reads_utc(&self.settings, &key_type);
        let stats = source::key_stats(db, (&schema, &table), &self.settings.key, utc).await?;
        let planned = match self.settings.kind {
            ConversionKind::TimeRange {
                period,
                time_zone,
                encoding,
            } => {
                let encoding = encoding
                    .or_else(|| TimeEncoding::of_column(&key_type))
                    .unwrap_or(TimeEncoding::Timestamptz);
                let now = Some(self.service.now());
                model::time_partitions(&table, &stats, encoding, period, time_zone, now)
            }
            ConversionKind::IntRange { step } => model::int_partitions(&table, &stats, step),
        };
        let (_, partitions) = planned.map_err(|problem| Error::CannotConvert {
            table: self.qualified(),
            problems: vec![problem],
        })?;
        let shadow_table = shadow_table(&schema, &shadow, &self.settings, Some(&key_type))?;
        let txn = db.begin().await?;
        let storage = self
            .source
            .as_ref()
            .map(|s| s.storage.clone())
            .unwrap_or_default();
        let created = create_partitions(&txn, &shadow_table, &partitions, &storage).await?;
        txn.commit().await?;
        tracing::info!(table = %self.qualified(), created, "conversion: partitions added for new keys");
        Ok(created)
    }

    /// Pauses after work that took `busy`, as `duty_cycle` asks.
    async fn pace(&self, busy: StdDuration) {
        let pause = pace(busy, self.service.maintenance_options().duty_cycle);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
}

/// The phases.
impl Runner {
    /// Copies the table batch by batch; the last batch moves the conversion to catching up.
    async fn copy(&mut self) -> Result<()> {
        loop {
            let started = Instant::now();
            let mut attempt = 0;
            let done = loop {
                match self.copy_batch().await {
                    Ok(done) => break done,
                    Err(err) if self.recover(&err, attempt).await? => attempt += 1,
                    Err(err) => return Err(err),
                }
            };
            self.tell();
            if done {
                return Ok(());
            }
            self.pace(started.elapsed()).await;
        }
    }

    async fn copy_batch(&mut self) -> Result<bool> {
        let (schema, table, shadow) = self.names();
        let names = Names {
            schema: &schema,
            table: &table,
            shadow: &shadow,
        };
        let txn = self.begin(None).await?;
        let mut json = self.state.settings.clone();
        let filenode = source::filenode(&txn, &schema, &table).await?;
        let mut active: conversion::ActiveModel = self.state.clone().into();
        if json["filenode"].as_i64() != Some(filenode) {
            // Rewritten (VACUUM FULL, CLUSTER): its rows moved, so the copy starts over; the changes
            // recorded since the start stay, and are applied after.
            exec::execute(&txn, sql::truncate((&schema, &shadow))).await?;
            json["filenode"] = filenode.into();
            active.settings = Set(json.clone());
            active.copied_blocks = Set(0);
            active.rows_copied = Set(0);
            active.total_blocks = Set(source::blocks(&txn, &schema, &table).await?);
            tracing::warn!(table = %self.qualified(), "conversion: the table was rewritten; copying again");
        }
        let from = *active.copied_blocks.as_ref();
        let total = *active.total_blocks.as_ref();
        let batch = json["batch_blocks"]
            .as_i64()
            .unwrap_or(DEFAULT_BATCH_BLOCKS)
            .max(1);
        let to = from.saturating_add(batch).min(total);
        let mut rows = 0;
        if from < to {
            let copy = sql::copy_blocks(names, &self.columns, from, to);
            rows = txn.execute_unprepared(&copy).await?.rows_affected();
        }
        let done = to >= total;
        active.copied_blocks = Set(to);
        active.rows_copied =
            Set(active.rows_copied.as_ref() + i64::try_from(rows).unwrap_or(i64::MAX));
        active.updated_at = Set(self.service.now());
        if done {
            active.phase = Set(ConversionPhase::CatchingUp.as_str().to_owned());
        }
        self.state = active.update(&txn).await?;
        txn.commit().await?;
        Ok(done)
    }

    /// Applies recorded changes until few are left. The first pass applies all of them at once, as joins
    /// (the new table has no index yet: the copy goes faster without), which also removes the rows the copy
    /// took twice (an update moved them to a block not yet copied); then the indexes are built.
    async fn catch_up(&mut self) -> Result<()> {
        if self.state.settings["indexes_built"].as_bool() != Some(true) {
            let mut attempt = 0;
            loop {
                let txn = self.begin(Some(IsolationLevel::RepeatableRead)).await?;
                match self.apply_in(&txn, i64::MAX).await {
                    Ok(applied) => {
                        self.save_applied(&txn, applied).await?;
                        txn.commit().await?;
                        break;
                    }
                    Err(err) if self.recover(&err, attempt).await? => attempt += 1,
                    Err(err) => return Err(err),
                }
            }
            self.tell();
            self.build_indexes().await?;
        }
        loop {
            let started = Instant::now();
            let mut attempt = 0;
            let left = loop {
                match self.apply_batch().await {
                    Ok(left) => break left,
                    Err(err) if self.recover(&err, attempt).await? => attempt += 1,
                    Err(err) => return Err(err),
                }
            };
            self.tell();
            if left < SWAP_BELOW {
                return Ok(());
            }
            self.pace(started.elapsed()).await;
        }
    }

    /// One batch of recorded changes, in one `REPEATABLE READ` snapshot; how many are left (up to
    /// [`SWAP_BELOW`]).
    async fn apply_batch(&mut self) -> Result<i64> {
        let txn = self.begin(Some(IsolationLevel::RepeatableRead)).await?;
        let applied = self.apply_in(&txn, CHANGES_PER_BATCH).await?;
        let left = count_changes(&txn, self.state.id, SWAP_BELOW).await?;
        self.save_applied(&txn, applied).await?;
        txn.commit().await?;
        Ok(left)
    }

    async fn save_applied(&mut self, txn: &DatabaseTransaction, applied: i64) -> Result<()> {
        let mut active: conversion::ActiveModel = self.state.clone().into();
        active.changes_applied = Set(self.state.changes_applied + applied);
        active.updated_at = Set(self.service.now());
        self.state = active.update(txn).await?;
        Ok(())
    }

    /// Applies up to `limit` recorded changes, oldest first, in `txn`; how many.
    async fn apply_in(&self, txn: &DatabaseTransaction, limit: i64) -> Result<i64> {
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT max(seq), count(*) FROM (SELECT seq FROM sopp_conversion_change \
                 WHERE conversion_id = $1 ORDER BY seq LIMIT $2) s",
                [self.state.id.into(), limit.into()],
            ))
            .await?;
        let Some((Some(seq), count)) = row
            .map(|r| {
                Ok::<_, Error>((
                    r.try_get_by_index::<Option<i64>>(0)?,
                    r.try_get_by_index::<i64>(1)?,
                ))
            })
            .transpose()?
        else {
            return Ok(0);
        };
        let (schema, table, shadow) = self.names();
        let names = Names {
            schema: &schema,
            table: &table,
            shadow: &shadow,
        };
        for statement in
            sql::apply_changes(names, &self.columns, &self.identity, self.state.id, seq)
        {
            txn.execute_unprepared(&statement).await?;
        }
        Ok(count)
    }

    /// Builds the indexes left for after the copy, on the new table only (nobody else uses it).
    async fn build_indexes(&mut self) -> Result<()> {
        let (schema, table, shadow) = self.names();
        let names = Names {
            schema: &schema,
            table: &table,
            shadow: &shadow,
        };
        let txn = self.begin(None).await?;
        if let Some(source) = &self.source {
            for index in &source.indexes {
                let temp = model::shadow_index_name(&index.name);
                if source::exists(&txn, &schema, &temp).await? {
                    continue;
                }
                if let Some(statement) = sql::carry_index(names, index, &self.settings) {
                    exec::execute(&txn, statement).await?;
                }
            }
        }
        let mut json = self.state.settings.clone();
        json["indexes_built"] = true.into();
        let mut active: conversion::ActiveModel = self.state.clone().into();
        active.settings = Set(json);
        self.state = active.update(&txn).await?;
        txn.commit().await?;
        tracing::info!(table = %self.qualified(), "conversion: indexes built");
        Ok(())
    }
}

/// [`Error::TableBusy`] for `table` after `options.retries` retries.
fn busy(table: &str, what: &'static str, options: &super::MaintenanceOptions) -> Error {
    Error::TableBusy {
        table: table.to_owned(),
        what,
        timeout_ms: u64::try_from(options.lock_timeout.as_millis()).unwrap_or(u64::MAX),
        attempts: options.retries + 1,
    }
}

/// Deletes every change recorded for `conversion`.
async fn forget_changes<C: ConnectionTrait>(conn: &C, conversion: i32) -> Result<()> {
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "DELETE FROM sopp_conversion_change WHERE conversion_id = $1",
        [conversion.into()],
    ))
    .await?;
    Ok(())
}

/// How many changes are recorded for `conversion`, counting up to `up_to`.
async fn count_changes(txn: &DatabaseTransaction, conversion: i32, up_to: i64) -> Result<i64> {
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) FROM (SELECT 1 FROM sopp_conversion_change WHERE conversion_id = $1 LIMIT $2) s",
            [conversion.into(), up_to.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get_by_index(0)?,
        None => 0,
    })
}

/// The swap, the finish and the rollback.
impl Runner {
    /// The swap, retried (after catching up again) when `lock_timeout` stops it.
    async fn swap(&mut self) -> Result<()> {
        let options = self.service.maintenance_options().clone();
        let mut attempt = 0;
        loop {
            let swapped = if self.settings.legacy {
                self.swap_legacy_once().await
            } else {
                self.swap_once().await
            };
            match swapped {
                Err(err) if is_lock_timeout(&err) && attempt < options.retries => {
                    tracing::info!(table = %self.qualified(), attempt, "conversion: the swap waited too long for its lock; retrying");
                    tokio::time::sleep(backoff(options.backoff, attempt)).await;
                    attempt += 1;
                    self.apply_batch().await?;
                }
                Err(err) if is_lock_timeout(&err) => {
                    return Err(busy(&self.qualified(), "the swap", &options));
                }
                other => return other,
            }
        }
    }

    async fn swap_once(&mut self) -> Result<()> {
        let (schema, table, shadow) = self.names();
        let txn = self.begin(None).await?;
        if self.phase()? != ConversionPhase::CatchingUp {
            return Ok(txn.commit().await?);
        }
        set_lock_timeout(&txn, self.service.maintenance_options().lock_timeout).await?;
        exec::execute(&txn, sql::lock_exclusive((&schema, &table))).await?;
        let locked = Instant::now();
        let mut applied = 0;
        loop {
            let n = self.apply_in(&txn, CHANGES_PER_BATCH).await?;
            applied += n;
            if n < CHANGES_PER_BATCH {
                break;
            }
        }
        let source = self.source.clone().unwrap_or_default();
        for column in source.columns.iter().filter(|c| c.identity.is_some()) {
            source::continue_identity(&txn, &schema, (&table, &shadow), &column.name).await?;
        }
        let meta = source::metadata(&txn, &schema, &table).await?;
        self.rename_into_place(&txn, &source).await?;
        self.carry_metadata(&txn, &meta).await?;
        self.record_swap(txn, &source, locked, applied).await
    }

    /// Commits the swap with its record: phase `swapped`, the lock's duration, the changes applied under
    /// it, and the foreign keys the table held (carried over by the finish).
    pub(super) async fn record_swap(
        &mut self,
        txn: DatabaseTransaction,
        source: &SourceTable,
        locked: Instant,
        applied: i64,
    ) -> Result<()> {
        let mut json = self.state.settings.clone();
        json["foreign_keys"] = source
            .foreign_keys
            .iter()
            .map(|(n, d)| serde_json::json!([n, d]))
            .collect::<Vec<_>>()
            .into();
        let mut active: conversion::ActiveModel = self.state.clone().into();
        active.changes_applied = Set(self.state.changes_applied + applied);
        active.phase = Set(ConversionPhase::Swapped.as_str().to_owned());
        active.settings = Set(json);
        active.swap_lock_ms = Set(Some(
            i64::try_from(locked.elapsed().as_millis()).unwrap_or(i64::MAX),
        ));
        active.updated_at = Set(self.service.now());
        self.state = active.update(&txn).await?;
        txn.commit().await?;
        let held = locked.elapsed();
        self.swap_lock = Some(held);
        tracing::info!(table = %self.qualified(), lock_ms = held.as_millis() as u64, legacy = self.settings.legacy, "conversion: swapped");
        self.tell();
        Ok(())
    }

    /// Renames the plain table and its indexes away, and gives the new table and its indexes their names.
    async fn rename_into_place(
        &self,
        txn: &DatabaseTransaction,
        source: &SourceTable,
    ) -> Result<()> {
        let (schema, table, shadow) = self.names();
        let names = Names {
            schema: &schema,
            table: &table,
            shadow: &shadow,
        };
        for statement in sql::drop_triggers(names) {
            exec::execute(txn, statement).await?;
        }
        exec::execute(
            txn,
            sql::rename_table((&schema, &table), &self.state.retired_name),
        )
        .await?;
        for index in &source.indexes {
            let temp = model::shadow_index_name(&index.name);
            if source::exists(txn, &schema, &temp).await? {
                let retired = model::retired_index_name(&index.name);
                exec::execute(txn, sql::rename_index((&schema, &index.name), &retired)).await?;
                exec::execute(txn, sql::rename_index((&schema, &temp), &index.name)).await?;
            }
        }
        exec::execute(txn, sql::rename_table((&schema, &shadow), &table)).await?;
        Ok(())
    }

    /// Sequences, owner, grants, comment and triggers, onto the table under its name.
    async fn carry_metadata(
        &self,
        txn: &DatabaseTransaction,
        meta: &source::Metadata,
    ) -> Result<()> {
        let (schema, table, _) = self.names();
        let target = (schema.as_str(), table.as_str());
        for (seq_schema, sequence, column) in &meta.sequences {
            exec::execute(
                txn,
                sql::sequence_owned_by((seq_schema, sequence), target, column),
            )
            .await?;
        }
        if !meta.owner.is_empty() {
            exec::execute(txn, sql::set_owner(target, &meta.owner)).await?;
        }
        for (privilege, grantee, grantable) in &meta.grants {
            if let Some(grant) = sql::grant(target, privilege, grantee, *grantable) {
                exec::execute(txn, grant).await?;
            }
        }
        if let Some(comment) = &meta.comment {
            exec::execute(txn, sql::comment(target, comment)).await?;
        }
        // Written by PostgreSQL with the table's name, which is now the partitioned table's.
        for trigger in &meta.triggers {
            exec::execute(txn, trigger.clone()).await?;
        }
        Ok(())
    }

    /// Registers the table, carries the foreign keys over, drops (or keeps) the old heap.
    async fn finish(&mut self) -> Result<()> {
        self.register().await?;
        if self.settings.legacy {
            self.log_legacy().await?;
        }
        self.carry_foreign_keys().await?;
        let (schema, _, _) = self.names();
        let options = self.service.maintenance_options().clone();
        let mut attempt = 0;
        loop {
            let txn = self.begin(None).await?;
            set_lock_timeout(&txn, options.lock_timeout).await?;
            let result = async {
                if !self.state.keep_retired && !self.settings.legacy {
                    exec::execute(&txn, sql::drop_table((&schema, &self.state.retired_name)))
                        .await?;
                }
                Ok::<_, Error>(())
            }
            .await;
            match result {
                Err(err) if is_lock_timeout(&err) && attempt < options.retries => {
                    drop(txn);
                    tokio::time::sleep(backoff(options.backoff, attempt)).await;
                    attempt += 1;
                    continue;
                }
                Err(err) => return Err(err),
                Ok(()) => {}
            }
            self.end(&txn, ConversionPhase::Finished).await?;
            txn.commit().await?;
            tracing::info!(table = %self.qualified(), "conversion: finished");
            self.tell();
            return Ok(());
        }
    }

    /// Marks the conversion over and forgets its recorded changes.
    async fn end(&mut self, txn: &DatabaseTransaction, phase: ConversionPhase) -> Result<()> {
        forget_changes(txn, self.state.id).await?;
        let now = self.service.now();
        let mut active: conversion::ActiveModel = self.state.clone().into();
        active.phase = Set(phase.as_str().to_owned());
        active.updated_at = Set(now);
        active.finished_at = Set(Some(now));
        active.last_error = Set(None);
        self.state = active.update(txn).await?;
        Ok(())
    }

    /// Registers the converted table with its settings, adopting the partitions the conversion made.
    async fn register(&self) -> Result<()> {
        use sea_orm::sea_query::Alias;
        let (schema, table, _) = self.names();
        let target = QualifiedTable::from((schema, table));
        let settings = &self.settings;
        let reg = &self.registration;
        match settings.kind {
            ConversionKind::TimeRange {
                period,
                time_zone,
                encoding,
            } => {
                let mut r = self
                    .service
                    .time_range_table(target)
                    .key_column(Alias::new(settings.key.clone()))
                    .period(period)
                    .time_zone(time_zone)
                    .default_partition(settings.default_partition);
                if let Some(e) = encoding {
                    r = r.encoding(e);
                }
                if let Some(t) = &settings.attach_tablespace {
                    r = r.attach_tablespace(t.clone());
                }
                if let Some(t) = &reg.detach_tablespace {
                    r = r.detach_tablespace(t.clone());
                }
                if let Some(n) = reg.retention {
                    r = r.interval(n);
                }
                r.adopt().await?;
            }
            ConversionKind::IntRange { step } => {
                let mut r = self
                    .service
                    .id_range_table(target)
                    .key_column(Alias::new(settings.key.clone()))
                    .step(step)
                    .default_partition(settings.default_partition);
                if let Some(t) = &settings.attach_tablespace {
                    r = r.attach_tablespace(t.clone());
                }
                if let Some(t) = &reg.detach_tablespace {
                    r = r.detach_tablespace(t.clone());
                }
                if let Some(n) = reg.retention {
                    r = r.keep(n);
                }
                r.adopt().await?;
            }
        }
        // The partitions were made before the table had its name, owner and grants: they follow it now.
        let config = self.service.config_of(target_name(self.names())).await?;
        let (txn, ctx) = super::core::lock(
            &self.service,
            config.id,
            &config.schema_name,
            &config.table_name,
        )
        .await?;
        super::properties::apply_to_all(&txn, &ctx).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Each foreign key the table held: added to every partition `NOT VALID` (a moment's lock), validated
    /// there (no lock that stops writes), then added to the table, which adopts the partitions' without
    /// scanning them again. Idempotent.
    async fn carry_foreign_keys(&self) -> Result<()> {
        let (schema, table, _) = self.names();
        let keys: Vec<(String, String)> = self.state.settings["foreign_keys"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let db = self.service.connection();
        for (name, definition) in &keys {
            if source::has_constraint(db, &schema, &table, name).await? {
                continue;
            }
            for partition in source::partitions(db, &schema, &table).await? {
                if !source::has_constraint(db, &schema, &partition, name).await? {
                    let add = sql::add_foreign_key((&schema, &partition), name, definition, true);
                    self.ddl_with_timeout(add).await?;
                }
                exec::execute(db, sql::validate_constraint((&schema, &partition), name)).await?;
            }
            let add = sql::add_foreign_key((&schema, &table), name, definition, false);
            self.ddl_with_timeout(add).await?;
        }
        Ok(())
    }

    /// One DDL statement in its own transaction under `lock_timeout`, retried with backoff.
    async fn ddl_with_timeout(&self, statement: String) -> Result<()> {
        let options = self.service.maintenance_options().clone();
        let mut attempt = 0;
        loop {
            let txn = self.service.connection().begin().await?;
            set_lock_timeout(&txn, options.lock_timeout).await?;
            match exec::execute(&txn, statement.clone()).await {
                Ok(()) => return Ok(txn.commit().await?),
                Err(err) if is_lock_timeout(&err) && attempt < options.retries => {
                    drop(txn);
                    tokio::time::sleep(backoff(options.backoff, attempt)).await;
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Drops the trigger, the partitioned copy and the recorded changes in one transaction.
    async fn rollback(mut self) -> Result<()> {
        let options = self.service.maintenance_options().clone();
        let (schema, table, shadow) = self.names();
        let mut attempt = 0;
        loop {
            let txn = self.begin(None).await?;
            if self.phase()? >= ConversionPhase::Swapped {
                return Err(Error::PastPointOfNoReturn {
                    table: self.qualified(),
                });
            }
            set_lock_timeout(&txn, options.lock_timeout).await?;
            let names = Names {
                schema: &schema,
                table: &table,
                shadow: &shadow,
            };
            let result = async {
                for statement in sql::drop_triggers(names) {
                    exec::execute(&txn, statement).await?;
                }
                if self.settings.legacy {
                    self.undo_legacy(&txn).await?;
                }
                exec::execute(&txn, sql::drop_table((&schema, &shadow))).await
            }
            .await;
            match result {
                Err(err) if is_lock_timeout(&err) && attempt < options.retries => {
                    drop(txn);
                    tokio::time::sleep(backoff(options.backoff, attempt)).await;
                    attempt += 1;
                }
                Err(err) => return Err(err),
                Ok(()) => {
                    self.end(&txn, ConversionPhase::RolledBack).await?;
                    txn.commit().await?;
                    tracing::info!(table = %self.qualified(), "conversion: rolled back");
                    return Ok(());
                }
            }
        }
    }
}
