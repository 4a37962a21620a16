//! Status: every managed table's partitions as the catalog has them, joined with the log, and every way the
//! catalog, the log and the configuration disagree ([`Anomaly`]).
//!
//! The catalog is read in a constant number of queries whatever the number of partitions; the comparison
//! ([`assess`]) is pure and unit-tested.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::catalog::{self, CatalogRelation, ManagedTable, Placement};
use super::core;
use super::{PartitionService, QualifiedTable};
use crate::entity::partition_log::PartitionKind;
use crate::entity::{partition_config, partition_log};
use crate::error::Result;
use crate::model::bound::same_bound;
use crate::model::plan::{
    int_horizon, int_retention_threshold, time_horizon, time_retention_threshold,
};
use crate::model::table::Table;
use crate::model::{CatalogBound, Edge};

/// A table or index and the tablespace it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPlacement {
    /// The index's name.
    pub name: String,
    /// Its tablespace (`pg_default` for the database default).
    pub tablespace: String,
}

/// What the catalog says of one partition's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPartition {
    /// Whether it is attached to the managed table (for a sub-partition: to its partition).
    pub attached: bool,
    /// The table it is a partition of, `schema.name`, if any (normally the managed table).
    pub parent: Option<String>,
    /// A `DETACH .. CONCURRENTLY` of it started and did not finish.
    pub detach_pending: bool,
    /// Its bound while attached.
    pub bound: Option<CatalogBound>,
    /// Its tablespace.
    pub tablespace: String,
    /// Each of its indexes with its tablespace, by name.
    pub indexes: Vec<IndexPlacement>,
    /// The planner's row estimate (`None` before the first `ANALYZE` or vacuum).
    pub estimated_rows: Option<i64>,
    /// Its size with indexes and TOAST, in bytes.
    pub size_bytes: i64,
}

/// One partition, from the catalog and from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionStatus {
    /// Its schema.
    pub schema: String,
    /// Its table name.
    pub name: String,
    /// Its log row, if the log has one.
    pub log: Option<partition_log::Model>,
    /// What the catalog says of it; `None` when no table of that name exists.
    pub catalog: Option<CatalogPartition>,
}

/// Where a partition stands, from the catalog (the log only when the catalog has no table of that name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionState {
    /// A partition of its parent.
    Attached,
    /// A `DETACH .. CONCURRENTLY` of it started and did not finish.
    Detaching,
    /// A table of its own, no longer a partition.
    Detached,
    /// The log names it but no such table exists.
    Missing,
}

impl PartitionState {
    /// `attached`, `detaching`, `detached` or `missing`, as the CLI prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionState::Attached => "attached",
            PartitionState::Detaching => "detaching",
            PartitionState::Detached => "detached",
            PartitionState::Missing => "missing",
        }
    }
}

impl fmt::Display for PartitionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartitionStatus {
    /// Where it stands.
    ///
    /// ```
    /// use sea_orm_pg_partitioning::service::{PartitionState, PartitionStatus};
    ///
    /// let gone = PartitionStatus { schema: "public".into(), name: "event_old".into(), log: None, catalog: None };
    /// assert_eq!(gone.state(), PartitionState::Missing);
    /// ```
    pub fn state(&self) -> PartitionState {
        match &self.catalog {
            None => PartitionState::Missing,
            Some(c) if c.detach_pending => PartitionState::Detaching,
            Some(c) if c.attached => PartitionState::Attached,
            Some(_) => PartitionState::Detached,
        }
    }

    /// Its bound: the catalog's while attached, else the logged one (a detached table has no bound in the
    /// catalog).
    pub fn bound(&self) -> Option<CatalogBound> {
        self.catalog
            .as_ref()
            .and_then(|c| c.bound.clone())
            .or_else(|| {
                self.log
                    .as_ref()
                    .and_then(|l| Some(l.bound().ok()?.to_catalog()))
            })
    }

    /// Whether it is the DEFAULT partition (by its bound, or its log row's kind).
    pub fn is_default(&self) -> bool {
        matches!(self.bound(), Some(CatalogBound::Default))
            || self
                .log
                .as_ref()
                .is_some_and(|l| l.kind == PartitionKind::Default)
    }
}

/// What kind of disagreement an [`Anomaly`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// The managed table itself is gone.
    TableMissing,
    /// A log row whose table is gone.
    LogWithoutTable,
    /// The log says attached, the catalog says detached.
    DetachedByHand,
    /// The log says detached, the catalog says attached.
    AttachedByHand,
    /// A partition in the catalog with no log row.
    Unlogged,
    /// A logged partition renamed by hand: the table is there, with its bound, under another name.
    RenamedByHand,
    /// The catalog's bound differs from the log's.
    BoundMismatch,
    /// A partition or one of its indexes is not in the tablespace recorded or configured for it.
    TablespaceMismatch,
    /// A hole between two attached range partitions, or before the first when it starts after the current
    /// period.
    Gap,
    /// Two range partitions (attached or not) whose ranges overlap.
    Overlap,
    /// A range partition whose bounds are not one configured period (or step) on its boundaries.
    Misaligned,
    /// Partitions do not reach as far ahead as `premake` asks.
    HorizonShort,
    /// The DEFAULT partition holds rows.
    RowsInDefault,
    /// A `DETACH .. CONCURRENTLY` did not finish.
    PendingDetach,
}

impl AnomalyKind {
    /// Every kind, in the order status reports them.
    pub const ALL: [AnomalyKind; 14] = [
        AnomalyKind::TableMissing,
        AnomalyKind::LogWithoutTable,
        AnomalyKind::DetachedByHand,
        AnomalyKind::AttachedByHand,
        AnomalyKind::Unlogged,
        AnomalyKind::RenamedByHand,
        AnomalyKind::BoundMismatch,
        AnomalyKind::TablespaceMismatch,
        AnomalyKind::Gap,
        AnomalyKind::Overlap,
        AnomalyKind::Misaligned,
        AnomalyKind::HorizonShort,
        AnomalyKind::RowsInDefault,
        AnomalyKind::PendingDetach,
    ];

    /// A stable kebab-case name (`detached-by-hand`), as the CLI and JSON output spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::TableMissing => "table-missing",
            AnomalyKind::LogWithoutTable => "log-without-table",
            AnomalyKind::DetachedByHand => "detached-by-hand",
            AnomalyKind::AttachedByHand => "attached-by-hand",
            AnomalyKind::Unlogged => "unlogged",
            AnomalyKind::RenamedByHand => "renamed-by-hand",
            AnomalyKind::BoundMismatch => "bound-mismatch",
            AnomalyKind::TablespaceMismatch => "tablespace-mismatch",
            AnomalyKind::Gap => "gap",
            AnomalyKind::Overlap => "overlap",
            AnomalyKind::Misaligned => "misaligned",
            AnomalyKind::HorizonShort => "horizon-short",
            AnomalyKind::RowsInDefault => "rows-in-default",
            AnomalyKind::PendingDetach => "pending-detach",
        }
    }

    /// The kind named `name` (see [`as_str`](Self::as_str)).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One disagreement between the catalog, the log and the configuration of a managed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// The managed table is gone (dropped or renamed).
    TableMissing,
    /// The log has a row for a table that does not exist (dropped or renamed by hand).
    LogWithoutTable {
        /// The partition's name.
        partition: String,
        /// Its log row.
        log_id: i64,
        /// Whether the log says it is attached.
        logged_attached: bool,
    },
    /// The log says attached; the catalog says the table is not a partition of the managed table.
    DetachedByHand {
        /// The partition's name.
        partition: String,
        /// Its log row.
        log_id: i64,
    },
    /// The log says detached; the catalog says attached.
    AttachedByHand {
        /// The partition's name.
        partition: String,
        /// Its log row.
        log_id: i64,
    },
    /// A partition of the managed table that the log does not know.
    Unlogged {
        /// The partition's name.
        partition: String,
        /// Its bound.
        bound: CatalogBound,
    },
    /// A logged partition that is attached under another name with its logged bound: renamed by hand.
    RenamedByHand {
        /// Its name in the catalog now.
        partition: String,
        /// The name the log has for it.
        logged_as: String,
        /// Its log row.
        log_id: i64,
    },
    /// The catalog's bound is not the logged one.
    BoundMismatch {
        /// The partition's name.
        partition: String,
        /// Its log row.
        log_id: i64,
        /// The logged bound, for reading.
        logged: String,
        /// The catalog's bound.
        catalog: CatalogBound,
    },
    /// A partition or one of its indexes is not where the log (or else the configuration) puts it.
    TablespaceMismatch {
        /// The partition's name.
        partition: String,
        /// Its log row.
        log_id: i64,
        /// The misplaced relation: the partition, or one of its indexes.
        relation: String,
        /// Whether `relation` is an index.
        index: bool,
        /// Where it should be.
        expected: String,
        /// Where it is.
        actual: String,
    },
    /// No attached partition covers `[from, to)`, between two that do or from the start of the current
    /// period: rows there go to DEFAULT or fail.
    Gap {
        /// The end of the partition before the hole.
        from: Edge,
        /// The start of the partition after it.
        to: Edge,
    },
    /// Two partitions' ranges overlap (one of them detached: it cannot be attached back as it is).
    Overlap {
        /// The partition with the earlier start.
        first: String,
        /// The other one.
        second: String,
    },
    /// A range partition that is not exactly one configured period (or step) on its boundaries.
    Misaligned {
        /// The partition's name.
        partition: String,
        /// Its bound.
        bound: CatalogBound,
    },
    /// Attached partitions end at `horizon` (`None`: there are none); premake wants them to reach `wanted`.
    HorizonShort {
        /// Where attached partitions end.
        horizon: Option<Edge>,
        /// Where they should end.
        wanted: Edge,
    },
    /// The DEFAULT partition holds rows that belong in partitions of their own.
    RowsInDefault {
        /// The DEFAULT partition's name.
        partition: String,
        /// The planner's estimate of its rows (`None` before the first `ANALYZE`).
        estimated_rows: Option<i64>,
    },
    /// A `DETACH .. CONCURRENTLY` did not finish (the catalog, the log or both say so).
    PendingDetach {
        /// The partition's name.
        partition: String,
        /// Its log row, if logged.
        log_id: Option<i64>,
    },
}

impl Anomaly {
    /// Its kind.
    pub fn kind(&self) -> AnomalyKind {
        match self {
            Anomaly::TableMissing => AnomalyKind::TableMissing,
            Anomaly::LogWithoutTable { .. } => AnomalyKind::LogWithoutTable,
            Anomaly::DetachedByHand { .. } => AnomalyKind::DetachedByHand,
            Anomaly::AttachedByHand { .. } => AnomalyKind::AttachedByHand,
            Anomaly::Unlogged { .. } => AnomalyKind::Unlogged,
            Anomaly::RenamedByHand { .. } => AnomalyKind::RenamedByHand,
            Anomaly::BoundMismatch { .. } => AnomalyKind::BoundMismatch,
            Anomaly::TablespaceMismatch { .. } => AnomalyKind::TablespaceMismatch,
            Anomaly::Gap { .. } => AnomalyKind::Gap,
            Anomaly::Overlap { .. } => AnomalyKind::Overlap,
            Anomaly::Misaligned { .. } => AnomalyKind::Misaligned,
            Anomaly::HorizonShort { .. } => AnomalyKind::HorizonShort,
            Anomaly::RowsInDefault { .. } => AnomalyKind::RowsInDefault,
            Anomaly::PendingDetach { .. } => AnomalyKind::PendingDetach,
        }
    }

    /// The partition it concerns, if one.
    pub fn partition(&self) -> Option<&str> {
        match self {
            Anomaly::LogWithoutTable { partition, .. }
            | Anomaly::DetachedByHand { partition, .. }
            | Anomaly::AttachedByHand { partition, .. }
            | Anomaly::Unlogged { partition, .. }
            | Anomaly::RenamedByHand { partition, .. }
            | Anomaly::BoundMismatch { partition, .. }
            | Anomaly::TablespaceMismatch { partition, .. }
            | Anomaly::Misaligned { partition, .. }
            | Anomaly::RowsInDefault { partition, .. }
            | Anomaly::PendingDetach { partition, .. } => Some(partition),
            Anomaly::Overlap { first, .. } => Some(first),
            Anomaly::TableMissing | Anomaly::Gap { .. } | Anomaly::HorizonShort { .. } => None,
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::TableMissing => f.write_str(
                "the table does not exist: restore it, or delete its configuration (it was dropped or renamed)",
            ),
            Anomaly::LogWithoutTable {
                partition,
                logged_attached,
                ..
            } => write!(
                f,
                "{partition}: logged as {} but no such table exists (dropped or renamed by hand)",
                if *logged_attached { "attached" } else { "detached" }
            ),
            Anomaly::DetachedByHand { partition, .. } => write!(
                f,
                "{partition}: logged as attached but it is not a partition of the table (detached by hand)"
            ),
            Anomaly::AttachedByHand { partition, .. } => write!(
                f,
                "{partition}: logged as detached but it is attached (attached by hand)"
            ),
            Anomaly::Unlogged { partition, bound } => {
                write!(f, "{partition} {bound}: a partition the log does not know")
            }
            Anomaly::RenamedByHand {
                partition,
                logged_as,
                ..
            } => write!(
                f,
                "{partition}: logged as {logged_as}, attached with its logged bound under this name (renamed by hand)"
            ),
            Anomaly::BoundMismatch {
                partition,
                logged,
                catalog,
                ..
            } => write!(
                f,
                "{partition}: the catalog's bound {catalog} differs from the logged {logged}"
            ),
            Anomaly::TablespaceMismatch {
                partition,
                relation,
                index,
                expected,
                actual,
                ..
            } => {
                if *index {
                    write!(
                        f,
                        "{partition}: index {relation} is in tablespace {actual}, not {expected}"
                    )
                } else {
                    write!(f, "{partition}: in tablespace {actual}, not {expected}")
                }
            }
            Anomaly::Gap { from, to } => {
                write!(f, "no partition covers [{from}, {to}): rows there go to DEFAULT or fail")
            }
            Anomaly::Overlap { first, second } => {
                write!(f, "{first} and {second} have overlapping ranges")
            }
            Anomaly::Misaligned { partition, bound } => write!(
                f,
                "{partition} {bound}: not one configured period on its boundaries"
            ),
            Anomaly::HorizonShort { horizon, wanted } => match horizon {
                Some(h) => write!(f, "partitions end at {h}; premake wants them until {wanted}"),
                None => write!(f, "no range partition is attached; premake wants them until {wanted}"),
            },
            Anomaly::RowsInDefault {
                partition,
                estimated_rows,
            } => match estimated_rows {
                Some(n) => write!(f, "{partition} (DEFAULT) holds rows (about {n})"),
                None => write!(f, "{partition} (DEFAULT) holds rows"),
            },
            Anomaly::PendingDetach { partition, .. } => write!(
                f,
                "{partition}: a DETACH .. CONCURRENTLY did not finish (maintenance or repair completes it)"
            ),
        }
    }
}

/// One managed table: its partitions, how far ahead they reach, and its anomalies.
#[derive(Debug, Clone)]
pub struct TableStatus {
    /// `schema.name`.
    pub table: String,
    /// Its configuration.
    pub config: partition_config::Model,
    /// Whether the table exists.
    pub exists: bool,
    /// Its partitions (and logged tables that are no partition any more), by name.
    pub partitions: Vec<PartitionStatus>,
    /// Where its attached range partitions end (range tables).
    pub horizon: Option<Edge>,
    /// Where premake wants them to end (range tables).
    pub wanted_horizon: Option<Edge>,
    /// The retention threshold (range tables with a retention rule): attached time-range partitions that end
    /// before it, and integer-range partitions that end at or below it, are due to be detached.
    pub retention_threshold: Option<Edge>,
    /// Whether its DEFAULT partition holds rows (`None`: no DEFAULT partition).
    pub default_has_rows: Option<bool>,
    /// Every disagreement found, in [`AnomalyKind`] order.
    pub anomalies: Vec<Anomaly>,
}

impl TableStatus {
    /// Whether no anomaly was found.
    pub fn is_healthy(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// How the table is partitioned, for reading: `range by month (Europe/Berlin)`, `range by 1000000`,
    /// `list` or `hash`.
    pub fn partitioning(&self) -> String {
        let config = &self.config;
        match (config.period, config.step) {
            (Some(period), _) => format!("range by {period} ({})", config.time_zone),
            (None, Some(step)) => format!("range by {step}"),
            (None, None) => config.strategy.as_sql().to_lowercase(),
        }
    }

    /// Whether `partition` is one of the table's own partitions (or a detached or missing former one), not a
    /// sub-partition of one of them.
    pub fn is_top_level(&self, partition: &PartitionStatus) -> bool {
        let sub_by_log = partition
            .log
            .as_ref()
            .is_some_and(|l| l.parent_name.is_some());
        let sub_by_catalog = partition
            .catalog
            .as_ref()
            .and_then(|c| c.parent.as_deref())
            .is_some_and(|parent| parent != self.table);
        !sub_by_log && !sub_by_catalog
    }

    /// The partition named `name`.
    pub fn partition(&self, name: &str) -> Option<&PartitionStatus> {
        self.partitions.iter().find(|p| p.name == name)
    }
}

/// Every managed table's status.
#[derive(Debug, Clone)]
pub struct Status {
    /// The instant the status is for (the service's clock).
    pub at: DateTime<Utc>,
    /// The tables, by schema and name.
    pub tables: Vec<TableStatus>,
}

impl Status {
    /// Whether no table has an anomaly.
    pub fn is_healthy(&self) -> bool {
        self.tables.iter().all(TableStatus::is_healthy)
    }

    /// Every anomaly, with its table.
    pub fn anomalies(&self) -> impl Iterator<Item = (&str, &Anomaly)> {
        self.tables
            .iter()
            .flat_map(|t| t.anomalies.iter().map(move |a| (t.table.as_str(), a)))
    }
}

/// What [`assess`] compares for one table.
pub(crate) struct Observed<'a> {
    pub config: &'a partition_config::Model,
    pub exists: bool,
    pub logs: &'a [partition_log::Model],
    /// The table's partitions and the relations its log names.
    pub relations: Vec<&'a CatalogRelation>,
    pub indexes: &'a HashMap<i64, Vec<Placement>>,
    /// Integer ranges: the largest key.
    pub max_key: Option<i64>,
    pub now: DateTime<Utc>,
}

/// The catalog's bound of a relation, parsed.
pub(crate) fn catalog_bound(rel: &CatalogRelation) -> Option<CatalogBound> {
    let text = rel.bound.as_deref()?;
    Some(if let Some((start, end)) = rel.time_range {
        CatalogBound::Range {
            start: Edge::Time(start),
            end: Edge::Time(end),
        }
    } else if let Some((start, end)) = rel.int_range {
        CatalogBound::Range {
            start: Edge::Int(start),
            end: Edge::Int(end),
        }
    } else if let Some((modulus, remainder)) = rel.hash {
        CatalogBound::Hash { modulus, remainder }
    } else if text == "DEFAULT" {
        CatalogBound::Default
    } else if let Some(values) = parse_list_bound(text) {
        CatalogBound::List(values)
    } else {
        CatalogBound::Other(text.to_owned())
    })
}

/// The values of `FOR VALUES IN (...)` as PostgreSQL prints them: quoted literals unquoted, `NULL` as
/// `None`, anything else (numbers, booleans) as written.
pub(crate) fn parse_list_bound(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.strip_prefix("FOR VALUES IN (")?.strip_suffix(')')?;
    let mut values = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let value = if chars.peek() == Some(&'\'') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next()? {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    '\'' => break,
                    c => s.push(c),
                }
            }
            // A cast PostgreSQL may print after a literal (`'a'::text`).
            if chars.peek() == Some(&':') {
                while chars.peek().is_some_and(|c| *c != ',') {
                    chars.next();
                }
            }
            Some(s)
        } else {
            let mut token = String::new();
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                token.push(c);
                chars.next();
            }
            let token = token.trim().to_owned();
            if token.is_empty() {
                return None;
            }
            (token != "NULL").then_some(token)
        };
        values.push(value);
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return None,
        }
    }
    Some(values)
}

/// Whether a range is exactly one period (or step) on its boundaries.
fn aligned(config: &partition_config::Model, ctx: &Table, start: Edge, end: Edge) -> bool {
    match (start, end) {
        (Edge::Time(start), Edge::Time(end)) => match (config.period, ctx.time_zone()) {
            (Some(period), Ok(tz)) => {
                period.start(start, tz) == start && period.end(start, tz) == end
            }
            _ => true,
        },
        (Edge::Int(start), Edge::Int(end)) => match config.step {
            Some(step) if step > 0 => {
                start.rem_euclid(step) == 0 && end.checked_sub(start) == Some(step)
            }
            _ => true,
        },
        _ => false,
    }
}

/// A logged partition whose table is gone and an unlogged partition attached with exactly its logged bound
/// are one table renamed by hand: their two anomalies become one [`Anomaly::RenamedByHand`], and the
/// partition is listed once, under its new name with its log row.
fn pair_renames(anomalies: &mut Vec<Anomaly>, partitions: &mut Vec<PartitionStatus>) {
    let bound_of = |name: &str, partitions: &[PartitionStatus]| {
        partitions
            .iter()
            .find(|p| p.name == name)
            .and_then(PartitionStatus::bound)
    };
    let mut renames = Vec::new();
    for anomaly in anomalies.iter() {
        let Anomaly::LogWithoutTable {
            partition: old,
            log_id,
            logged_attached: true,
        } = anomaly
        else {
            continue;
        };
        let Some(logged) = bound_of(old, partitions) else {
            continue;
        };
        let taken = |name: &str| {
            renames
                .iter()
                .any(|(_, new, _): &(String, String, i64)| new == name)
        };
        let new = anomalies.iter().find_map(|a| match a {
            Anomaly::Unlogged { partition, bound }
                if same_bound(&logged, bound) && !taken(partition) =>
            {
                Some(partition.clone())
            }
            _ => None,
        });
        if let Some(new) = new {
            renames.push((old.clone(), new, *log_id));
        }
    }
    for (old, new, log_id) in renames {
        anomalies.retain(|a| match a {
            Anomaly::LogWithoutTable { partition, .. } => *partition != old,
            Anomaly::Unlogged { partition, .. } => *partition != new,
            _ => true,
        });
        anomalies.push(Anomaly::RenamedByHand {
            partition: new.clone(),
            logged_as: old.clone(),
            log_id,
        });
        let log = partitions
            .iter()
            .position(|p| p.name == old)
            .map(|i| partitions.remove(i))
            .and_then(|p| p.log);
        if let Some(renamed) = partitions.iter_mut().find(|p| p.name == new) {
            renamed.log = log;
        }
    }
}

/// Compares the catalog with the log and the configuration for one table. Pure.
pub(crate) fn assess(observed: Observed<'_>) -> TableStatus {
    let config = observed.config;
    let table = format!("{}.{}", config.schema_name, config.table_name);
    let ctx = Table {
        config: config.clone(),
        key_type: None,
    };
    let mut status = TableStatus {
        table: table.clone(),
        config: config.clone(),
        exists: observed.exists,
        partitions: Vec::new(),
        horizon: None,
        wanted_horizon: None,
        retention_threshold: None,
        default_has_rows: None,
        anomalies: Vec::new(),
    };
    let mut anomalies = Vec::new();
    if !observed.exists {
        anomalies.push(Anomaly::TableMissing);
    }
    let by_name: HashMap<(&str, &str), &CatalogRelation> = observed
        .relations
        .iter()
        .map(|r| ((r.schema.as_str(), r.name.as_str()), *r))
        .collect();
    let managed = (config.schema_name.clone(), config.table_name.clone());
    let placements = |rel: &CatalogRelation| -> Vec<IndexPlacement> {
        observed
            .indexes
            .get(&rel.oid)
            .map(|v| {
                v.iter()
                    .map(|p| IndexPlacement {
                        name: p.name.clone(),
                        tablespace: p.tablespace.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let catalog_of = |rel: &CatalogRelation, expected_parent: &(String, String)| CatalogPartition {
        attached: rel.parent.as_ref() == Some(expected_parent),
        parent: rel.parent.as_ref().map(|(s, n)| format!("{s}.{n}")),
        detach_pending: rel.detach_pending,
        bound: catalog_bound(rel),
        tablespace: rel.tablespace.clone(),
        indexes: placements(rel),
        estimated_rows: rel.estimated_rows,
        size_bytes: rel.size_bytes,
    };
    let mut logged: BTreeSet<(&str, &str)> = BTreeSet::new();
    // Ranges seen (name, start, end, attached), for gaps and overlaps.
    let mut ranges: Vec<(String, Edge, Edge, bool)> = Vec::new();
    for log in observed.logs {
        logged.insert((log.schema_name.as_str(), log.partition_name.as_str()));
        let expected_parent = (
            config.schema_name.clone(),
            log.parent_name
                .clone()
                .unwrap_or_else(|| config.table_name.clone()),
        );
        let rel = by_name
            .get(&(log.schema_name.as_str(), log.partition_name.as_str()))
            .copied();
        let catalog = rel.map(|r| catalog_of(r, &expected_parent));
        match (rel, &catalog) {
            (Some(rel), Some(cat)) if observed.exists => {
                if cat.detach_pending || log.detach_pending {
                    anomalies.push(Anomaly::PendingDetach {
                        partition: log.partition_name.clone(),
                        log_id: Some(log.id),
                    });
                } else if cat.attached && !log.is_attached {
                    anomalies.push(Anomaly::AttachedByHand {
                        partition: log.partition_name.clone(),
                        log_id: log.id,
                    });
                } else if !cat.attached && log.is_attached {
                    anomalies.push(Anomaly::DetachedByHand {
                        partition: log.partition_name.clone(),
                        log_id: log.id,
                    });
                }
                if cat.attached
                    && let (Some(logged), Some(actual)) =
                        (log.bound().ok().map(|b| b.to_catalog()), cat.bound.as_ref())
                    && !same_bound(&logged, actual)
                {
                    anomalies.push(Anomaly::BoundMismatch {
                        partition: log.partition_name.clone(),
                        log_id: log.id,
                        logged: logged.to_string(),
                        catalog: actual.clone(),
                    });
                }
                let expected = log
                    .tablespace
                    .clone()
                    .or_else(|| {
                        if cat.attached {
                            config.attach_tablespace.clone()
                        } else {
                            config.detach_tablespace.clone()
                        }
                    })
                    .or_else(|| log.created_tablespace.clone());
                // A sub-partitioned partition has no storage: its sub-partitions are checked instead.
                if let Some(expected) = expected.filter(|_| rel.relkind != "p") {
                    if cat.tablespace != expected {
                        anomalies.push(Anomaly::TablespaceMismatch {
                            partition: log.partition_name.clone(),
                            log_id: log.id,
                            relation: log.partition_name.clone(),
                            index: false,
                            expected: expected.clone(),
                            actual: cat.tablespace.clone(),
                        });
                    }
                    for index in cat.indexes.iter().filter(|i| i.tablespace != expected) {
                        anomalies.push(Anomaly::TablespaceMismatch {
                            partition: log.partition_name.clone(),
                            log_id: log.id,
                            relation: index.name.clone(),
                            index: true,
                            expected: expected.clone(),
                            actual: index.tablespace.clone(),
                        });
                    }
                }
                if log.parent_name.is_none()
                    && let Some((start, end)) = log.bound().ok().and_then(|b| b.range())
                {
                    // A detached partition keeps its logged range (the catalog forgets it).
                    let (start, end) = match (&cat.bound, cat.attached) {
                        (Some(CatalogBound::Range { start, end }), true) => (*start, *end),
                        _ => (start, end),
                    };
                    ranges.push((log.partition_name.clone(), start, end, cat.attached));
                }
                if cat.attached
                    && matches!(cat.bound, Some(CatalogBound::Default))
                    && rel.has_rows.is_some()
                {
                    status.default_has_rows = rel.has_rows;
                    if rel.has_rows == Some(true) {
                        anomalies.push(Anomaly::RowsInDefault {
                            partition: log.partition_name.clone(),
                            estimated_rows: rel.estimated_rows,
                        });
                    }
                }
            }
            (None, _) if observed.exists => anomalies.push(Anomaly::LogWithoutTable {
                partition: log.partition_name.clone(),
                log_id: log.id,
                logged_attached: log.is_attached,
            }),
            _ => {}
        }
        status.partitions.push(PartitionStatus {
            schema: log.schema_name.clone(),
            name: log.partition_name.clone(),
            log: Some(log.clone()),
            catalog,
        });
    }
    // Partitions of the table the log does not know.
    for rel in observed.relations.iter().filter(|r| {
        r.parent.as_ref() == Some(&managed)
            && !logged.contains(&(r.schema.as_str(), r.name.as_str()))
    }) {
        let catalog = catalog_of(rel, &managed);
        let bound = catalog
            .bound
            .clone()
            .unwrap_or_else(|| CatalogBound::Other(String::new()));
        if let CatalogBound::Range { start, end } = bound {
            ranges.push((rel.name.clone(), start, end, true));
        }
        if bound == CatalogBound::Default {
            status.default_has_rows = rel.has_rows;
            if rel.has_rows == Some(true) {
                anomalies.push(Anomaly::RowsInDefault {
                    partition: rel.name.clone(),
                    estimated_rows: rel.estimated_rows,
                });
            }
        }
        if rel.detach_pending {
            anomalies.push(Anomaly::PendingDetach {
                partition: rel.name.clone(),
                log_id: None,
            });
        }
        anomalies.push(Anomaly::Unlogged {
            partition: rel.name.clone(),
            bound,
        });
        status.partitions.push(PartitionStatus {
            schema: rel.schema.clone(),
            name: rel.name.clone(),
            log: None,
            catalog: Some(catalog),
        });
    }
    pair_renames(&mut anomalies, &mut status.partitions);
    status.partitions.sort_by(|a, b| a.name.cmp(&b.name));

    // Range shape: alignment, gaps between attached partitions, overlaps, horizon.
    ranges.sort_by(|a, b| (a.1, a.2, &a.0).cmp(&(b.1, b.2, &b.0)));
    for (name, start, end, _) in &ranges {
        if !aligned(config, &ctx, *start, *end) {
            anomalies.push(Anomaly::Misaligned {
                partition: name.clone(),
                bound: CatalogBound::Range {
                    start: *start,
                    end: *end,
                },
            });
        }
    }
    let attached: Vec<&(String, Edge, Edge, bool)> = ranges.iter().filter(|r| r.3).collect();
    // The current period must have a partition: rows for now would otherwise go to DEFAULT or fail.
    if let (Some(period), Ok(tz), Some(first)) = (config.period, ctx.time_zone(), attached.first())
    {
        let current = Edge::Time(period.start(observed.now, tz));
        if first.1 > current {
            anomalies.push(Anomaly::Gap {
                from: current,
                to: first.1,
            });
        }
    }
    for pair in attached.windows(2) {
        if pair[0].2 < pair[1].1 {
            anomalies.push(Anomaly::Gap {
                from: pair[0].2,
                to: pair[1].1,
            });
        }
    }
    for (i, a) in ranges.iter().enumerate() {
        for b in ranges[i + 1..].iter().take_while(|b| b.1 < a.2) {
            anomalies.push(Anomaly::Overlap {
                first: a.0.clone(),
                second: b.0.clone(),
            });
        }
    }
    status.horizon = attached.iter().map(|r| r.2).max();
    status.wanted_horizon = match (config.period, config.step) {
        (Some(period), _) => ctx
            .time_zone()
            .ok()
            .map(|tz| Edge::Time(time_horizon(config, period, observed.now, tz))),
        (None, Some(step)) if step > 0 => {
            Some(Edge::Int(int_horizon(config, step, observed.max_key)))
        }
        _ => None,
    };
    status.retention_threshold = match (config.period, config.step) {
        (Some(period), _) => ctx.time_zone().ok().and_then(|tz| {
            time_retention_threshold(config, period, observed.now, tz).map(Edge::Time)
        }),
        (None, Some(step)) if step > 0 => {
            int_retention_threshold(config, step, observed.max_key).map(Edge::Int)
        }
        _ => None,
    };
    if observed.exists
        && let Some(wanted) = status.wanted_horizon
        && status.horizon.is_none_or(|h| h < wanted)
    {
        anomalies.push(Anomaly::HorizonShort {
            horizon: status.horizon,
            wanted,
        });
    }
    anomalies.sort_by_key(Anomaly::kind);
    status.anomalies = anomalies;
    status
}

impl PartitionService {
    /// The status of every managed table: each partition from the catalog (bound, attached or not,
    /// tablespace of the table and of each index, estimated rows, size) joined with its log row, how far
    /// ahead partitions reach, whether DEFAULT holds rows, and every [`Anomaly`].
    ///
    /// A constant number of queries however many partitions exist (the configurations, the log, the
    /// relations, their indexes), plus the largest key of each integer-range table. Nothing changes.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let status = service.status().await?;
    /// for (table, anomaly) in status.anomalies() {
    ///     println!("{table}: {anomaly}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<Status> {
        let configs = self.configs().await?;
        self.status_of_configs(configs).await
    }

    /// The status of one managed table (see [`status`](Self::status)).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let event = service.status_of(("public", "event")).await?;
    /// println!("ahead until {:?} (premake wants {:?})", event.horizon, event.wanted_horizon);
    /// assert!(event.is_healthy(), "{:?}", event.anomalies);
    /// # Ok(()) }
    /// ```
    pub async fn status_of<T: Into<QualifiedTable>>(&self, table: T) -> Result<TableStatus> {
        let config = self.config_of(table).await?;
        let table = format!("{}.{}", config.schema_name, config.table_name);
        self.status_of_configs(vec![config])
            .await?
            .tables
            .pop()
            .ok_or(crate::Error::NotRegistered { table })
    }

    pub(crate) async fn status_of_configs(
        &self,
        configs: Vec<partition_config::Model>,
    ) -> Result<Status> {
        status_with(self.connection(), configs, self.now()).await
    }
}

/// The status of the given tables, read through `db` (a transaction holding their locks, during repairs).
pub(crate) async fn status_with<C: sea_orm::ConnectionTrait>(
    db: &C,
    configs: Vec<partition_config::Model>,
    now: DateTime<Utc>,
) -> Result<Status> {
    let ids: Vec<i32> = configs.iter().map(|c| c.id).collect();
    let logs = partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.is_in(ids))
        .order_by_asc(partition_log::Column::Id)
        .all(db)
        .await?;
    let managed: Vec<ManagedTable<'_>> = configs
        .iter()
        .map(|c| ManagedTable {
            schema: &c.schema_name,
            name: &c.table_name,
            time_zone: &c.time_zone,
        })
        .collect();
    let named: Vec<(String, String)> = logs
        .iter()
        .map(|l| (l.schema_name.clone(), l.partition_name.clone()))
        .collect();
    let relations = catalog::relations(db, &managed, &named).await?;
    let oids: Vec<i64> = relations.iter().map(|r| r.oid).collect();
    let indexes = catalog::index_placements(db, &oids).await?;
    let names: Vec<(String, String)> = configs
        .iter()
        .map(|c| (c.schema_name.clone(), c.table_name.clone()))
        .collect();
    let key_types = catalog::key_types(db, &names).await?;
    let mut tables = Vec::with_capacity(configs.len());
    for config in &configs {
        let key = (config.schema_name.clone(), config.table_name.clone());
        let exists = key_types.contains_key(&key);
        let own_logs: Vec<partition_log::Model> = logs
            .iter()
            .filter(|l| l.config_id == config.id)
            .cloned()
            .collect();
        let own_names: BTreeSet<(&str, &str)> = own_logs
            .iter()
            .map(|l| (l.schema_name.as_str(), l.partition_name.as_str()))
            .collect();
        let rels: Vec<&CatalogRelation> = relations
            .iter()
            .filter(|r| {
                r.parent.as_ref() == Some(&key)
                    || own_names.contains(&(r.schema.as_str(), r.name.as_str()))
            })
            .collect();
        let max_key = if exists && config.period.is_none() && config.step.is_some() {
            let ctx = Table {
                config: config.clone(),
                key_type: key_types.get(&key).cloned().flatten(),
            };
            core::max_key(db, &ctx).await?
        } else {
            None
        };
        tables.push(assess(Observed {
            config,
            exists,
            logs: &own_logs,
            relations: rels,
            indexes: &indexes,
            max_key,
            now,
        }));
    }
    Ok(Status { at: now, tables })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Period;
    use crate::model::LoggedBound;
    use crate::schema::ListValue;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0).single().unwrap()
    }

    fn daily() -> partition_config::Model {
        partition_config::Model {
            table_name: "ev".to_owned(),
            attach_tablespace: Some("fast".to_owned()),
            premake: Some(1),
            ..crate::service::fixtures::config(Some(Period::Day), None)
        }
    }

    fn log(id: i64, day: u32, attached: bool) -> partition_log::Model {
        partition_log::Model {
            created_at: at(1, 0),
            ..crate::service::fixtures::range_log(
                id,
                &format!("ev_{day}"),
                at(day, 0),
                at(day + 1, 0),
                attached,
            )
        }
    }

    /// A partition of `ev` in the catalog, `[start, end)`, in `tablespace`; `attached` to `ev` or not.
    fn rel(
        oid: i64,
        name: &str,
        range: (DateTime<Utc>, DateTime<Utc>),
        attached: bool,
    ) -> CatalogRelation {
        CatalogRelation {
            oid,
            schema: "public".to_owned(),
            name: name.to_owned(),
            relkind: "r".to_owned(),
            parent: attached.then(|| ("public".to_owned(), "ev".to_owned())),
            detach_pending: false,
            bound: attached.then(|| "FOR VALUES FROM (..) TO (..)".to_owned()),
            tablespace: "fast".to_owned(),
            estimated_rows: None,
            size_bytes: 8192,
            time_range: attached.then_some(range),
            int_range: None,
            hash: None,
            has_rows: None,
        }
    }

    fn day_rel(oid: i64, day: u32, attached: bool) -> CatalogRelation {
        rel(
            oid,
            &format!("ev_{day}"),
            (at(day, 0), at(day + 1, 0)),
            attached,
        )
    }

    fn assess_with(
        logs: &[partition_log::Model],
        rels: &[CatalogRelation],
        indexes: &HashMap<i64, Vec<Placement>>,
        now: DateTime<Utc>,
    ) -> TableStatus {
        assess(Observed {
            config: &daily(),
            exists: true,
            logs,
            relations: rels.iter().collect(),
            indexes,
            max_key: None,
            now,
        })
    }

    #[test]
    fn agreeing_catalog_and_log_are_healthy_up_to_the_horizon() {
        let logs: Vec<_> = (1..=4).map(|d| log(i64::from(d), d, true)).collect();
        let rels: Vec<_> = (1..=4).map(|d| day_rel(i64::from(d), d, true)).collect();
        let status = assess_with(&logs, &rels, &HashMap::new(), at(3, 12));
        assert!(status.is_healthy(), "{:?}", status.anomalies);
        assert_eq!(status.horizon, Some(Edge::Time(at(5, 0))));
        assert_eq!(status.wanted_horizon, Some(Edge::Time(at(5, 0))));
        // A day later the horizon is short by one day.
        let status = assess_with(&logs, &rels, &HashMap::new(), at(4, 0));
        assert_eq!(
            status.anomalies,
            [Anomaly::HorizonShort {
                horizon: Some(Edge::Time(at(5, 0))),
                wanted: Edge::Time(at(6, 0)),
            }]
        );
    }

    #[test]
    fn a_current_period_without_partition_is_a_gap() {
        let logs = vec![log(5, 5, true), log(6, 6, true)];
        let rels = vec![day_rel(5, 5, true), day_rel(6, 6, true)];
        let status = assess_with(&logs, &rels, &HashMap::new(), at(3, 12));
        assert_eq!(
            status.anomalies,
            [Anomaly::Gap {
                from: Edge::Time(at(3, 0)),
                to: Edge::Time(at(5, 0)),
            }]
        );
    }

    #[test]
    fn a_partition_renamed_by_hand_is_one_anomaly_listed_once() {
        let logs: Vec<_> = (1..=4).map(|d| log(i64::from(d), d, true)).collect();
        let mut rels: Vec<_> = (1..=4).map(|d| day_rel(i64::from(d), d, true)).collect();
        rels[1].name = "ev_new".to_owned();
        let status = assess_with(&logs, &rels, &HashMap::new(), at(3, 12));
        assert_eq!(
            status.anomalies,
            [Anomaly::RenamedByHand {
                partition: "ev_new".to_owned(),
                logged_as: "ev_2".to_owned(),
                log_id: 2,
            }]
        );
        assert_eq!(status.partitions.len(), 4);
        let renamed = status.partition("ev_new").expect("listed");
        assert_eq!(renamed.log.as_ref().map(|l| l.id), Some(2));
        assert!(status.partition("ev_2").is_none());
        // Another bound is not a rename: the log row without a table and the unlogged partition stay apart.
        rels[1] = rel(2, "ev_new", (at(2, 0), at(2, 12)), true);
        let kinds: Vec<AnomalyKind> = assess_with(&logs, &rels, &HashMap::new(), at(3, 12))
            .anomalies
            .iter()
            .map(Anomaly::kind)
            .collect();
        assert!(
            kinds.contains(&AnomalyKind::LogWithoutTable) && kinds.contains(&AnomalyKind::Unlogged)
        );
        assert!(!kinds.contains(&AnomalyKind::RenamedByHand));
    }

    #[test]
    fn hand_made_changes_are_told_apart() {
        let logs = vec![
            log(1, 1, true),
            log(2, 2, true),
            log(3, 3, false),
            log(4, 4, true),
        ];
        let rels = vec![
            day_rel(1, 1, true),
            day_rel(2, 2, false), // detached by hand
            day_rel(3, 3, true),  // attached by hand
            // day 4: gone
            rel(5, "ev_extra", (at(5, 0), at(5, 6)), true), // unlogged, misaligned
        ];
        let status = assess_with(&logs, &rels, &HashMap::new(), at(4, 12));
        assert_eq!(
            status.anomalies,
            [
                Anomaly::LogWithoutTable {
                    partition: "ev_4".to_owned(),
                    log_id: 4,
                    logged_attached: true,
                },
                Anomaly::DetachedByHand {
                    partition: "ev_2".to_owned(),
                    log_id: 2,
                },
                Anomaly::AttachedByHand {
                    partition: "ev_3".to_owned(),
                    log_id: 3,
                },
                Anomaly::Unlogged {
                    partition: "ev_extra".to_owned(),
                    bound: CatalogBound::Range {
                        start: Edge::Time(at(5, 0)),
                        end: Edge::Time(at(5, 6)),
                    },
                },
                Anomaly::Gap {
                    from: Edge::Time(at(2, 0)),
                    to: Edge::Time(at(3, 0)),
                },
                Anomaly::Gap {
                    from: Edge::Time(at(4, 0)),
                    to: Edge::Time(at(5, 0)),
                },
                Anomaly::Misaligned {
                    partition: "ev_extra".to_owned(),
                    bound: CatalogBound::Range {
                        start: Edge::Time(at(5, 0)),
                        end: Edge::Time(at(5, 6)),
                    },
                },
                Anomaly::HorizonShort {
                    horizon: Some(Edge::Time(at(5, 6))),
                    wanted: Edge::Time(at(6, 0)),
                },
            ]
        );
    }

    #[test]
    fn bounds_tablespaces_and_overlaps_are_compared_with_the_log() {
        let logs = vec![log(1, 1, true), log(2, 2, false), log(3, 3, true)];
        let mut rebounded = day_rel(1, 1, true);
        rebounded.time_range = Some((at(1, 0), at(1, 12)));
        let mut moved = day_rel(3, 3, true);
        moved.tablespace = "slow".to_owned();
        // ev_2 is detached; a hand-made partition covers part of its day.
        let over = rel(4, "ev_over", (at(2, 6), at(3, 0)), true);
        let indexes: HashMap<i64, Vec<Placement>> = [(
            3,
            vec![Placement {
                name: "ev_3_idx".to_owned(),
                tablespace: "fast".to_owned(),
            }],
        )]
        .into_iter()
        .collect();
        let status = assess_with(
            &logs,
            &[rebounded, day_rel(2, 2, false), moved, over],
            &indexes,
            at(3, 12),
        );
        let kinds: Vec<AnomalyKind> = status.anomalies.iter().map(Anomaly::kind).collect();
        assert_eq!(
            kinds,
            [
                AnomalyKind::Unlogged,
                AnomalyKind::BoundMismatch,
                AnomalyKind::TablespaceMismatch,
                AnomalyKind::Gap,
                AnomalyKind::Overlap,
                AnomalyKind::Misaligned,
                AnomalyKind::Misaligned,
                AnomalyKind::HorizonShort,
            ],
            "{:#?}",
            status.anomalies
        );
        assert!(status.anomalies.contains(&Anomaly::Overlap {
            first: "ev_2".to_owned(),
            second: "ev_over".to_owned(),
        }));
        // The index is where it should be; only the table moved.
        assert!(status.anomalies.contains(&Anomaly::TablespaceMismatch {
            partition: "ev_3".to_owned(),
            log_id: 3,
            relation: "ev_3".to_owned(),
            index: false,
            expected: "fast".to_owned(),
            actual: "slow".to_owned(),
        }));
    }

    #[test]
    fn list_bounds_are_parsed_as_postgresql_prints_them() {
        assert_eq!(
            parse_list_bound("FOR VALUES IN ('a', 'it''s', NULL, 'x, y')"),
            Some(vec![
                Some("a".to_owned()),
                Some("it's".to_owned()),
                None,
                Some("x, y".to_owned())
            ])
        );
        assert_eq!(
            parse_list_bound("FOR VALUES IN (1, -2, true)"),
            Some(vec![
                Some("1".to_owned()),
                Some("-2".to_owned()),
                Some("true".to_owned())
            ])
        );
        assert_eq!(parse_list_bound("FOR VALUES IN ('unterminated)"), None);
        assert_eq!(parse_list_bound("DEFAULT"), None);
    }

    #[test]
    fn logged_lists_compare_as_sets_in_the_catalog_spelling() {
        let values = ListValue::from_json(&serde_json::json!(["b", 1, null, true])).unwrap();
        let CatalogBound::List(logged) = LoggedBound::List(values).to_catalog() else {
            panic!("a list")
        };
        let catalog = CatalogBound::List(vec![
            Some("true".to_owned()),
            None,
            Some("1".to_owned()),
            Some("b".to_owned()),
        ]);
        assert!(same_bound(
            &CatalogBound::List(logged.into_iter().collect()),
            &catalog
        ));
        assert!(!same_bound(
            &CatalogBound::List(vec![Some("b".to_owned())]),
            &catalog
        ));
    }
}
