//! What kind of table is managed, as a type: each kind with its own settings, read from the configuration
//! row in one place instead of from its nullable `strategy`, `period` and `step` columns wherever needed.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

use crate::calendar::Period;
use crate::entity::partition_config;
use crate::error::{ConfigProblem, Error, Result};
use crate::schema::PartitionStrategy;

/// The kind of a managed table, with the settings of its kind.
///
/// ```
/// use sea_orm_pg_partitioning::calendar::Period;
/// use sea_orm_pg_partitioning::model::TableSpec;
///
/// let monthly = TableSpec::TimeRange { period: Period::Month, time_zone: chrono_tz::Europe::Berlin, retention: Some(3) };
/// assert_eq!(monthly.to_string(), "range by month (Europe/Berlin)");
/// assert_eq!(TableSpec::IntRange { step: 1000, keep: None }.to_string(), "range by 1000");
/// assert_eq!(TableSpec::Hash.to_string(), "hash");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableSpec {
    /// `RANGE` over time: partitions of one `period`, whose boundaries fall in `time_zone`.
    TimeRange {
        /// The length of one partition.
        period: Period,
        /// The zone of the period boundaries.
        time_zone: Tz,
        /// Retention: partitions that ended more than this many periods ago are detached.
        retention: Option<u32>,
    },
    /// `RANGE` over an integer: partitions of `step` keys.
    IntRange {
        /// The width of one partition.
        step: i64,
        /// Retention: partitions more than this many below the one holding the largest key are detached.
        keep: Option<u32>,
    },
    /// `LIST`.
    List,
    /// `HASH`.
    Hash,
}

/// The kind of a [`TableSpec`], without its settings: what a registration asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableKind {
    /// [`TableSpec::TimeRange`].
    TimeRange,
    /// [`TableSpec::IntRange`].
    IntRange,
    /// [`TableSpec::List`].
    List,
    /// [`TableSpec::Hash`].
    Hash,
}

impl TableKind {
    /// `time range`, `integer range`, `list` or `hash`.
    pub fn as_str(self) -> &'static str {
        match self {
            TableKind::TimeRange => "time range",
            TableKind::IntRange => "integer range",
            TableKind::List => "list",
            TableKind::Hash => "hash",
        }
    }
}

impl TableSpec {
    /// Its kind.
    pub fn kind(&self) -> TableKind {
        match self {
            TableSpec::TimeRange { .. } => TableKind::TimeRange,
            TableSpec::IntRange { .. } => TableKind::IntRange,
            TableSpec::List => TableKind::List,
            TableSpec::Hash => TableKind::Hash,
        }
    }

    /// The kind a configuration row describes; [`Error::InvalidConfig`] when its columns contradict it (a
    /// range without a period or a step, an unknown time zone).
    pub fn of(config: &partition_config::Model) -> Result<Self> {
        let invalid = |problem| Error::InvalidConfig {
            table: format!("{}.{}", config.schema_name, config.table_name),
            problem,
        };
        let count = |n: Option<i32>| n.filter(|n| *n >= 0).map(i32::unsigned_abs);
        Ok(match (config.strategy, config.period, config.step) {
            (PartitionStrategy::List, _, _) => TableSpec::List,
            (PartitionStrategy::Hash, _, _) => TableSpec::Hash,
            (PartitionStrategy::Range, Some(period), _) => TableSpec::TimeRange {
                period,
                time_zone: Tz::from_str(&config.time_zone).map_err(|_| {
                    invalid(ConfigProblem::UnknownTimeZone(config.time_zone.clone()))
                })?,
                retention: count(config.interval).filter(|n| *n > 0),
            },
            (PartitionStrategy::Range, None, Some(step)) if step > 0 => TableSpec::IntRange {
                step,
                keep: count(config.interval),
            },
            (PartitionStrategy::Range, None, Some(_)) => {
                return Err(invalid(ConfigProblem::NoStep));
            }
            (PartitionStrategy::Range, None, None) => return Err(invalid(ConfigProblem::NoPeriod)),
        })
    }

    /// Whether partitions are ranges (time or integer).
    pub fn is_range(&self) -> bool {
        matches!(
            self,
            TableSpec::TimeRange { .. } | TableSpec::IntRange { .. }
        )
    }
}

impl fmt::Display for TableSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableSpec::TimeRange {
                period, time_zone, ..
            } => write!(f, "range by {period} ({time_zone})"),
            TableSpec::IntRange { step, .. } => write!(f, "range by {step}"),
            TableSpec::List => f.write_str("list"),
            TableSpec::Hash => f.write_str("hash"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plan::fixtures::config;

    #[test]
    fn each_kind_from_its_columns_and_contradictions_refused() {
        let mut monthly = config(Some(Period::Month), None);
        monthly.interval = Some(3);
        assert_eq!(
            TableSpec::of(&monthly).unwrap(),
            TableSpec::TimeRange {
                period: Period::Month,
                time_zone: chrono_tz::UTC,
                retention: Some(3)
            }
        );
        let ids = config(None, Some(100));
        assert_eq!(
            TableSpec::of(&ids).unwrap(),
            TableSpec::IntRange {
                step: 100,
                keep: None
            }
        );
        let mut list = config(None, None);
        list.strategy = PartitionStrategy::List;
        assert_eq!(TableSpec::of(&list).unwrap(), TableSpec::List);
        let problem = |c: &partition_config::Model| match TableSpec::of(c) {
            Err(Error::InvalidConfig { problem, .. }) => problem,
            other => panic!("{other:?}"),
        };
        assert_eq!(problem(&config(None, None)), ConfigProblem::NoPeriod);
        assert_eq!(problem(&config(None, Some(0))), ConfigProblem::NoStep);
        monthly.time_zone = "Nowhere/Else".into();
        assert_eq!(
            problem(&monthly),
            ConfigProblem::UnknownTimeZone("Nowhere/Else".into())
        );
    }
}
