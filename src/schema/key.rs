//! Partition keys and partition bounds: the data shared by parent tables, partitions and `ATTACH`.

use sea_orm::sea_query::{DynIden, Expr, IntoIden, StringLen, Value};
use sea_orm::{DeriveActiveEnum, EnumIter};

use super::ident::check_iden;
use crate::error::{StatementError as Error, StatementResult as Result};

/// How rows are distributed among partitions.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum PartitionStrategy {
    /// `PARTITION BY RANGE`: each partition holds a range `[from, to)` of key values.
    #[sea_orm(string_value = "range")]
    Range,
    /// `PARTITION BY LIST`: each partition holds an explicit list of key values.
    #[sea_orm(string_value = "list")]
    List,
    /// `PARTITION BY HASH`: each partition holds the rows whose key hash has a given remainder.
    #[sea_orm(string_value = "hash")]
    Hash,
}

impl PartitionStrategy {
    /// The SQL keyword.
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::Range => "RANGE",
            Self::List => "LIST",
            Self::Hash => "HASH",
        }
    }
}

/// What one element of a partition key is computed from.
#[derive(Debug, Clone)]
pub enum KeyTarget {
    /// A column of the table.
    Column(DynIden),
    /// An expression over the table's columns, e.g. `date_trunc('day', ts)`.
    Expr(Expr),
}

/// One element of a partition key: a column or an expression, optionally with a collation and an operator class.
///
/// Anything that names a column (`&str`, `String`, a SeaORM `Column`, a `DeriveIden` enum) converts into a
/// `KeyPart`, so `PartitionKey::range(["created_at"])` needs no wrapping.
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::{Expr, PostgresQueryBuilder, Table, ColumnDef};
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let key = PartitionKey::list([KeyPart::column("code").collate("C").opclass("text_pattern_ops")]);
/// let sql = Table::create()
///     .table("product")
///     .col(ColumnDef::new("code").text())
///     .partitioned_by(key)
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(
///     sql,
///     r#"CREATE TABLE "product" ( "code" text ) PARTITION BY LIST ("code" COLLATE "C" "text_pattern_ops")"#
/// );
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KeyPart {
    pub(crate) target: KeyTarget,
    pub(crate) collate: Option<DynIden>,
    pub(crate) opclass: Option<DynIden>,
}

impl KeyPart {
    /// A key element that is a column.
    pub fn column<C: IntoIden>(column: C) -> Self {
        Self {
            target: KeyTarget::Column(column.into_iden()),
            collate: None,
            opclass: None,
        }
    }

    /// A key element that is an expression. It is always written in parentheses, as PostgreSQL requires.
    ///
    /// ```
    /// use sea_orm::sea_query::{ColumnDef, Expr, Func, PostgresQueryBuilder, Table};
    /// use sea_orm_pg_partitioning::prelude::*;
    ///
    /// let day = Func::cust("date_trunc").arg("day").arg(Expr::col("ts"));
    /// let sql = Table::create()
    ///     .table("metric")
    ///     .col(ColumnDef::new("ts").timestamp())
    ///     .partitioned_by(PartitionKey::range([KeyPart::expr(day)]))
    ///     .build(PostgresQueryBuilder)?;
    /// assert_eq!(
    ///     sql,
    ///     r#"CREATE TABLE "metric" ( "ts" timestamp ) PARTITION BY RANGE ((date_trunc('day', "ts")))"#
    /// );
    /// # Ok::<(), sea_orm_pg_partitioning::Error>(())
    /// ```
    pub fn expr<E: Into<Expr>>(expr: E) -> Self {
        Self {
            target: KeyTarget::Expr(expr.into()),
            collate: None,
            opclass: None,
        }
    }

    /// `COLLATE collation` for this element (e.g. `"C"` for byte-wise text ordering).
    pub fn collate<C: IntoIden>(mut self, collation: C) -> Self {
        self.collate = Some(collation.into_iden());
        self
    }

    /// The operator class of this element (e.g. `text_pattern_ops`).
    pub fn opclass<C: IntoIden>(mut self, opclass: C) -> Self {
        self.opclass = Some(opclass.into_iden());
        self
    }

    /// The column or expression.
    pub fn get_target(&self) -> &KeyTarget {
        &self.target
    }

    /// The column name, if this element is a plain column.
    pub fn get_column(&self) -> Option<String> {
        match &self.target {
            KeyTarget::Column(column) => Some(column.to_string()),
            KeyTarget::Expr(_) => None,
        }
    }

    fn validate(&self) -> Result<()> {
        if let KeyTarget::Column(column) = &self.target {
            check_iden("partition key column", column)?;
        }
        if let Some(collation) = &self.collate {
            check_iden("collation", collation)?;
        }
        if let Some(opclass) = &self.opclass {
            check_iden("operator class", opclass)?;
        }
        Ok(())
    }
}

impl<T: IntoIden> From<T> for KeyPart {
    fn from(column: T) -> Self {
        Self::column(column)
    }
}

/// A partition key: the strategy and the columns or expressions it partitions by.
///
/// # Examples
///
/// ```
/// use sea_orm_pg_partitioning::prelude::*;
/// use sea_orm_pg_partitioning::schema::PartitionStrategy;
///
/// let by_day = PartitionKey::range(["created_at"]);
/// let by_region = PartitionKey::list(["region"]);
/// let by_tenant = PartitionKey::hash(["tenant_id", "user_id"]);
/// assert_eq!(by_tenant.column_names(), ["tenant_id", "user_id"]);
/// assert_eq!(by_day.get_strategy(), PartitionStrategy::Range);
/// ```
#[derive(Debug, Clone)]
pub struct PartitionKey {
    pub(crate) strategy: PartitionStrategy,
    pub(crate) parts: Vec<KeyPart>,
}

impl PartitionKey {
    /// A key with the given strategy and elements.
    pub fn new<I, P>(strategy: PartitionStrategy, parts: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<KeyPart>,
    {
        Self {
            strategy,
            parts: parts.into_iter().map(Into::into).collect(),
        }
    }

    /// `PARTITION BY RANGE (..)`.
    pub fn range<I, P>(parts: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<KeyPart>,
    {
        Self::new(PartitionStrategy::Range, parts)
    }

    /// `PARTITION BY LIST (..)`.
    pub fn list<I, P>(parts: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<KeyPart>,
    {
        Self::new(PartitionStrategy::List, parts)
    }

    /// `PARTITION BY HASH (..)`.
    pub fn hash<I, P>(parts: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<KeyPart>,
    {
        Self::new(PartitionStrategy::Hash, parts)
    }

    /// The strategy.
    pub fn get_strategy(&self) -> PartitionStrategy {
        self.strategy
    }

    /// The key elements, in order.
    pub fn get_parts(&self) -> &[KeyPart] {
        &self.parts
    }

    /// The names of the key elements that are plain columns, in order.
    pub fn column_names(&self) -> Vec<String> {
        self.parts.iter().filter_map(KeyPart::get_column).collect()
    }

    /// Whether any key element is an expression (which rules out unique constraints and primary keys).
    pub fn has_expression(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part.target, KeyTarget::Expr(_)))
    }

    pub(crate) fn validate(&self, table: &str) -> Result<()> {
        if self.parts.is_empty() {
            return Err(Error::EmptyPartitionKey {
                table: table.to_owned(),
            });
        }
        self.parts.iter().try_for_each(KeyPart::validate)
    }
}

/// One side of a range bound: a value, or `MINVALUE` / `MAXVALUE`.
///
/// A key that encodes time takes its bounds from [`TimeEncoding`](crate::encoding::TimeEncoding), e.g. the
/// first partitions of a table keyed by a UUIDv7, in a migration:
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let (start, end) = (Utc.with_ymd_and_hms(2024, 3, 10, 0, 0, 0).unwrap(), Utc.with_ymd_and_hms(2024, 3, 11, 0, 0, 0).unwrap());
/// let encode = |at| TimeEncoding::UuidV7.encode(at, chrono_tz::UTC);
/// let sql = Partition::create()
///     .table("event_2024-03-10_2024-03-11")
///     .partition_of("event")
///     .bound(PartitionBound::range([encode(start)?], [encode(end)?]))
///     .build(PostgresQueryBuilder)?;
/// assert!(sql.ends_with("FROM (CAST('018e25a8-c000-0000-0000-000000000000' AS uuid)) TO (CAST('018e2acf-1c00-0000-0000-000000000000' AS uuid))"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub enum RangeValue {
    /// `MINVALUE`: below every value of the column.
    MinValue,
    /// `MAXVALUE`: above every value of the column.
    MaxValue,
    /// A value (anything that converts into a sea-query `Expr`: integers, text, chrono date-times, ...).
    Value(Expr),
}

impl<T: Into<Expr>> From<T> for RangeValue {
    fn from(value: T) -> Self {
        Self::Value(value.into())
    }
}

/// The bound of a partition: the rows it accepts.
///
/// Timestamps with a time zone (`DateTime<Utc>`, `DateTime<FixedOffset>`) are written with an explicit offset,
/// so the bound does not depend on the session's `TimeZone`.
///
/// # Examples
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let jan = PartitionBound::range(
///     [Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()],
///     [Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap()],
/// );
/// let below_zero = PartitionBound::range([RangeValue::MinValue], [0]);
/// let nordics = PartitionBound::list(["se", "no", "dk"]);
/// let quarter = PartitionBound::hash(4, 0);
/// let rest = PartitionBound::Default;
/// # let _ = (jan, below_zero, nordics, quarter, rest);
/// ```
#[derive(Debug, Clone)]
pub enum PartitionBound {
    /// `FOR VALUES FROM (..) TO (..)`; `from` is inclusive, `to` exclusive.
    Range {
        /// Lower bound, one value per key element.
        from: Vec<RangeValue>,
        /// Upper bound (exclusive), one value per key element.
        to: Vec<RangeValue>,
    },
    /// `FOR VALUES IN (..)`; may contain `NULL` (`Option::<T>::None`) and the empty string.
    List(Vec<Expr>),
    /// `FOR VALUES WITH (MODULUS m, REMAINDER r)`.
    Hash {
        /// Number of hash partitions (at least 1).
        modulus: u32,
        /// Remainder this partition holds (`0 ..= modulus - 1`).
        remainder: u32,
    },
    /// `DEFAULT`: every row no other partition accepts.
    Default,
}

impl PartitionBound {
    /// `FOR VALUES FROM (from..) TO (to..)`.
    pub fn range<I, J, F, T>(from: I, to: J) -> Self
    where
        I: IntoIterator<Item = F>,
        J: IntoIterator<Item = T>,
        F: Into<RangeValue>,
        T: Into<RangeValue>,
    {
        Self::Range {
            from: from.into_iter().map(Into::into).collect(),
            to: to.into_iter().map(Into::into).collect(),
        }
    }

    /// `FOR VALUES IN (values..)`.
    pub fn list<I, V>(values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Expr>,
    {
        Self::List(values.into_iter().map(Into::into).collect())
    }

    /// `FOR VALUES WITH (MODULUS modulus, REMAINDER remainder)`.
    pub fn hash(modulus: u32, remainder: u32) -> Self {
        Self::Hash { modulus, remainder }
    }

    /// The bound as SQL, after [`validate`](Self::validate): what `CREATE TABLE .. PARTITION OF` and
    /// `ATTACH PARTITION` write after the partition's name.
    ///
    /// ```
    /// use sea_orm::sea_query::PostgresQueryBuilder;
    /// use sea_orm_pg_partitioning::prelude::*;
    ///
    /// assert_eq!(PartitionBound::range([0i64], [100i64]).build(PostgresQueryBuilder)?, "FOR VALUES FROM (0) TO (100)");
    /// assert_eq!(PartitionBound::Default.build(PostgresQueryBuilder)?, "DEFAULT");
    /// # Ok::<(), Error>(())
    /// ```
    pub fn build(&self, builder: sea_orm::sea_query::PostgresQueryBuilder) -> Result<String> {
        use super::builder::PartitionBuilder;
        self.validate()?;
        let mut sql = String::new();
        builder.prepare_partition_bound(self, &mut sql);
        Ok(sql)
    }

    /// Checks what can be checked without the parent table: arity of range bounds, non-empty lists, hash
    /// modulus and remainder, and text values PostgreSQL cannot store.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Range { from, to } => {
                if from.is_empty() || from.len() != to.len() {
                    return Err(Error::RangeBoundArity {
                        from: from.len(),
                        to: to.len(),
                    });
                }
                from.iter().chain(to).try_for_each(|value| match value {
                    RangeValue::Value(expr) => check_value(expr),
                    RangeValue::MinValue | RangeValue::MaxValue => Ok(()),
                })
            }
            Self::List(values) => {
                if values.is_empty() {
                    return Err(Error::EmptyListBound);
                }
                values.iter().try_for_each(check_value)
            }
            Self::Hash { modulus, remainder } => {
                if *modulus == 0 || remainder >= modulus {
                    return Err(Error::InvalidHashBound {
                        modulus: *modulus,
                        remainder: *remainder,
                    });
                }
                Ok(())
            }
            Self::Default => Ok(()),
        }
    }
}

fn check_value(expr: &Expr) -> Result<()> {
    match expr {
        Expr::Value(Value::String(Some(text))) if text.contains('\0') => Err(Error::NulInValue {
            value: text.to_string(),
        }),
        _ => Ok(()),
    }
}

/// One value of a list partition: text, an integer, a boolean, or NULL.
///
/// ```
/// use sea_orm_pg_partitioning::schema::ListValue;
///
/// let values: Vec<ListValue> = vec!["A".into(), "".into(), 7.into(), true.into(), ListValue::Null];
/// let json = ListValue::to_json(&values);
/// assert_eq!(json.to_string(), r#"["A","",7,true,null]"#);
/// assert_eq!(ListValue::from_json(&json), Some(values));
/// ```
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListValue {
    /// `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Text (possibly empty).
    Text(String),
}

impl ListValue {
    /// The value as a sea-query expression.
    pub fn to_expr(&self) -> Expr {
        match self {
            ListValue::Null => Expr::value(Value::String(None)),
            ListValue::Bool(b) => Expr::value(*b),
            ListValue::Int(i) => Expr::value(*i),
            ListValue::Text(t) => Expr::value(t.clone()),
        }
    }

    /// The values as a JSON array, as `partition_log.list_values` stores them.
    pub fn to_json(values: &[ListValue]) -> serde_json::Value {
        serde_json::Value::Array(
            values
                .iter()
                .map(|v| match v {
                    ListValue::Null => serde_json::Value::Null,
                    ListValue::Bool(b) => serde_json::Value::Bool(*b),
                    ListValue::Int(i) => serde_json::Value::from(*i),
                    ListValue::Text(t) => serde_json::Value::String(t.clone()),
                })
                .collect(),
        )
    }

    /// The values of a JSON array written by [`to_json`](Self::to_json); `None` for anything else.
    pub fn from_json(json: &serde_json::Value) -> Option<Vec<ListValue>> {
        json.as_array()?
            .iter()
            .map(|v| match v {
                serde_json::Value::Null => Some(ListValue::Null),
                serde_json::Value::Bool(b) => Some(ListValue::Bool(*b)),
                serde_json::Value::Number(n) => n.as_i64().map(ListValue::Int),
                serde_json::Value::String(s) => Some(ListValue::Text(s.clone())),
                _ => None,
            })
            .collect()
    }
}

impl From<&str> for ListValue {
    fn from(text: &str) -> Self {
        ListValue::Text(text.to_owned())
    }
}

impl From<String> for ListValue {
    fn from(text: String) -> Self {
        ListValue::Text(text)
    }
}

impl From<i64> for ListValue {
    fn from(i: i64) -> Self {
        ListValue::Int(i)
    }
}

impl From<i32> for ListValue {
    fn from(i: i32) -> Self {
        ListValue::Int(i64::from(i))
    }
}

impl From<bool> for ListValue {
    fn from(b: bool) -> Self {
        ListValue::Bool(b)
    }
}

impl<T: Into<ListValue>> From<Option<T>> for ListValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(ListValue::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_bounds_are_checked() {
        assert!(PartitionBound::hash(1, 0).validate().is_ok());
        assert!(PartitionBound::hash(8, 7).validate().is_ok());
        for (m, r) in [(0, 0), (4, 4), (4, 9)] {
            assert!(matches!(
                PartitionBound::hash(m, r).validate(),
                Err(Error::InvalidHashBound { .. })
            ));
        }
    }

    #[test]
    fn range_bounds_need_matching_arity() {
        assert!(matches!(
            PartitionBound::range([1, 2], [3]).validate(),
            Err(Error::RangeBoundArity { from: 2, to: 1 })
        ));
        let empty: [i32; 0] = [];
        assert!(matches!(
            PartitionBound::range(empty, empty).validate(),
            Err(Error::RangeBoundArity { from: 0, to: 0 })
        ));
        assert!(
            PartitionBound::range([RangeValue::MinValue], [10])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn list_bounds_need_values_without_nul() {
        let empty: [&str; 0] = [];
        assert!(matches!(
            PartitionBound::list(empty).validate(),
            Err(Error::EmptyListBound)
        ));
        assert!(matches!(
            PartitionBound::list(["a\0b"]).validate(),
            Err(Error::NulInValue { .. })
        ));
        assert!(PartitionBound::list(["", "a"]).validate().is_ok());
    }

    #[test]
    fn key_knows_its_columns() {
        let key = PartitionKey::range([KeyPart::column("a"), KeyPart::expr(Expr::col("b"))]);
        assert_eq!(key.column_names(), ["a"]);
        assert!(key.has_expression());
        assert!(matches!(
            PartitionKey::hash(Vec::<KeyPart>::new()).validate("t"),
            Err(Error::EmptyPartitionKey { .. })
        ));
    }
}
