//! What status reports: every managed table's partitions as the catalog has them, joined with the log, and
//! every way the catalog, the log and the configuration disagree ([`Anomaly`]). Data only; the comparison is
//! the crate's assessment.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::entity::partition_log::PartitionKind;
use crate::entity::{partition_config, partition_log};
use crate::model::properties::PropertyDifference;
use crate::model::{CatalogBound, Edge, TableSpec};

/// A table or index and the tablespace it is in.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPlacement {
    /// The index's name.
    pub name: String,
    /// Its tablespace (`pg_default` for the database default).
    pub tablespace: String,
}

/// What the catalog says of one partition's table.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
    /// Its bound as PostgreSQL prints it (`FOR VALUES FROM (..) TO (..)`): for a key that encodes time, the
    /// encoded values behind [`bound`](Self::bound)'s instants.
    pub key_bound: Option<String>,
    /// Its tablespace.
    pub tablespace: String,
    /// Each of its indexes with its tablespace, by name.
    pub indexes: Vec<IndexPlacement>,
    /// The planner's row estimate (`None` before the first `ANALYZE` or vacuum).
    pub estimated_rows: Option<i64>,
    /// Its size with indexes and TOAST, in bytes, as of its last `VACUUM` or `ANALYZE` (autovacuum's
    /// included): the catalog's page counts, so that reading the status of many partitions takes no lock
    /// on each and costs no file system call (0 before the first).
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
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
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
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
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
    /// A partitioned index of the table is not valid: some partition has no index attached to it (an
    /// index build that did not finish).
    IndexIncomplete,
    /// A partition lacks a property it should carry: the parent's owner, a privilege granted on the parent,
    /// a declared storage option, replica identity or per-partition unique index.
    PropertiesDiffer,
}

impl AnomalyKind {
    /// Every kind, in the order status reports them.
    pub const ALL: [AnomalyKind; 16] = [
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
        AnomalyKind::IndexIncomplete,
        AnomalyKind::PropertiesDiffer,
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
            AnomalyKind::IndexIncomplete => "index-incomplete",
            AnomalyKind::PropertiesDiffer => "properties-differ",
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
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "kind", rename_all = "kebab-case")
)]
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
    /// A partitioned index that is not valid: the partitions without an index attached to it.
    IndexIncomplete {
        /// The index.
        index: String,
        /// The partitions that lack theirs.
        missing: Vec<String>,
    },
    /// An attached partition (or sub-partition) lacks properties it should carry.
    PropertiesDiffer {
        /// The partition's name.
        partition: String,
        /// Its log row.
        log_id: i64,
        /// What differs.
        differences: Vec<PropertyDifference>,
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
            Anomaly::IndexIncomplete { .. } => AnomalyKind::IndexIncomplete,
            Anomaly::PropertiesDiffer { .. } => AnomalyKind::PropertiesDiffer,
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
            | Anomaly::PendingDetach { partition, .. }
            | Anomaly::PropertiesDiffer { partition, .. } => Some(partition),
            Anomaly::Overlap { first, .. } => Some(first),
            Anomaly::TableMissing
            | Anomaly::Gap { .. }
            | Anomaly::HorizonShort { .. }
            | Anomaly::IndexIncomplete { .. } => None,
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::Gap { .. }
            | Anomaly::Overlap { .. }
            | Anomaly::Misaligned { .. }
            | Anomaly::HorizonShort { .. }
            | Anomaly::RowsInDefault { .. }
            | Anomaly::PendingDetach { .. }
            | Anomaly::IndexIncomplete { .. }
            | Anomaly::PropertiesDiffer { .. } => self.fmt_shape(f),
            _ => self.fmt_log_and_catalog(f),
        }
    }
}

impl Anomaly {
    /// The words of an anomaly between the log and the catalog.
    fn fmt_log_and_catalog(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::TableMissing => f.write_str(
                "the table does not exist: restore it, or unregister it (it was dropped or renamed)",
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
            // Dispatched to fmt_shape by Display.
            _ => f.write_str(self.kind().as_str()),
        }
    }

    /// The words of an anomaly of the partitions' shape, reach and state.
    fn fmt_shape(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::Gap { from, to } => {
                write!(
                    f,
                    "no partition covers [{from}, {to}): rows there go to DEFAULT or fail"
                )
            }
            Anomaly::Overlap { first, second } => {
                write!(f, "{first} and {second} have overlapping ranges")
            }
            Anomaly::Misaligned { partition, bound } => write!(
                f,
                "{partition} {bound}: not one configured period on its boundaries"
            ),
            Anomaly::HorizonShort { horizon, wanted } => match horizon {
                Some(h) => write!(
                    f,
                    "partitions end at {h}; premake wants them until {wanted}"
                ),
                None => write!(
                    f,
                    "no range partition is attached; premake wants them until {wanted}"
                ),
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
            Anomaly::IndexIncomplete { index, missing } => write!(
                f,
                "index {index} is not valid: {} partition(s) have no index attached to it ({}); finish the build with \
                 create_index (it builds them CONCURRENTLY)",
                missing.len(),
                missing.join(", ")
            ),
            Anomaly::PropertiesDiffer {
                partition,
                differences,
                ..
            } => {
                write!(f, "{partition}: ")?;
                for (i, d) in differences.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str(" (reconcile gives it what it lacks)")
            }
            // Dispatched to fmt_log_and_catalog by Display.
            _ => f.write_str(self.kind().as_str()),
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
        TableSpec::of(&self.config).map_or_else(
            |_| self.config.strategy.as_sql().to_lowercase(),
            |spec| spec.to_string(),
        )
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
