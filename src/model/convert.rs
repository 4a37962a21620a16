//! Converting a plain table into a partitioned one while the application keeps using it: what the catalog
//! says of the table (`SourceTable`), what the conversion will make of it ([`ConversionPlan`]: the
//! partitions, what is carried over and how, and every [`ConversionProblem`] that stops it before anything
//! changes), and the statements of each phase ([`sql`]). Pure: the service reads the catalog, hands it here,
//! and runs what comes back.
//!
//! # How it stays online and loses nothing
//!
//! 1. **Prepare** (one transaction): a partitioned copy of the table's definition is created under a
//!    temporary name with every partition the existing keys need, and a trigger on the table starts
//!    recording the identity (primary key) of every row the application inserts, updates or deletes. The
//!    trigger's `CREATE` takes a SHARE ROW EXCLUSIVE lock for a moment, under `lock_timeout`.
//! 2. **Copy**, in batches of blocks (`ctid` ranges, a TID range scan): each batch inserts its rows into the
//!    new table, which has no index yet, and records its progress in one transaction. Nothing here locks the
//!    application out.
//! 3. **Catch up**: the recorded changes are applied, first all at once as joins, then, once the indexes
//!    are built (every index of the table, under a temporary name), in batches. For each recorded identity the new table's
//!    row is deleted and the table's current row, if any, inserted: applying a change twice, or out of order,
//!    gives the same result, so a change recorded while its row was being copied is harmless. Each batch reads
//!    one snapshot (`REPEATABLE READ`), applies the changes visible in it and deletes exactly those, so a change
//!    committed later stays for the next batch.
//! 4. **Swap** (one transaction, the only ACCESS EXCLUSIVE lock): the last recorded changes are applied, the
//!    table is renamed away and the new one takes its name, with its sequences, owner, grants, comment and
//!    triggers. The lock lasts as long as the changes left after catching up take to apply, not as long as
//!    the table is big. The point of no return.
//! 5. **Finish**: the table is registered (its partitions adopted into the log) and the old heap dropped (or
//!    kept, renamed).
//!
//! Every phase commits its work and its progress together, so a conversion killed at any point is resumed
//! from its recorded phase; before the swap it can be rolled back, leaving the table as it was.

pub mod sql;

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::calendar::{Period, fit_name, partition_name};
use crate::encoding::TimeEncoding;
use crate::model::{Edge, LoggedBound};
use crate::schema::PrimaryKeyPolicy;

/// At most this many partitions are created for the existing keys of a table being converted.
pub const MAX_CONVERSION_PARTITIONS: usize = 5000;

/// A column of the table being converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceColumn {
    pub name: String,
    pub data_type: String,
    pub not_null: bool,
    /// A stored generated column: never inserted into.
    pub generated: bool,
    /// `a` (ALWAYS) or `d` (BY DEFAULT) for an identity column.
    pub identity: Option<char>,
}

/// An index of the table being converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceIndex {
    pub name: String,
    /// What follows `USING` in `pg_get_indexdef`: method, keys, `INCLUDE`, `WITH`, `WHERE`. `None` when the
    /// definition did not start as expected.
    pub using: Option<String>,
    pub unique: bool,
    pub primary: bool,
    /// The constraint it backs (`PRIMARY KEY`, `UNIQUE`, `EXCLUDE`): its name and kind (`p`, `u`, `x`).
    pub constraint: Option<(String, char)>,
    /// `pg_get_constraintdef` of that constraint.
    pub constraint_def: Option<String>,
    /// Whether the constraint is just `PRIMARY KEY (cols)` or `UNIQUE (cols)`, nothing else.
    pub simple: bool,
    /// Its key columns, when every one is a plain column.
    pub columns: Option<Vec<String>>,
    /// It has a `WHERE`.
    pub partial: bool,
}

/// A foreign key that another table (or the table itself) holds on the table being converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Referencing {
    pub table: String,
    pub constraint: String,
}

/// What the catalog says of the table to convert: read by the service, judged here.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceTable {
    pub schema: String,
    pub name: String,
    /// `pg_class.relkind`; `None`: no such relation.
    pub relkind: Option<char>,
    pub inherits: Vec<String>,
    pub children: Vec<String>,
    pub columns: Vec<SourceColumn>,
    pub indexes: Vec<SourceIndex>,
    /// Foreign keys the table holds: name and `pg_get_constraintdef`.
    pub foreign_keys: Vec<(String, String)>,
    pub referenced_by: Vec<Referencing>,
    /// User triggers, by name.
    pub triggers: Vec<String>,
    pub views: Vec<String>,
    pub row_security: bool,
    pub column_privileges: bool,
    pub rules: Vec<String>,
    /// `reloptions`, as `key=value`.
    pub storage: Vec<String>,
    pub estimated_rows: i64,
    pub size_bytes: i64,
    /// The key's smallest and largest values as text (see [`KeyStats`]).
    pub key: Option<KeyStats>,
}

impl SourceTable {
    /// The type of column `name`, if the table has it.
    pub fn key_type(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.data_type.as_str())
    }
}

/// The key column's values: how many are NULL, and the smallest and largest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyStats {
    pub nulls: i64,
    /// `min(key)` as text (for a `timestamptz`, in UTC), `None` for an empty table.
    pub min: Option<String>,
    pub max: Option<String>,
}

/// What the converted table is partitioned as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversionKind {
    /// By time: partitions of one period in a zone, the key encoding it.
    TimeRange {
        /// The length of one partition.
        period: Period,
        /// The zone of the boundaries.
        time_zone: Tz,
        /// How the key encodes time (`None`: as its type says).
        encoding: Option<TimeEncoding>,
    },
    /// By integer: partitions of `step` keys.
    IntRange {
        /// The width of one partition.
        step: i64,
    },
}

impl fmt::Display for ConversionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversionKind::TimeRange {
                period,
                time_zone,
                encoding,
            } => {
                write!(f, "range by {} ({})", period.as_str(), time_zone.name())?;
                match encoding {
                    Some(e) if !e.is_temporal() => write!(f, ", key encoded as {e}"),
                    _ => Ok(()),
                }
            }
            ConversionKind::IntRange { step } => write!(f, "range by {step}"),
        }
    }
}

/// What a conversion is asked to make of the table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConversionSettings {
    pub key: String,
    pub kind: ConversionKind,
    pub policy: PrimaryKeyPolicy,
    pub default_partition: bool,
    pub attach_tablespace: Option<String>,
    /// Keep the old rows where they are, the old table attached as one partition.
    pub legacy: bool,
}

/// What the table is registered with once converted, beyond what shapes the conversion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Registration {
    pub detach_tablespace: Option<String>,
    /// Retention: `interval` periods (time) or `keep` partitions (integers).
    pub retention: Option<u32>,
}

pub use crate::error::ConversionProblem;

/// How one object of the table is carried over to the partitioned table.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// What it is: `column`, `index`, `primary key`, `foreign key`, `trigger`, ...
    pub what: &'static str,
    /// Its name.
    pub name: String,
    /// How.
    pub how: String,
}

/// A partition the conversion creates.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPartition {
    /// Its name, as the converted table's own partitions are named.
    pub name: String,
    /// Its bound.
    pub bound: LoggedBound,
}

/// What converting a table would do: the partitions, what is carried over and how, and what stops it.
/// [`PartitionService::convert`](crate::service::PartitionService::convert) makes it;
/// [`is_possible`](Self::is_possible) says whether the conversion can start.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionPlan {
    /// The table, `schema.name`.
    pub table: String,
    /// The key column.
    pub key: String,
    /// What it is partitioned as.
    pub kind: ConversionKind,
    /// The planner's row estimate.
    pub estimated_rows: i64,
    /// Its size with indexes and TOAST, in bytes.
    pub size_bytes: i64,
    /// The smallest and largest key (`None`: no rows, or a problem).
    pub key_range: Option<(Edge, Edge)>,
    /// The partitions created (DEFAULT last, if asked for).
    pub partitions: Vec<PlannedPartition>,
    /// Every object and how it is carried over.
    pub carried: Vec<Carried>,
    /// What stops the conversion; empty when it can start.
    pub problems: Vec<ConversionProblem>,
}

impl ConversionPlan {
    /// Whether nothing stops the conversion.
    pub fn is_possible(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for ConversionPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "convert {} ({} rows estimated, {} bytes) into a table partitioned {} on {:?}",
            self.table, self.estimated_rows, self.size_bytes, self.kind, self.key
        )?;
        if let Some((min, max)) = &self.key_range {
            writeln!(f, "  keys from {min} to {max}")?;
        }
        match self.partitions.as_slice() {
            [] => {}
            [one] => writeln!(f, "  1 partition: {} {}", one.name, one.bound)?,
            [first, .., last] => writeln!(
                f,
                "  {} partitions: {} {} .. {} {}",
                self.partitions.len(),
                first.name,
                first.bound,
                last.name,
                last.bound
            )?,
        }
        for c in &self.carried {
            match c.name.as_str() {
                "" => writeln!(f, "  {}: {}", c.what, c.how)?,
                name => writeln!(f, "  {} {name}: {}", c.what, c.how)?,
            }
        }
        if self.problems.is_empty() {
            write!(f, "  nothing stops it")
        } else {
            write!(f, "  {} problem(s) stop it:", self.problems.len())?;
            for p in &self.problems {
                write!(f, "\n  - {p}")?;
            }
            Ok(())
        }
    }
}

/// The smallest and largest key (`None`: no rows), and the partitions holding them.
pub(crate) type KeyedPartitions = (Option<(Edge, Edge)>, Vec<PlannedPartition>);

/// The row identity the conversion applies changes by: the primary key's columns, else those of a unique
/// index on NOT NULL plain columns.
pub(crate) fn row_identity(source: &SourceTable) -> Option<Vec<String>> {
    let not_null = |c: &String| {
        source
            .columns
            .iter()
            .any(|col| &col.name == c && col.not_null)
    };
    let candidates = source
        .indexes
        .iter()
        .filter(|i| i.unique && !i.partial)
        .filter_map(|i| i.columns.clone().map(|c| (i.primary, c)));
    let mut best: Option<(bool, Vec<String>)> = None;
    for (primary, columns) in candidates {
        if !columns.iter().all(not_null) {
            continue;
        }
        let better = match &best {
            None => true,
            Some((p, c)) => (primary && !p) || (primary == *p && columns.len() < c.len()),
        };
        if better {
            best = Some((primary, columns));
        }
    }
    best.map(|(_, c)| c)
}

/// The temporary name of the partitioned table while it is filled, and the name the plain table gets at
/// the swap.
pub(crate) fn work_names(table: &str) -> (String, String) {
    (fit_name(table, "_sopp_new"), fit_name(table, "_sopp_old"))
}

/// The temporary name of one of the new table's indexes (the table's index keeps its name until the swap).
pub(crate) fn shadow_index_name(name: &str) -> String {
    fit_name(name, "_sopp_new")
}

/// The name an index of the plain table gets at the swap.
pub(crate) fn retired_index_name(name: &str) -> String {
    fit_name(name, "_sopp_old")
}

/// The problems of the table's shape, whatever the key: kind of relation, inheritance, identity, views,
/// foreign keys pointing at it, what is not carried over.
fn shape_problems(source: &SourceTable) -> Vec<ConversionProblem> {
    use ConversionProblem as P;
    let mut problems = Vec::new();
    match source.relkind {
        None => return vec![P::Missing],
        Some('r') => {}
        Some('p') => return vec![P::AlreadyPartitioned],
        Some(kind) => {
            let what = match kind {
                'v' => "a view",
                'm' => "a materialized view",
                'f' => "a foreign table",
                'S' => "a sequence",
                'i' | 'I' => "an index",
                _ => "another kind of relation",
            };
            return vec![P::NotATable { what }];
        }
    }
    if !source.inherits.is_empty() || !source.children.is_empty() {
        let tables = source
            .inherits
            .iter()
            .chain(&source.children)
            .cloned()
            .collect();
        problems.push(P::Inheritance { tables });
    }
    if row_identity(source).is_none() {
        problems.push(P::NoRowIdentity);
    }
    for r in &source.referenced_by {
        problems.push(P::ReferencedBy {
            table: r.table.clone(),
            constraint: r.constraint.clone(),
        });
    }
    for view in &source.views {
        problems.push(P::View { view: view.clone() });
    }
    let mut not_carried = Vec::new();
    if source.row_security {
        not_carried.push("row-level security and its policies".to_owned());
    }
    if source.column_privileges {
        not_carried.push("column privileges".to_owned());
    }
    if !source.rules.is_empty() {
        not_carried.push(format!("rules ({})", source.rules.join(", ")));
    }
    if !not_carried.is_empty() {
        problems.push(P::NotCarried {
            what: not_carried.join(", "),
        });
    }
    problems
}

/// How each index is carried over under `policy`, or why it cannot be.
fn carry_indexes(
    source: &SourceTable,
    key: &str,
    policy: PrimaryKeyPolicy,
    carried: &mut Vec<Carried>,
    problems: &mut Vec<ConversionProblem>,
) {
    for index in &source.indexes {
        let has_key = index
            .columns
            .as_ref()
            .is_some_and(|c| c.iter().any(|c| c == key));
        let what = match index.constraint.as_ref().map(|c| c.1) {
            Some('p') => "primary key",
            Some('u') => "unique constraint",
            Some('x') => "exclusion constraint",
            _ if index.unique => "unique index",
            _ => "index",
        };
        let how = if index.using.is_none() {
            problems.push(ConversionProblem::NotCarried {
                what: format!("index {:?} (its definition could not be read)", index.name),
            });
            continue;
        } else if index.constraint.as_ref().is_some_and(|c| c.1 == 'x') {
            if !has_key {
                problems.push(ConversionProblem::Exclusion {
                    name: index.name.clone(),
                });
                continue;
            }
            "as it is".to_owned()
        } else if !index.unique || has_key {
            "as it is".to_owned()
        } else if index.primary && policy == PrimaryKeyPolicy::Suppress {
            format!(
                "becomes a non-unique index (primary-key policy: suppress); {key:?} must be part of a partitioned table's primary key"
            )
        } else if policy == PrimaryKeyPolicy::Suppress {
            problems.push(ConversionProblem::UniqueWithoutKey {
                name: index.name.clone(),
                why: "widen it with the key (PrimaryKeyPolicy::IncludeKey, --primary-key include-key), or drop it first",
            });
            continue;
        } else if index.columns.is_none()
            || index.partial
            || (index.constraint.is_some() && !index.simple)
        {
            problems.push(ConversionProblem::UniqueWithoutKey {
                name: index.name.clone(),
                why: "it has expressions, a WHERE, INCLUDE columns or other options, so it cannot be widened: drop it first, or add the key to it",
            });
            continue;
        } else {
            format!("widened with {key:?}")
        };
        carried.push(Carried {
            what,
            name: index.name.clone(),
            how,
        });
    }
}

/// The plan of converting `source` as `settings` ask: pure.
pub(crate) fn plan(
    source: &SourceTable,
    settings: &ConversionSettings,
    now: DateTime<Utc>,
) -> ConversionPlan {
    let mut plan = ConversionPlan {
        table: format!("{}.{}", source.schema, source.name),
        key: settings.key.clone(),
        kind: settings.kind,
        estimated_rows: source.estimated_rows,
        size_bytes: source.size_bytes,
        key_range: None,
        partitions: Vec::new(),
        carried: Vec::new(),
        problems: shape_problems(source),
    };
    if source.relkind != Some('r') {
        return plan;
    }
    let Some(column) = source.columns.iter().find(|c| c.name == settings.key) else {
        plan.problems.push(ConversionProblem::NoKeyColumn {
            column: settings.key.clone(),
        });
        return plan;
    };
    let mut carried = Vec::new();
    carried.push(Carried {
        what: "columns",
        name: source.columns.len().to_string(),
        how: "with their types, defaults, identity, generated expressions, NOT NULL and CHECK constraints, storage, compression, statistics targets and comments".to_owned(),
    });
    carry_indexes(
        source,
        &settings.key,
        settings.policy,
        &mut carried,
        &mut plan.problems,
    );
    if settings.legacy {
        carried.push(Carried {
            what: "rows",
            name: legacy_name(&source.name),
            how: "kept where they are: the table becomes this partition, attached with a CHECK proving its bound (validated without blocking writes); the indexes the partitioned table needs and it lacks are built first, CONCURRENTLY".to_owned(),
        });
    }
    for (name, _) in &source.foreign_keys {
        carried.push(Carried {
            what: "foreign key",
            name: name.clone(),
            how: "as it is, checked for every row as it is copied".to_owned(),
        });
    }
    for trigger in &source.triggers {
        carried.push(Carried {
            what: "trigger",
            name: trigger.clone(),
            how: "created on the new table at the swap (not fired by the copy)".to_owned(),
        });
    }
    if !source.storage.is_empty() {
        carried.push(Carried {
            what: "storage options",
            name: source.storage.join(", "),
            how: "set on every partition".to_owned(),
        });
    }
    carried.push(Carried {
        what: "owner, grants, comment, sequences",
        name: String::new(),
        how: "at the swap, as they are then".to_owned(),
    });
    plan.carried = carried;
    match partitions(source, column, settings, now) {
        Ok((range, partitions)) => {
            plan.key_range = range;
            plan.partitions = partitions;
        }
        Err(problem) => plan.problems.push(problem),
    }
    if let Some(stats) = &source.key
        && stats.nulls > 0
    {
        if settings.legacy {
            plan.problems
                .push(ConversionProblem::LegacyNullKeys { count: stats.nulls });
        } else if !settings.default_partition {
            plan.problems
                .push(ConversionProblem::NullKeys { count: stats.nulls });
        }
    }
    plan
}

/// The key's range and the partitions that hold every existing key, up to the period (or step) after the
/// one holding the largest key (or now, for time): more are made by maintenance once the table is
/// registered.
fn partitions(
    source: &SourceTable,
    column: &SourceColumn,
    settings: &ConversionSettings,
    now: DateTime<Utc>,
) -> Result<KeyedPartitions, ConversionProblem> {
    let stats = source.key.clone().unwrap_or_default();
    if settings.legacy {
        return legacy_partitions(
            &source.name,
            &source.key.clone().unwrap_or_default(),
            column,
            settings,
            now,
        );
    }
    let mut planned = match settings.kind {
        ConversionKind::TimeRange {
            period,
            time_zone,
            encoding,
        } => {
            let encoding = time_encoding(column, encoding)?;
            time_partitions(&source.name, &stats, encoding, period, time_zone, Some(now))?
        }
        ConversionKind::IntRange { step } => {
            int_key(column)?;
            int_partitions(&source.name, &stats, step)?
        }
    };
    if settings.default_partition {
        planned.1.push(PlannedPartition {
            name: fit_name(&source.name, "_default"),
            bound: LoggedBound::Default,
        });
    }
    Ok(planned)
}

/// How the key column encodes time: as asked, else as its type says.
fn time_encoding(
    column: &SourceColumn,
    asked: Option<TimeEncoding>,
) -> Result<TimeEncoding, ConversionProblem> {
    asked
        .or_else(|| TimeEncoding::of_column(&column.data_type))
        .ok_or_else(|| ConversionProblem::KeyType {
            column: column.name.clone(),
            data_type: column.data_type.clone(),
            needed: "timestamp with time zone, timestamp or date, or an integer, uuid or text with its encoding (.encoding(..), --encoding)",
        })
}

/// Refuses a key that is not an integer, for integer ranges.
fn int_key(column: &SourceColumn) -> Result<(), ConversionProblem> {
    match column.data_type.as_str() {
        "smallint" | "integer" | "bigint" => Ok(()),
        _ => Err(ConversionProblem::KeyType {
            column: column.name.clone(),
            data_type: column.data_type.clone(),
            needed: "smallint, integer or bigint",
        }),
    }
}

/// The name of the legacy partition, the old table under its new name.
pub(crate) fn legacy_name(table: &str) -> String {
    fit_name(table, "_legacy")
}

/// With the old rows kept in place: the legacy partition from the period (or step) holding the smallest key
/// to the end of the one after the period holding the later of now and the largest key (room for the writes
/// while the conversion runs, which its `CHECK` constrains), then two partitions after it.
fn legacy_partitions(
    table: &str,
    stats: &KeyStats,
    column: &SourceColumn,
    settings: &ConversionSettings,
    now: DateTime<Utc>,
) -> Result<KeyedPartitions, ConversionProblem> {
    let (Some(min_text), Some(max_text)) = (stats.min.as_ref(), stats.max.as_ref()) else {
        return Err(ConversionProblem::NotCarried {
            what: "an empty table in a legacy partition (nothing to keep: convert it without --legacy)"
                .to_owned(),
        });
    };
    let value = |text: &String| ConversionProblem::KeyValue {
        value: text.clone(),
    };
    match settings.kind {
        ConversionKind::TimeRange {
            period,
            time_zone: tz,
            encoding,
        } => {
            let encoding = time_encoding(column, encoding)?;
            let min = instant_of(encoding, min_text, tz).ok_or_else(|| value(min_text))?;
            let max = instant_of(encoding, max_text, tz).ok_or_else(|| value(max_text))?;
            let start = period.start(min, tz);
            let current = period.start(now.max(max), tz);
            let end = period.end(period.end(current, tz), tz);
            let mut partitions = vec![PlannedPartition {
                name: legacy_name(table),
                bound: LoggedBound::Time { start, end },
            }];
            let mut from = end;
            for _ in 0..2 {
                let to = period.end(from, tz);
                for at in [start, from, to] {
                    encoding
                        .encode(at, tz)
                        .map_err(|e| ConversionProblem::KeyValue {
                            value: format!("{} ({e})", Edge::Time(at)),
                        })?;
                }
                partitions.push(PlannedPartition {
                    name: partition_name(table, from, to, period, tz),
                    bound: LoggedBound::Time {
                        start: from,
                        end: to,
                    },
                });
                from = to;
            }
            Ok((Some((Edge::Time(min), Edge::Time(max))), partitions))
        }
        ConversionKind::IntRange { step } => {
            int_key(column)?;
            let min: i64 = min_text.parse().map_err(|_| value(min_text))?;
            let max: i64 = max_text.parse().map_err(|_| value(max_text))?;
            let start = min.div_euclid(step).saturating_mul(step);
            let end = max.div_euclid(step).saturating_add(2).saturating_mul(step);
            let mut partitions = vec![PlannedPartition {
                name: legacy_name(table),
                bound: LoggedBound::Int { start, end },
            }];
            for i in 0..2 {
                let from = end.saturating_add(step.saturating_mul(i));
                let to = from.saturating_add(step);
                partitions.push(PlannedPartition {
                    name: fit_name(table, &format!("_{from}_{to}")),
                    bound: LoggedBound::Int {
                        start: from,
                        end: to,
                    },
                });
            }
            Ok((Some((Edge::Int(min), Edge::Int(max))), partitions))
        }
    }
}

/// The instant a key value encodes (its floor), from its text as [`KeyStats`] holds it.
pub(crate) fn instant_of(encoding: TimeEncoding, text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone as _};
    let naive = |t: &str| {
        NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .ok()?
                    .and_hms_opt(0, 0, 0)
            })
    };
    match encoding {
        TimeEncoding::Timestamptz => Some(Utc.from_utc_datetime(&naive(text)?)),
        TimeEncoding::Timestamp | TimeEncoding::Date => {
            Some(crate::calendar::local_to_instant(tz, naive(text)?))
        }
        TimeEncoding::Epoch(_) | TimeEncoding::Snowflake(_) => {
            let value: i64 = text.parse().ok()?;
            let floor = match encoding {
                TimeEncoding::Snowflake(s) => {
                    if value < 0 {
                        return None;
                    }
                    (value >> s.shift) << s.shift
                }
                _ => value,
            };
            encoding.decode_int(floor)
        }
        TimeEncoding::UuidV7 | TimeEncoding::UlidText => {
            let bits = match encoding {
                TimeEncoding::UuidV7 => uuid::Uuid::parse_str(text).ok()?.as_u128(),
                _ => ulid::Ulid::from_string(text).ok()?.0,
            };
            let ms = i64::try_from(bits >> 80).ok()?;
            Utc.timestamp_millis_opt(ms).single()
        }
    }
}

/// The time partitions holding `[min, max]`, and with `now` up to the period after the one holding the
/// larger of `max` and `now` (room for the application's writes while the conversion runs).
pub(crate) fn time_partitions(
    table: &str,
    stats: &KeyStats,
    encoding: TimeEncoding,
    period: Period,
    tz: Tz,
    now: Option<DateTime<Utc>>,
) -> Result<KeyedPartitions, ConversionProblem> {
    let decode = |text: &String| {
        instant_of(encoding, text, tz).ok_or_else(|| ConversionProblem::KeyValue {
            value: text.clone(),
        })
    };
    let (Some(min), Some(max)) = (stats.min.as_ref(), stats.max.as_ref()) else {
        return Ok((None, Vec::new()));
    };
    let (min, max) = (decode(min)?, decode(max)?);
    let last = match now {
        Some(now) => period.end(period.start(now.max(max), tz), tz),
        None => max,
    };
    let mut start = period.start(min, tz);
    let mut partitions = Vec::new();
    while start <= last {
        let end = period.end(start, tz);
        if partitions.len() >= MAX_CONVERSION_PARTITIONS {
            return Err(ConversionProblem::TooManyPartitions {
                count: estimate_count(min, last, period),
                from: Edge::Time(min).to_string(),
                to: Edge::Time(max).to_string(),
                max: MAX_CONVERSION_PARTITIONS,
            });
        }
        for instant in [start, end] {
            encoding
                .encode(instant, tz)
                .map_err(|e| ConversionProblem::KeyValue {
                    value: format!("{} ({e})", Edge::Time(instant)),
                })?;
        }
        partitions.push(PlannedPartition {
            name: partition_name(table, start, end, period, tz),
            bound: LoggedBound::Time { start, end },
        });
        start = end;
    }
    Ok((Some((Edge::Time(min), Edge::Time(max))), partitions))
}

fn estimate_count(min: DateTime<Utc>, max: DateTime<Utc>, period: Period) -> usize {
    let seconds = (max - min).num_seconds().max(0);
    let per = match period {
        Period::Hour => 3600,
        Period::Day => 86_400,
        Period::Week => 7 * 86_400,
        Period::Month => 30 * 86_400,
        Period::Quarter => 91 * 86_400,
        Period::Year => 365 * 86_400,
    };
    usize::try_from(seconds / per + 1).unwrap_or(usize::MAX)
}

/// The integer partitions holding `[min, max]` and the next step.
pub(crate) fn int_partitions(
    table: &str,
    stats: &KeyStats,
    step: i64,
) -> Result<KeyedPartitions, ConversionProblem> {
    let parse = |text: &String| {
        text.parse::<i64>()
            .map_err(|_| ConversionProblem::KeyValue {
                value: text.clone(),
            })
    };
    let (Some(min), Some(max)) = (stats.min.as_ref(), stats.max.as_ref()) else {
        return Ok((None, Vec::new()));
    };
    let (min, max) = (parse(min)?, parse(max)?);
    let first = min.div_euclid(step);
    let last = max.div_euclid(step).saturating_add(1);
    let count = usize::try_from(last.saturating_sub(first).saturating_add(1)).unwrap_or(usize::MAX);
    if count > MAX_CONVERSION_PARTITIONS {
        return Err(ConversionProblem::TooManyPartitions {
            count,
            from: min.to_string(),
            to: max.to_string(),
            max: MAX_CONVERSION_PARTITIONS,
        });
    }
    let partitions = (first..=last)
        .map(|i| {
            let (start, end) = (
                i.saturating_mul(step),
                i.saturating_add(1).saturating_mul(step),
            );
            PlannedPartition {
                name: fit_name(table, &format!("_{start}_{end}")),
                bound: LoggedBound::Int { start, end },
            }
        })
        .collect();
    Ok((Some((Edge::Int(min), Edge::Int(max))), partitions))
}

#[cfg(test)]
mod tests;
