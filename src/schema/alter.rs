//! `ATTACH` / `DETACH PARTITION`, `SET TABLESPACE`, and dropping or truncating a partition.

use sea_orm::sea_query::{
    DynIden, Expr, IntoIden, IntoTableRef, PostgresQueryBuilder, QuotedBuilder as _, TableRef,
};

use super::builder::PartitionBuilder;
use super::ident::{check_iden, check_table_ref};
use super::key::{PartitionBound, RangeValue};
use crate::error::{
    Error as RuntimeError, StatementError as Error, StatementResult as Result, sqlstate,
};

fn required<'a>(
    part: &'a Option<TableRef>,
    statement: &'static str,
    missing: &'static str,
    what: &'static str,
) -> Result<&'a TableRef> {
    let table = part
        .as_ref()
        .ok_or(Error::IncompleteStatement { statement, missing })?;
    check_table_ref(what, table)?;
    Ok(table)
}

/// Attaches an existing table as a partition.
///
/// PostgreSQL scans the table to verify that every row fits the bound unless a `CHECK` constraint already
/// proves it; rows outside the bound fail the statement with SQLSTATE 23514.
///
/// # Synopsis
///
/// ```text
/// ALTER TABLE parent ATTACH PARTITION name { FOR VALUES partition_bound_spec | DEFAULT }
/// ```
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::attach()
///     .table("order")
///     .partition("order_eu")
///     .values_in(["de", "fr"])
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"ALTER TABLE "order" ATTACH PARTITION "order_eu" FOR VALUES IN ('de', 'fr')"#);
///
/// let sql = Partition::attach().table("order").partition("order_other").default_partition().build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"ALTER TABLE "order" ATTACH PARTITION "order_other" DEFAULT"#);
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// # References
///
/// <https://www.postgresql.org/docs/current/sql-altertable.html>
#[derive(Debug, Clone, Default)]
pub struct PartitionAttachStatement {
    pub(crate) parent: Option<TableRef>,
    pub(crate) partition: Option<TableRef>,
    pub(crate) bound: Option<PartitionBound>,
}

impl PartitionAttachStatement {
    /// An empty statement; [`Partition::attach`](super::Partition::attach) is the usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partitioned (parent) table.
    pub fn table<T: IntoTableRef>(&mut self, parent: T) -> &mut Self {
        self.parent = Some(parent.into_table_ref());
        self
    }

    /// The table to attach.
    pub fn partition<T: IntoTableRef>(&mut self, partition: T) -> &mut Self {
        self.partition = Some(partition.into_table_ref());
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

    /// `DEFAULT`.
    pub fn default_partition(&mut self) -> &mut Self {
        self.bound(PartitionBound::Default)
    }

    /// Takes the statement out, leaving an empty one.
    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        const STATEMENT: &str = "ALTER TABLE .. ATTACH PARTITION";
        let parent = required(
            &self.parent,
            STATEMENT,
            "the parent table: call .table(..)",
            "parent table",
        )?;
        let partition = required(
            &self.partition,
            STATEMENT,
            "the table to attach: call .partition(..)",
            "partition",
        )?;
        let bound = self.bound.as_ref().ok_or(Error::IncompleteStatement {
            statement: STATEMENT,
            missing: "the bound: call .values_from_to(..), .values_in(..), .values_with(..) or .default_partition()",
        })?;
        bound.validate()?;
        let mut sql = String::new();
        builder.prepare_partition_attach(self, parent, partition, bound, &mut sql);
        Ok(sql)
    }
}

/// How `DETACH PARTITION` runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DetachMode {
    /// Plain `DETACH PARTITION`: takes an `ACCESS EXCLUSIVE` lock on the parent, in any transaction.
    #[default]
    Blocking,
    /// `DETACH PARTITION .. CONCURRENTLY`: lets queries on the parent go on; must run outside a transaction
    /// block (SQLSTATE 25001 otherwise) and is refused while the parent has a DEFAULT partition.
    Concurrently,
    /// `DETACH PARTITION .. FINALIZE`: completes a concurrent detach that was interrupted.
    Finalize,
}

/// Detaches a partition: it becomes a table of its own, with its rows.
///
/// # Synopsis
///
/// ```text
/// ALTER TABLE parent DETACH PARTITION name [ CONCURRENTLY | FINALIZE ]
/// ```
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::detach().table("event").partition("event_2023").build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"ALTER TABLE "event" DETACH PARTITION "event_2023""#);
///
/// let sql = Partition::detach().table("event").partition("event_2023").finalize().build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"ALTER TABLE "event" DETACH PARTITION "event_2023" FINALIZE"#);
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// # References
///
/// <https://www.postgresql.org/docs/current/sql-altertable.html>
#[derive(Debug, Clone, Default)]
pub struct PartitionDetachStatement {
    pub(crate) parent: Option<TableRef>,
    pub(crate) partition: Option<TableRef>,
    pub(crate) mode: DetachMode,
}

impl PartitionDetachStatement {
    /// An empty statement; [`Partition::detach`](super::Partition::detach) is the usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partitioned (parent) table.
    pub fn table<T: IntoTableRef>(&mut self, parent: T) -> &mut Self {
        self.parent = Some(parent.into_table_ref());
        self
    }

    /// The partition to detach.
    pub fn partition<T: IntoTableRef>(&mut self, partition: T) -> &mut Self {
        self.partition = Some(partition.into_table_ref());
        self
    }

    /// `CONCURRENTLY` (see [`DetachMode::Concurrently`]).
    pub fn concurrently(&mut self) -> &mut Self {
        self.mode = DetachMode::Concurrently;
        self
    }

    /// `FINALIZE` (see [`DetachMode::Finalize`]).
    pub fn finalize(&mut self) -> &mut Self {
        self.mode = DetachMode::Finalize;
        self
    }

    /// Sets the mode.
    pub fn mode(&mut self, mode: DetachMode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Takes the statement out, leaving an empty one.
    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Turns the errors PostgreSQL gives for a concurrent detach it refuses into errors that say why and
    /// what to do; any other error is returned as it is.
    pub fn classify(&self, err: RuntimeError) -> RuntimeError {
        let code = err.sqlstate();
        let name = |t: &Option<TableRef>| {
            t.as_ref()
                .map(super::ident::table_display)
                .unwrap_or_default()
        };
        match (self.mode, code.as_deref()) {
            (DetachMode::Concurrently, Some(sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE)) => {
                RuntimeError::ConcurrentDetachWithDefault {
                    table: name(&self.parent),
                    partition: name(&self.partition),
                }
            }
            (DetachMode::Concurrently, Some(sqlstate::ACTIVE_SQL_TRANSACTION)) => {
                RuntimeError::ConcurrentDetachInTransaction {
                    partition: name(&self.partition),
                }
            }
            _ => err,
        }
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        const STATEMENT: &str = "ALTER TABLE .. DETACH PARTITION";
        let parent = required(
            &self.parent,
            STATEMENT,
            "the parent table: call .table(..)",
            "parent table",
        )?;
        let partition = required(
            &self.partition,
            STATEMENT,
            "the partition: call .partition(..)",
            "partition",
        )?;
        let mut sql = String::new();
        builder.prepare_partition_detach(self, parent, partition, &mut sql);
        Ok(sql)
    }
}

/// What `SET TABLESPACE` moves.
#[derive(Debug, Clone)]
pub enum TablespaceTarget {
    /// A table (a partition, a detached partition, or a partitioned table, whose new partitions then default
    /// to that tablespace).
    Table(TableRef),
    /// An index.
    Index(TableRef),
}

/// Moves a table or an index to another tablespace.
///
/// Moving a table does not move its indexes: move each with [`SetTablespaceStatement::index`].
///
/// # Synopsis
///
/// ```text
/// ALTER TABLE name SET TABLESPACE tablespace
/// ALTER INDEX name SET TABLESPACE tablespace
/// ```
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::set_tablespace().table("event_2023").tablespace("archive").build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"ALTER TABLE "event_2023" SET TABLESPACE "archive""#);
///
/// let sql = Partition::set_tablespace()
///     .index(("app", "event_2023_pkey"))
///     .tablespace("archive")
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"ALTER INDEX "app"."event_2023_pkey" SET TABLESPACE "archive""#);
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// # References
///
/// <https://www.postgresql.org/docs/current/sql-altertable.html>,
/// <https://www.postgresql.org/docs/current/sql-alterindex.html>
#[derive(Debug, Clone, Default)]
pub struct SetTablespaceStatement {
    pub(crate) target: Option<TablespaceTarget>,
    pub(crate) tablespace: Option<DynIden>,
}

impl SetTablespaceStatement {
    /// An empty statement; [`Partition::set_tablespace`](super::Partition::set_tablespace) is the usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Move this table.
    pub fn table<T: IntoTableRef>(&mut self, table: T) -> &mut Self {
        self.target = Some(TablespaceTarget::Table(table.into_table_ref()));
        self
    }

    /// Move this index (possibly schema-qualified).
    pub fn index<T: IntoTableRef>(&mut self, index: T) -> &mut Self {
        self.target = Some(TablespaceTarget::Index(index.into_table_ref()));
        self
    }

    /// The destination tablespace (`pg_default` for the database's default).
    pub fn tablespace<T: IntoIden>(&mut self, tablespace: T) -> &mut Self {
        self.tablespace = Some(tablespace.into_iden());
        self
    }

    /// Takes the statement out, leaving an empty one.
    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        const STATEMENT: &str = "ALTER .. SET TABLESPACE";
        let target = self.target.as_ref().ok_or(Error::IncompleteStatement {
            statement: STATEMENT,
            missing: "what to move: call .table(..) or .index(..)",
        })?;
        let tablespace = self.tablespace.as_ref().ok_or(Error::IncompleteStatement {
            statement: STATEMENT,
            missing: "the tablespace: call .tablespace(..)",
        })?;
        match target {
            TablespaceTarget::Table(name) => check_table_ref("table", name)?,
            TablespaceTarget::Index(name) => check_table_ref("index", name)?,
        }
        check_iden("tablespace", tablespace)?;
        let mut sql = String::new();
        builder.prepare_set_tablespace(target, tablespace, &mut sql);
        Ok(sql)
    }
}

/// Sets, for the rest of the transaction, the tablespace where tables and indexes are created when their
/// statement names none: `SET LOCAL default_tablespace`. The indexes PostgreSQL creates on a new partition
/// (cloned from the parent's) name no tablespace, so this puts them next to the partition in one step.
///
/// # Synopsis
///
/// ```text
/// SET LOCAL default_tablespace = tablespace
/// SET LOCAL default_tablespace TO DEFAULT
/// ```
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::default_tablespace().tablespace("fast").build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"SET LOCAL default_tablespace = "fast""#);
///
/// let sql = Partition::default_tablespace().reset().build(PostgresQueryBuilder)?;
/// assert_eq!(sql, "SET LOCAL default_tablespace TO DEFAULT");
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// # References
///
/// <https://www.postgresql.org/docs/current/sql-set.html>,
/// <https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-DEFAULT-TABLESPACE>
#[derive(Debug, Clone, Default)]
pub struct DefaultTablespaceStatement {
    pub(crate) tablespace: Option<DynIden>,
    pub(crate) reset: bool,
}

impl DefaultTablespaceStatement {
    /// An empty statement; [`Partition::default_tablespace`](super::Partition::default_tablespace) is the
    /// usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Create in this tablespace.
    pub fn tablespace<T: IntoIden>(&mut self, tablespace: T) -> &mut Self {
        self.tablespace = Some(tablespace.into_iden());
        self.reset = false;
        self
    }

    /// Back to the server's setting (the database's default tablespace unless configured otherwise).
    pub fn reset(&mut self) -> &mut Self {
        self.tablespace = None;
        self.reset = true;
        self
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        let mut sql = String::from("SET LOCAL default_tablespace");
        match (&self.tablespace, self.reset) {
            (Some(tablespace), _) => {
                check_iden("tablespace", tablespace)?;
                sql.push_str(" = ");
                builder.prepare_iden(tablespace, &mut sql);
            }
            (None, true) => sql.push_str(" TO DEFAULT"),
            (None, false) => {
                return Err(Error::IncompleteStatement {
                    statement: "SET LOCAL default_tablespace",
                    missing: "the tablespace: call .tablespace(..) or .reset()",
                });
            }
        }
        Ok(sql)
    }
}

/// Drops a partition (attached or detached) with its rows.
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::drop().table("event_2020").if_exists().build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"DROP TABLE IF EXISTS "event_2020""#);
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// # References
///
/// <https://www.postgresql.org/docs/current/sql-droptable.html>
#[derive(Debug, Clone, Default)]
pub struct PartitionDropStatement {
    pub(crate) table: Option<TableRef>,
    pub(crate) if_exists: bool,
}

impl PartitionDropStatement {
    /// An empty statement; [`Partition::drop`](super::Partition::drop) is the usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition to drop.
    pub fn table<T: IntoTableRef>(&mut self, table: T) -> &mut Self {
        self.table = Some(table.into_table_ref());
        self
    }

    /// `IF EXISTS`.
    pub fn if_exists(&mut self) -> &mut Self {
        self.if_exists = true;
        self
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        let table = required(
            &self.table,
            "DROP TABLE",
            "the partition: call .table(..)",
            "partition",
        )?;
        let mut sql = String::new();
        builder.prepare_partition_drop(self, table, &mut sql);
        Ok(sql)
    }
}

/// Removes every row of a partition.
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::truncate().table(("app", "event_2020")).build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"TRUNCATE TABLE "app"."event_2020""#);
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// # References
///
/// <https://www.postgresql.org/docs/current/sql-truncate.html>
#[derive(Debug, Clone, Default)]
pub struct PartitionTruncateStatement {
    pub(crate) table: Option<TableRef>,
}

impl PartitionTruncateStatement {
    /// An empty statement; [`Partition::truncate`](super::Partition::truncate) is the usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition to empty.
    pub fn table<T: IntoTableRef>(&mut self, table: T) -> &mut Self {
        self.table = Some(table.into_table_ref());
        self
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        let table = required(
            &self.table,
            "TRUNCATE TABLE",
            "the partition: call .table(..)",
            "partition",
        )?;
        let mut sql = String::new();
        builder.prepare_partition_truncate(self, table, &mut sql);
        Ok(sql)
    }
}

/// Creates a standalone table shaped like a partitioned table, to be attached as a partition afterwards:
/// `ATTACH PARTITION` takes a weaker lock on the parent (SHARE UPDATE EXCLUSIVE) than `CREATE TABLE ..
/// PARTITION OF` (ACCESS EXCLUSIVE). A `CHECK` constraint matching the bound lets `ATTACH` skip its scan.
///
/// # Synopsis
///
/// ```text
/// CREATE TABLE name ( LIKE parent INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE
///     INCLUDING COMMENTS INCLUDING GENERATED [, CONSTRAINT check_name CHECK ( expression ) ] )
///     [ TABLESPACE tablespace ]
/// ```
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::{Expr, ExprTrait, PostgresQueryBuilder};
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::create_like()
///     .table("event_2024_02")
///     .like("event")
///     .check("event_2024_02_bound", Expr::col("ts").gte(10).and(Expr::col("ts").lt(20)))
///     .tablespace("fast")
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(
///     sql,
///     r#"CREATE TABLE "event_2024_02" ( LIKE "event" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED, CONSTRAINT "event_2024_02_bound" CHECK ("ts" >= 10 AND "ts" < 20) ) TABLESPACE "fast""#
/// );
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
///
/// # References
///
/// <https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE>
#[derive(Debug, Clone, Default)]
pub struct PartitionLikeStatement {
    pub(crate) table: Option<TableRef>,
    pub(crate) like: Option<TableRef>,
    pub(crate) check: Option<(DynIden, Expr)>,
    pub(crate) tablespace: Option<DynIden>,
}

impl PartitionLikeStatement {
    /// An empty statement; [`Partition::create_like`](super::Partition::create_like) is the usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// The new table.
    pub fn table<T: IntoTableRef>(&mut self, table: T) -> &mut Self {
        self.table = Some(table.into_table_ref());
        self
    }

    /// The table whose shape to copy (the partitioned parent).
    pub fn like<T: IntoTableRef>(&mut self, parent: T) -> &mut Self {
        self.like = Some(parent.into_table_ref());
        self
    }

    /// `CONSTRAINT name CHECK (expression)`.
    pub fn check<N: IntoIden, E: Into<Expr>>(&mut self, name: N, expression: E) -> &mut Self {
        self.check = Some((name.into_iden(), expression.into()));
        self
    }

    /// `TABLESPACE tablespace`.
    pub fn tablespace<T: IntoIden>(&mut self, tablespace: T) -> &mut Self {
        self.tablespace = Some(tablespace.into_iden());
        self
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        const STATEMENT: &str = "CREATE TABLE .. (LIKE ..)";
        let table = required(
            &self.table,
            STATEMENT,
            "the new table: call .table(..)",
            "table",
        )?;
        let like = required(
            &self.like,
            STATEMENT,
            "the table to copy: call .like(..)",
            "table",
        )?;
        if let Some((name, _)) = &self.check {
            check_iden("constraint", name)?;
        }
        if let Some(tablespace) = &self.tablespace {
            check_iden("tablespace", tablespace)?;
        }
        let mut sql = String::new();
        builder.prepare_partition_like(self, table, like, &mut sql);
        Ok(sql)
    }
}

/// Drops a constraint, e.g. the `CHECK` that made an `ATTACH PARTITION` skip its scan.
///
/// # Examples
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// let sql = Partition::drop_constraint()
///     .table("event_2024_02")
///     .constraint("event_2024_02_bound")
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"ALTER TABLE "event_2024_02" DROP CONSTRAINT "event_2024_02_bound""#);
/// # Ok::<(), sea_orm_pg_partitioning::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConstraintDropStatement {
    pub(crate) table: Option<TableRef>,
    pub(crate) constraint: Option<DynIden>,
}

impl ConstraintDropStatement {
    /// An empty statement; [`Partition::drop_constraint`](super::Partition::drop_constraint) is the usual way in.
    pub fn new() -> Self {
        Self::default()
    }

    /// The table.
    pub fn table<T: IntoTableRef>(&mut self, table: T) -> &mut Self {
        self.table = Some(table.into_table_ref());
        self
    }

    /// The constraint.
    pub fn constraint<N: IntoIden>(&mut self, name: N) -> &mut Self {
        self.constraint = Some(name.into_iden());
        self
    }

    /// Validates the statement and renders it.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        const STATEMENT: &str = "ALTER TABLE .. DROP CONSTRAINT";
        let table = required(
            &self.table,
            STATEMENT,
            "the table: call .table(..)",
            "table",
        )?;
        let constraint = self.constraint.as_ref().ok_or(Error::IncompleteStatement {
            statement: STATEMENT,
            missing: "the constraint: call .constraint(..)",
        })?;
        check_iden("constraint", constraint)?;
        let mut sql = String::new();
        builder.prepare_constraint_drop(table, constraint, &mut sql);
        Ok(sql)
    }
}
