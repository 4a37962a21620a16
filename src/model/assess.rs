//! The assessment: the catalog compared with the log and the configuration, one table at a time. Pure: the
//! service reads the catalog ([`CatalogRelation`], [`Placement`]) and the log, this says what disagrees.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::entity::{partition_config, partition_log};
use crate::model::TableSpec;
use crate::model::bound::same_bound;
use crate::model::plan::horizons;
use crate::model::properties::PropertyDifference;
use crate::model::status::{
    Anomaly, CatalogPartition, IndexPlacement, PartitionStatus, TableStatus,
};
use crate::model::table::Table;
use crate::model::{CatalogBound, Edge};

pub(crate) use crate::model::recipe::Placement;

/// One relation as the catalog sees it, for status: a
/// partition of a managed table, or a table the log names (attached or not).
#[derive(Debug, Clone)]
pub(crate) struct CatalogRelation {
    pub oid: i64,
    pub schema: String,
    pub name: String,
    /// `r` table, `p` partitioned table, ...
    pub relkind: String,
    /// The table it is a partition of, if any.
    pub parent: Option<(String, String)>,
    pub detach_pending: bool,
    /// `pg_get_expr(relpartbound)`, e.g. `FOR VALUES FROM ('2024-01-01 00:00:00+00') TO (...)`.
    pub bound: Option<String>,
    pub tablespace: String,
    pub estimated_rows: Option<i64>,
    pub size_bytes: i64,
    /// A single-column time range bound, converted by PostgreSQL itself (so whatever the session's
    /// `DateStyle` and `TimeZone`; a `timestamp without time zone` key in the configured zone).
    pub time_range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// A single-column integer range bound.
    pub int_range: Option<(i64, i64)>,
    /// A hash bound: modulus and remainder.
    pub hash: Option<(i32, i32)>,
    /// For a DEFAULT partition: whether it holds any row (an exact check, one `EXISTS` each).
    pub has_rows: Option<bool>,
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
    /// The table's partitioned indexes that are not valid, each with the partitions lacking theirs.
    pub incomplete_indexes: Vec<(String, Vec<String>)>,
    /// Attached partitions that lack properties they should carry: schema, name, what differs.
    pub property_drift: Vec<(String, String, Vec<PropertyDifference>)>,
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
fn aligned(table: &Table, start: Edge, end: Edge) -> bool {
    match (table.spec(), start, end) {
        (
            Ok(TableSpec::TimeRange {
                period, time_zone, ..
            }),
            Edge::Time(start),
            Edge::Time(end),
        ) => period.start(start, time_zone) == start && period.end(start, time_zone) == end,
        (Ok(TableSpec::IntRange { step, .. }), Edge::Int(start), Edge::Int(end)) => {
            start.rem_euclid(step) == 0 && end.checked_sub(start) == Some(step)
        }
        (_, Edge::Time(_), Edge::Time(_)) | (_, Edge::Int(_), Edge::Int(_)) => true,
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

/// A range partition seen in the catalog or the log, for the shape checks (gaps, overlaps, alignment).
struct SeenRange {
    name: String,
    start: Edge,
    end: Edge,
    attached: bool,
    /// A conversion's legacy partition: many periods by design.
    legacy: bool,
}

/// What the checks of one table find, as they go.
struct Findings<'a> {
    observed: &'a Observed<'a>,
    /// The table, for its time zone.
    table: Table,
    partitions: Vec<PartitionStatus>,
    anomalies: Vec<Anomaly>,
    ranges: Vec<SeenRange>,
    default_has_rows: Option<bool>,
}

/// Compares the catalog with the log and the configuration for one table: one check per concern, each
/// adding what it finds. Pure.
pub(crate) fn assess(observed: Observed<'_>) -> TableStatus {
    let config = observed.config;
    let mut found = Findings {
        observed: &observed,
        table: Table {
            config: config.clone(),
            key_type: None,
        },
        partitions: Vec::new(),
        anomalies: Vec::new(),
        ranges: Vec::new(),
        default_has_rows: None,
    };
    if !observed.exists {
        found.anomalies.push(Anomaly::TableMissing);
    }
    let by_name: HashMap<(&str, &str), &CatalogRelation> = observed
        .relations
        .iter()
        .map(|r| ((r.schema.as_str(), r.name.as_str()), *r))
        .collect();
    let mut logged: BTreeSet<(&str, &str)> = BTreeSet::new();
    for log in observed.logs {
        logged.insert((log.schema_name.as_str(), log.partition_name.as_str()));
        let rel = by_name
            .get(&(log.schema_name.as_str(), log.partition_name.as_str()))
            .copied();
        found.logged(log, rel);
    }
    let managed = (config.schema_name.clone(), config.table_name.clone());
    for rel in observed.relations.iter().filter(|r| {
        r.parent.as_ref() == Some(&managed)
            && !logged.contains(&(r.schema.as_str(), r.name.as_str()))
    }) {
        found.unlogged(rel, &managed);
    }
    pair_renames(&mut found.anomalies, &mut found.partitions);
    found.partitions.sort_by(|a, b| a.name.cmp(&b.name));
    found.shape();
    for (index, missing) in &observed.incomplete_indexes {
        found.anomalies.push(Anomaly::IndexIncomplete {
            index: index.clone(),
            missing: missing.clone(),
        });
    }
    for (schema, name, differences) in &observed.property_drift {
        if let Some(log) = observed
            .logs
            .iter()
            .find(|l| l.schema_name == *schema && l.partition_name == *name && l.is_attached)
        {
            found.anomalies.push(Anomaly::PropertiesDiffer {
                partition: name.clone(),
                log_id: log.id,
                differences: differences.clone(),
            });
        }
    }
    found.finish()
}

impl Findings<'_> {
    /// The catalog's view of a relation that should be a partition of `expected_parent`.
    fn catalog_of(
        &self,
        rel: &CatalogRelation,
        expected_parent: &(String, String),
    ) -> CatalogPartition {
        let indexes = self
            .observed
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
            .unwrap_or_default();
        CatalogPartition {
            attached: rel.parent.as_ref() == Some(expected_parent),
            parent: rel.parent.as_ref().map(|(s, n)| format!("{s}.{n}")),
            detach_pending: rel.detach_pending,
            bound: catalog_bound(rel),
            key_bound: rel.bound.clone(),
            tablespace: rel.tablespace.clone(),
            indexes,
            estimated_rows: rel.estimated_rows,
            size_bytes: rel.size_bytes,
        }
    }

    /// A logged partition: its table is there (then every check below) or it is not.
    fn logged(&mut self, log: &partition_log::Model, rel: Option<&CatalogRelation>) {
        let config = self.observed.config;
        let expected_parent = (
            config.schema_name.clone(),
            log.parent_name
                .clone()
                .unwrap_or_else(|| config.table_name.clone()),
        );
        let catalog = rel.map(|r| self.catalog_of(r, &expected_parent));
        match (rel, &catalog) {
            (Some(rel), Some(cat)) if self.observed.exists => {
                self.attachment(log, cat);
                self.bound(log, cat);
                self.placement(log, rel, cat);
                self.logged_range(log, cat);
                self.default_rows(&log.partition_name, rel, cat.attached);
            }
            (None, _) if self.observed.exists => self.anomalies.push(Anomaly::LogWithoutTable {
                partition: log.partition_name.clone(),
                log_id: log.id,
                logged_attached: log.is_attached,
            }),
            _ => {}
        }
        self.partitions.push(PartitionStatus {
            schema: log.schema_name.clone(),
            name: log.partition_name.clone(),
            log: Some(log.clone()),
            catalog,
        });
    }

    /// Attached, detached or pending, in the catalog against the log.
    fn attachment(&mut self, log: &partition_log::Model, cat: &CatalogPartition) {
        let (partition, log_id) = (log.partition_name.clone(), log.id);
        if cat.detach_pending || log.detach_pending {
            self.anomalies.push(Anomaly::PendingDetach {
                partition,
                log_id: Some(log_id),
            });
        } else if cat.attached && !log.is_attached {
            self.anomalies
                .push(Anomaly::AttachedByHand { partition, log_id });
        } else if !cat.attached && log.is_attached {
            self.anomalies
                .push(Anomaly::DetachedByHand { partition, log_id });
        }
    }

    /// The catalog's bound against the logged one, while attached.
    fn bound(&mut self, log: &partition_log::Model, cat: &CatalogPartition) {
        if cat.attached
            && let (Some(logged), Some(actual)) =
                (log.bound().ok().map(|b| b.to_catalog()), cat.bound.as_ref())
            && !same_bound(&logged, actual)
        {
            self.anomalies.push(Anomaly::BoundMismatch {
                partition: log.partition_name.clone(),
                log_id: log.id,
                logged: logged.to_string(),
                catalog: actual.clone(),
            });
        }
    }

    /// The partition and its indexes where the log, else the configuration, else its creation puts them.
    fn placement(
        &mut self,
        log: &partition_log::Model,
        rel: &CatalogRelation,
        cat: &CatalogPartition,
    ) {
        let config = self.observed.config;
        let configured = if cat.attached {
            &config.attach_tablespace
        } else {
            &config.detach_tablespace
        };
        let expected = log
            .tablespace
            .clone()
            .or_else(|| configured.clone())
            .or_else(|| log.created_tablespace.clone());
        // A sub-partitioned partition has no storage: its sub-partitions are checked instead.
        let Some(expected) = expected.filter(|_| rel.relkind != "p") else {
            return;
        };
        let mismatch = |relation: &str, index: bool, actual: &str| Anomaly::TablespaceMismatch {
            partition: log.partition_name.clone(),
            log_id: log.id,
            relation: relation.to_owned(),
            index,
            expected: expected.clone(),
            actual: actual.to_owned(),
        };
        if cat.tablespace != expected {
            self.anomalies
                .push(mismatch(&log.partition_name, false, &cat.tablespace));
        }
        for index in cat.indexes.iter().filter(|i| i.tablespace != expected) {
            self.anomalies
                .push(mismatch(&index.name, true, &index.tablespace));
        }
    }

    /// A logged range for the shape checks: the catalog's while attached, the logged one once detached (the
    /// catalog forgets a detached partition's bound).
    fn logged_range(&mut self, log: &partition_log::Model, cat: &CatalogPartition) {
        if log.parent_name.is_some() {
            return;
        }
        let Some((start, end)) = log.bound().ok().and_then(|b| b.range()) else {
            return;
        };
        let (start, end) = match (&cat.bound, cat.attached) {
            (Some(CatalogBound::Range { start, end }), true) => (*start, *end),
            _ => (start, end),
        };
        self.ranges.push(SeenRange {
            name: log.partition_name.clone(),
            start,
            end,
            attached: cat.attached,
            legacy: log.legacy,
        });
    }

    /// Whether an attached DEFAULT partition holds rows.
    fn default_rows(&mut self, partition: &str, rel: &CatalogRelation, attached: bool) {
        let is_default = matches!(catalog_bound(rel), Some(CatalogBound::Default));
        if !attached || !is_default || rel.has_rows.is_none() {
            return;
        }
        self.default_has_rows = rel.has_rows;
        if rel.has_rows == Some(true) {
            self.anomalies.push(Anomaly::RowsInDefault {
                partition: partition.to_owned(),
                estimated_rows: rel.estimated_rows,
            });
        }
    }

    /// A partition of the table that the log does not know.
    fn unlogged(&mut self, rel: &CatalogRelation, managed: &(String, String)) {
        let catalog = self.catalog_of(rel, managed);
        let bound = catalog
            .bound
            .clone()
            .unwrap_or_else(|| CatalogBound::Other(String::new()));
        if let CatalogBound::Range { start, end } = bound {
            self.ranges.push(SeenRange {
                name: rel.name.clone(),
                start,
                end,
                attached: true,
                legacy: false,
            });
        }
        self.default_rows(&rel.name, rel, true);
        if rel.detach_pending {
            self.anomalies.push(Anomaly::PendingDetach {
                partition: rel.name.clone(),
                log_id: None,
            });
        }
        self.anomalies.push(Anomaly::Unlogged {
            partition: rel.name.clone(),
            bound,
        });
        self.partitions.push(PartitionStatus {
            schema: rel.schema.clone(),
            name: rel.name.clone(),
            log: None,
            catalog: Some(catalog),
        });
    }

    /// The ranges' shape: each one period (or step) on its boundaries, no hole among the attached ones nor
    /// before the current period, no two overlapping.
    fn shape(&mut self) {
        self.ranges
            .sort_by(|a, b| (a.start, a.end, &a.name).cmp(&(b.start, b.end, &b.name)));
        for r in &self.ranges {
            if !r.legacy && !aligned(&self.table, r.start, r.end) {
                self.anomalies.push(Anomaly::Misaligned {
                    partition: r.name.clone(),
                    bound: CatalogBound::Range {
                        start: r.start,
                        end: r.end,
                    },
                });
            }
        }
        let attached: Vec<&SeenRange> = self.ranges.iter().filter(|r| r.attached).collect();
        // The current period must have a partition: rows for now would otherwise go to DEFAULT or fail.
        if let (
            Ok(TableSpec::TimeRange {
                period, time_zone, ..
            }),
            Some(first),
        ) = (self.table.spec(), attached.first())
        {
            let current = Edge::Time(period.start(self.observed.now, time_zone));
            if first.start > current {
                self.anomalies.push(Anomaly::Gap {
                    from: current,
                    to: first.start,
                });
            }
        }
        for pair in attached.windows(2) {
            if pair[0].end < pair[1].start {
                self.anomalies.push(Anomaly::Gap {
                    from: pair[0].end,
                    to: pair[1].start,
                });
            }
        }
        for (i, a) in self.ranges.iter().enumerate() {
            for b in self.ranges[i + 1..].iter().take_while(|b| b.start < a.end) {
                self.anomalies.push(Anomaly::Overlap {
                    first: a.name.clone(),
                    second: b.name.clone(),
                });
            }
        }
    }

    /// The table's status: where attached ranges end against where premake wants them, the retention
    /// threshold, and every anomaly in kind order.
    fn finish(mut self) -> TableStatus {
        let config = self.observed.config;
        let now = self.observed.now;
        let max_key = self.observed.max_key;
        let horizon = self
            .ranges
            .iter()
            .filter(|r| r.attached)
            .map(|r| r.end)
            .max();
        let (wanted_horizon, retention_threshold) = self
            .table
            .spec()
            .map_or((None, None), |spec| horizons(spec, config, now, max_key));
        if self.observed.exists
            && let Some(wanted) = wanted_horizon
            && horizon.is_none_or(|h| h < wanted)
        {
            self.anomalies
                .push(Anomaly::HorizonShort { horizon, wanted });
        }
        self.anomalies.sort_by_key(Anomaly::kind);
        TableStatus {
            table: format!("{}.{}", config.schema_name, config.table_name),
            config: config.clone(),
            exists: self.observed.exists,
            partitions: self.partitions,
            horizon,
            wanted_horizon,
            retention_threshold,
            default_has_rows: self.default_has_rows,
            anomalies: self.anomalies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Period;
    use crate::model::LoggedBound;
    use crate::model::status::AnomalyKind;
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
            ..crate::model::plan::fixtures::config(Some(Period::Day), None)
        }
    }

    fn log(id: i64, day: u32, attached: bool) -> partition_log::Model {
        partition_log::Model {
            created_at: at(1, 0),
            ..crate::model::plan::fixtures::range_log(
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
            incomplete_indexes: Vec::new(),
            property_drift: Vec::new(),
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
