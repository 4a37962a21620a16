//! `CREATE TABLE .. PARTITION OF`.

use sea_orm::sea_query::{DynIden, Expr, IntoIden, IntoTableRef, PostgresQueryBuilder, TableRef};

use super::alter::{
    ConstraintDropStatement, DefaultTablespaceStatement, PartitionAttachStatement,
    PartitionDetachStatement, PartitionDropStatement, PartitionLikeStatement,
    PartitionTruncateStatement, SetTablespaceStatement,
};
use super::builder::PartitionBuilder;
use super::ident::{check_iden, check_table_ref, table_display};
use super::key::{PartitionBound, PartitionKey, RangeValue};
use crate::error::{StatementError as Error, StatementResult as Result};

/// Entry point for partition statements, in the manner of sea-query's `Table` and `Index`.
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::detach()
///     .table("event")
///     .partition("event_2023")
///     .concurrently()
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"ALTER TABLE "event" DETACH PARTITION "event_2023" CONCURRENTLY"#);
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Partition;

impl Partition {
    /// `CREATE TABLE .. PARTITION OF ..`: see [`PartitionCreateStatement`].
    pub fn create() -> PartitionCreateStatement {
        PartitionCreateStatement::new()
    }

    /// `CREATE TABLE .. (LIKE parent ..)`: a standalone table to attach later; see [`PartitionLikeStatement`].
    pub fn create_like() -> PartitionLikeStatement {
        PartitionLikeStatement::new()
    }

    /// `ALTER TABLE .. DROP CONSTRAINT ..`: see [`ConstraintDropStatement`].
    pub fn drop_constraint() -> ConstraintDropStatement {
        ConstraintDropStatement::new()
    }

    /// `ALTER TABLE .. ATTACH PARTITION ..`: see [`PartitionAttachStatement`].
    pub fn attach() -> PartitionAttachStatement {
        PartitionAttachStatement::new()
    }

    /// `ALTER TABLE .. DETACH PARTITION ..`: see [`PartitionDetachStatement`].
    pub fn detach() -> PartitionDetachStatement {
        PartitionDetachStatement::new()
    }

    /// `ALTER TABLE | INDEX .. SET TABLESPACE ..`: see [`SetTablespaceStatement`].
    pub fn set_tablespace() -> SetTablespaceStatement {
        SetTablespaceStatement::new()
    }

    /// `SET LOCAL default_tablespace ..`: see [`DefaultTablespaceStatement`].
    pub fn default_tablespace() -> DefaultTablespaceStatement {
        DefaultTablespaceStatement::new()
    }

    /// `DROP TABLE ..` of a partition: see [`PartitionDropStatement`].
    pub fn drop() -> PartitionDropStatement {
        PartitionDropStatement::new()
    }

    /// `TRUNCATE TABLE ..` of a partition: see [`PartitionTruncateStatement`].
    pub fn truncate() -> PartitionTruncateStatement {
        PartitionTruncateStatement::new()
    }
}

/// Creates a partition of a partitioned table.
///
/// # Synopsis
///
/// ```text
/// CREATE TABLE [ IF NOT EXISTS ] name PARTITION OF parent
///     { FOR VALUES partition_bound_spec | DEFAULT }
///     [ PARTITION BY { RANGE | LIST | HASH } ( { column | ( expression ) } [ COLLATE c ] [ opclass ] [, ...] ) ]
///     [ TABLESPACE tablespace ]
/// ```
///
/// # Examples
///
/// A monthly range partition in a tablespace; timestamps carry an explicit offset:
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::create()
///     .if_not_exists()
///     .table("event_2024_01")
///     .partition_of("event")
///     .values_from_to(
///         [Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()],
///         [Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap()],
///     )
///     .tablespace("fast")
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(
///     sql,
///     r#"CREATE TABLE IF NOT EXISTS "event_2024_01" PARTITION OF "event" FOR VALUES FROM ('2024-01-01 00:00:00.000000 +00:00') TO ('2024-02-01 00:00:00.000000 +00:00') TABLESPACE "fast""#
/// );
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// List, hash and default partitions, and a partition that is itself partitioned:
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let list = Partition::create()
///     .table("flag_unknown")
///     .partition_of("flag")
///     .values_in([Some("".to_owned()), None])
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(list, r#"CREATE TABLE "flag_unknown" PARTITION OF "flag" FOR VALUES IN ('', NULL)"#);
///
/// let hash = Partition::create()
///     .table(("app", "user_h0"))
///     .partition_of(("app", "user"))
///     .values_with(4, 0)
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(
///     hash,
///     r#"CREATE TABLE "app"."user_h0" PARTITION OF "app"."user" FOR VALUES WITH (MODULUS 4, REMAINDER 0)"#
/// );
///
/// let rest = Partition::create().table("event_default").partition_of("event").default_partition().build(PostgresQueryBuilder)?;
/// assert_eq!(rest, r#"CREATE TABLE "event_default" PARTITION OF "event" DEFAULT"#);
///
/// let sub = Partition::create()
///     .table("event_old")
///     .partition_of("event")
///     .values_from_to([RangeValue::MinValue], [1000])
///     .partition_by(PartitionKey::hash(["tenant_id"]))
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(
///     sub,
///     r#"CREATE TABLE "event_old" PARTITION OF "event" FOR VALUES FROM (MINVALUE) TO (1000) PARTITION BY HASH ("tenant_id")"#
/// );
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// # References
///
/// <https://www.postgresql.org/docs/current/sql-createtable.html>
#[derive(Debug, Clone, Default)]
pub struct PartitionCreateStatement {
    pub(crate) table: Option<TableRef>,
    pub(crate) parent: Option<TableRef>,
    pub(crate) bound: Option<PartitionBound>,
    pub(crate) if_not_exists: bool,
    pub(crate) tablespace: Option<DynIden>,
    pub(crate) partition_by: Option<PartitionKey>,
}

impl PartitionCreateStatement {
    /// An empty statement; [`Partition::create`] is the usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition's (possibly schema-qualified) name.
    pub fn table<T: IntoTableRef>(&mut self, table: T) -> &mut Self {
        self.table = Some(table.into_table_ref());
        self
    }

    /// The partitioned table this is a partition of.
    pub fn partition_of<T: IntoTableRef>(&mut self, parent: T) -> &mut Self {
        self.parent = Some(parent.into_table_ref());
        self
    }

    /// The bound, as a [`PartitionBound`].
    pub fn bound(&mut self, bound: PartitionBound) -> &mut Self {
        self.bound = Some(bound);
        self
    }

    /// `FOR VALUES FROM (from..) TO (to..)`.
    pub fn values_from_to<I, J, F, T>(&mut self, from: I, to: J) -> &mut Self
    where
        I: IntoIterator<Item = F>,
        J: IntoIterator<Item = T>,
        F: Into<RangeValue>,
        T: Into<RangeValue>,
    {
        self.bound(PartitionBound::range(from, to))
    }

    /// `FOR VALUES IN (values..)`.
    pub fn values_in<I, V>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Expr>,
    {
        self.bound(PartitionBound::list(values))
    }

    /// `FOR VALUES WITH (MODULUS modulus, REMAINDER remainder)`.
    pub fn values_with(&mut self, modulus: u32, remainder: u32) -> &mut Self {
        self.bound(PartitionBound::hash(modulus, remainder))
    }

    /// `DEFAULT`: the partition takes every row no other partition accepts.
    pub fn default_partition(&mut self) -> &mut Self {
        self.bound(PartitionBound::Default)
    }

    /// `IF NOT EXISTS`.
    pub fn if_not_exists(&mut self) -> &mut Self {
        self.if_not_exists = true;
        self
    }

    /// `TABLESPACE tablespace`.
    pub fn tablespace<T: IntoIden>(&mut self, tablespace: T) -> &mut Self {
        self.tablespace = Some(tablespace.into_iden());
        self
    }

    /// `PARTITION BY ..`: the partition is itself partitioned (sub-partitioning).
    pub fn partition_by(&mut self, key: PartitionKey) -> &mut Self {
        self.partition_by = Some(key);
        self
    }

    /// The partition's name.
    pub fn get_table(&self) -> Option<&TableRef> {
        self.table.as_ref()
    }

    /// The parent table.
    pub fn get_parent(&self) -> Option<&TableRef> {
        self.parent.as_ref()
    }

    /// The bound.
    pub fn get_bound(&self) -> Option<&PartitionBound> {
        self.bound.as_ref()
    }

    /// Takes the statement out, leaving an empty one.
    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        const STATEMENT: &str = "CREATE TABLE .. PARTITION OF";
        let table = self.table.as_ref().ok_or(Error::IncompleteStatement {
            statement: STATEMENT,
            missing: "the partition's name: call .table(..)",
        })?;
        let parent = self.parent.as_ref().ok_or(Error::IncompleteStatement {
            statement: STATEMENT,
            missing: "the parent table: call .partition_of(..)",
        })?;
        let bound = self.bound.as_ref().ok_or(Error::IncompleteStatement {
            statement: STATEMENT,
            missing: "the bound: call .values_from_to(..), .values_in(..), .values_with(..) or .default_partition()",
        })?;
        check_table_ref("partition", table)?;
        check_table_ref("parent table", parent)?;
        bound.validate()?;
        if let Some(tablespace) = &self.tablespace {
            check_iden("tablespace", tablespace)?;
        }
        if let Some(key) = &self.partition_by {
            key.validate(&table_display(table))?;
        }
        let mut sql = String::new();
        builder.prepare_partition_create(self, table, parent, bound, &mut sql);
        Ok(sql)
    }
}
