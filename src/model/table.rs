//! A managed table as the service read it, and the pure computations on it: the bound and the row condition
//! of a partition, the configured time zone.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait};

use crate::calendar::fit_name;
use crate::encoding::{EncodingError, TimeEncoding};
use crate::entity::{partition_config, partition_log};
use crate::error::{ConfigProblem, Error, Result};
use crate::model::{LoggedBound, TableSpec};
use crate::schema::{ListValue, PartitionBound};

/// A managed table as the service read it: its configuration row and the type of its key column (from the
/// catalog). The pure computations on it: bounds and conditions of partitions, the time zone.
pub(crate) struct Table {
    pub config: partition_config::Model,
    /// Type of the single key column, e.g. `timestamp with time zone` (`None` for other keys).
    pub key_type: Option<String>,
}

impl Table {
    pub fn parent(&self) -> (String, String) {
        (
            self.config.schema_name.clone(),
            self.config.table_name.clone(),
        )
    }

    /// Where a logged partition's parent is: the registered table, or the partition it is a sub-partition of.
    pub fn parent_of(&self, log: &partition_log::Model) -> (String, String) {
        match &log.parent_name {
            Some(parent) => (log.schema_name.clone(), parent.clone()),
            None => self.parent(),
        }
    }

    pub fn qualified(&self) -> String {
        format!("{}.{}", self.config.schema_name, self.config.table_name)
    }

    fn key(&self) -> Expr {
        Expr::col(self.config.key_column.clone())
    }

    /// The kind of table, with its settings.
    pub fn spec(&self) -> Result<TableSpec> {
        TableSpec::of(&self.config)
    }

    pub fn time_zone(&self) -> Result<Tz> {
        Tz::from_str(&self.config.time_zone).map_err(|_| Error::InvalidConfig {
            table: self.qualified(),
            problem: ConfigProblem::UnknownTimeZone(self.config.time_zone.clone()),
        })
    }

    /// How the key encodes time: the configured encoding, else the one the key column's type implies.
    pub fn encoding(&self) -> Result<TimeEncoding> {
        let problem = |problem| Error::KeyEncoding {
            table: self.qualified(),
            problem,
        };
        match &self.config.key_encoding {
            Some(name) => name.parse().map_err(problem),
            None => {
                let key_type = self.key_type.as_deref().unwrap_or("an expression");
                TimeEncoding::of_column(key_type)
                    .ok_or_else(|| problem(EncodingError::NeedsEncoding(key_type.to_owned())))
            }
        }
    }

    /// A time bound value: the instant encoded as the key encodes time (with its offset in the configured
    /// zone for a `timestamptz`, the local wall-clock time for a `timestamp`, the local date for a `date`,
    /// ...), refused when the key column cannot hold it.
    pub fn time_bound(&self, at: DateTime<Utc>) -> Result<Expr> {
        let encoding = self.encoding()?;
        let problem = |problem| Error::KeyEncoding {
            table: self.qualified(),
            problem,
        };
        let value = encoding.encode(at, self.time_zone()?).map_err(problem)?;
        if let Some(key_type) = &self.key_type {
            encoding.check_fits(at, &value, key_type).map_err(problem)?;
        }
        Ok(value.into())
    }

    /// `key >= from AND key < to`.
    fn range_condition(&self, from: Expr, to: Expr) -> Expr {
        self.key().gte(from).and(self.key().lt(to))
    }

    /// `key IN (values) OR key IS NULL`, as the values say.
    pub fn list_condition(&self, values: &[ListValue]) -> Expr {
        let present: Vec<Expr> = values
            .iter()
            .filter(|v| **v != ListValue::Null)
            .map(ListValue::to_expr)
            .collect();
        let null = values.contains(&ListValue::Null);
        match (present.is_empty(), null) {
            (false, true) => self.key().is_in(present).or(self.key().is_null()),
            (false, false) => self.key().is_in(present),
            (true, _) => self.key().is_null(),
        }
    }

    /// The bound of the time range `[start, end)` and the condition its rows satisfy.
    pub fn time_range(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(PartitionBound, Expr)> {
        let (from, to) = (self.time_bound(start)?, self.time_bound(end)?);
        let condition = self.range_condition(from.clone(), to.clone());
        Ok((PartitionBound::range([from], [to]), condition))
    }

    /// The bound of the integer range `[start, end)` and the condition its rows satisfy.
    pub fn int_range(&self, start: i64, end: i64) -> (PartitionBound, Expr) {
        let condition = self.range_condition(Expr::value(start), Expr::value(end));
        (PartitionBound::range([start], [end]), condition)
    }

    /// The bound of a logged partition, and the condition its rows satisfy (for rows to move out of DEFAULT).
    pub fn bound_of(&self, log: &partition_log::Model) -> Result<(PartitionBound, Option<Expr>)> {
        Ok(match log.bound()? {
            LoggedBound::Time { start, end } => {
                let (bound, condition) = self.time_range(start, end)?;
                (bound, Some(condition))
            }
            LoggedBound::Int { start, end } => {
                let (bound, condition) = self.int_range(start, end);
                (bound, Some(condition))
            }
            LoggedBound::List(values) => {
                let condition = self.list_condition(&values);
                (
                    PartitionBound::List(values.iter().map(ListValue::to_expr).collect()),
                    Some(condition),
                )
            }
            LoggedBound::Hash { modulus, remainder } => {
                (PartitionBound::hash(modulus, remainder), None)
            }
            LoggedBound::Default => (PartitionBound::Default, None),
        })
    }
}

/// A partition to create: its name, bound, the rows of DEFAULT that belong in it, and its log row.
pub(crate) struct NewPartition {
    pub name: String,
    pub bound: PartitionBound,
    pub condition: Option<Expr>,
    pub tablespace: Option<String>,
    /// Its bound as the log records it.
    pub logged: LoggedBound,
    /// Sub-partition by hash of this column into this many partitions.
    pub sub_partition: Option<(String, u32)>,
}

impl NewPartition {
    /// Its hash sub-partitions, when configured: name, modulus, remainder.
    pub fn leaves(&self) -> Vec<(String, u32, u32)> {
        match &self.sub_partition {
            Some((_, modulus)) => (0..*modulus)
                .map(|remainder| {
                    let name = fit_name(&self.name, &format!("_h{remainder}"));
                    (name, *modulus, remainder)
                })
                .collect(),
            None => Vec::new(),
        }
    }
}

impl Table {
    /// The configured hash sub-partitioning: column and modulus.
    pub fn sub_partition(&self) -> Option<(String, u32)> {
        match (
            &self.config.sub_partition_column,
            self.config.sub_partition_modulus,
        ) {
            (Some(column), Some(modulus)) if modulus > 0 => {
                Some((column.clone(), modulus.unsigned_abs()))
            }
            _ => None,
        }
    }

    /// The range partition `[start, end)` of a time-range table, named `name`, as the handle and maintenance
    /// create it.
    pub fn time_partition(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        name: String,
    ) -> Result<NewPartition> {
        let (bound, condition) = self.time_range(start, end)?;
        Ok(NewPartition {
            name,
            bound,
            condition: Some(condition),
            tablespace: self.config.attach_tablespace.clone(),
            logged: LoggedBound::Time { start, end },
            sub_partition: self.sub_partition(),
        })
    }

    /// The range partition `[start, end)` of an integer-range table.
    pub fn int_partition(&self, start: i64, end: i64) -> NewPartition {
        let (bound, condition) = self.int_range(start, end);
        NewPartition {
            name: fit_name(&self.config.table_name, &format!("_{start}_{end}")),
            bound,
            condition: Some(condition),
            tablespace: self.config.attach_tablespace.clone(),
            logged: LoggedBound::Int { start, end },
            sub_partition: self.sub_partition(),
        }
    }
}
