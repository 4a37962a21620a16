//! Maintenance: plan every registered table, execute the plan step by step, report; in the background too.
//!
//! Each step (or run of consecutive creates or detaches of one table) runs in one transaction holding the
//! table's advisory lock, and first checks under that lock that it is still needed: several replicas running
//! maintenance at once serialise per table, and a step already done by another one is skipped, never
//! repeated. DDL waits at most `lock_timeout` for its locks and is retried with backoff, so a step never
//! queues the application's queries behind it for long.

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt as _;
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder,
    RuntimeErr,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::core;
use super::{PartitionEventKind, PartitionService, QualifiedTable, catalog};
use crate::calendar::fnv1a;
use crate::entity::partition_log::PartitionKind;
use crate::entity::{partition_config, partition_log};
use crate::error::{Error, Result, sqlstate};
use crate::exec;
use crate::model::TableSpec;
use crate::model::plan::{self, Plan, Step, StepAction, StepFacts, StepRange, TableState};
use crate::model::recipe;
use crate::model::report::{Report, StepOutcome, StepReport, TableReport};
use crate::model::table::{NewPartition, Table};
use crate::schema::DetachMode;

/// How maintenance treats locks.
#[derive(Debug, Clone)]
pub struct MaintenanceOptions {
    /// The longest a DDL statement waits for a lock before giving up (and retrying after a pause): while it
    /// waits, queries that need a conflicting lock queue behind it. Default 500 ms.
    pub lock_timeout: StdDuration,
    /// How many times a step that hit `lock_timeout` is tried again. Default 5.
    pub retries: u32,
    /// The pause before the first retry; it doubles each time (with jitter). Default 100 ms.
    pub backoff: StdDuration,
    /// How many tables one run maintains at once, each on its own connection and in its own transactions.
    /// Default 2 (0 counts as 1), and never more than the pool's `max_connections` less one, so the
    /// application keeps a connection (a pool of 1 or 2 runs one table at a time).
    ///
    /// Each table's transactions are the same as one at a time: the same locks, held no longer, and never
    /// one table's while waiting for another's (a retirement group takes its tables' locks in one order
    /// everywhere), so running tables side by side cannot deadlock them. Two at once hide the round trips
    /// each table's transaction costs: retention of 50 tables took 1.36× the raw `DETACH`s at the median
    /// against 1.60× one at a time in the benchmarks. More finishes a run over many tables sooner, at the cost of
    /// that many pool connections and more server CPU while it runs; with `duty_cycle` each table is
    /// paced, so the run's share of the server is about `parallel_tables × duty_cycle`.
    ///
    /// [`status()`](crate::service::PartitionService::status) over 100 tables or more uses as many readers,
    /// each with its share of the tables in a snapshot of its own: over 100 000 partitions most of its time is
    /// the server reading the catalog, which this spreads over the server's cores.
    pub parallel_tables: usize,
    /// The share of wall-clock time a run spends executing steps, in (0, 1]. After a step (or a batch of
    /// steps) that took `t`, the run pauses `t × (1 − duty_cycle) / duty_cycle` before the next one, so the
    /// application keeps the server's CPU and the tables' locks for the rest. Default 1 (no pauses); 0.1
    /// keeps maintenance to about a tenth of the time while it runs, for ten times as long. A value outside
    /// (0, 1], or NaN, means no pauses.
    ///
    /// ```
    /// use sea_orm_pg_partitioning::prelude::*;
    ///
    /// // For a background task beside busy writers: two tables at once, each paced to a twentieth.
    /// let options = MaintenanceOptions {
    ///     parallel_tables: 2,
    ///     duty_cycle: 0.05,
    ///     ..MaintenanceOptions::default()
    /// };
    /// assert_eq!(options.lock_timeout, std::time::Duration::from_millis(500));
    /// ```
    pub duty_cycle: f64,
    /// After a run detached partitions holding rows from a table that has a row estimate (the rows it has
    /// changed; creating partitions, even with rows moved out of DEFAULT, and dropping detached ones leave them
    /// as they were), and in `run_maintenance` and the background task when a table was never analyzed while
    /// its partitions hold rows or its row estimate is off by more than a tenth from its partitions' (which
    /// autovacuum keeps current), `ANALYZE` the partitioned table, whose
    /// statistics autovacuum never refreshes: on PostgreSQL 18 `ANALYZE ONLY` (the
    /// parent's statistics from a sample of its rows, the partitions left to autovacuum), before 18 a plain
    /// `ANALYZE`, which analyzes each partition too. Outside the table's lock; its time counts for
    /// `duty_cycle`. A failure is logged, and the run goes on. Default `true`.
    pub analyze_parent: bool,
}

impl Default for MaintenanceOptions {
    fn default() -> Self {
        Self {
            lock_timeout: StdDuration::from_millis(500),
            retries: 5,
            backoff: StdDuration::from_millis(100),
            parallel_tables: 2,
            duty_cycle: 1.0,
            analyze_parent: true,
        }
    }
}

/// The attached range partitions of `tables` that their log does not know (made by hand, or left alone at
/// adoption). The log's names first, then the catalog's partitions not among them (their bounds read for
/// those only), then, when there are some, the log's names again: a partition another replica created
/// meanwhile committed its log row with it, so it is in the log read last.
async fn unlogged_ranges(
    db: &sea_orm::DatabaseConnection,
    tables: &[partition_config::Model],
) -> Result<Vec<plan::Unlogged>> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    use sea_orm::QuerySelect as _;
    let log_names = || {
        partition_log::Entity::find()
            .select_only()
            .column(partition_log::Column::SchemaName)
            .column(partition_log::Column::PartitionName)
            .filter(partition_log::Column::ConfigId.is_in(tables.iter().map(|c| c.id)))
            .into_tuple::<(String, String)>()
            .all(db)
    };
    let managed: Vec<catalog::ManagedTable<'_>> =
        tables.iter().map(catalog::ManagedTable::of).collect();
    let known = log_names().await?;
    let relations = catalog::unlogged_partitions(db, &managed, &known).await?;
    if relations.is_empty() {
        return Ok(Vec::new());
    }
    let logged: std::collections::HashSet<(String, String)> =
        log_names().await?.into_iter().collect();
    let mut children: HashMap<(&str, &str), Vec<&catalog::CatalogRelation>> = HashMap::new();
    for rel in &relations {
        if let Some((schema, name)) = &rel.parent {
            children
                .entry((schema.as_str(), name.as_str()))
                .or_default()
                .push(rel);
        }
    }
    let mut unlogged = Vec::new();
    for config in tables {
        let parent = (config.schema_name.as_str(), config.table_name.as_str());
        for rel in children.get(&parent).map(Vec::as_slice).unwrap_or_default() {
            if logged.contains(&(rel.schema.clone(), rel.name.clone())) {
                continue;
            }
            let range = match (rel.time_range, rel.int_range) {
                (Some((start, end)), _) => StepRange::Time { start, end },
                (_, Some((start, end))) => StepRange::Int { start, end },
                _ => continue,
            };
            let table = format!("{}.{}", config.schema_name, config.table_name);
            unlogged.push((table, rel.name.clone(), range));
        }
    }
    Ok(unlogged)
}

/// The log rows a batch of detach steps is to detach (by id, or by name for partitions the same plan
/// creates), read in one query, and each step's outcome; `None` when one is pending a concurrent detach (the
/// one-by-one path finishes it).
async fn detach_targets(
    txn: &DatabaseTransaction,
    ctx: &Table,
    steps: &[Step],
) -> Result<Option<(Vec<partition_log::Model>, Vec<StepOutcome>)>> {
    let ids: Vec<i64> = steps.iter().filter_map(|s| s.log_id).collect();
    let names: Vec<String> = steps
        .iter()
        .filter(|s| s.log_id.is_none())
        .map(|s| s.partition.clone())
        .collect();
    let found = partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.eq(ctx.config.id))
        .filter(
            Condition::any()
                .add(partition_log::Column::Id.is_in(ids))
                .add(partition_log::Column::PartitionName.is_in(names)),
        )
        .all(txn)
        .await?;
    let mut targets = Vec::new();
    let mut outcomes = Vec::with_capacity(steps.len());
    for step in steps {
        let log = found.iter().find(|l| match step.log_id {
            Some(id) => l.id == id,
            None => l.partition_name == step.partition,
        });
        match log {
            Some(log) if log.is_attached && !log.detach_pending && log.parent_name.is_none() => {
                targets.push(log.clone());
                outcomes.push(StepOutcome::Done { moved_rows: None });
            }
            Some(log) if log.detach_pending => return Ok(None),
            Some(_) => outcomes.push(StepOutcome::Skipped("already detached".to_owned())),
            None => outcomes.push(StepOutcome::Skipped(
                "the partition is no longer recorded".to_owned(),
            )),
        }
    }
    Ok(Some((targets, outcomes)))
}

/// The skip of a create that no longer continues from the latest partition of the table (another runner
/// created it, or a partition was added by hand); `None` when it does, as planned.
async fn not_from_latest(
    txn: &DatabaseTransaction,
    config_id: i32,
    range: StepRange,
) -> Result<Option<StepOutcome>> {
    let latest = |column: partition_log::Column| {
        core::range_partitions(config_id)
            .filter(column.is_not_null())
            .order_by_desc(column)
            .one(txn)
    };
    let (latest, start) = match range {
        StepRange::Time { start, .. } => (
            latest(partition_log::Column::End)
                .await?
                .and_then(|l| l.end)
                .filter(|l| *l != start)
                .map(|l| l.to_string()),
            start.to_string(),
        ),
        StepRange::Int { start, .. } => (
            latest(partition_log::Column::IntEnd)
                .await?
                .and_then(|l| l.int_end)
                .filter(|l| *l != start)
                .map(|l| l.to_string()),
            start.to_string(),
        ),
    };
    Ok(latest.map(|latest| {
        StepOutcome::Skipped(format!(
            "the latest partition now ends at {latest}, not {start}"
        ))
    }))
}

/// The steps of one table: its largest key read for an integer range, the plan, then the facts its steps'
/// statements depend on.
async fn plan_one<C: sea_orm::ConnectionTrait>(
    db: &C,
    ctx: &Table,
    logs: &[partition_log::Model],
    at: DateTime<Utc>,
) -> Result<Vec<Step>> {
    let max_key = match ctx.spec() {
        Ok(TableSpec::IntRange { .. }) => core::max_key(db, ctx).await?,
        _ => None,
    };
    let state = TableState { ctx, logs, max_key };
    let mut steps = plan::plan_table(&state, at)?;
    add_facts(db, ctx, logs, &mut steps).await?;
    Ok(steps)
}

/// Leaves out the detaches of partitions whose rows other rows still reference through a foreign key (PostgreSQL
/// would refuse them): each becomes a [`BlockedStep`](plan::BlockedStep) naming the referencing table and the
/// count of its rows. The referencing keys of all tables with a detach planned are read in one query.
async fn refuse_referenced<C: sea_orm::ConnectionTrait>(
    db: &C,
    steps: Vec<Step>,
) -> Result<(Vec<Step>, Vec<plan::BlockedStep>)> {
    // The keys on every table a detach is planned for, in one query.
    let mut parents: Vec<(String, String)> = steps
        .iter()
        .filter(|s| matches!(s.action, StepAction::Detach) && s.log_id.is_some())
        .flat_map(|s| {
            std::iter::once((s.schema.clone(), s.table_name.clone())).chain(
                s.together
                    .iter()
                    .map(|c| (c.schema.clone(), c.table_name.clone())),
            )
        })
        .collect();
    parents.sort_unstable();
    parents.dedup();
    let keys = if parents.is_empty() {
        HashMap::new()
    } else {
        catalog::referencing_keys(db, &parents).await?
    };
    let (mut kept, mut blocked) = (Vec::with_capacity(steps.len()), Vec::new());
    for step in steps {
        // A detach of a partition this same plan creates has nothing to check: it does not exist yet.
        if !matches!(step.action, StepAction::Detach) || step.log_id.is_none() {
            kept.push(step);
            continue;
        }
        let members: Vec<((String, String), (String, String))> = std::iter::once((
            (step.schema.clone(), step.table_name.clone()),
            (step.schema.clone(), step.partition.clone()),
        ))
        .chain(step.together.iter().map(|c| {
            (
                (c.schema.clone(), c.table_name.clone()),
                (c.schema.clone(), c.partition.clone()),
            )
        }))
        .collect();
        let retired: Vec<(String, String)> = members.iter().map(|(_, p)| p.clone()).collect();
        let mut refused = None;
        'members: for (parent, partition) in &members {
            for key in keys.get(parent).into_iter().flatten() {
                let count = crate::model::recipe::referencing_rows(
                    (&partition.0, &partition.1),
                    key,
                    if members.len() > 1 { &retired } else { &[] },
                );
                let rows: i64 = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Postgres,
                        count,
                    ))
                    .await?
                    .map(|r| r.try_get_by_index(0))
                    .transpose()?
                    .unwrap_or(0);
                if rows > 0 {
                    refused = Some((key.clone(), rows));
                    break 'members;
                }
            }
        }
        match refused {
            None => kept.push(step),
            Some((key, rows)) => blocked.push(plan::BlockedStep {
                table: step.table,
                partition: step.partition,
                bounds: step.bounds,
                bound: step.bound,
                blocked_by: format!("{}.{}", key.table.0, key.table.1),
                why: plan::Blocker::Referenced {
                    constraint: key.constraint.clone(),
                    rows,
                },
            }),
        }
    }
    Ok((kept, blocked))
}

/// Adds to each planned step what only the catalog knows (rows waiting in DEFAULT for a new partition, where
/// a partition to move and its indexes are), as the run will find it: the step's statements are then those
/// the run composes.
async fn add_facts<C: sea_orm::ConnectionTrait>(
    db: &C,
    ctx: &Table,
    logs: &[partition_log::Model],
    steps: &mut [Step],
) -> Result<()> {
    let default_attached = logs
        .iter()
        .any(|l| l.kind == PartitionKind::Default && l.is_attached);
    for step in steps {
        let mut facts = StepFacts::default();
        match step.action {
            StepAction::Create(range) if default_attached => {
                if let Some(new) = plan::planned_partition(ctx, range)?
                    && let Some(condition) = &new.condition
                {
                    facts.default_rows = core::default_holding(db, ctx, condition).await?;
                }
            }
            StepAction::Detach | StepAction::FinishDetach
                if ctx.config.detach_tablespace.is_some() =>
            {
                if let Some(log) = step.log_id.and_then(|id| logs.iter().find(|l| l.id == id)) {
                    facts.placed = core::placed(db, log).await?.0;
                }
            }
            StepAction::Columnar => {
                facts.distributed = super::citus::distribution_column(
                    db,
                    &ctx.config.schema_name,
                    &ctx.config.table_name,
                )
                .await?
                .is_some();
            }
            _ => continue,
        }
        (step.recipe, step.lock) = plan::compose(ctx, step.action, &step.partition, &facts)?;
    }
    Ok(())
}

/// The partitions a run of create steps makes, if they are contiguous and the table is configured as when
/// they were planned; `None` otherwise (the one-by-one path then says why, step by step).
fn contiguous_creates(ctx: &Table, steps: &[Step]) -> Result<Option<Vec<NewPartition>>> {
    let contiguous = steps
        .windows(2)
        .all(|pair| match (pair[0].action, pair[1].action) {
            (
                StepAction::Create(StepRange::Time { end, .. }),
                StepAction::Create(StepRange::Time { start, .. }),
            ) => end == start,
            (
                StepAction::Create(StepRange::Int { end, .. }),
                StepAction::Create(StepRange::Int { start, .. }),
            ) => end == start,
            _ => false,
        });
    if !contiguous {
        return Ok(None);
    }
    let mut news = Vec::with_capacity(steps.len());
    for step in steps {
        let StepAction::Create(range) = step.action else {
            return Ok(None);
        };
        let Some(new) = plan::planned_partition(ctx, range)? else {
            return Ok(None);
        };
        news.push(new);
    }
    Ok(Some(news))
}

/// Where the run of steps of the same kind that starts at `i` ends: creates or detaches of one table go in
/// one transaction where they can.
fn batch_end(steps: &[Step], i: usize) -> usize {
    if !steps[i].together.is_empty() {
        return i + 1;
    }
    let same = |other: &Step| {
        other.together.is_empty()
            && matches!(
                (other.action, steps[i].action),
                (StepAction::Create(_), StepAction::Create(_))
                    | (StepAction::Detach, StepAction::Detach)
            )
    };
    i + steps[i..].iter().take_while(|s| same(s)).count()
}

impl TableReport {
    /// Records the outcomes of a batch that took `busy`, shared evenly among its steps.
    fn push_batch(
        &mut self,
        steps: &[Step],
        outcomes: Vec<StepOutcome>,
        busy: StdDuration,
        retries: u32,
    ) {
        let each = busy / u32::try_from(outcomes.len()).unwrap_or(1).max(1);
        for (step, outcome) in steps.iter().zip(outcomes) {
            self.steps.push(StepReport {
                step: step.clone(),
                outcome,
                duration: each,
                retries,
            });
        }
    }
}

pub(super) fn is_lock_timeout(err: &Error) -> bool {
    matches!(err, Error::Db(db) if sqlstate(db).as_deref() == Some(sqlstate::LOCK_NOT_AVAILABLE))
}

/// A pause of `base × 2^attempt`, ± 25 % jitter derived from the clock (no randomness crate needed).
/// The pause after work that took `busy`, so that work takes `duty_cycle` of the time.
pub(super) fn pace(busy: StdDuration, duty_cycle: f64) -> StdDuration {
    if !(duty_cycle > 0.0 && duty_cycle < 1.0) {
        return StdDuration::ZERO;
    }
    scale(busy, (1.0 - duty_cycle) / duty_cycle)
}

/// Sleeps for `pause`, or less when `stop` is raised meanwhile (a shutdown never waits for pacing).
async fn paced_pause(pause: StdDuration, stop: Option<&watch::Receiver<bool>>) {
    if pause.is_zero() {
        return;
    }
    match stop {
        Some(stop) => {
            let mut stop = stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
        }
        None => tokio::time::sleep(pause).await,
    }
}

/// `d × factor`, saturating instead of panicking on overflow.
fn scale(d: StdDuration, factor: f64) -> StdDuration {
    StdDuration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(StdDuration::MAX)
}

pub(super) fn backoff(base: StdDuration, attempt: u32) -> StdDuration {
    let factor = 2u32.saturating_pow(attempt.min(10));
    let pause = base.saturating_mul(factor);
    let nanos = u64::from(Utc::now().timestamp_subsec_nanos());
    let jitter = (fnv1a(&nanos.to_le_bytes()) % 500) as f64 / 1000.0 + 0.75;
    scale(pause, jitter)
}

impl PartitionService {
    /// The steps maintenance would run now for every registered table, without changing anything.
    ///
    /// A constant number of queries, however many partitions exist: the configurations, the log, the key
    /// types, and the largest key of each integer-range table.
    pub async fn plan(&self) -> Result<Plan> {
        self.plan_tables(None).await
    }

    /// The steps maintenance would run now for one table.
    pub async fn plan_for<T: Into<QualifiedTable>>(&self, table: T) -> Result<Plan> {
        let config = self.config_of(table).await?;
        self.plan_tables(Some(config.id)).await
    }

    async fn plan_tables(&self, only: Option<i32>) -> Result<Plan> {
        self.refuse_citus_worker().await?;
        let db = self.connection();
        let at = self.now();
        let mut configs = partition_config::Entity::find()
            .order_by_asc(partition_config::Column::SchemaName)
            .order_by_asc(partition_config::Column::TableName);
        let mut logs = partition_log::Entity::find().order_by_asc(partition_log::Column::Id);
        if let Some(id) = only {
            configs = configs.filter(partition_config::Column::Id.eq(id));
            logs = logs.filter(partition_log::Column::ConfigId.eq(id));
        }
        let configs = configs.all(db).await?;
        let groups = super::group::groups_of(&configs);
        let mut by_config: HashMap<i32, Vec<partition_log::Model>> = HashMap::new();
        for log in core::logs(db, logs).await? {
            by_config.entry(log.config_id).or_default().push(log);
        }
        let names: Vec<(String, String)> = configs
            .iter()
            .map(|c| (c.schema_name.clone(), c.table_name.clone()))
            .collect();
        let key_types = catalog::key_types(db, &names).await?;
        let mut steps = Vec::new();
        let mut unplannable = Vec::new();
        // Tables with creates planned: the catalog is read for them only.
        let mut creating = Vec::new();
        for config in configs {
            let table = format!("{}.{}", config.schema_name, config.table_name);
            let Some(key_type) =
                key_types.get(&(config.schema_name.clone(), config.table_name.clone()))
            else {
                unplannable.push((table.clone(), Error::UnknownTable { table }.to_string()));
                continue;
            };
            let ctx = Table {
                config,
                key_type: key_type.clone(),
            };
            let logs = by_config.remove(&ctx.config.id).unwrap_or_default();
            match plan_one(db, &ctx, &logs, at).await {
                Ok(table_steps) => {
                    let creates = table_steps
                        .iter()
                        .any(|s| matches!(s.action, StepAction::Create(_)));
                    if creates {
                        creating.push(ctx.config.clone());
                    }
                    steps.extend(table_steps);
                }
                Err(err) => unplannable.push((table, err.to_string())),
            }
        }
        let steps = super::group::plan_groups(db, steps, &groups).await?;
        let unlogged = unlogged_ranges(db, &creating).await?;
        let (steps, mut blocked) = plan::block_overlaps(steps, &unlogged);
        let (steps, referenced) = refuse_referenced(db, steps).await?;
        blocked.extend(referenced);
        Ok(Plan {
            at,
            steps,
            unplannable,
            blocked,
        })
    }

    /// Plans and runs maintenance for every registered table: premake, retention (detach, then drop after the
    /// grace period when so configured), and completion of interrupted concurrent detaches. A table that fails
    /// is reported and the others go on.
    pub async fn run_maintenance(&self) -> Result<Report> {
        let run = async {
            let started = Instant::now();
            let plan = self.plan().await?;
            self.pace_after(started.elapsed()).await;
            Ok(self.run_plan_analyzed(&plan, None).await)
        };
        self.run_and_analyze(run, None).await
    }

    /// Runs `run` (a plan, then its run, and the parents it analyzed), then analyzes the parents whose
    /// statistics are stale ([`stale_parents`](Self::stale_parents)), unless the run was interrupted. When the
    /// pool has a connection to spare beside the run's, the staleness query runs while the plan and the run do
    /// (what the run changes is what `rows_removed` analyzes), and a table both find is analyzed once.
    async fn run_and_analyze<F, E>(
        &self,
        run: F,
        stop: Option<&watch::Receiver<bool>>,
    ) -> std::result::Result<Report, E>
    where
        F: std::future::Future<Output = std::result::Result<(Report, Vec<(String, String)>), E>>,
    {
        let beside = self.parallel_tables() + 1 < self.pool_size();
        let (run, stale) = if beside {
            let (run, stale) = tokio::join!(run, self.stale_parents());
            (run?, Some(stale))
        } else {
            (run.await?, None)
        };
        let (report, analyzed) = run;
        if !report.interrupted {
            let stale = match stale {
                Some(stale) => stale,
                None => self.stale_parents().await,
            };
            let stale = stale
                .into_iter()
                .filter(|t| !analyzed.contains(t))
                .collect();
            self.analyze_parents(stale, stop).await;
        }
        Ok(report)
    }

    /// Plans and runs maintenance for one table.
    pub async fn run_maintenance_for<T: Into<QualifiedTable>>(&self, table: T) -> Result<Report> {
        let started = Instant::now();
        let plan = self.plan_for(table).await?;
        self.pace_after(started.elapsed()).await;
        Ok(self.run_plan(&plan).await)
    }

    /// How many tables a run maintains at once: [`MaintenanceOptions::parallel_tables`], at least 1 and at
    /// most the pool's `max_connections` less one.
    pub(crate) fn parallel_tables(&self) -> usize {
        let wanted = Ord::max(self.maintenance_options().parallel_tables, 1);
        wanted.min(self.pool_size().saturating_sub(1)).max(1)
    }

    /// The pool's `max_connections` (1 for a connection that is not a pool).
    fn pool_size(&self) -> usize {
        use sea_orm::DatabaseConnectionType;
        match &self.connection().inner {
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                let max = self
                    .connection()
                    .get_postgres_connection_pool()
                    .options()
                    .get_max_connections();
                usize::try_from(max).unwrap_or(usize::MAX)
            }
            _ => 1,
        }
    }

    /// The pause `duty_cycle` asks for after work that took `busy` (planning counts too).
    async fn pace_after(&self, busy: StdDuration) {
        let pause = pace(busy, self.maintenance_options().duty_cycle);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }

    /// Runs exactly the steps of `plan`, each after checking under the table's lock that it is still needed.
    pub async fn run_plan(&self, plan: &Plan) -> Report {
        self.run_plan_analyzed(plan, None).await.0
    }

    /// [`run_plan`](Self::run_plan), and the parents it analyzed because detached partitions held rows.
    async fn run_plan_analyzed(
        &self,
        plan: &Plan,
        stop: Option<&watch::Receiver<bool>>,
    ) -> (Report, Vec<(String, String)>) {
        let started = Instant::now();
        let groups = plan.by_table();
        let parallel = self.parallel_tables();
        let tables: Vec<_> = groups
            .into_iter()
            .enumerate()
            .map(|(k, group)| self.run_table(k, group, stop))
            .collect();
        let mut done: Vec<(usize, TableReport, bool)> = futures_util::stream::iter(tables)
            .buffer_unordered(parallel)
            .collect()
            .await;
        done.sort_by_key(|(k, _, _)| *k);
        let interrupted = done.iter().any(|(_, _, stopped)| *stopped);
        let mut analyzed = Vec::new();
        if self.maintenance_options().analyze_parent {
            let reports: Vec<&TableReport> = done.iter().map(|(_, report, _)| report).collect();
            analyzed = self.rows_removed(&reports).await;
            self.analyze_parents(analyzed.clone(), stop).await;
        }
        let report = Report {
            at: plan.at,
            tables: done
                .into_iter()
                .filter(|(_, report, _)| !report.steps.is_empty() || report.error.is_some())
                .map(|(_, report, _)| report)
                .collect(),
            unplannable: plan.unplannable.clone(),
            blocked: plan.blocked.clone(),
            duration: started.elapsed(),
            interrupted,
        };
        (report, analyzed)
    }

    /// Runs one table's steps in order: runs of creates or detaches batched in one transaction where they
    /// can be, the rest one by one; no new step starts once `stop` is raised. Returns the report with the
    /// table's index in the plan, and whether it stopped early.
    async fn run_table(
        &self,
        index: usize,
        steps: &[Step],
        stop: Option<&watch::Receiver<bool>>,
    ) -> (usize, TableReport, bool) {
        let table = steps.first().map(|s| s.table.clone()).unwrap_or_default();
        let mut report = TableReport {
            table,
            steps: Vec::new(),
            error: None,
            duration: StdDuration::ZERO,
        };
        let mut i = 0;
        // Steps before this index, whose batch fell back, run one by one.
        let mut one_by_one_until = 0;
        let mut last_busy = StdDuration::ZERO;
        while i < steps.len() && report.error.is_none() {
            paced_pause(pace(last_busy, self.maintenance_options().duty_cycle), stop).await;
            if stop.is_some_and(|s| *s.borrow()) {
                return (index, report, true);
            }
            let step = &steps[i];
            let end = batch_end(steps, i);
            if end - i > 1 && i >= one_by_one_until {
                let started = Instant::now();
                let batch = &steps[i..end];
                let (result, retries) = self.retrying(|| self.run_batch(batch)).await;
                let busy = started.elapsed();
                report.duration += busy;
                match result {
                    Ok(None) => one_by_one_until = end,
                    Ok(Some(outcomes)) => {
                        report.push_batch(batch, outcomes, busy, retries);
                        last_busy = busy;
                        i = end;
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(table = %step.table, action = step.action.as_str(), error = %err, "maintenance steps failed");
                        report.error = Some(err);
                        break;
                    }
                }
            }
            let started = Instant::now();
            let (result, retries) = self.retrying(|| self.run_step(step)).await;
            last_busy = started.elapsed();
            report.duration += last_busy;
            match result {
                Ok(outcome) => report.steps.push(StepReport {
                    step: step.clone(),
                    outcome,
                    duration: last_busy,
                    retries,
                }),
                Err(err) => {
                    tracing::warn!(table = %step.table, partition = %step.partition, action = step.action.as_str(), error = %err, "maintenance step failed");
                    report.error = Some(err);
                }
            }
            i += 1;
        }
        // Paced after the table's last step too, so the next table does not start at once.
        if report.error.is_none() {
            paced_pause(pace(last_busy, self.maintenance_options().duty_cycle), stop).await;
        }
        (index, report, false)
    }

    /// The tables, of those whose steps all went well and whose parent has a row estimate, that a run took rows
    /// from: a partition detached (alone or with its retirement group) that holds rows, or whose size can no
    /// longer be read (dropped since). A parent never analyzed has no estimate to correct; the staleness check
    /// analyzes it once its partitions' statistics show rows.
    /// Creating partitions, even with rows moved out of DEFAULT, and dropping detached ones leave the rows of
    /// the partitioned table as they were, and with them its statistics. One query for the whole run, none
    /// when nothing was detached.
    async fn rows_removed(&self, reports: &[&TableReport]) -> Vec<(String, String)> {
        use sea_orm::ConnectionTrait as _;
        // A partition lives in its table's schema.
        let mut columns: [Vec<String>; 3] = Default::default();
        for report in reports.iter().filter(|r| r.error.is_none()) {
            for done in &report.steps {
                let step = &done.step;
                if !matches!(done.outcome, StepOutcome::Done { .. })
                    || !matches!(step.action, StepAction::Detach | StepAction::FinishDetach)
                {
                    continue;
                }
                let companions = step
                    .together
                    .iter()
                    .map(|c| (&c.schema, &c.table_name, &c.partition));
                for (schema, table, partition) in
                    std::iter::once((&step.schema, &step.table_name, &step.partition))
                        .chain(companions)
                {
                    columns[0].push(schema.clone());
                    columns[1].push(table.clone());
                    columns[2].push(partition.clone());
                }
            }
        }
        if columns[0].is_empty() {
            return Vec::new();
        }
        // Only a parent with an estimate can count rows that are gone: one never analyzed is left to the
        // staleness check. Looking at a partition's size opens it (about 20 µs each, on a connection that
        // has not yet), which over a catch-up run of 1 150 detaches was a tenth of the run.
        const SQL: &str = "SELECT DISTINCT t.s, t.n \
            FROM unnest($1::text[], $2::text[], $3::text[]) AS t(s, n, p) \
            WHERE CASE WHEN coalesce((SELECT pc.reltuples FROM pg_class pc \
                                      WHERE pc.oid = to_regclass(format('%I.%I', t.s, t.n))), -1) > 0 \
                  THEN coalesce((SELECT CASE WHEN c.relkind = 'p' \
                        THEN (SELECT coalesce(sum(pg_relation_size(l.relid)), 0) \
                              FROM pg_partition_tree(c.oid) l WHERE l.isleaf) \
                        ELSE pg_relation_size(c.oid) END \
                    FROM pg_class c WHERE c.oid = to_regclass(format('%I.%I', t.s, t.p))), 1) > 0 \
                  ELSE false END \
            ORDER BY 1, 2";
        let [schemas, tables, partitions] = columns;
        let rows = self
            .connection()
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                SQL,
                [schemas.into(), tables.into(), partitions.into()],
            ))
            .await;
        match rows {
            Ok(rows) => rows
                .iter()
                .filter_map(|row| {
                    Some((
                        row.try_get_by_index::<String>(0).ok()?,
                        row.try_get_by_index::<String>(1).ok()?,
                    ))
                })
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "reading the detached partitions' sizes failed");
                Vec::new()
            }
        }
    }

    /// The registered tables whose parent statistics lag their partitions' (to analyze, each paced by
    /// `duty_cycle`): never analyzed while their partitions hold rows, or a row estimate off by more than a
    /// tenth from the sum of their leaves' (which autovacuum keeps current), when every leaf has one. One
    /// catalog query for all tables; none when `analyze_parent` is off or the query fails (logged).
    async fn stale_parents(&self) -> Vec<(String, String)> {
        use sea_orm::ConnectionTrait as _;
        if !self.maintenance_options().analyze_parent {
            return Vec::new();
        }
        // The tree is walked through pg_inherits, not pg_partition_tree, which locks every partition: over
        // many thousands that would fill the lock table.
        const STALE: &str = "WITH RECURSIVE root AS ( \
                SELECT cfg.schema_name, cfg.table_name, c.oid, c.reltuples FROM sopp_partition_config cfg \
                JOIN pg_namespace n ON n.nspname = cfg.schema_name \
                JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = cfg.table_name \
                WHERE c.relkind = 'p'), \
            tree AS ( \
                SELECT r.oid AS root, i.inhrelid AS rel FROM root r JOIN pg_inherits i ON i.inhparent = r.oid \
                UNION ALL \
                SELECT t.root, i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.rel), \
            leaves AS ( \
                SELECT t.root, coalesce(sum(greatest(l.reltuples, 0)), 0) AS rows, \
                       count(*) FILTER (WHERE l.reltuples < 0) AS unknown \
                FROM tree t JOIN pg_class l ON l.oid = t.rel WHERE l.relkind <> 'p' GROUP BY t.root) \
            SELECT r.schema_name, r.table_name FROM root r LEFT JOIN leaves ON leaves.root = r.oid \
            WHERE (r.reltuples < 0 AND coalesce(leaves.rows, 0) > 0) \
                OR (coalesce(leaves.unknown, 0) = 0 \
                    AND abs(coalesce(leaves.rows, 0) - greatest(r.reltuples, 0)) > 0.1 * greatest(r.reltuples, 1000)) \
            ORDER BY 1, 2";
        let stale = match self
            .connection()
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                STALE,
            ))
            .await
        {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(error = %err, "reading the partitioned tables' statistics failed");
                return Vec::new();
            }
        };
        stale
            .iter()
            .filter_map(|row| {
                Some((
                    row.try_get_by_index::<String>(0).ok()?,
                    row.try_get_by_index::<String>(1).ok()?,
                ))
            })
            .collect()
    }

    /// [`analyze_parent`](Self::analyze_parent) of each of `tables` in turn, each paced by `duty_cycle`,
    /// until `stop` is raised.
    async fn analyze_parents(
        &self,
        tables: Vec<(String, String)>,
        stop: Option<&watch::Receiver<bool>>,
    ) {
        for (schema, table) in tables {
            if stop.is_some_and(|s| *s.borrow()) {
                return;
            }
            let started = Instant::now();
            self.analyze_parent(&schema, &table).await;
            paced_pause(
                pace(started.elapsed(), self.maintenance_options().duty_cycle),
                stop,
            )
            .await;
        }
    }

    /// `ANALYZE [ONLY]` the partitioned table (see [`MaintenanceOptions::analyze_parent`]); a failure is
    /// logged, not returned.
    async fn analyze_parent(&self, schema: &str, table: &str) {
        use sea_orm::ConnectionTrait as _;
        let db = self.connection();
        let version = self.server_version().await;
        let statement = crate::model::recipe::analyze((schema, table), version >= 180_000);
        match db.execute_unprepared(&statement).await {
            Ok(_) => tracing::debug!(table = %format!("{schema}.{table}"), "parent analyzed"),
            Err(err) => {
                tracing::warn!(table = %format!("{schema}.{table}"), error = %err, "ANALYZE of the partitioned table failed")
            }
        }
    }

    /// Runs `attempt` again after a lock timeout, up to the configured number of retries with backoff;
    /// returns its last result and how many retries it took.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> (Result<T>, u32)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let options = self.maintenance_options();
        let mut retries = 0;
        loop {
            match attempt().await {
                Err(err) if is_lock_timeout(&err) && retries < options.retries => {
                    tracing::debug!(retries, "lock timeout, retrying");
                    tokio::time::sleep(backoff(options.backoff, retries)).await;
                    retries += 1;
                }
                other => return (other, retries),
            }
        }
    }

    /// A run of creates or detaches in one transaction; `None` when it must go one by one.
    async fn run_batch(&self, steps: &[Step]) -> Result<Option<Vec<StepOutcome>>> {
        match steps.first().map(|s| s.action) {
            Some(StepAction::Create(_)) => self.batch_create(steps).await,
            Some(StepAction::Detach) => self.batch_detach(steps).await,
            _ => Ok(None),
        }
    }

    async fn lock_step(&self, step: &Step) -> Result<(DatabaseTransaction, Table)> {
        core::lock_with_timeout(
            self,
            step.config_id,
            &step.schema,
            &step.table_name,
            Some(self.maintenance_options().lock_timeout),
        )
        .await
    }

    async fn run_step(&self, step: &Step) -> Result<StepOutcome> {
        if !step.together.is_empty() {
            return self.step_retire_together(step).await;
        }
        match step.action {
            StepAction::Create(range) => self.step_create(step, range).await,
            StepAction::Detach => self.step_detach(step).await,
            StepAction::Drop => self.step_drop(step).await,
            StepAction::FinishDetach => self.step_finish_detach(step).await,
            StepAction::Columnar => self.step_columnar(step).await,
        }
    }

    async fn step_create(&self, step: &Step, range: StepRange) -> Result<StepOutcome> {
        let (txn, ctx) = self.lock_step(step).await?;
        if let Some(skip) = not_from_latest(&txn, ctx.config.id, range).await? {
            return Ok(skip);
        }
        let Some(new) = plan::planned_partition(&ctx, range)? else {
            return Ok(StepOutcome::Skipped(
                "the table's configuration changed since the plan was made".to_owned(),
            ));
        };
        let log = core::create(self, &txn, &ctx, new).await?;
        txn.commit().await?;
        Ok(StepOutcome::Done {
            moved_rows: log.moved_rows,
        })
    }

    async fn step_detach(&self, step: &Step) -> Result<StepOutcome> {
        let (txn, ctx) = self.lock_step(step).await?;
        let Some(log) = reread(&txn, step).await? else {
            return Ok(StepOutcome::Skipped(
                "the partition is no longer recorded".to_owned(),
            ));
        };
        if log.detach_pending {
            // A concurrent detach of it started (by this step's earlier try, or another runner): finish it.
            txn.commit().await?;
            self.concurrent_phase(&ctx, &log).await?;
            return self.record_detached(step, &log).await;
        }
        if !log.is_attached {
            return Ok(StepOutcome::Skipped("already detached".to_owned()));
        }
        if ctx.config.concurrent_detach {
            return self.detach_concurrently(step, txn, ctx, log).await;
        }
        let tablespace = ctx.config.detach_tablespace.clone();
        core::detach(self, &txn, &ctx, log, tablespace.as_deref()).await?;
        txn.commit().await?;
        Ok(StepOutcome::Done { moved_rows: None })
    }

    /// Converts a partition past retention to `columnar`, recording its size before and after, in one
    /// transaction under the table's lock.
    async fn step_columnar(&self, step: &Step) -> Result<StepOutcome> {
        use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
        let (txn, ctx) = self.lock_step(step).await?;
        let Some(log) = reread(&txn, step).await? else {
            return Ok(StepOutcome::Skipped(
                "the partition is no longer recorded".to_owned(),
            ));
        };
        if !log.is_attached || log.columnar_at.is_some() {
            return Ok(StepOutcome::Skipped(
                "detached, or columnar already".to_owned(),
            ));
        }
        let distributed = super::citus::distribution_column(
            &txn,
            &ctx.config.schema_name,
            &ctx.config.table_name,
        )
        .await?
        .is_some();
        let partition = (log.schema_name.clone(), log.partition_name.clone());
        let before =
            super::citus::total_size(&txn, (&partition.0, &partition.1), distributed).await?;
        let facts = StepFacts {
            distributed,
            ..StepFacts::default()
        };
        let (recipe, _) = plan::compose(&ctx, StepAction::Columnar, &log.partition_name, &facts)?;
        exec::run(&txn, &ctx.qualified(), &recipe, |_, err| err).await?;
        // Measured once the conversion has committed: columnar writes part of its storage at commit, and
        // Citus measures no size in a transaction that rewrote shards.
        let mut active = log.into_active_model();
        active.columnar_at = Set(Some(self.now()));
        active.size_before = Set(Some(before));
        let log = active.update(&txn).await?;
        txn.commit().await?;
        let db = self.connection();
        let after = super::citus::total_size(db, (&partition.0, &partition.1), distributed).await?;
        let mut active = log.into_active_model();
        active.size_after = Set(Some(after));
        active.update(db).await?;
        tracing::info!(partition = %partition.1, before, after, "converted to columnar");
        Ok(StepOutcome::Done { moved_rows: None })
    }

    async fn step_drop(&self, step: &Step) -> Result<StepOutcome> {
        let (txn, ctx) = self.lock_step(step).await?;
        let Some(log) = reread(&txn, step).await? else {
            return Ok(StepOutcome::Skipped(
                "the partition is no longer recorded".to_owned(),
            ));
        };
        let grace = ctx.config.drop_after_seconds.map(Duration::seconds);
        let due = match (grace, log.detached_at) {
            (Some(grace), Some(at)) => at + grace <= self.now(),
            _ => false,
        };
        if log.is_attached || log.detach_pending || !log.created_by_crate || !due {
            return Ok(StepOutcome::Skipped(
                "no longer due to be dropped".to_owned(),
            ));
        }
        core::drop_partition(&txn, &log).await?;
        txn.commit().await?;
        Ok(StepOutcome::Done { moved_rows: None })
    }

    async fn step_finish_detach(&self, step: &Step) -> Result<StepOutcome> {
        let (txn, ctx) = self.lock_step(step).await?;
        let Some(log) = reread(&txn, step).await? else {
            return Ok(StepOutcome::Skipped(
                "the partition is no longer recorded".to_owned(),
            ));
        };
        if !log.detach_pending {
            return Ok(StepOutcome::Skipped(
                "the detach was already completed".to_owned(),
            ));
        }
        txn.commit().await?;
        self.concurrent_phase(&ctx, &log).await?;
        self.record_detached(step, &log).await
    }

    /// `DETACH .. CONCURRENTLY`: records the intent, runs the detach outside any transaction (under a
    /// session-level advisory lock on a dedicated connection), then records the result.
    async fn detach_concurrently(
        &self,
        step: &Step,
        txn: DatabaseTransaction,
        ctx: Table,
        log: partition_log::Model,
    ) -> Result<StepOutcome> {
        if let Some(default) = core::default_log(&txn, ctx.config.id).await?
            && default.is_attached
        {
            return Err(Error::ConcurrentDetachWithDefault {
                table: ctx.qualified(),
                partition: log.partition_name,
            });
        }
        let mut pending: partition_log::ActiveModel = log.clone().into();
        pending.detach_pending = sea_orm::Set(true);
        sea_orm::ActiveModelTrait::update(pending, &txn).await?;
        txn.commit().await?;
        self.concurrent_phase(&ctx, &log).await?;
        self.record_detached(step, &log).await
    }

    /// On a dedicated connection holding the table's session-level advisory lock: detach the partition
    /// concurrently, or `FINALIZE` a detach left pending, or nothing if it is already detached.
    async fn concurrent_phase(&self, ctx: &Table, log: &partition_log::Model) -> Result<()> {
        use sea_orm::DatabaseConnectionType;
        use sea_orm::sqlx;
        if !matches!(
            self.connection().inner,
            DatabaseConnectionType::SqlxPostgresPoolConnection(_)
        ) {
            return Err(Error::ConcurrentDetachNeedsPool {
                table: ctx.qualified(),
            });
        }
        let pool = self.connection().get_postgres_connection_pool();
        let db_err =
            |e: sqlx::Error| Error::Db(DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(e))));
        let mut conn = pool.acquire().await.map_err(db_err)?;
        let key = format!("{}.{}", ctx.config.schema_name, ctx.config.table_name);
        sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
            .bind(catalog::LOCK_CLASS)
            .bind(&key)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        let result: Result<()> = async {
            sqlx::query("SELECT set_config('lock_timeout', $1, false)")
                .bind(format!(
                    "{}ms",
                    self.maintenance_options().lock_timeout.as_millis()
                ))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            let state: Option<bool> = sqlx::query_scalar(catalog::DETACH_STATE)
                .bind(&log.schema_name)
                .bind(&log.partition_name)
                .bind(&ctx.config.schema_name)
                .bind(&ctx.config.table_name)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            let mode = match state {
                None => return Ok(()),
                Some(false) => DetachMode::Concurrently,
                Some(true) => DetachMode::Finalize,
            };
            let partition = (log.schema_name.clone(), log.partition_name.clone());
            let recipe = recipe::detach(ctx.parent(), partition.clone(), mode)?;
            let detach = recipe::detach_statement(ctx.parent(), partition, mode);
            for sql in recipe.sql() {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)
                    .map_err(|e| detach.classify(e))?;
            }
            Ok(())
        }
        .await;
        let _ = sqlx::query(
            "SELECT pg_advisory_unlock($1, hashtext($2)), set_config('lock_timeout', '0', false)",
        )
        .bind(catalog::LOCK_CLASS)
        .bind(&key)
        .execute(&mut *conn)
        .await;
        result
    }

    /// After a concurrent detach: under the lock, move the partition to the detach tablespace and record it.
    async fn record_detached(
        &self,
        step: &Step,
        log: &partition_log::Model,
    ) -> Result<StepOutcome> {
        let (txn, ctx) = self.lock_step(step).await?;
        let Some(current) = reread(&txn, step).await? else {
            return Ok(StepOutcome::Skipped(
                "the partition is no longer recorded".to_owned(),
            ));
        };
        if !current.detach_pending {
            return Ok(StepOutcome::Skipped(
                "another runner recorded the detach".to_owned(),
            ));
        }
        if catalog::detach_state(
            &txn,
            &log.schema_name,
            &log.partition_name,
            &ctx.config.schema_name,
            &ctx.config.table_name,
        )
        .await?
        .is_some()
        {
            return Err(Error::CheckFailed {
                table: ctx.qualified(),
                check: "DETACH .. CONCURRENTLY",
                detail: format!(
                    "partition {:?} is still attached after it; maintenance tries again next run",
                    log.partition_name
                ),
            });
        }
        let tablespace = ctx.config.detach_tablespace.clone();
        core::record_detached(self, &txn, &ctx, current, tablespace.as_deref()).await?;
        txn.commit().await?;
        Ok(StepOutcome::Done { moved_rows: None })
    }

    /// Runs a run of create steps of one table in one transaction: the DDL pipelined in one round trip, the
    /// log rows in one statement. `None` when the steps need the one-by-one path (a DEFAULT partition to move
    /// rows out of, tablespaces, sub-partitions, the low-lock mode, or another runner already at work).
    async fn batch_create(&self, steps: &[Step]) -> Result<Option<Vec<StepOutcome>>> {
        let (txn, ctx) = self.lock_step(&steps[0]).await?;
        let config = &ctx.config;
        // The low-lock mode batches too: its ATTACHes hold SHARE UPDATE EXCLUSIVE on the parent, which
        // blocks no reads or writes, until the batch commits; with a DEFAULT attached each would scan it
        // under ACCESS EXCLUSIVE, so those go one by one.
        if config.attach_tablespace.is_some()
            || ctx.sub_partition().is_some()
            || core::default_log(&txn, config.id)
                .await?
                .is_some_and(|d| d.is_attached)
        {
            return Ok(None);
        }
        let Some(news) = contiguous_creates(&ctx, steps)? else {
            return Ok(None);
        };
        // The first step must continue from the latest partition, as planned.
        let StepAction::Create(first) = steps[0].action else {
            return Ok(None);
        };
        if not_from_latest(&txn, config.id, first).await?.is_some() {
            return Ok(None);
        }
        let recipes = news
            .iter()
            .map(|new| recipe::create(&ctx, new, None))
            .collect::<Result<Vec<_>>>()?;
        let Some(sql) = exec::script(&recipes) else {
            return Ok(None);
        };
        if let Err(err) = exec::execute_script(&txn, sql).await {
            let code = err.sqlstate();
            drop(txn);
            return match code.as_deref() {
                // A name is taken or a range overlaps: the one-by-one path says which, with its typed error.
                Some(sqlstate::DUPLICATE_TABLE | sqlstate::INVALID_OBJECT_DEFINITION) => Ok(None),
                _ => Err(err),
            };
        }
        let created = news
            .iter()
            .map(|new| (config.schema_name.clone(), new.name.clone()))
            .collect();
        super::properties::apply_or_warn(&txn, &ctx, created).await?;
        let now = self.now();
        let rows: Vec<partition_log::ActiveModel> = news
            .into_iter()
            .map(|new| {
                let mut log = new.logged.to_log();
                log.config_id = sea_orm::Set(config.id);
                log.schema_name = sea_orm::Set(config.schema_name.clone());
                log.partition_name = sea_orm::Set(new.name);
                log.is_attached = sea_orm::Set(true);
                log.tablespace = sea_orm::Set(None);
                log.created_at = sea_orm::Set(now);
                log
            })
            .collect();
        let mut logs = partition_log::Entity::insert_many(rows)
            .exec_with_returning(&txn)
            .await?;
        core::record_placement(&txn, &mut logs).await?;
        for log in &logs {
            core::fire(self, &txn, &ctx, PartitionEventKind::Created, log).await?;
        }
        txn.commit().await?;
        Ok(Some(vec![
            StepOutcome::Done { moved_rows: None };
            steps.len()
        ]))
    }

    /// Runs a run of detach steps of one table in one transaction, the DDL pipelined in one round trip.
    /// `None` when they need the one-by-one path (concurrent detach, a detach tablespace).
    async fn batch_detach(&self, steps: &[Step]) -> Result<Option<Vec<StepOutcome>>> {
        let (txn, ctx) = self.lock_step(&steps[0]).await?;
        if ctx.config.concurrent_detach || ctx.config.detach_tablespace.is_some() {
            return Ok(None);
        }
        let Some((targets, outcomes)) = detach_targets(&txn, &ctx, steps).await? else {
            return Ok(None);
        };
        if !targets.is_empty() {
            self.detach_all(&txn, &ctx, &targets).await?;
        }
        txn.commit().await?;
        Ok(Some(outcomes))
    }

    /// Detaches `targets` and records it, the DDL and the log rows in one round trip; with hooks, the rows are
    /// read back for them.
    async fn detach_all(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Table,
        targets: &[partition_log::Model],
    ) -> Result<()> {
        let recipes = targets
            .iter()
            .map(|log| {
                let partition = (log.schema_name.clone(), log.partition_name.clone());
                recipe::detach(ctx.parent(), partition, DetachMode::Blocking)
            })
            .collect::<Result<Vec<_>>>()?;
        let Some(mut sql) = exec::script(&recipes) else {
            return Err(Error::CheckFailed {
                table: ctx.qualified(),
                check: "detaching in one script",
                detail: "a plain detach ran outside the transaction".to_owned(),
            });
        };
        let ids: Vec<i64> = targets.iter().map(|l| l.id).collect();
        let update = Query::update()
            .table(partition_log::Entity)
            .value(partition_log::Column::IsAttached, false)
            .value(partition_log::Column::DetachPending, false)
            .value(
                partition_log::Column::DetachTime,
                Option::<DateTime<Utc>>::None,
            )
            .value(partition_log::Column::DetachedAt, Some(self.now()))
            .and_where(partition_log::Column::Id.is_in(ids.clone()))
            .to_string(sea_orm::sea_query::PostgresQueryBuilder);
        sql.push_str(&update);
        exec::execute_script(txn, sql).await?;
        if self.has_hooks() {
            let updated = partition_log::Entity::find()
                .filter(partition_log::Column::Id.is_in(ids))
                .order_by_asc(partition_log::Column::Id)
                .all(txn)
                .await?;
            for log in &updated {
                core::fire(self, txn, ctx, PartitionEventKind::Detached, log).await?;
            }
        }
        Ok(())
    }

    /// Runs maintenance now and then every `every` (± 10 % jitter) in a tokio task, until
    /// [`MaintenanceTask::shutdown`]. A failed run is logged with `tracing` and retried with exponential
    /// backoff (from 1 s up to `every`); a table's error is logged and the others go on. It never panics the
    /// host.
    ///
    /// In the background nothing is urgent: a [`duty_cycle`](MaintenanceOptions::duty_cycle) well below 1
    /// keeps the service's own queries going at nearly full speed while a run lasts (0.05 kept a concurrent
    /// writer at 95 % of its throughput in the benchmarks, against 55 % unpaced on 2 cores).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) {
    /// let service = service.with_maintenance_options(MaintenanceOptions {
    ///     duty_cycle: 0.05,
    ///     ..MaintenanceOptions::default()
    /// });
    /// let task = service.spawn_maintenance(std::time::Duration::from_secs(3600));
    /// // ... serve requests ...
    /// task.shutdown().await; // finishes the step in progress, then stops
    /// # }
    /// ```
    pub fn spawn_maintenance(&self, every: StdDuration) -> MaintenanceTask {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (health_tx, health_rx) = watch::channel(MaintenanceHealth::default());
        let service = self.clone();
        let handle = tokio::spawn(async move {
            let mut stop = stop_rx;
            loop {
                let pause = service.background_run(&stop, &health_tx, every).await;
                if *stop.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    changed = stop.changed() => {
                        if changed.is_err() || *stop.borrow() {
                            break;
                        }
                    }
                }
            }
        });
        MaintenanceTask {
            stop: stop_tx,
            health: health_rx,
            handle,
        }
    }

    /// One run of the background task: plans, runs, logs, publishes metrics and the task's health; returns
    /// how long to wait before the next (backing off after a run that could not plan).
    async fn background_run(
        &self,
        stop: &watch::Receiver<bool>,
        health: &watch::Sender<MaintenanceHealth>,
        every: StdDuration,
    ) -> StdDuration {
        let at = self.now();
        match self.plan().await {
            Ok(plan) => {
                let run = async {
                    Ok::<_, std::convert::Infallible>(
                        self.run_plan_analyzed(&plan, Some(stop)).await,
                    )
                };
                let Ok(report) = self.run_and_analyze(run, Some(stop)).await;
                for (table, error) in report.errors() {
                    tracing::warn!(%table, %error, "maintenance of a table failed");
                }
                for (table, reason) in &report.unplannable {
                    tracing::warn!(%table, %reason, "a table could not be planned");
                }
                tracing::info!(
                    created = report.created(),
                    detached = report.detached(),
                    dropped = report.dropped(),
                    ms = report.duration.as_millis() as u64,
                    "maintenance run"
                );
                super::metrics::record_run(&report);
                match self.status().await {
                    Ok(status) => super::metrics::record_status(&status, self.now()),
                    Err(error) => tracing::warn!(%error, "status after the maintenance run failed"),
                }
                let failure = report
                    .errors()
                    .next()
                    .map(|(table, error)| format!("{table}: {error}"));
                let failure = failure.or_else(|| {
                    report
                        .unplannable
                        .first()
                        .map(|(table, reason)| format!("{table}: {reason}"))
                });
                health.send_modify(|h| h.record(at, failure, Some(std::sync::Arc::new(report))));
                scale(every, jitter_factor())
            }
            Err(error) => {
                super::metrics::record_failed_run();
                let failures = health.borrow().consecutive_failures;
                let pause = backoff(StdDuration::from_secs(1), failures).min(every);
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "maintenance run failed");
                health.send_modify(|h| h.record(at, Some(error.to_string()), None));
                pause
            }
        }
    }
}

/// How the background maintenance task is doing: [`MaintenanceTask::health`].
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Default)]
pub struct MaintenanceHealth {
    /// Runs so far.
    pub runs: u64,
    /// When the last run started.
    pub last_run_at: Option<DateTime<Utc>>,
    /// When the last run that did everything it planned (every table, nothing unplannable) started.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last failure: a run that could not plan, a table whose steps failed, a table that could not be
    /// planned (`schema.table: why`).
    pub last_error: Option<String>,
    /// When that run started.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Runs in a row that failed (0 after a success).
    pub consecutive_failures: u32,
    /// The last run's report (`None` before the first, or when the last run could not plan).
    pub last_report: Option<std::sync::Arc<Report>>,
}

impl MaintenanceHealth {
    /// Whether the last run succeeded (`false` before the first).
    pub fn is_healthy(&self) -> bool {
        self.runs > 0 && self.consecutive_failures == 0
    }

    fn record(
        &mut self,
        at: DateTime<Utc>,
        failure: Option<String>,
        report: Option<std::sync::Arc<Report>>,
    ) {
        self.runs += 1;
        self.last_run_at = Some(at);
        self.last_report = report;
        match failure {
            Some(error) => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.last_error = Some(error);
                self.last_error_at = Some(at);
            }
            None => {
                self.consecutive_failures = 0;
                self.last_success_at = Some(at);
            }
        }
    }
}

/// 0.9 .. 1.1, from the clock.
fn jitter_factor() -> f64 {
    let nanos = u64::from(Utc::now().timestamp_subsec_nanos());
    0.9 + (fnv1a(&nanos.to_le_bytes()) % 200) as f64 / 1000.0
}

/// The step's partition, re-read under the lock: by id, or by name for a partition created by the same plan.
async fn reread(txn: &DatabaseTransaction, step: &Step) -> Result<Option<partition_log::Model>> {
    let found =
        partition_log::Entity::find().filter(partition_log::Column::ConfigId.eq(step.config_id));
    let found = match step.log_id {
        Some(id) => found.filter(partition_log::Column::Id.eq(id)),
        None => found.filter(partition_log::Column::PartitionName.eq(step.partition.as_str())),
    };
    Ok(found.one(txn).await?)
}

/// The background maintenance task of [`PartitionService::spawn_maintenance`].
#[derive(Debug)]
pub struct MaintenanceTask {
    stop: watch::Sender<bool>,
    health: watch::Receiver<MaintenanceHealth>,
    handle: JoinHandle<()>,
}

impl MaintenanceTask {
    /// Asks the task to stop and waits for it: a step in progress finishes (or is abandoned by its
    /// transaction rolling back), no new step starts.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.handle.await {
            tracing::warn!(%err, "the maintenance task ended abnormally");
        }
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// How the task is doing: runs, the last success and the last error, failures in a row, the last report.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # fn run(task: sea_orm_pg_partitioning::service::MaintenanceTask) {
    /// let health = task.health();
    /// if !health.is_healthy() {
    ///     eprintln!("maintenance: {} failure(s) in a row, last: {:?}", health.consecutive_failures, health.last_error);
    /// }
    /// # }
    /// ```
    pub fn health(&self) -> MaintenanceHealth {
        self.health.borrow().clone()
    }

    /// A handle on the task's health that can be cloned into a health endpoint, while the task itself stays
    /// with whoever shuts it down.
    pub fn health_watch(&self) -> HealthWatch {
        HealthWatch(self.health.clone())
    }
}

/// The health of a [`MaintenanceTask`], readable from anywhere: [`MaintenanceTask::health_watch`].
#[derive(Debug, Clone)]
pub struct HealthWatch(watch::Receiver<MaintenanceHealth>);

impl HealthWatch {
    /// The task's health now (as [`MaintenanceTask::health`]).
    pub fn get(&self) -> MaintenanceHealth {
        self.0.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_pauses_in_proportion_to_the_work() {
        let busy = StdDuration::from_millis(100);
        assert_eq!(pace(busy, 1.0), StdDuration::ZERO);
        assert_eq!(pace(busy, 0.5), busy);
        assert_eq!(pace(busy, 0.1), StdDuration::from_millis(900));
        // Out-of-range, NaN and absurd settings never panic: no pause, or the longest one.
        assert_eq!(pace(busy, 0.0), StdDuration::ZERO);
        assert_eq!(pace(busy, -1.0), StdDuration::ZERO);
        assert_eq!(pace(busy, f64::NAN), StdDuration::ZERO);
        assert_eq!(pace(busy, 2.0), StdDuration::ZERO);
        assert_eq!(pace(StdDuration::MAX, 1e-300), StdDuration::MAX);
        assert!(
            backoff(StdDuration::MAX, 10) >= StdDuration::MAX / 2,
            "saturates instead of overflowing"
        );
    }
}
