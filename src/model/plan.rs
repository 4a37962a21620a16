//! The maintenance plan: what each registered table needs now, computed without touching the database from
//! the configuration, the log and (for integer ranges) the largest key. Pure, so every rule is unit-tested.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveEnum as _;

use crate::calendar::{Period, partition_name};
use crate::entity::partition_config::RetentionAction;
use crate::entity::partition_log::PartitionKind;
use crate::entity::{partition_config, partition_log};
use crate::error::Result;
use crate::model::recipe::{self, DefaultRows, Placed, Recipe};
use crate::model::table::{NewPartition, Table};
use crate::model::{Edge, LoggedBound, TableSpec};
use crate::schema::DetachMode;

/// At most this many partitions are planned for one table in one run (a safety net after a very long outage).
pub const MAX_CREATES_PER_RUN: usize = 1000;

/// The range of a partition a plan creates.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "kind", rename_all = "lowercase")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepRange {
    /// `[start, end)` of a time-range table.
    Time {
        /// Start, inclusive.
        start: DateTime<Utc>,
        /// End, exclusive.
        end: DateTime<Utc>,
    },
    /// `[start, end)` of an integer-range table.
    Int {
        /// Start, inclusive.
        start: i64,
        /// End, exclusive.
        end: i64,
    },
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAction {
    /// Create a partition (premake).
    Create(StepRange),
    /// Detach a partition (retention).
    Detach,
    /// Drop a partition detached for longer than the grace period (retention action `drop`).
    Drop,
    /// Complete a `DETACH .. CONCURRENTLY` that was interrupted.
    FinishDetach,
    /// Convert an attached partition past retention to the `columnar` access method (retention action
    /// `columnar`).
    Columnar,
}

impl StepAction {
    /// `create`, `detach`, `drop` or `finish-detach`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StepAction::Create(_) => "create",
            StepAction::Detach => "detach",
            StepAction::Drop => "drop",
            StepAction::FinishDetach => "finish-detach",
            StepAction::Columnar => "columnar",
        }
    }
}

/// One unit of maintenance work on one partition.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The table's configuration id.
    pub config_id: i32,
    /// The table, `schema.name`, for reading.
    pub table: String,
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub table_name: String,
    /// What the step does.
    pub action: StepAction,
    /// The partition's name.
    pub partition: String,
    /// The partition's log row (steps on existing partitions).
    pub log_id: Option<i64>,
    /// The bound, for reading (`[2024-01-01 00:00:00 UTC, 2024-02-01 00:00:00 UTC)`).
    pub bounds: String,
    /// The bound as data: the new range of a create, the logged bound of a step on an existing partition
    /// (`None` when its log row cannot say, or a step on an unlogged partition).
    pub bound: Option<LoggedBound>,
    /// The statements the step runs, in order: see [`model::recipe`](crate::model::recipe). Composed from what the
    /// catalog said when the plan was made (whether DEFAULT holds rows for a new partition, where a partition
    /// and its indexes are); the run composes them again under the table's lock with the same function, so
    /// they differ only if the catalog changed in between. One exception: moving a partition that this same
    /// plan creates to `detach_tablespace` lists no index moves, since its indexes do not exist yet.
    pub recipe: Recipe,
    /// The strongest lock the step takes on the parent table or the partition.
    pub lock: &'static str,
    /// Why the step is needed.
    pub reason: String,
    /// A detach of a table in a retirement group: the partitions of the same range of the group's other
    /// tables, retired with this one in the same transaction (see [`model::group`](crate::model::group)).
    pub together: Vec<Companion>,
}

/// A partition of another table of the step's retirement group, retired with the step's own.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Companion {
    /// The table's configuration id.
    pub config_id: i32,
    /// The table, `schema.name`.
    pub table: String,
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub table_name: String,
    /// The partition.
    pub partition: String,
    /// Its log row.
    pub log_id: i64,
    /// Its own statements (the step's [`recipe`](Step::recipe) has the whole group's, in order).
    pub recipe: Recipe,
}

/// What maintenance would do now, table by table.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The instant the plan was made for.
    pub at: DateTime<Utc>,
    /// The steps, grouped by table (in the order of [`PartitionService::configs`](crate::service::PartitionService::configs)).
    pub steps: Vec<Step>,
    /// Tables that could not be planned, with the reason (they get no steps).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::model::serialize::table_reasons")
    )]
    pub unplannable: Vec<(String, String)>,
    /// Creates left out because a partition the log does not know (made by hand, or left alone at adoption)
    /// covers part of their range: they could only fail.
    pub blocked: Vec<BlockedStep>,
}

/// A step the plan leaves out: a create another partition is in the way of, or a detach of a partition
/// whose rows other rows still reference.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedStep {
    /// The table, `schema.name`.
    pub table: String,
    /// The partition that would have been created or detached.
    pub partition: String,
    /// Its range, for reading.
    pub bounds: String,
    /// Its range as data.
    pub bound: Option<LoggedBound>,
    /// What is in the way: the partition whose range overlaps it (attached but not in the log), or the table
    /// whose rows reference it (`schema.name`).
    pub blocked_by: String,
    /// Why.
    pub why: Blocker,
}

/// Why a step was left out of a plan.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "kind", rename_all = "kebab-case")
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// A create: a partition the log does not know overlaps its range.
    Overlap,
    /// A detach (retention): rows of the `blocked_by` table still reference rows of the partition through
    /// this foreign key, and PostgreSQL refuses to detach it until they are gone.
    Referenced {
        /// The foreign key.
        constraint: String,
        /// How many referencing rows.
        rows: i64,
    },
}

impl std::fmt::Display for BlockedStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.why {
            Blocker::Overlap => write!(
                f,
                "{} {} {}: blocked by {}, a partition the log does not know whose range overlaps it; adopt it (if it \
                 is one period or step), or detach it",
                self.table, self.partition, self.bounds, self.blocked_by
            ),
            Blocker::Referenced { constraint, rows } => write!(
                f,
                "{} {} {}: not detached, {rows} row(s) of {} still reference it (foreign key {constraint}); delete \
                 or move them (or set them to NULL), and retention detaches it on its next run",
                self.table, self.partition, self.bounds, self.blocked_by
            ),
        }
    }
}

/// An attached partition the log does not know: its table (`schema.name`), its name, its range.
pub(crate) type Unlogged = (String, String, StepRange);

/// Leaves out the creates (and the detaches planned for them) whose range overlaps a partition of the same
/// table in `unlogged`. Pure.
pub(crate) fn block_overlaps(
    steps: Vec<Step>,
    unlogged: &[Unlogged],
) -> (Vec<Step>, Vec<BlockedStep>) {
    let overlaps = |a: StepRange, b: StepRange| match (a, b) {
        (StepRange::Time { start, end }, StepRange::Time { start: s, end: e }) => {
            start < e && s < end
        }
        (StepRange::Int { start, end }, StepRange::Int { start: s, end: e }) => {
            start < e && s < end
        }
        _ => false,
    };
    let mut blocked = Vec::new();
    let mut kept = Vec::with_capacity(steps.len());
    for step in steps {
        let StepAction::Create(range) = step.action else {
            kept.push(step);
            continue;
        };
        let blocker = unlogged
            .iter()
            .find(|(table, _, other)| *table == step.table && overlaps(range, *other));
        match blocker {
            Some((_, name, _)) => blocked.push(BlockedStep {
                table: step.table,
                partition: step.partition,
                bounds: step.bounds,
                bound: step.bound,
                blocked_by: name.clone(),
                why: Blocker::Overlap,
            }),
            None => kept.push(step),
        }
    }
    kept.retain(|s| {
        !(s.log_id.is_none()
            && s.action == StepAction::Detach
            && blocked
                .iter()
                .any(|b| b.table == s.table && b.partition == s.partition))
    });
    (kept, blocked)
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The steps table by table, in plan order.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// for steps in service.plan().await?.by_table() {
    ///     println!("{}: {} step(s)", steps[0].table, steps.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn by_table(&self) -> Vec<&[Step]> {
        let mut groups = Vec::new();
        let mut rest = self.steps.as_slice();
        while let Some(first) = rest.first() {
            let len = rest
                .iter()
                .take_while(|s| s.config_id == first.config_id)
                .count();
            let (group, tail) = rest.split_at(len);
            groups.push(group);
            rest = tail;
        }
        groups
    }
}

/// What the planner needs to know about one table.
pub(crate) struct TableState<'a> {
    pub ctx: &'a Table,
    /// Every log row of the table.
    pub logs: &'a [partition_log::Model],
    /// Integer ranges: the largest key.
    pub max_key: Option<i64>,
}

fn top_ranges(logs: &[partition_log::Model]) -> impl Iterator<Item = &partition_log::Model> {
    logs.iter()
        .filter(|l| l.kind == PartitionKind::Range && l.parent_name.is_none())
}

fn premake_count(config: &partition_config::Model) -> u32 {
    config.premake.map_or(1, |p| p.max(0).unsigned_abs())
}

/// The steps one table needs at `now`.
pub(crate) fn plan_table(state: &TableState<'_>, now: DateTime<Utc>) -> Result<Vec<Step>> {
    let ctx = state.ctx;
    let config = &ctx.config;
    let mut steps = Vec::new();

    // Interrupted concurrent detaches first.
    for log in state.logs.iter().filter(|l| l.detach_pending) {
        steps.push(step(
            ctx,
            StepAction::FinishDetach,
            log.partition_name.clone(),
            Some(log),
            "a DETACH .. CONCURRENTLY of this partition was interrupted".to_owned(),
        )?);
    }

    match state.ctx.spec()? {
        TableSpec::TimeRange { period, .. } => plan_time(state, period, now, &mut steps)?,
        TableSpec::IntRange { step, .. } => plan_int(state, step, now, &mut steps)?,
        TableSpec::List | TableSpec::Hash => {}
    }

    // Drop partitions detached for longer than the grace period (only tables this crate created).
    if config.retention_action == RetentionAction::Drop
        && let Some(grace) = config.drop_after_seconds.map(Duration::seconds)
    {
        for log in state.logs.iter().filter(|l| {
            !l.is_attached
                && !l.detach_pending
                && l.created_by_crate
                && l.parent_name.is_none()
                && l.detached_at.is_some_and(|at| at + grace <= now)
        }) {
            steps.push(step(
                ctx,
                StepAction::Drop,
                log.partition_name.clone(),
                Some(log),
                format!("detached for longer than {}", human(grace)),
            )?);
        }
    }
    Ok(steps)
}

/// How far ahead a time-range table must have partitions at `now`: the end of the `premake`-th period
/// after the current one.
pub(crate) fn time_horizon(
    config: &partition_config::Model,
    period: Period,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> DateTime<Utc> {
    let mut horizon = period.start(now, tz);
    for _ in 0..=premake_count(config) {
        horizon = period.end(horizon, tz);
    }
    horizon
}

/// How far ahead an integer-range table must have partitions: the end of the `premake`-th partition after
/// the one holding the largest key.
pub(crate) fn int_horizon(
    config: &partition_config::Model,
    step: i64,
    max_key: Option<i64>,
) -> i64 {
    let holding = max_key.map_or(0, |m| m.div_euclid(step));
    holding
        .saturating_add(i64::from(premake_count(config)))
        .saturating_add(1)
        .saturating_mul(step)
}

/// The partition a planned create makes, as the table is configured now; `None` when the configuration no
/// longer describes that range (another period, another kind): the step is then skipped.
pub(crate) fn planned_partition(table: &Table, range: StepRange) -> Result<Option<NewPartition>> {
    Ok(match (range, table.spec()?) {
        (
            StepRange::Time { start, end },
            TableSpec::TimeRange {
                period, time_zone, ..
            },
        ) if period.end(start, time_zone) == end => {
            let name = partition_name(&table.config.table_name, start, end, period, time_zone);
            Some(table.time_partition(start, end, name)?)
        }
        (StepRange::Int { start, end }, TableSpec::IntRange { .. }) => {
            Some(table.int_partition(start, end))
        }
        _ => None,
    })
}

/// Where a range table's partitions must reach at `now` (premake), and its retention threshold, if it has
/// one: see [`time_horizon`], [`int_horizon`] and the retention thresholds. `(None, None)` for list and hash.
pub(crate) fn horizons(
    spec: TableSpec,
    config: &partition_config::Model,
    now: DateTime<Utc>,
    max_key: Option<i64>,
) -> (Option<Edge>, Option<Edge>) {
    match spec {
        TableSpec::TimeRange {
            period, time_zone, ..
        } => (
            Some(Edge::Time(time_horizon(config, period, now, time_zone))),
            time_retention_threshold(config, period, now, time_zone).map(Edge::Time),
        ),
        TableSpec::IntRange { step, .. } => (
            Some(Edge::Int(int_horizon(config, step, max_key))),
            int_retention_threshold(config, step, max_key).map(Edge::Int),
        ),
        TableSpec::List | TableSpec::Hash => (None, None),
    }
}

/// Whether `detach_time` keeps a partition from the retention rule at `now`: until `detach_time < now`, as in
/// the original (the service's queries say the same in SQL).
pub(crate) fn is_protected(log: &partition_log::Model, now: DateTime<Utc>) -> bool {
    log.detach_time.is_some_and(|t| t >= now)
}

/// The retention threshold of a time-range table at `now`, if it has a retention rule: attached partitions
/// that end before `now - interval × period` are detached.
pub(crate) fn time_retention_threshold(
    config: &partition_config::Model,
    period: Period,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Option<DateTime<Utc>> {
    let interval = config.interval.filter(|i| *i > 0)?;
    Some(period.shift_back(now, interval.unsigned_abs(), tz))
}

/// The retention threshold of an integer-range table, if it has a retention rule: attached partitions that
/// end at or below it (`interval` partitions below the one holding the largest key) are detached.
pub(crate) fn int_retention_threshold(
    config: &partition_config::Model,
    step: i64,
    max_key: Option<i64>,
) -> Option<i64> {
    let keep = config.interval.filter(|i| *i >= 0)?;
    let holding = max_key.map_or(0, |m| m.div_euclid(step));
    Some(holding.saturating_sub(i64::from(keep)).saturating_mul(step))
}

fn plan_time(
    state: &TableState<'_>,
    period: Period,
    now: DateTime<Utc>,
    steps: &mut Vec<Step>,
) -> Result<()> {
    let ctx = state.ctx;
    let config = &ctx.config;
    let tz = ctx.time_zone()?;
    let horizon = time_horizon(config, period, now, tz);
    let latest_end = top_ranges(state.logs).filter_map(|l| l.end).max();
    let mut cursor = latest_end.unwrap_or_else(|| period.start(now, tz));
    let mut planned = 0;
    while cursor < horizon && planned < MAX_CREATES_PER_RUN {
        let end = period.end(cursor, tz);
        steps.extend(create_step(
            ctx,
            StepRange::Time { start: cursor, end },
            format!("premake: partitions until {}", Edge::Time(horizon)),
        )?);
        cursor = end;
        planned += 1;
    }
    // Retention: attached partitions that ended before now - interval × period, including those this plan
    // creates while catching up after an outage.
    if let Some(interval) = config.interval
        && let Some(threshold) = time_retention_threshold(config, period, now, tz)
    {
        // Whole seconds, as status prints instants (the threshold carries now's fraction).
        let reason = format!(
            "ended before {} (retention: {interval} × {period})",
            Edge::Time(threshold)
        );
        for log in top_ranges(state.logs).filter(|l| {
            l.is_attached
                && !l.detach_pending
                && l.end.is_some_and(|end| end < threshold)
                && !is_protected(l, now)
        }) {
            if let Some(step) = retire_step(ctx, log, reason.clone())? {
                steps.push(step);
            }
        }
        if config.retention_action == RetentionAction::Columnar {
            return Ok(());
        }
        detach_planned(
            ctx,
            steps,
            |range| matches!(range, StepRange::Time { end, .. } if end < threshold),
            &reason,
        )?;
    }
    Ok(())
}

/// Detach steps for partitions this plan creates that are already past retention.
fn detach_planned(
    ctx: &Table,
    steps: &mut Vec<Step>,
    expired: impl Fn(StepRange) -> bool,
    reason: &str,
) -> Result<()> {
    let created: Vec<(String, String, Option<LoggedBound>)> = steps
        .iter()
        .filter_map(|s| match s.action {
            StepAction::Create(range) if expired(range) => {
                Some((s.partition.clone(), s.bounds.clone(), s.bound.clone()))
            }
            _ => None,
        })
        .collect();
    for (partition, bounds, bound) in created {
        let mut detach = step(
            ctx,
            StepAction::Detach,
            partition,
            None,
            format!("{reason}; created by this run"),
        )?;
        detach.bounds = bounds;
        detach.bound = bound;
        steps.push(detach);
    }
    Ok(())
}

fn plan_int(
    state: &TableState<'_>,
    step: i64,
    now: DateTime<Utc>,
    steps: &mut Vec<Step>,
) -> Result<()> {
    let ctx = state.ctx;
    let config = &ctx.config;
    let holding = state.max_key.map_or(0, |m| m.div_euclid(step));
    let last = int_horizon(config, step, state.max_key);
    let latest_end = top_ranges(state.logs).filter_map(|l| l.int_end).max();
    let mut cursor = latest_end.unwrap_or_else(|| holding.saturating_mul(step));
    let mut planned = 0;
    while cursor < last && planned < MAX_CREATES_PER_RUN {
        let Some(end) = cursor.checked_add(step) else {
            break;
        };
        steps.extend(create_step(
            ctx,
            StepRange::Int { start: cursor, end },
            format!(
                "premake: {} partition(s) beyond the one holding the largest key",
                premake_count(config)
            ),
        )?);
        cursor = end;
        planned += 1;
    }
    if let Some(keep) = config.interval
        && let Some(threshold) = int_retention_threshold(config, step, state.max_key)
    {
        for log in top_ranges(state.logs).filter(|l| {
            l.is_attached
                && !l.detach_pending
                && l.int_end.is_some_and(|end| end <= threshold)
                && !is_protected(l, now)
        }) {
            steps.extend(retire_step(
                ctx,
                log,
                format!("more than {keep} partition(s) below the one holding the largest key"),
            )?);
        }
    }
    Ok(())
}

fn create_step(ctx: &Table, range: StepRange, reason: String) -> Result<Option<Step>> {
    let Some(new) = planned_partition(ctx, range)? else {
        return Ok(None);
    };
    Ok(Some(step(
        ctx,
        StepAction::Create(range),
        new.name,
        None,
        reason,
    )?))
}

/// What retention does to `log`: detach it, or with the `columnar` action convert it (once).
fn retire_step(ctx: &Table, log: &partition_log::Model, reason: String) -> Result<Option<Step>> {
    if ctx.config.retention_action != RetentionAction::Columnar {
        return detach_step(ctx, log, reason).map(Some);
    }
    if log.columnar_at.is_some() || log.kind != PartitionKind::Range {
        return Ok(None);
    }
    step(
        ctx,
        StepAction::Columnar,
        log.partition_name.clone(),
        Some(log),
        format!("{reason}: to columnar"),
    )
    .map(Some)
}

fn detach_step(ctx: &Table, log: &partition_log::Model, reason: String) -> Result<Step> {
    step(
        ctx,
        StepAction::Detach,
        log.partition_name.clone(),
        Some(log),
        reason,
    )
}

/// A step on `partition` (of the table's schema), with its statements as far as the plan knows them (the
/// service adds what only the catalog knows with [`compose`]).
fn step(
    ctx: &Table,
    action: StepAction,
    partition: String,
    log: Option<&partition_log::Model>,
    reason: String,
) -> Result<Step> {
    let (recipe, lock) = compose(ctx, action, &partition, &StepFacts::default())?;
    Ok(Step {
        config_id: ctx.config.id,
        table: ctx.qualified(),
        schema: ctx.config.schema_name.clone(),
        table_name: ctx.config.table_name.clone(),
        action,
        bounds: match (log, action) {
            (Some(log), _) => describe(log),
            (None, StepAction::Create(range)) => describe_range(range),
            (None, _) => String::new(),
        },
        bound: match (log, action) {
            (Some(log), _) => log.bound().ok(),
            (None, StepAction::Create(range)) => Some(range.into()),
            (None, _) => None,
        },
        partition,
        log_id: log.map(|l| l.id),
        recipe,
        lock,
        reason,
        together: Vec::new(),
    })
}

/// What a step's statements depend on that only the catalog knows: the service reads it, for the plan and
/// again under the lock when the step runs.
#[derive(Debug, Default)]
pub(crate) struct StepFacts {
    /// Creates: DEFAULT holds rows that belong in the new partition.
    pub default_rows: Option<DefaultRows>,
    /// Detaches with a `detach_tablespace`: where the partition's tables and indexes are.
    pub placed: Vec<Placed>,
    /// The table is distributed by Citus (a columnar conversion goes through Citus' function).
    pub distributed: bool,
}

/// The statements of a step on `partition` of the table, and the strongest lock they take. Pure: the plan
/// and the run both compose them here.
pub(crate) fn compose(
    ctx: &Table,
    action: StepAction,
    partition: &str,
    facts: &StepFacts,
) -> Result<(Recipe, &'static str)> {
    const PARENT_EXCLUSIVE: &str = "ACCESS EXCLUSIVE on the parent";
    const PARENT_SHARED: &str = "SHARE UPDATE EXCLUSIVE on the parent";
    let config = &ctx.config;
    let target = (config.schema_name.clone(), partition.to_owned());
    let moved = |recipe: Recipe| -> Result<Recipe> {
        Ok(match &config.detach_tablespace {
            Some(tablespace) => recipe.then(recipe::relocate(&facts.placed, tablespace)?),
            None => recipe,
        })
    };
    Ok(match action {
        StepAction::Create(range) => match planned_partition(ctx, range)? {
            Some(new) => {
                // Detaching DEFAULT to move its rows takes the parent's ACCESS EXCLUSIVE lock anyway.
                let low_lock = recipe::is_low_lock(ctx, &new) && facts.default_rows.is_none();
                let recipe = recipe::create(ctx, &new, facts.default_rows.as_ref())?;
                (
                    recipe,
                    if low_lock {
                        PARENT_SHARED
                    } else {
                        PARENT_EXCLUSIVE
                    },
                )
            }
            None => (Recipe::default(), PARENT_EXCLUSIVE),
        },
        StepAction::Detach if config.concurrent_detach => (
            moved(recipe::detach(
                ctx.parent(),
                target,
                DetachMode::Concurrently,
            )?)?,
            PARENT_SHARED,
        ),
        StepAction::Detach => (
            moved(recipe::detach(ctx.parent(), target, DetachMode::Blocking)?)?,
            PARENT_EXCLUSIVE,
        ),
        StepAction::FinishDetach => (
            moved(recipe::detach(ctx.parent(), target, DetachMode::Finalize)?)?,
            PARENT_SHARED,
        ),
        StepAction::Drop => (recipe::drop(target)?, "ACCESS EXCLUSIVE on the partition"),
        StepAction::Columnar => (
            recipe::to_columnar(target, facts.distributed),
            "ACCESS EXCLUSIVE on the partition while it is rewritten",
        ),
    })
}

/// A planned range, for reading.
impl From<StepRange> for LoggedBound {
    fn from(range: StepRange) -> Self {
        match range {
            StepRange::Time { start, end } => LoggedBound::Time { start, end },
            StepRange::Int { start, end } => LoggedBound::Int { start, end },
        }
    }
}

fn describe_range(range: StepRange) -> String {
    match range {
        StepRange::Time { start, end } => format!("[{}, {})", Edge::Time(start), Edge::Time(end)),
        StepRange::Int { start, end } => format!("[{start}, {end})"),
    }
}

/// The bound of a log row, for reading.
fn describe(log: &partition_log::Model) -> String {
    log.bound()
        .map_or_else(|_| log.kind.to_value(), |bound| bound.to_string())
}

fn human(d: Duration) -> String {
    let secs = d.num_seconds();
    match secs {
        s if s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s % 3600 == 0 => format!("{} hour(s)", s / 3600),
        s => format!("{s} s"),
    }
}

/// A configuration for unit tests (here and in the status module).
#[cfg(test)]
pub(crate) mod fixtures {
    use chrono::{TimeZone, Utc};

    use chrono::DateTime;

    use crate::calendar::Period;
    use crate::entity::partition_config::{self, CreationMode, RetentionAction};
    use crate::entity::partition_log::{self, PartitionKind};
    use crate::schema::PartitionStrategy;

    /// The log row of `public.name`, a range `[start, end)` of `event` created by the crate at `start`.
    pub(crate) fn range_log(
        id: i64,
        name: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        attached: bool,
    ) -> partition_log::Model {
        partition_log::Model {
            id,
            config_id: 1,
            schema_name: "public".into(),
            partition_name: name.into(),
            kind: PartitionKind::Range,
            parent_name: None,
            start: Some(start),
            end: Some(end),
            int_start: None,
            int_end: None,
            list_values: None,
            hash_modulus: None,
            hash_remainder: None,
            moved_rows: None,
            created_by_crate: true,
            detach_pending: false,
            is_attached: attached,
            detach_time: None,
            tablespace: None,
            created_tablespace: None,
            legacy: false,
            columnar_at: None,
            size_before: None,
            size_after: None,
            created_at: start,
            detached_at: None,
        }
    }

    /// `public.event`, keyed on `created_at`, partitioned by `period` or `step`, premake 2.
    pub(crate) fn config(period: Option<Period>, step: Option<i64>) -> partition_config::Model {
        let created = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        partition_config::Model {
            id: 1,
            schema_name: "public".into(),
            table_name: "event".into(),
            key_column: "created_at".into(),
            strategy: PartitionStrategy::Range,
            period,
            interval: None,
            attach_tablespace: None,
            detach_tablespace: None,
            time_zone: "UTC".into(),
            created_at: created,
            updated_at: created,
            step,
            premake: Some(2),
            default_partition: false,
            sub_partition_column: None,
            sub_partition_modulus: None,
            retention_action: RetentionAction::Detach,
            drop_after_seconds: None,
            creation_mode: CreationMode::Direct,
            concurrent_detach: false,
            key_encoding: None,
            properties: None,
            retire_group: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    use super::fixtures::config;

    fn ctx(config: partition_config::Model) -> Table {
        let key_type = Some(
            if config.step.is_some() {
                "bigint"
            } else {
                "timestamp with time zone"
            }
            .to_owned(),
        );
        Table { config, key_type }
    }

    fn log(
        id: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        attached: bool,
    ) -> partition_log::Model {
        partition_log::Model {
            detached_at: (!attached).then(|| utc(2024, 3, 1)),
            ..super::fixtures::range_log(id, &format!("p{id}"), start, end, attached)
        }
    }

    fn actions(steps: &[Step]) -> Vec<(&'static str, String)> {
        steps
            .iter()
            .map(|s| (s.action.as_str(), s.partition.clone()))
            .collect()
    }

    #[test]
    fn premake_counts_from_now_not_from_the_newest_data() {
        let ctx = ctx(config(Some(Period::Month), None));
        // The newest partition ended in January; now is 10 April: catch up Feb..Apr, then 2 ahead (May, Jun).
        let logs = [log(1, utc(2024, 1, 1), utc(2024, 2, 1), true)];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: None,
        };
        let steps = plan_table(&state, utc(2024, 4, 10)).unwrap();
        assert_eq!(
            actions(&steps)
                .iter()
                .map(|(_, p)| p.as_str())
                .collect::<Vec<_>>(),
            [
                "event_2024-02-01_2024-03-01",
                "event_2024-03-01_2024-04-01",
                "event_2024-04-01_2024-05-01",
                "event_2024-05-01_2024-06-01",
                "event_2024-06-01_2024-07-01",
            ]
        );
        assert_eq!(steps[0].lock, "ACCESS EXCLUSIVE on the parent");
        assert!(
            steps[0].recipe.statements()[0]
                .sql()
                .starts_with(r#"CREATE TABLE "public"."event_2024-02-01_2024-03-01" PARTITION OF"#)
        );
        // Nothing to do once the horizon is covered.
        let logs = [log(1, utc(2024, 1, 1), utc(2024, 7, 1), true)];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: None,
        };
        assert!(plan_table(&state, utc(2024, 4, 10)).unwrap().is_empty());
    }

    #[test]
    fn columnar_retention_converts_attached_partitions_once_and_detaches_nothing() {
        let mut c = config(Some(Period::Month), None);
        c.interval = Some(1);
        c.premake = Some(0);
        c.retention_action = RetentionAction::Columnar;
        let ctx = ctx(c);
        let mut converted = log(1, utc(2023, 12, 1), utc(2024, 1, 1), true);
        converted.columnar_at = Some(utc(2024, 2, 1));
        let logs = [
            converted,                                      // columnar already
            log(2, utc(2024, 1, 1), utc(2024, 2, 1), true), // past retention: converted
            log(3, utc(2024, 3, 1), utc(2024, 4, 1), true),
        ];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: None,
        };
        let steps = plan_table(&state, utc(2024, 3, 20)).unwrap();
        assert_eq!(actions(&steps), [("columnar", "p2".to_owned())]);
        assert_eq!(
            steps[0].recipe.sql().collect::<Vec<_>>(),
            [r#"ALTER TABLE "public"."p2" SET ACCESS METHOD columnar"#]
        );
        assert!(steps[0].lock.contains("rewritten"));
        let facts = StepFacts {
            distributed: true,
            ..StepFacts::default()
        };
        let (recipe, _) = compose(&ctx, StepAction::Columnar, "p2", &facts).unwrap();
        assert_eq!(
            recipe.sql().collect::<Vec<_>>(),
            [r#"SELECT alter_table_set_access_method('"public"."p2"'::regclass, 'columnar')"#]
        );
    }

    #[test]
    fn retention_detaches_then_drops_after_the_grace() {
        let mut c = config(Some(Period::Month), None);
        c.interval = Some(1);
        c.premake = Some(0);
        c.retention_action = RetentionAction::Drop;
        c.drop_after_seconds = Some(7 * 86_400);
        let ctx = ctx(c);
        let mut protected = log(4, utc(2024, 2, 1), utc(2024, 3, 1), true);
        protected.detach_time = Some(utc(2024, 12, 1));
        let mut adopted = log(5, utc(2023, 1, 1), utc(2023, 2, 1), false);
        adopted.created_by_crate = false;
        let logs = [
            log(1, utc(2023, 12, 1), utc(2024, 1, 1), false), // detached 1 March: dropped on 20 March
            log(2, utc(2024, 1, 1), utc(2024, 2, 1), true),   // ended before 20 February: detached
            protected,                                        // protected by detach_time
            log(3, utc(2024, 3, 1), utc(2024, 4, 1), true),
            adopted, // not created by the crate: kept
        ];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: None,
        };
        let steps = plan_table(&state, utc(2024, 3, 20)).unwrap();
        assert_eq!(
            actions(&steps),
            [("detach", "p2".to_owned()), ("drop", "p1".to_owned())]
        );
        assert_eq!(steps[1].reason, "detached for longer than 7 day(s)");
        // Not yet past the grace on 5 March.
        let steps = plan_table(&state, utc(2024, 3, 5)).unwrap();
        assert!(steps.iter().all(|s| s.action != StepAction::Drop));
    }

    #[test]
    fn catching_up_detaches_what_it_creates_past_retention() {
        let mut c = config(Some(Period::Day), None);
        c.interval = Some(3);
        c.premake = Some(5);
        let ctx = ctx(c);
        let logs = [log(1, utc(2024, 6, 1), utc(2024, 6, 2), true)];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: None,
        };
        let now = utc(2024, 6, 10) + Duration::hours(6);
        let steps = plan_table(&state, now).unwrap();
        let creates = steps
            .iter()
            .filter(|s| matches!(s.action, StepAction::Create(_)))
            .count();
        let detached: Vec<&str> = steps
            .iter()
            .filter(|s| s.action == StepAction::Detach)
            .map(|s| s.partition.as_str())
            .collect();
        assert_eq!(creates, 14, "2 June .. 15 June");
        assert_eq!(
            detached,
            [
                "p1",
                "event_2024-06-02_2024-06-03",
                "event_2024-06-03_2024-06-04",
                "event_2024-06-04_2024-06-05",
                "event_2024-06-05_2024-06-06",
                "event_2024-06-06_2024-06-07",
            ]
        );
        // Creates come first, so a detach finds its partition.
        let first_detach = steps
            .iter()
            .position(|s| s.action == StepAction::Detach)
            .unwrap();
        assert!(
            steps[..first_detach]
                .iter()
                .all(|s| matches!(s.action, StepAction::Create(_)))
        );
    }

    #[test]
    fn low_lock_mode_plans_like_check_attach() {
        let mut c = config(Some(Period::Day), None);
        c.creation_mode = crate::entity::partition_config::CreationMode::Attach;
        c.premake = Some(0);
        let ctx = ctx(c);
        let state = TableState {
            ctx: &ctx,
            logs: &[],
            max_key: None,
        };
        let steps = plan_table(&state, utc(2024, 5, 5)).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].lock, "SHARE UPDATE EXCLUSIVE on the parent");
        assert_eq!(steps[0].recipe.len(), 3);
        assert!(
            steps[0].recipe.statements()[0]
                .sql()
                .contains("LIKE \"public\".\"event\""),
            "{}",
            steps[0].recipe.statements()[0].sql()
        );
        assert!(
            steps[0].recipe.statements()[1]
                .sql()
                .contains("ATTACH PARTITION")
        );
        assert!(
            steps[0].recipe.statements()[2]
                .sql()
                .ends_with(r#"DROP CONSTRAINT "sopp_bound""#)
        );
    }

    #[test]
    fn integer_ranges_follow_the_largest_key() {
        let mut c = config(None, Some(100));
        c.interval = Some(1);
        let ctx = ctx(c);
        let mut first = log(1, utc(2024, 1, 1), utc(2024, 1, 2), true);
        (first.start, first.end, first.int_start, first.int_end) = (None, None, Some(0), Some(100));
        let logs = [first];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: Some(250),
        };
        let steps = plan_table(&state, utc(2024, 1, 1)).unwrap();
        assert_eq!(
            actions(&steps),
            [
                ("create", "event_100_200".to_owned()),
                ("create", "event_200_300".to_owned()),
                ("create", "event_300_400".to_owned()),
                ("create", "event_400_500".to_owned()),
                ("detach", "p1".to_owned()),
            ]
        );
    }

    #[test]
    fn detach_time_protects_until_it_has_passed() {
        let now = utc(2024, 3, 20);
        let due = |mut c: partition_config::Model, first: partition_log::Model| {
            c.interval = Some(1);
            c.premake = Some(0);
            let ctx = ctx(c);
            let mut at_now = first.clone();
            at_now.detach_time = Some(now);
            let mut passed = first;
            passed.id = 2;
            passed.partition_name = "p2".into();
            passed.detach_time = Some(now - Duration::microseconds(1));
            let logs = [at_now, passed];
            let state = TableState {
                ctx: &ctx,
                logs: &logs,
                max_key: Some(250),
            };
            let steps = plan_table(&state, now).unwrap();
            actions(&steps)
                .into_iter()
                .filter(|(a, _)| *a == "detach")
                .map(|(_, p)| p)
                .collect::<Vec<_>>()
        };
        // Time ranges: January ended before 20 February; only the partition whose detach_time has passed goes.
        let january = log(1, utc(2024, 1, 1), utc(2024, 2, 1), true);
        assert_eq!(
            due(config(Some(Period::Month), None), january.clone()),
            ["p2"]
        );
        // Integer ranges alike.
        let mut low = january;
        (low.start, low.end, low.int_start, low.int_end) = (None, None, Some(0), Some(100));
        assert_eq!(due(config(None, Some(100)), low), ["p2"]);
    }

    #[test]
    fn creates_overlapping_an_unlogged_partition_are_left_out_with_their_detaches() {
        let mut c = config(Some(Period::Month), None);
        c.interval = Some(1);
        c.premake = Some(1);
        let ctx = ctx(c);
        let logs = [log(1, utc(2024, 1, 1), utc(2024, 2, 1), true)];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: None,
        };
        // At 10 April: create Feb..May; Feb is past retention, so it is detached in the same run.
        let steps = plan_table(&state, utc(2024, 4, 10)).unwrap();
        assert!(actions(&steps).contains(&("detach", "event_2024-02-01_2024-03-01".to_owned())));
        let odd = StepRange::Time {
            start: utc(2024, 2, 20),
            end: utc(2024, 3, 5),
        };
        let unlogged = [
            ("public.event".to_owned(), "event_odd".to_owned(), odd),
            (
                "public.other".to_owned(),
                "other_odd".to_owned(),
                StepRange::Time {
                    start: utc(2024, 4, 1),
                    end: utc(2024, 5, 1),
                },
            ),
        ];
        let (kept, blocked) = block_overlaps(steps, &unlogged);
        let blocked: Vec<(&str, &str)> = blocked
            .iter()
            .map(|b| (b.partition.as_str(), b.blocked_by.as_str()))
            .collect();
        assert_eq!(
            blocked,
            [
                ("event_2024-02-01_2024-03-01", "event_odd"),
                ("event_2024-03-01_2024-04-01", "event_odd"),
            ]
        );
        assert_eq!(
            actions(&kept),
            [
                ("create", "event_2024-04-01_2024-05-01".to_owned()),
                ("create", "event_2024-05-01_2024-06-01".to_owned()),
                ("detach", "p1".to_owned()),
            ]
        );
    }

    #[test]
    fn reasons_give_instants_in_whole_seconds() {
        let mut c = config(Some(Period::Month), None);
        c.interval = Some(1);
        let ctx = ctx(c);
        let logs = [log(1, utc(2024, 1, 1), utc(2024, 2, 1), true)];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: None,
        };
        let now = utc(2024, 3, 20) + Duration::nanoseconds(464_899_186);
        let steps = plan_table(&state, now).unwrap();
        let detach = steps
            .iter()
            .find(|s| s.action == StepAction::Detach)
            .unwrap();
        assert_eq!(
            detach.reason,
            "ended before 2024-02-20 00:00:00 UTC (retention: 1 × month)"
        );
        assert!(
            steps
                .iter()
                .all(|s| !s.reason.contains('.') && !s.bounds.contains('.')),
            "{steps:#?}"
        );
    }

    #[test]
    fn interrupted_concurrent_detaches_are_finished_first() {
        let ctx = ctx(config(Some(Period::Month), None));
        let mut pending = log(1, utc(2024, 1, 1), utc(2024, 2, 1), true);
        pending.detach_pending = true;
        let logs = [pending];
        let state = TableState {
            ctx: &ctx,
            logs: &logs,
            max_key: None,
        };
        let steps = plan_table(&state, utc(2024, 1, 10)).unwrap();
        assert_eq!(steps[0].action, StepAction::FinishDetach);
        assert!(steps[0].recipe.statements()[0].sql().ends_with("FINALIZE"));
    }
}
