//! A partition's bound: as its log row records it ([`LoggedBound`], decoded from and written to the log's
//! columns here and nowhere else) and as the catalog prints it ([`CatalogBound`]), with range edges on one
//! axis ([`Edge`]). Pure.

use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::Set;

use crate::entity::partition_log::{self, PartitionKind};
use crate::error::{Error, Result};
use crate::schema::ListValue;

/// A point on a range table's axis: an instant or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edge {
    /// An instant (time-range tables).
    Time(DateTime<Utc>),
    /// An integer (integer-range tables).
    Int(i64),
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edge::Time(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S UTC")),
            Edge::Int(i) => write!(f, "{i}"),
        }
    }
}

/// A partition's bound as the catalog has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogBound {
    /// `FROM (start) TO (end)` on one column, both edges values of the key's type.
    Range {
        /// Start, inclusive.
        start: Edge,
        /// End, exclusive.
        end: Edge,
    },
    /// `IN (...)`: each value as PostgreSQL prints it (`None` for `NULL`).
    List(Vec<Option<String>>),
    /// `WITH (modulus, remainder)`.
    Hash {
        /// The modulus.
        modulus: i32,
        /// The remainder.
        remainder: i32,
    },
    /// `DEFAULT`.
    Default,
    /// Anything else (several columns, `MINVALUE`, ...), as PostgreSQL prints it.
    Other(String),
}

impl fmt::Display for CatalogBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogBound::Range { start, end } => write!(f, "[{start}, {end})"),
            CatalogBound::List(values) => {
                let shown: Vec<String> = values
                    .iter()
                    .map(|v| v.clone().unwrap_or_else(|| "NULL".to_owned()))
                    .collect();
                write!(f, "IN ({})", shown.join(", "))
            }
            CatalogBound::Hash { modulus, remainder } => {
                write!(f, "modulus {modulus}, remainder {remainder}")
            }
            CatalogBound::Default => f.write_str("DEFAULT"),
            CatalogBound::Other(text) => f.write_str(text),
        }
    }
}

/// A partition's bound as its log row records it.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use sea_orm_pg_partitioning::model::{Edge, LoggedBound};
///
/// let january = LoggedBound::Time {
///     start: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
///     end: Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap(),
/// };
/// assert_eq!(january.to_string(), "[2024-01-01 00:00:00 UTC, 2024-02-01 00:00:00 UTC)");
/// assert!(matches!(january.range(), Some((Edge::Time(_), Edge::Time(_)))));
/// assert_eq!(LoggedBound::Int { start: 0, end: 100 }.range(), Some((Edge::Int(0), Edge::Int(100))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedBound {
    /// `[start, end)` of instants: a time-range partition.
    Time {
        /// Start, inclusive.
        start: DateTime<Utc>,
        /// End, exclusive.
        end: DateTime<Utc>,
    },
    /// `[start, end)` of integers: an integer-range partition.
    Int {
        /// Start, inclusive.
        start: i64,
        /// End, exclusive.
        end: i64,
    },
    /// `IN (..)`: a list partition's values.
    List(Vec<ListValue>),
    /// `WITH (MODULUS .., REMAINDER ..)`: a hash partition.
    Hash {
        /// The modulus.
        modulus: u32,
        /// The remainder.
        remainder: u32,
    },
    /// `DEFAULT`.
    Default,
}

impl LoggedBound {
    /// The bound a log row records; [`Error::InvalidLogRow`] when its columns do not describe one of its
    /// kind (a range without its ends, a list without values, ...). Also [`partition_log::Model::bound`].
    pub fn of(log: &partition_log::Model) -> Result<Self> {
        let broken = |missing: &'static str| Error::InvalidLogRow {
            partition: log.partition_name.clone(),
            missing,
        };
        Ok(match log.kind {
            PartitionKind::Range => match (log.start, log.end, log.int_start, log.int_end) {
                (Some(start), Some(end), _, _) => LoggedBound::Time { start, end },
                (_, _, Some(start), Some(end)) => LoggedBound::Int { start, end },
                _ => return Err(broken("range (start and end, or int_start and int_end)")),
            },
            PartitionKind::List => LoggedBound::List(
                log.list_values
                    .as_ref()
                    .and_then(ListValue::from_json)
                    .ok_or_else(|| broken("list values"))?,
            ),
            PartitionKind::Hash => match (log.hash_modulus, log.hash_remainder) {
                (Some(m), Some(r)) if m > 0 && (0..m).contains(&r) => LoggedBound::Hash {
                    modulus: m.unsigned_abs(),
                    remainder: r.unsigned_abs(),
                },
                _ => return Err(broken("hash modulus and remainder")),
            },
            PartitionKind::Default => LoggedBound::Default,
        })
    }

    /// The kind of partition it bounds.
    pub fn kind(&self) -> PartitionKind {
        match self {
            LoggedBound::Time { .. } | LoggedBound::Int { .. } => PartitionKind::Range,
            LoggedBound::List(_) => PartitionKind::List,
            LoggedBound::Hash { .. } => PartitionKind::Hash,
            LoggedBound::Default => PartitionKind::Default,
        }
    }

    /// `[start, end)` of a range.
    pub fn range(&self) -> Option<(Edge, Edge)> {
        match *self {
            LoggedBound::Time { start, end } => Some((Edge::Time(start), Edge::Time(end))),
            LoggedBound::Int { start, end } => Some((Edge::Int(start), Edge::Int(end))),
            _ => None,
        }
    }

    /// The same bound as the catalog prints it (list values in PostgreSQL's spelling), to compare with what
    /// the catalog says.
    pub fn to_catalog(&self) -> CatalogBound {
        match self {
            LoggedBound::Time { .. } | LoggedBound::Int { .. } => match self.range() {
                Some((start, end)) => CatalogBound::Range { start, end },
                None => CatalogBound::Default,
            },
            LoggedBound::List(values) => CatalogBound::List(
                values
                    .iter()
                    .map(|v| match v {
                        ListValue::Null => None,
                        ListValue::Bool(b) => Some(b.to_string()),
                        ListValue::Int(i) => Some(i.to_string()),
                        ListValue::Text(t) => Some(t.clone()),
                    })
                    .collect(),
            ),
            LoggedBound::Hash { modulus, remainder } => CatalogBound::Hash {
                modulus: i32::try_from(*modulus).unwrap_or(i32::MAX),
                remainder: i32::try_from(*remainder).unwrap_or(i32::MAX),
            },
            LoggedBound::Default => CatalogBound::Default,
        }
    }

    /// Writes the bound into a log row's kind and bound columns (the others are left as they are).
    pub(crate) fn write_to(&self, log: &mut partition_log::ActiveModel) {
        log.kind = Set(self.kind());
        let (mut start, mut end, mut int_start, mut int_end) = (None, None, None, None);
        let (mut list, mut modulus, mut remainder) = (None, None, None);
        match self {
            LoggedBound::Time { start: s, end: e } => (start, end) = (Some(*s), Some(*e)),
            LoggedBound::Int { start: s, end: e } => (int_start, int_end) = (Some(*s), Some(*e)),
            LoggedBound::List(values) => list = Some(ListValue::to_json(values)),
            LoggedBound::Hash {
                modulus: m,
                remainder: r,
            } => {
                modulus = Some(i32::try_from(*m).unwrap_or(i32::MAX));
                remainder = Some(i32::try_from(*r).unwrap_or(i32::MAX));
            }
            LoggedBound::Default => {}
        }
        log.start = Set(start);
        log.end = Set(end);
        log.int_start = Set(int_start);
        log.int_end = Set(int_end);
        log.list_values = Set(list);
        log.hash_modulus = Set(modulus);
        log.hash_remainder = Set(remainder);
    }

    /// A new log row holding only this bound, for the service to fill in.
    pub(crate) fn to_log(&self) -> partition_log::ActiveModel {
        let mut log = partition_log::ActiveModel::default();
        self.write_to(&mut log);
        log
    }
}

impl fmt::Display for LoggedBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_catalog().fmt(f)
    }
}

impl partition_log::Model {
    /// The bound this row records (see [`LoggedBound::of`]).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(events: TimeRangeTable) -> Result<(), Error> {
    /// for log in events.partitions().await? {
    ///     println!("{} {}", log.partition_name, log.bound()?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn bound(&self) -> Result<LoggedBound> {
        LoggedBound::of(self)
    }
}

/// Whether a logged bound and the catalog's are the same (list values in any order).
pub(crate) fn same_bound(logged: &CatalogBound, catalog: &CatalogBound) -> bool {
    use std::collections::BTreeSet;
    match (logged, catalog) {
        (CatalogBound::List(a), CatalogBound::List(b)) => {
            a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
        }
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::plan::fixtures::range_log;

    #[test]
    fn every_kind_is_decoded_and_written_back_the_same() {
        let at = |d| Utc.with_ymd_and_hms(2024, 1, d, 0, 0, 0).unwrap();
        let bounds = [
            LoggedBound::Time {
                start: at(1),
                end: at(2),
            },
            LoggedBound::Int {
                start: -10,
                end: 10,
            },
            LoggedBound::List(vec![
                ListValue::Null,
                ListValue::Text("de".into()),
                ListValue::Int(3),
            ]),
            LoggedBound::Hash {
                modulus: 8,
                remainder: 7,
            },
            LoggedBound::Default,
        ];
        for bound in bounds {
            let mut log = range_log(1, "p", at(1), at(2), true);
            let mut active: partition_log::ActiveModel = log.clone().into();
            bound.write_to(&mut active);
            log.kind = active.kind.clone().unwrap();
            log.start = active.start.clone().unwrap();
            log.end = active.end.clone().unwrap();
            log.int_start = active.int_start.clone().unwrap();
            log.int_end = active.int_end.clone().unwrap();
            log.list_values = active.list_values.clone().unwrap();
            log.hash_modulus = active.hash_modulus.clone().unwrap();
            log.hash_remainder = active.hash_remainder.clone().unwrap();
            assert_eq!(log.bound().unwrap(), bound);
        }
    }

    #[test]
    fn a_row_without_its_bound_is_a_typed_error() {
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let mut log = range_log(1, "event_x", at, at, true);
        log.end = None;
        let err = log.bound().unwrap_err();
        assert!(
            matches!(err, Error::InvalidLogRow { ref partition, .. } if partition == "event_x"),
            "{err}"
        );
        log.kind = PartitionKind::Hash;
        (log.hash_modulus, log.hash_remainder) = (Some(4), Some(4));
        assert!(log.bound().is_err(), "remainder out of range");
    }

    #[test]
    fn catalog_spelling_and_comparison() {
        let list = LoggedBound::List(vec![ListValue::Bool(true), ListValue::Null]).to_catalog();
        assert_eq!(list, CatalogBound::List(vec![Some("true".into()), None]));
        let shuffled = CatalogBound::List(vec![None, Some("true".into())]);
        assert!(same_bound(&list, &shuffled));
        assert!(!same_bound(&list, &CatalogBound::Default));
    }
}
