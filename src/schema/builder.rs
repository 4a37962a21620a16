//! Rendering of this crate's statements, built on sea-query's own quoting and value writing.

use sea_orm::sea_query::{
    DynIden, PostgresQueryBuilder, QueryBuilder, QuotedBuilder, TableRef, TableRefBuilder,
};

use super::alter::{
    DetachMode, PartitionAttachStatement, PartitionDetachStatement, PartitionDropStatement,
    PartitionLikeStatement, PartitionTruncateStatement, TablespaceTarget,
};
use super::key::{KeyTarget, PartitionBound, PartitionKey, RangeValue};
use super::partition::PartitionCreateStatement;

/// Renders partitioning statements. Every identifier goes through sea-query's `QuotedBuilder::prepare_iden`
/// and every value through its `QueryBuilder::prepare_expr`; nothing is spliced in by hand.
///
/// Implemented for [`PostgresQueryBuilder`], the only backend with declarative partitioning of this form.
/// Statements call it from their `build` method after validating themselves.
pub trait PartitionBuilder: QueryBuilder + QuotedBuilder + TableRefBuilder {
    /// `RANGE ("a", (expr) COLLATE "C" "opclass")`.
    fn prepare_partition_key(&self, key: &PartitionKey, sql: &mut String) {
        sql.push_str(key.strategy.as_sql());
        sql.push_str(" (");
        for (i, part) in key.parts.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            match &part.target {
                KeyTarget::Column(column) => self.prepare_iden(column, sql),
                KeyTarget::Expr(expr) => {
                    sql.push('(');
                    self.prepare_expr(expr, sql);
                    sql.push(')');
                }
            }
            if let Some(collation) = &part.collate {
                sql.push_str(" COLLATE ");
                self.prepare_iden(collation, sql);
            }
            if let Some(opclass) = &part.opclass {
                sql.push(' ');
                self.prepare_iden(opclass, sql);
            }
        }
        sql.push(')');
    }

    /// `FOR VALUES FROM (..) TO (..)`, `FOR VALUES IN (..)`, `FOR VALUES WITH (..)` or `DEFAULT`.
    fn prepare_partition_bound(&self, bound: &PartitionBound, sql: &mut String) {
        match bound {
            PartitionBound::Range { from, to } => {
                sql.push_str("FOR VALUES FROM (");
                self.prepare_range_values(from, sql);
                sql.push_str(") TO (");
                self.prepare_range_values(to, sql);
                sql.push(')');
            }
            PartitionBound::List(values) => {
                sql.push_str("FOR VALUES IN (");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    self.prepare_expr(value, sql);
                }
                sql.push(')');
            }
            PartitionBound::Hash { modulus, remainder } => {
                sql.push_str("FOR VALUES WITH (MODULUS ");
                sql.push_str(&modulus.to_string());
                sql.push_str(", REMAINDER ");
                sql.push_str(&remainder.to_string());
                sql.push(')');
            }
            PartitionBound::Default => sql.push_str("DEFAULT"),
        }
    }

    /// A comma-separated list of range bound values.
    fn prepare_range_values(&self, values: &[RangeValue], sql: &mut String) {
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            match value {
                RangeValue::MinValue => sql.push_str("MINVALUE"),
                RangeValue::MaxValue => sql.push_str("MAXVALUE"),
                RangeValue::Value(expr) => self.prepare_expr(expr, sql),
            }
        }
    }

    /// `CREATE TABLE [IF NOT EXISTS] t PARTITION OF p <bound> [PARTITION BY ..] [TABLESPACE ts]`.
    fn prepare_partition_create(
        &self,
        stmt: &PartitionCreateStatement,
        table: &TableRef,
        parent: &TableRef,
        bound: &PartitionBound,
        sql: &mut String,
    ) {
        sql.push_str("CREATE TABLE ");
        if stmt.if_not_exists {
            sql.push_str("IF NOT EXISTS ");
        }
        self.prepare_table_ref_iden(table, sql);
        sql.push_str(" PARTITION OF ");
        self.prepare_table_ref_iden(parent, sql);
        sql.push(' ');
        self.prepare_partition_bound(bound, sql);
        if let Some(key) = &stmt.partition_by {
            sql.push_str(" PARTITION BY ");
            self.prepare_partition_key(key, sql);
        }
        if let Some(tablespace) = &stmt.tablespace {
            self.prepare_tablespace_clause(tablespace, sql);
        }
    }

    /// ` TABLESPACE "ts"`.
    fn prepare_tablespace_clause(&self, tablespace: &DynIden, sql: &mut String) {
        sql.push_str(" TABLESPACE ");
        self.prepare_iden(tablespace, sql);
    }

    /// `ALTER TABLE p ATTACH PARTITION t <bound>`.
    fn prepare_partition_attach(
        &self,
        _stmt: &PartitionAttachStatement,
        parent: &TableRef,
        partition: &TableRef,
        bound: &PartitionBound,
        sql: &mut String,
    ) {
        sql.push_str("ALTER TABLE ");
        self.prepare_table_ref_iden(parent, sql);
        sql.push_str(" ATTACH PARTITION ");
        self.prepare_table_ref_iden(partition, sql);
        sql.push(' ');
        self.prepare_partition_bound(bound, sql);
    }

    /// `ALTER TABLE p DETACH PARTITION t [CONCURRENTLY | FINALIZE]`.
    fn prepare_partition_detach(
        &self,
        stmt: &PartitionDetachStatement,
        parent: &TableRef,
        partition: &TableRef,
        sql: &mut String,
    ) {
        sql.push_str("ALTER TABLE ");
        self.prepare_table_ref_iden(parent, sql);
        sql.push_str(" DETACH PARTITION ");
        self.prepare_table_ref_iden(partition, sql);
        match stmt.mode {
            DetachMode::Blocking => {}
            DetachMode::Concurrently => sql.push_str(" CONCURRENTLY"),
            DetachMode::Finalize => sql.push_str(" FINALIZE"),
        }
    }

    /// `ALTER TABLE t SET TABLESPACE ts` or `ALTER INDEX i SET TABLESPACE ts`.
    fn prepare_set_tablespace(
        &self,
        target: &TablespaceTarget,
        tablespace: &DynIden,
        sql: &mut String,
    ) {
        let (keyword, name) = match target {
            TablespaceTarget::Table(name) => ("ALTER TABLE ", name),
            TablespaceTarget::Index(name) => ("ALTER INDEX ", name),
        };
        sql.push_str(keyword);
        self.prepare_table_ref_iden(name, sql);
        sql.push_str(" SET");
        self.prepare_tablespace_clause(tablespace, sql);
    }

    /// `CREATE TABLE t ( LIKE p INCLUDING .. [, CONSTRAINT c CHECK (..)] ) [TABLESPACE ts]`.
    fn prepare_partition_like(
        &self,
        stmt: &PartitionLikeStatement,
        table: &TableRef,
        like: &TableRef,
        sql: &mut String,
    ) {
        sql.push_str("CREATE TABLE ");
        self.prepare_table_ref_iden(table, sql);
        sql.push_str(" ( LIKE ");
        self.prepare_table_ref_iden(like, sql);
        sql.push_str(
            " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED",
        );
        if let Some((name, expr)) = &stmt.check {
            sql.push_str(", CONSTRAINT ");
            self.prepare_iden(name, sql);
            sql.push_str(" CHECK (");
            self.prepare_expr(expr, sql);
            sql.push(')');
        }
        sql.push_str(" )");
        if let Some(tablespace) = &stmt.tablespace {
            self.prepare_tablespace_clause(tablespace, sql);
        }
    }

    /// `ALTER TABLE t DROP CONSTRAINT c`.
    fn prepare_constraint_drop(&self, table: &TableRef, constraint: &DynIden, sql: &mut String) {
        sql.push_str("ALTER TABLE ");
        self.prepare_table_ref_iden(table, sql);
        sql.push_str(" DROP CONSTRAINT ");
        self.prepare_iden(constraint, sql);
    }

    /// `DROP TABLE [IF EXISTS] t`.
    fn prepare_partition_drop(
        &self,
        stmt: &PartitionDropStatement,
        table: &TableRef,
        sql: &mut String,
    ) {
        sql.push_str("DROP TABLE ");
        if stmt.if_exists {
            sql.push_str("IF EXISTS ");
        }
        self.prepare_table_ref_iden(table, sql);
    }

    /// `TRUNCATE TABLE t`.
    fn prepare_partition_truncate(
        &self,
        _stmt: &PartitionTruncateStatement,
        table: &TableRef,
        sql: &mut String,
    ) {
        sql.push_str("TRUNCATE TABLE ");
        self.prepare_table_ref_iden(table, sql);
    }
}

impl PartitionBuilder for PostgresQueryBuilder {}
