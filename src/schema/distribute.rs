//! Citus: distributing a table (`create_distributed_table`) and making a reference table
//! (`create_reference_table`). The table's name goes to Citus as a `regclass` literal written by sea-query
//! (its identifiers quoted inside the literal), the column as a text value.

use sea_orm::sea_query::{
    Expr, Func, IntoTableRef, PostgresQueryBuilder, Query, QuotedBuilder, TableRef,
};

use super::ident::{check_identifier, check_table_ref};
use crate::error::{StatementError as Error, StatementResult as Result};

/// Entry point of the Citus statements.
///
/// ```
/// use sea_orm::sea_query::PostgresQueryBuilder;
/// use sea_orm_pg_partitioning::schema::Distribute;
///
/// let sql = Distribute::table("event")
///     .column("tenant")
///     .colocate_with("account")
///     .build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"SELECT create_distributed_table('"event"', 'tenant', 'hash', '"account"')"#);
/// let sql = Distribute::reference("country").build(PostgresQueryBuilder)?;
/// assert_eq!(sql, r#"SELECT create_reference_table('"country"')"#);
/// # Ok::<(), sea_orm_pg_partitioning::StatementError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Distribute;

impl Distribute {
    /// Distributes `table` by hash of a [`column`](DistributeStatement::column).
    pub fn table<T: IntoTableRef>(table: T) -> DistributeStatement {
        DistributeStatement {
            table: table.into_table_ref(),
            column: None,
            colocate_with: None,
            reference: false,
        }
    }

    /// Makes `table` a reference table: a copy on every node, for small tables that distributed ones join or
    /// reference by foreign key.
    pub fn reference<T: IntoTableRef>(table: T) -> DistributeStatement {
        DistributeStatement {
            table: table.into_table_ref(),
            column: None,
            colocate_with: None,
            reference: true,
        }
    }
}

/// `SELECT create_distributed_table(..)` or `SELECT create_reference_table(..)`; made by [`Distribute`].
#[derive(Debug, Clone)]
pub struct DistributeStatement {
    table: TableRef,
    column: Option<String>,
    colocate_with: Option<TableRef>,
    reference: bool,
}

impl DistributeStatement {
    /// The distribution column.
    pub fn column<C: Into<String>>(&mut self, column: C) -> &mut Self {
        self.column = Some(column.into());
        self
    }

    /// Co-locates the table's shards with those of `table`.
    pub fn colocate_with<T: IntoTableRef>(&mut self, table: T) -> &mut Self {
        self.colocate_with = Some(table.into_table_ref());
        self
    }

    /// Renders the call; the names are checked first.
    pub fn build(&self, builder: PostgresQueryBuilder) -> Result<String> {
        check_table_ref("table", &self.table)?;
        let name = regclass(&self.table);
        let call = if self.reference {
            Func::cust("create_reference_table").arg(Expr::val(name))
        } else {
            let column = self.column.clone().ok_or(Error::IncompleteStatement {
                statement: "create_distributed_table",
                missing: "the distribution column: call .column(..)",
            })?;
            check_identifier("column", &column)?;
            let mut call = Func::cust("create_distributed_table")
                .arg(Expr::val(name))
                .arg(Expr::val(column));
            if let Some(other) = &self.colocate_with {
                check_table_ref("table", other)?;
                call = call.arg(Expr::val("hash")).arg(Expr::val(regclass(other)));
            }
            call
        };
        Ok(Query::select().expr(call).to_string(builder))
    }
}

/// A table's name as a `regclass` literal reads it: each identifier quoted, as sea-query quotes them.
fn regclass(table: &TableRef) -> String {
    let mut text = String::new();
    if let TableRef::Table(name, _) = table {
        if let Some(schema) = &name.0 {
            PostgresQueryBuilder.prepare_iden(&schema.1, &mut text);
            text.push('.');
        }
        PostgresQueryBuilder.prepare_iden(&name.1, &mut text);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_quoted_inside_the_literals() {
        let sql = Distribute::table(("my schema".to_owned(), r#"ev"en't"#.to_owned()))
            .column(r#"ten'a"nt"#)
            .build(PostgresQueryBuilder)
            .unwrap();
        assert_eq!(
            sql,
            r#"SELECT create_distributed_table(E'"my schema"."ev""en\'t"', E'ten\'a"nt')"#
        );
        assert!(matches!(
            Distribute::table("event").build(PostgresQueryBuilder),
            Err(Error::IncompleteStatement { .. })
        ));
        assert!(matches!(
            Distribute::table("event")
                .column("x".repeat(64))
                .build(PostgresQueryBuilder),
            Err(Error::IdentifierTooLong { .. })
        ));
    }
}
