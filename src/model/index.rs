//! An index on a partitioned table built without blocking writes: the statements, and the names of the
//! partitions' indexes. Pure; `PartitionService::create_index` runs them.
//!
//! `CREATE INDEX` on a partitioned table builds every partition's index under a SHARE lock on each: writes
//! wait for the whole build. Instead:
//! 1. the index is created on the parent only (`ON ONLY`): invalid, nothing built, a moment's lock;
//! 2. each partition's index is built `CONCURRENTLY` (writes go on), then attached to the parent's
//!    (`ALTER INDEX .. ATTACH PARTITION`, a moment's lock under `lock_timeout`); a sub-partitioned partition
//!    gets an `ON ONLY` index of its own, built the same way from its leaves;
//! 3. once every partition's index is attached, PostgreSQL marks the parent's valid.
//!
//! A build killed half-way leaves an invalid partition index: the next run drops it (`CONCURRENTLY`) and
//! builds it again; indexes built and attached already are kept.

use sea_orm::sea_query::{Alias, IndexCreateStatement, IntoIden, PostgresQueryBuilder};

use crate::calendar::fit_name;
use crate::error::{StatementError, StatementResult};
use crate::model::convert::sql::Sql;
use crate::schema::check_name;

/// The name of `partition`'s index for the parent index `index`: `{partition}_{index}`, cut to 63 bytes with
/// a hash when longer (the same name every time).
///
/// ```
/// use sea_orm_pg_partitioning::model::index::partition_index_name;
///
/// assert_eq!(partition_index_name("event_2024_01", "event_payload"), "event_2024_01_event_payload");
/// let long = partition_index_name(&"p".repeat(40), &"i".repeat(40));
/// assert_eq!(long.len(), 63);
/// assert_eq!(long, partition_index_name(&"p".repeat(40), &"i".repeat(40)));
/// ```
pub fn partition_index_name(partition: &str, index: &str) -> String {
    fit_name(&format!("{partition}_{index}"), "")
}

/// `stmt` (its columns, uniqueness, method, `INCLUDE`, `WHERE`) named `name` on `schema.table`: `ON ONLY` for
/// a partitioned table, `CONCURRENTLY IF NOT EXISTS` for a leaf.
pub(crate) fn index_statement(
    stmt: &IndexCreateStatement,
    name: &str,
    (schema, table): (&str, &str),
    partitioned: bool,
) -> StatementResult<String> {
    check_name("index", name)?;
    if name.contains('"') {
        return Err(StatementError::QuoteInConstraintName {
            what: "index",
            name: name.to_owned(),
        });
    }
    let mut stmt = stmt.clone();
    stmt.name(name.to_owned()).table((
        Alias::new(schema).into_iden(),
        Alias::new(table).into_iden(),
    ));
    if !partitioned {
        stmt.concurrently().if_not_exists();
    }
    let sql = stmt.to_string(PostgresQueryBuilder);
    if !partitioned {
        return Ok(sql);
    }
    // sea-query writes `.. INDEX "name" ON "schema"."table" ..`; the name holds no quote (checked above).
    let on = format!("\"{name}\" ON ");
    match sql.split_once(&on) {
        Some((head, tail)) => Ok(format!("{head}{on}ONLY {tail}")),
        None => Err(StatementError::IncompleteStatement {
            statement: "CREATE INDEX .. ON ONLY",
            missing: "the index name and its table, as sea-query writes them",
        }),
    }
}

/// `ALTER INDEX parent ATTACH PARTITION child`.
pub(crate) fn attach_index(schema: &str, parent: &str, child: &str) -> String {
    Sql::new("ALTER INDEX ")
        .table((schema, parent))
        .push(" ATTACH PARTITION ")
        .table((schema, child))
        .build()
}

/// `DROP INDEX CONCURRENTLY IF EXISTS ..` (a leaf's invalid index) or `DROP INDEX IF EXISTS ..`.
pub(crate) fn drop_index(schema: &str, index: &str, concurrently: bool) -> String {
    Sql::new(if concurrently {
        "DROP INDEX CONCURRENTLY IF EXISTS "
    } else {
        "DROP INDEX IF EXISTS "
    })
    .table((schema, index))
    .build()
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{ConditionalStatement as _, Expr, ExprTrait as _, Index};

    use super::*;

    #[test]
    fn the_parent_gets_on_only_and_each_leaf_a_concurrent_build() {
        let stmt = Index::create()
            .col("payload")
            .unique()
            .and_where(Expr::col("payload").is_not_null())
            .to_owned();
        assert_eq!(
            index_statement(&stmt, "ev_payload", ("app", "ev"), true).unwrap(),
            r#"CREATE UNIQUE INDEX "ev_payload" ON ONLY "app"."ev" ("payload") WHERE "payload" IS NOT NULL"#
        );
        assert_eq!(
            index_statement(&stmt, "ev_1_ev_payload", ("app", "ev_1"), false).unwrap(),
            r#"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "ev_1_ev_payload" ON "app"."ev_1" ("payload") WHERE "payload" IS NOT NULL"#
        );
        // A name that would read as the start of ` ON `: still exactly one ONLY, after the name.
        assert_eq!(
            index_statement(&stmt, "x ON y", ("s", "t"), true).unwrap(),
            r#"CREATE UNIQUE INDEX "x ON y" ON ONLY "s"."t" ("payload") WHERE "payload" IS NOT NULL"#
        );
        assert!(index_statement(&stmt, "a\"b", ("s", "t"), true).is_err());
        assert!(index_statement(&stmt, "", ("s", "t"), true).is_err());
        assert_eq!(
            attach_index("s", "ev_payload", "ev_1_ev_payload"),
            r#"ALTER INDEX "s"."ev_payload" ATTACH PARTITION "s"."ev_1_ev_payload""#
        );
        assert_eq!(
            drop_index("s", "i", true),
            r#"DROP INDEX CONCURRENTLY IF EXISTS "s"."i""#
        );
    }
}
