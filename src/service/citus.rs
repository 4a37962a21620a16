//! Citus: whether this database is a Citus coordinator or worker, which managed tables are distributed, and
//! the true size and rows of a distributed partition (on the coordinator, its own relation is an empty shell;
//! the rows are in its shards, on the workers).
//!
//! What works on a distributed table and what does not (measured on Citus 13.2, three nodes):
//! `CREATE TABLE .. PARTITION OF` (both creation modes; Citus distributes the new partition, co-located),
//! DEFAULT partitions and moving rows out of them, `DETACH`/`ATTACH`, advisory locks and `lock_timeout`.
//! Refused by Citus, so refused here before any SQL with [`Error::UnsupportedOnCitus`]: `DETACH ..
//! CONCURRENTLY` and `SET TABLESPACE`.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;

use super::catalog::{query_all, query_one};
use crate::error::{Error, Result};

/// Why Citus refuses concurrent detaches.
pub(crate) const NO_CONCURRENT_DETACH: &str = "Citus refuses DETACH PARTITION .. CONCURRENTLY; keep concurrent_detach off (a plain DETACH under \
     lock_timeout is used)";

/// Why Citus refuses tablespaces.
pub(crate) const NO_TABLESPACE: &str = "Citus refuses ALTER TABLE .. SET TABLESPACE on distributed tables \
     (the shards live on the workers); register it without attach_tablespace and detach_tablespace";

/// Whether the Citus extension is installed in this database.
pub(crate) async fn present<C: ConnectionTrait>(conn: &C) -> Result<bool> {
    Ok(query_one(
        conn,
        "SELECT 1 FROM pg_extension WHERE extname = 'citus'",
        vec![],
    )
    .await?
    .is_some())
}

/// [`Error::CitusWorker`] when this database is a Citus worker: partition DDL is the coordinator's.
pub(crate) async fn refuse_worker<C: ConnectionTrait>(conn: &C) -> Result<()> {
    if !present(conn).await? {
        return Ok(());
    }
    let coordinator: bool = query_one(conn, "SELECT citus_is_coordinator()", vec![])
        .await?
        .map(|r| r.try_get_by_index(0))
        .transpose()?
        .unwrap_or(true);
    if coordinator {
        Ok(())
    } else {
        Err(Error::CitusWorker)
    }
}

/// The distribution column of `schema.table` when it is a distributed table (`None`: not distributed, or no
/// Citus).
pub(crate) async fn distribution_column<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<Option<String>> {
    if !present(conn).await? {
        return Ok(None);
    }
    let row = query_one(
        conn,
        "SELECT column_to_column_name(p.logicalrelid, p.partkey)::text FROM pg_dist_partition p \
         WHERE p.logicalrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND p.partmethod = 'h'",
        vec![schema.into(), table.into()],
    )
    .await?;
    Ok(row.map(|r| r.try_get_by_index(0)).transpose()?)
}

/// Refuses `what` on `schema.table` when it is distributed.
pub(crate) async fn refuse_if_distributed<C: ConnectionTrait>(
    conn: &C,
    (schema, table): (&str, &str),
    what: &'static str,
    why: &'static str,
) -> Result<()> {
    if distribution_column(conn, schema, table).await?.is_some() {
        return Err(Error::UnsupportedOnCitus {
            table: format!("{schema}.{table}"),
            what,
            why,
        });
    }
    Ok(())
}

/// For the distributed ones among the relations `oids` (tables with shards): their row estimate (the sum of
/// their shards' `reltuples`, `None` before every shard was analyzed) and size (the sum of their shards'),
/// read from the workers in one statement.
pub(crate) async fn shard_stats<C: ConnectionTrait>(
    conn: &C,
    oids: &[i64],
) -> Result<HashMap<i64, (Option<i64>, i64)>> {
    if oids.is_empty() || !present(conn).await? {
        return Ok(HashMap::new());
    }
    let rows = query_all(
        conn,
        "SELECT d.logicalrelid::oid::int8, \
                (SELECT CASE WHEN bool_and(r.success AND r.result::float8 >= 0) \
                             THEN sum(r.result::float8)::int8 END \
                 FROM run_command_on_shards(d.logicalrelid, \
                      $$SELECT reltuples FROM pg_class WHERE oid = '%s'::regclass$$) r), \
                citus_total_relation_size(d.logicalrelid)::int8 \
         FROM unnest($1::int8[]) AS u(oid) JOIN pg_dist_partition d ON d.logicalrelid::oid = u.oid::oid \
         WHERE d.partmethod = 'h' \
           AND (SELECT c.relkind FROM pg_class c WHERE c.oid = d.logicalrelid) = 'r'",
        vec![oids.to_vec().into()],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get_by_index(0)?,
                (r.try_get_by_index(1)?, r.try_get_by_index(2)?),
            ))
        })
        .collect()
}

/// Refuses tablespace settings on a distributed table, at registration.
pub(crate) async fn refuse_tablespaces<C: ConnectionTrait>(
    conn: &C,
    table: (&str, &str),
    attach: Option<&str>,
    detach: Option<&str>,
) -> Result<()> {
    if attach.is_none() && detach.is_none() {
        return Ok(());
    }
    refuse_if_distributed(conn, table, "a tablespace setting", NO_TABLESPACE).await
}

/// The total size of a table in bytes: its shards' on a distributed table.
pub(crate) async fn total_size<C: ConnectionTrait>(
    conn: &C,
    (schema, table): (&str, &str),
    distributed: bool,
) -> Result<i64> {
    let sql = if distributed {
        "SELECT citus_total_relation_size(to_regclass(format('%I.%I', $1::text, $2::text)))::int8"
    } else {
        "SELECT pg_total_relation_size(to_regclass(format('%I.%I', $1::text, $2::text)))::int8"
    };
    Ok(query_one(conn, sql, vec![schema.into(), table.into()])
        .await?
        .map(|r| r.try_get_by_index::<Option<i64>>(0))
        .transpose()?
        .flatten()
        .unwrap_or(0))
}

/// Whether the `columnar` access method is there (the `citus_columnar` extension, or Citus).
pub(crate) async fn has_columnar<C: ConnectionTrait>(conn: &C) -> Result<bool> {
    Ok(query_one(
        conn,
        "SELECT 1 FROM pg_am WHERE amname = 'columnar'",
        vec![],
    )
    .await?
    .is_some())
}

/// Why the table's partitions cannot be converted to `columnar`, if they cannot.
pub(crate) async fn check_columnar<C: ConnectionTrait>(
    conn: &C,
    ctx: &crate::model::table::Table,
) -> Result<(), crate::error::ConfigProblem> {
    use crate::error::ConfigProblem;
    let failed = |_| ConfigProblem::ColumnarUnavailable("the catalog could not be read");
    if !has_columnar(conn).await.map_err(failed)? {
        return Err(ConfigProblem::ColumnarUnavailable(
            "the columnar access method is not installed: CREATE EXTENSION citus_columnar (shipped with Citus)",
        ));
    }
    if ctx.sub_partition().is_some() {
        return Err(ConfigProblem::ColumnarUnavailable(
            "the table is sub-partitioned, and a partitioned partition has no access method of its own",
        ));
    }
    let distributed = distribution_column(conn, &ctx.config.schema_name, &ctx.config.table_name)
        .await
        .map_err(failed)?
        .is_some();
    let version: i32 = query_one(
        conn,
        "SELECT current_setting('server_version_num')::int",
        vec![],
    )
    .await
    .map_err(failed)?
    .map(|r| r.try_get_by_index(0))
    .transpose()
    .map_err(|_| ConfigProblem::ColumnarUnavailable("the server version could not be read"))?
    .unwrap_or(0);
    if !distributed && version < 150_000 {
        return Err(ConfigProblem::ColumnarUnavailable(
            "ALTER TABLE .. SET ACCESS METHOD needs PostgreSQL 15 or later",
        ));
    }
    Ok(())
}
