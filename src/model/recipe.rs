//! Recipes: the one place where the statements of each change to a partition are composed. Pure: the service
//! reads what a recipe depends on (whether DEFAULT holds rows for the new partition, where a table's indexes
//! are), hands it over, and runs the statements it gets back, in order, as they are.
//!
//! A maintenance [`Step`](crate::model::plan::Step) carries its recipe, so `pg-partition plan` prints the
//! statements that run; a live test compares them with what the server logged.
//!
//! The changes:
//! - `create`: a partition, directly (`CREATE TABLE .. PARTITION OF`) or in the low-lock mode (a standalone
//!   table with a `CHECK` proving its bound, `ATTACH`, the check dropped), with its hash sub-partitions, in
//!   its tablespace with every index, and with the rows of DEFAULT that belong in it moved into it;
//! - `attach`: a detached partition back, with the rows of DEFAULT that belong in it;
//! - `detach`: plain, `CONCURRENTLY` or `FINALIZE`;
//! - `relocate`: a table (or each sub-partition) and every index of it to a tablespace;
//! - `drop`: a partition with its rows.

use std::fmt;

use sea_orm::sea_query::{Expr, PostgresQueryBuilder, Query};

use crate::entity::partition_config::CreationMode;
use crate::entity::partition_log::{self, PartitionKind};
use crate::error::{Error, Result};
use crate::model::table::{NewPartition, Table};
use crate::schema::{
    DetachMode, Partition, PartitionBound, PartitionDetachStatement, PartitionKey, check_name,
};

/// Name of the `CHECK` constraint that proves a new partition's bound while the low-lock mode attaches it
/// (then dropped).
pub(crate) const BOUND_CHECK: &str = "sopp_bound";

/// How the executor runs a statement of a recipe.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// DDL or a setting, inside the change's transaction.
    Ddl,
    /// `DETACH .. CONCURRENTLY` or `FINALIZE`: outside any transaction, on a connection of its own.
    OutsideTransaction,
    /// Copies the rows of DEFAULT that belong in a partition into it; the executor counts them.
    CopyRows,
    /// Removes the rows just copied from DEFAULT; the executor checks it removed as many as were copied.
    RemoveRows,
}

/// One statement of a [`Recipe`].
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeStatement {
    kind: StatementKind,
    sql: String,
    target: String,
}

impl RecipeStatement {
    /// How it runs.
    pub fn kind(&self) -> StatementKind {
        self.kind
    }

    /// Its text: identifiers quoted and values written by sea-query.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The table (partition or DEFAULT) it is about, for error messages.
    pub fn target(&self) -> &str {
        &self.target
    }
}

/// The statements of one change, in the order they run.
///
/// ```
/// # use sea_orm_pg_partitioning::model::recipe::Recipe;
/// fn show(recipe: &Recipe) {
///     for sql in recipe.sql() {
///         println!("{sql};");
///     }
/// }
/// show(&Recipe::default());
/// ```
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipe {
    statements: Vec<RecipeStatement>,
}

impl Recipe {
    /// The statements.
    pub fn statements(&self) -> &[RecipeStatement] {
        &self.statements
    }

    /// The text of each statement.
    pub fn sql(&self) -> impl Iterator<Item = &str> {
        self.statements.iter().map(RecipeStatement::sql)
    }

    /// Whether there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// How many statements.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether every statement is DDL run inside the transaction (so several recipes can go as one script).
    pub fn is_ddl_only(&self) -> bool {
        self.statements.iter().all(|s| s.kind == StatementKind::Ddl)
    }

    /// This recipe, then `other`.
    pub(crate) fn then(mut self, other: Recipe) -> Recipe {
        self.statements.extend(other.statements);
        self
    }

    /// Adds a DDL statement about `target`.
    pub(crate) fn push_ddl(&mut self, target: &str, sql: String) {
        self.push(StatementKind::Ddl, target, sql);
    }

    fn push(&mut self, kind: StatementKind, target: &str, sql: String) {
        self.statements.push(RecipeStatement {
            kind,
            sql,
            target: target.to_owned(),
        });
    }
}

impl fmt::Display for Recipe {
    /// One statement per line, each ending with `;`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for sql in self.sql() {
            writeln!(f, "{sql};")?;
        }
        Ok(())
    }
}

/// The DEFAULT partition, attached and holding rows that belong in the partition being created or attached,
/// with the columns of the table (what the copy names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DefaultRows {
    pub partition: (String, String),
    pub columns: Vec<String>,
}

/// A table or index and the tablespace it is in (the database default by its name, e.g. `pg_default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placement {
    pub name: String,
    pub tablespace: String,
}

/// A table and its indexes where the catalog says they are: what a move starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placed {
    pub schema: String,
    pub table: Placement,
    pub indexes: Vec<Placement>,
}

/// Creates `new`: see the [module](self) documentation. `default`: DEFAULT holds rows for it.
pub(crate) fn create(
    table: &Table,
    new: &NewPartition,
    default: Option<&DefaultRows>,
) -> Result<Recipe> {
    check_name("partition", &new.name)?;
    let mut recipe = Recipe::default();
    let moves = default.zip(new.condition.as_ref());
    if let Some((default, _)) = moves {
        let detach = detach(
            table.parent(),
            default.partition.clone(),
            DetachMode::Blocking,
        )?;
        recipe = recipe.then(detach);
    }
    if let Some(tablespace) = &new.tablespace {
        let set = Partition::default_tablespace()
            .tablespace(tablespace.clone())
            .build(PostgresQueryBuilder)?;
        recipe.push(StatementKind::Ddl, &new.name, set);
    }
    let low_lock = is_low_lock(table, new);
    match &new.condition {
        Some(check) if low_lock => create_low_lock(&mut recipe, table, new, check.clone())?,
        _ => create_direct(&mut recipe, table, new)?,
    }
    if new.tablespace.is_some() {
        let reset = Partition::default_tablespace()
            .reset()
            .build(PostgresQueryBuilder)?;
        recipe.push(StatementKind::Ddl, &new.name, reset);
    }
    match moves {
        Some((default, condition)) => {
            let target = (table.config.schema_name.clone(), new.name.clone());
            Ok(recipe.then(move_rows(table, default, target, condition)?))
        }
        None => Ok(recipe),
    }
}

/// Whether `new` is created in the low-lock mode (`LIKE` + `CHECK` + `ATTACH`): configured so, a range or list
/// partition (with rows to prove), and not sub-partitioned (a partitioned table cannot be attached with its
/// proof).
pub(crate) fn is_low_lock(table: &Table, new: &NewPartition) -> bool {
    table.config.creation_mode == CreationMode::Attach
        && new.sub_partition.is_none()
        && new.condition.is_some()
}

/// `CREATE TABLE .. PARTITION OF`, then the sub-partitions.
fn create_direct(recipe: &mut Recipe, table: &Table, new: &NewPartition) -> Result<()> {
    let schema = &table.config.schema_name;
    let mut create = Partition::create();
    create
        .table((schema.clone(), new.name.clone()))
        .partition_of(table.parent())
        .bound(new.bound.clone());
    if let Some((column, _)) = &new.sub_partition {
        create.partition_by(PartitionKey::hash([column.clone()]));
    }
    if let Some(tablespace) = &new.tablespace {
        create.tablespace(tablespace.clone());
    }
    recipe.push(
        StatementKind::Ddl,
        &new.name,
        create.build(PostgresQueryBuilder)?,
    );
    for (leaf, modulus, remainder) in new.leaves() {
        check_name("partition", &leaf)?;
        let mut create = Partition::create();
        create
            .table((schema.clone(), leaf.clone()))
            .partition_of((schema.clone(), new.name.clone()))
            .values_with(modulus, remainder);
        if let Some(tablespace) = &new.tablespace {
            create.tablespace(tablespace.clone());
        }
        recipe.push(
            StatementKind::Ddl,
            &leaf,
            create.build(PostgresQueryBuilder)?,
        );
    }
    Ok(())
}

/// A standalone table with a `CHECK` proving the bound, `ATTACH` (SHARE UPDATE EXCLUSIVE on the parent
/// instead of ACCESS EXCLUSIVE, so the application's queries go on), then the check dropped.
fn create_low_lock(
    recipe: &mut Recipe,
    table: &Table,
    new: &NewPartition,
    check: Expr,
) -> Result<()> {
    let partition = (table.config.schema_name.clone(), new.name.clone());
    let mut like = Partition::create_like();
    like.table(partition.clone())
        .like(table.parent())
        .check(BOUND_CHECK, check);
    if let Some(tablespace) = &new.tablespace {
        like.tablespace(tablespace.clone());
    }
    recipe.push(
        StatementKind::Ddl,
        &new.name,
        like.build(PostgresQueryBuilder)?,
    );
    let attach = Partition::attach()
        .table(table.parent())
        .partition(partition.clone())
        .bound(new.bound.clone())
        .build(PostgresQueryBuilder)?;
    recipe.push(StatementKind::Ddl, &new.name, attach);
    let drop = Partition::drop_constraint()
        .table(partition)
        .constraint(BOUND_CHECK)
        .build(PostgresQueryBuilder)?;
    recipe.push(StatementKind::Ddl, &new.name, drop);
    Ok(())
}

/// With DEFAULT detached: its rows matching `condition` copied into `target` and removed from it, then DEFAULT
/// attached again.
fn move_rows(
    table: &Table,
    default: &DefaultRows,
    target: (String, String),
    condition: &Expr,
) -> Result<Recipe> {
    let mut recipe = Recipe::default();
    let select = Query::select()
        .columns(default.columns.clone())
        .from(default.partition.clone())
        .cond_where(condition.clone())
        .to_owned();
    let copy = Query::insert()
        .into_table(target.clone())
        .columns(default.columns.clone())
        .select_from(select)
        .map_err(|e| Error::CheckFailed {
            table: table.qualified(),
            check: "building the copy of rows out of DEFAULT",
            detail: e.to_string(),
        })?
        .to_string(PostgresQueryBuilder);
    recipe.push(StatementKind::CopyRows, &target.1, copy);
    let remove = Query::delete()
        .from_table(default.partition.clone())
        .cond_where(condition.clone())
        .to_string(PostgresQueryBuilder);
    recipe.push(StatementKind::RemoveRows, &default.partition.1, remove);
    let attach = Partition::attach()
        .table(table.parent())
        .partition(default.partition.clone())
        .default_partition()
        .build(PostgresQueryBuilder)?;
    recipe.push(StatementKind::Ddl, &default.partition.1, attach);
    Ok(recipe)
}

/// Attaches the logged partition `log` back with its logged bound, moving the rows of DEFAULT that belong in
/// it when `default` says there are some.
pub(crate) fn attach(
    table: &Table,
    log: &partition_log::Model,
    default: Option<&DefaultRows>,
) -> Result<Recipe> {
    let (bound, condition) = table.bound_of(log)?;
    let partition = (log.schema_name.clone(), log.partition_name.clone());
    let moves = match (default, &condition, log.kind) {
        (Some(default), Some(condition), kind) if kind != PartitionKind::Default => {
            Some((default, condition))
        }
        _ => None,
    };
    let mut recipe = Recipe::default();
    if let Some((default, _)) = moves {
        recipe = detach(
            table.parent(),
            default.partition.clone(),
            DetachMode::Blocking,
        )?;
    }
    let attach = attach_statement(table.parent_of(log), partition.clone(), bound)?;
    recipe.push(StatementKind::Ddl, &log.partition_name, attach);
    match moves {
        Some((default, condition)) => {
            Ok(recipe.then(move_rows(table, default, partition, condition)?))
        }
        None => Ok(recipe),
    }
}

/// `ALTER TABLE parent ATTACH PARTITION partition bound`.
pub(crate) fn attach_statement(
    parent: (String, String),
    partition: (String, String),
    bound: PartitionBound,
) -> Result<String> {
    Ok(Partition::attach()
        .table(parent)
        .partition(partition)
        .bound(bound)
        .build(PostgresQueryBuilder)?)
}

/// Detaches `partition` from `parent`; `CONCURRENTLY` and `FINALIZE` run outside a transaction.
pub(crate) fn detach(
    parent: (String, String),
    partition: (String, String),
    mode: DetachMode,
) -> Result<Recipe> {
    let detach = detach_statement(parent, partition.clone(), mode);
    let kind = match mode {
        DetachMode::Blocking => StatementKind::Ddl,
        DetachMode::Concurrently | DetachMode::Finalize => StatementKind::OutsideTransaction,
    };
    let mut recipe = Recipe::default();
    recipe.push(kind, &partition.1, detach.build(PostgresQueryBuilder)?);
    Ok(recipe)
}

/// The statement [`detach`] renders: its [`classify`](crate::schema::PartitionDetachStatement::classify)
/// types the errors of a concurrent detach.
pub(crate) fn detach_statement(
    parent: (String, String),
    partition: (String, String),
    mode: DetachMode,
) -> PartitionDetachStatement {
    let mut detach = Partition::detach();
    detach.table(parent).partition(partition).mode(mode);
    detach
}

/// Moves each table of `placed` and every index of it to `tablespace`, skipping what is already there.
pub(crate) fn relocate(placed: &[Placed], tablespace: &str) -> Result<Recipe> {
    let mut recipe = Recipe::default();
    for table in placed {
        if table.table.tablespace != tablespace {
            let sql = Partition::set_tablespace()
                .table((table.schema.clone(), table.table.name.clone()))
                .tablespace(tablespace.to_owned())
                .build(PostgresQueryBuilder)?;
            recipe.push(StatementKind::Ddl, &table.table.name, sql);
        }
        for index in table.indexes.iter().filter(|i| i.tablespace != tablespace) {
            let sql = Partition::set_tablespace()
                .index((table.schema.clone(), index.name.clone()))
                .tablespace(tablespace.to_owned())
                .build(PostgresQueryBuilder)?;
            recipe.push(StatementKind::Ddl, &table.table.name, sql);
        }
    }
    Ok(recipe)
}

/// Drops `partition` (with its sub-partitions and rows); a table already gone is not an error.
pub(crate) fn drop(partition: (String, String)) -> Result<Recipe> {
    let sql = Partition::drop()
        .table(partition.clone())
        .if_exists()
        .build(PostgresQueryBuilder)?;
    let mut recipe = Recipe::default();
    recipe.push(StatementKind::Ddl, &partition.1, sql);
    Ok(recipe)
}

/// A foreign key another table holds on a partitioned table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForeignKeyTo {
    pub constraint: String,
    /// The referencing table.
    pub table: (String, String),
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// The partitioned table's columns they reference, in the same order.
    pub referenced: Vec<String>,
}

/// `SELECT count(*)` of the rows of the referencing table that reference rows of `partition`, leaving out
/// those in `retired_with` (partitions retired in the same step, with their sub-partitions).
pub(crate) fn referencing_rows(
    partition: (&str, &str),
    key: &ForeignKeyTo,
    retired_with: &[(String, String)],
) -> String {
    use crate::model::convert::sql::Sql;
    let mut sql = Sql::new("SELECT count(*) FROM ")
        .table((&key.table.0, &key.table.1))
        .push(" r WHERE EXISTS (SELECT 1 FROM ")
        .table(partition)
        .push(" p WHERE ");
    for (i, (column, referenced)) in key.columns.iter().zip(&key.referenced).enumerate() {
        if i > 0 {
            sql = sql.push(" AND ");
        }
        sql = sql.push("p.").iden(referenced).push(" = r.").iden(column);
    }
    sql = sql.push(")");
    for (schema, name) in retired_with {
        sql = sql
            .push(" AND r.tableoid NOT IN (SELECT relid FROM pg_partition_tree(to_regclass(format('%I.%I', ")
            .value(schema.clone())
            .push("::text, ")
            .value(name.clone())
            .push("::text))))");
    }
    sql.build()
}

/// Converts a partition to the `columnar` access method: `ALTER TABLE .. SET ACCESS METHOD columnar`, or on a
/// distributed (Citus) table Citus' `alter_table_set_access_method`, which converts every shard.
pub(crate) fn to_columnar(partition: (String, String), distributed: bool) -> Recipe {
    use crate::model::convert::sql::Sql;
    let target = partition.1.clone();
    let table = (partition.0.as_str(), partition.1.as_str());
    let sql = if distributed {
        let mut name = String::new();
        name.push_str(&Sql::new("").table(table).build());
        Sql::new("SELECT alter_table_set_access_method(")
            .value(name)
            .push("::regclass, 'columnar')")
            .build()
    } else {
        Sql::new("ALTER TABLE ")
            .table(table)
            .push(" SET ACCESS METHOD columnar")
            .build()
    };
    let mut recipe = Recipe::default();
    recipe.push(StatementKind::Ddl, &target, sql);
    recipe
}

/// `ANALYZE [ONLY] "schema"."table"`: `ONLY` (PostgreSQL 18) leaves the partitions to autovacuum.
pub(crate) fn analyze(table: (&str, &str), only: bool) -> String {
    crate::model::convert::sql::Sql::new(if only { "ANALYZE ONLY " } else { "ANALYZE " })
        .table(table)
        .build()
}

#[cfg(test)]
mod tests;
