//! `serde::Serialize` for the model's data (feature `serde`), where a derive alone would not give a shape a
//! reader of the JSON expects: bounds as one object with a `kind`, durations in seconds, errors and anomalies
//! with their message, the computed `state`, `bound` and `healthy`. The derives are on the types themselves.
//!
//! The shapes, as `pg-partition --json` prints them:
//!
//! - an [`Edge`]: an RFC 3339 instant (`"2024-01-01T00:00:00Z"`) or an integer;
//! - a [`LoggedBound`] or [`CatalogBound`]: `{"kind": "range", "start": edge, "end": edge}`,
//!   `{"kind": "list", "values": [..]}`, `{"kind": "hash", "modulus": m, "remainder": r}`,
//!   `{"kind": "default"}`, and for the catalog's other bounds `{"kind": "other", "sql": ".."}`;
//! - an [`Anomaly`]: `{"kind": "gap", "message": "no partition covers ..", "from": .., "to": ..}`, the kind as
//!   [`AnomalyKind::as_str`](crate::model::status::AnomalyKind::as_str) spells it, then the variant's fields;
//! - a duration: seconds, as a float, in a field named `duration_secs`.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use sea_orm_pg_partitioning::model::{Edge, LoggedBound};
//!
//! let january = LoggedBound::Time {
//!     start: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
//!     end: Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap(),
//! };
//! assert_eq!(
//!     serde_json::to_string(&january)?,
//!     r#"{"kind":"range","start":"2024-01-01T00:00:00Z","end":"2024-02-01T00:00:00Z"}"#
//! );
//! assert_eq!(serde_json::to_string(&Edge::Int(7))?, "7");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::time::Duration as StdDuration;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};

use crate::error::Error;
use crate::model::plan::StepAction;
use crate::model::report::StepOutcome;
use crate::model::status::{Anomaly, PartitionStatus, Status, TableStatus};
use crate::model::{CatalogBound, Edge, LoggedBound};

impl Serialize for Edge {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Edge::Time(t) => t.serialize(serializer),
            Edge::Int(i) => serializer.serialize_i64(*i),
        }
    }
}

/// `{"kind": "range", "start": .., "end": ..}`.
fn range<S: Serializer, T: Serialize>(serializer: S, start: T, end: T) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(3))?;
    map.serialize_entry("kind", "range")?;
    map.serialize_entry("start", &start)?;
    map.serialize_entry("end", &end)?;
    map.end()
}

/// `{"kind": "list", "values": [..]}`.
fn list<S: Serializer, T: Serialize>(serializer: S, values: &[T]) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(2))?;
    map.serialize_entry("kind", "list")?;
    map.serialize_entry("values", values)?;
    map.end()
}

/// `{"kind": "hash", "modulus": .., "remainder": ..}`.
fn hash<S: Serializer, T: Serialize>(
    serializer: S,
    modulus: T,
    remainder: T,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(3))?;
    map.serialize_entry("kind", "hash")?;
    map.serialize_entry("modulus", &modulus)?;
    map.serialize_entry("remainder", &remainder)?;
    map.end()
}

/// `{"kind": kind}` plus one entry, if any.
fn tagged<S: Serializer>(
    serializer: S,
    kind: &str,
    entry: Option<(&str, &str)>,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1 + usize::from(entry.is_some())))?;
    map.serialize_entry("kind", kind)?;
    if let Some((key, value)) = entry {
        map.serialize_entry(key, value)?;
    }
    map.end()
}

impl Serialize for LoggedBound {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            LoggedBound::Time { start, end } => {
                range(serializer, Edge::Time(*start), Edge::Time(*end))
            }
            LoggedBound::Int { start, end } => {
                range(serializer, Edge::Int(*start), Edge::Int(*end))
            }
            LoggedBound::List(values) => list(serializer, values),
            LoggedBound::Hash { modulus, remainder } => hash(serializer, modulus, remainder),
            LoggedBound::Default => tagged(serializer, "default", None),
        }
    }
}

impl Serialize for CatalogBound {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CatalogBound::Range { start, end } => range(serializer, start, end),
            CatalogBound::List(values) => list(serializer, values),
            CatalogBound::Hash { modulus, remainder } => hash(serializer, modulus, remainder),
            CatalogBound::Default => tagged(serializer, "default", None),
            CatalogBound::Other(sql) => tagged(serializer, "other", Some(("sql", sql))),
        }
    }
}

/// `create`, `detach`, `drop` or `finish-detach` (the range of a create is the step's `bound`).
impl Serialize for StepAction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// `{"outcome": "done", "moved_rows": n}` or `{"outcome": "skipped", "reason": ".."}`.
impl Serialize for StepOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        match self {
            StepOutcome::Done { moved_rows } => {
                map.serialize_entry("outcome", "done")?;
                map.serialize_entry("moved_rows", moved_rows)?;
            }
            StepOutcome::Skipped(reason) => {
                map.serialize_entry("outcome", "skipped")?;
                map.serialize_entry("reason", reason)?;
            }
        }
        map.end()
    }
}

/// An anomaly with its message: what the derive on [`Anomaly`] writes, plus `message`.
#[derive(Serialize)]
struct Described<'a> {
    message: String,
    #[serde(flatten)]
    anomaly: &'a Anomaly,
}

fn described(anomaly: &Anomaly) -> Described<'_> {
    Described {
        message: anomaly.to_string(),
        anomaly,
    }
}

/// Serializes an anomaly with its message (`serialize_with`).
pub(crate) fn anomaly<S: Serializer>(anomaly: &Anomaly, serializer: S) -> Result<S::Ok, S::Error> {
    described(anomaly).serialize(serializer)
}

/// Serializes anomalies with their messages (`serialize_with`).
pub(crate) fn anomalies<S: Serializer>(list: &[Anomaly], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(list.iter().map(described))
}

/// Serializes a duration as seconds (`serialize_with`).
pub(crate) fn seconds<S: Serializer>(
    duration: &StdDuration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// Serializes an error as its message (`serialize_with`).
pub(crate) fn error<S: Serializer>(error: &Error, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(error)
}

/// Serializes an optional error as its message, or `null` (`serialize_with`).
pub(crate) fn error_opt<S: Serializer>(
    error: &Option<Error>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match error {
        Some(e) => serializer.collect_str(e),
        None => serializer.serialize_none(),
    }
}

/// Serializes `(table, reason)` pairs as `[{"table": .., "reason": ..}]` (`serialize_with`).
pub(crate) fn table_reasons<S: Serializer>(
    pairs: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct TableReason<'a> {
        table: &'a str,
        reason: &'a str,
    }
    serializer.collect_seq(
        pairs
            .iter()
            .map(|(table, reason)| TableReason { table, reason }),
    )
}

/// `{"schema", "name", "state", "bound", "default", "log", "catalog"}`: the computed state and bound first.
impl Serialize for PartitionStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("PartitionStatus", 7)?;
        s.serialize_field("schema", &self.schema)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field("state", &self.state())?;
        s.serialize_field("bound", &self.bound())?;
        s.serialize_field("default", &self.is_default())?;
        s.serialize_field("log", &self.log)?;
        s.serialize_field("catalog", &self.catalog)?;
        s.end()
    }
}

/// Every field, with the computed `partitioning` and `healthy`, and the anomalies with their messages.
impl Serialize for TableStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("TableStatus", 11)?;
        s.serialize_field("table", &self.table)?;
        s.serialize_field("partitioning", &self.partitioning())?;
        s.serialize_field("healthy", &self.is_healthy())?;
        s.serialize_field("exists", &self.exists)?;
        s.serialize_field("horizon", &self.horizon)?;
        s.serialize_field("wanted_horizon", &self.wanted_horizon)?;
        s.serialize_field("retention_threshold", &self.retention_threshold)?;
        s.serialize_field("default_has_rows", &self.default_has_rows)?;
        s.serialize_field(
            "anomalies",
            &self.anomalies.iter().map(described).collect::<Vec<_>>(),
        )?;
        s.serialize_field("partitions", &self.partitions)?;
        s.serialize_field("config", &self.config)?;
        s.end()
    }
}

/// `{"at", "healthy", "tables"}`.
impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Status", 3)?;
        s.serialize_field("at", &self.at)?;
        s.serialize_field("healthy", &self.is_healthy())?;
        s.serialize_field("tables", &self.tables)?;
        s.end()
    }
}

/// `{"kind": "time-range", "period": "month", "time_zone": "UTC", "encoding": null}` or
/// `{"kind": "int-range", "step": 1000}`.
impl Serialize for crate::model::convert::ConversionKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use crate::model::convert::ConversionKind;
        let mut map = serializer.serialize_map(None)?;
        match self {
            ConversionKind::TimeRange {
                period,
                time_zone,
                encoding,
            } => {
                map.serialize_entry("kind", "time-range")?;
                map.serialize_entry("period", period.as_str())?;
                map.serialize_entry("time_zone", time_zone.name())?;
                map.serialize_entry("encoding", &encoding.map(|e| e.to_string()))?;
            }
            ConversionKind::IntRange { step } => {
                map.serialize_entry("kind", "int-range")?;
                map.serialize_entry("step", step)?;
            }
        }
        map.end()
    }
}

/// `{"message": ".."}`: what stops the conversion, with its fix.
impl Serialize for crate::model::convert::ConversionProblem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("message", &self.to_string())?;
        map.end()
    }
}

#[cfg(test)]
mod tests;
