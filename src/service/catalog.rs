//! Catalog reads. Every query is a constant text whose inputs are bound parameters ($1, $2, ...): names are
//! compared with `pg_class.relname` and friends as values, never spliced into SQL.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};

use crate::encoding::TimeEncoding;
use crate::entity::column;
use crate::error::Result;
pub(crate) use crate::model::assess::{CatalogRelation, Placement};

/// Namespace of the crate's advisory locks (`'sopp'`), the first key of `pg_advisory_xact_lock(int, int)`.
pub(crate) const LOCK_CLASS: i32 = 0x736f_7070;

/// The partition key of the table `pg_class c`, written once for every query that needs it: joins
/// `pg_partitioned_table p` and the key's single plain column `pg_attribute a` (no row for a key of several
/// columns or an expression), then selects what is asked: `key_sql!(joins)`, `key_sql!(type)` (the column's
/// type, e.g. `timestamp with time zone`), `key_sql!(column)` (its name) or `key_sql!(collation)` (the key's
/// collation, e.g. `C`; `default` for the database's); NULL unless the key is one plain column.
macro_rules! key_sql {
    (joins) => {
        "LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid \
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0] AND a.attnum > 0 "
    };
    (type) => {
        "CASE WHEN p.partnatts = 1 THEN a.atttypid::regtype::text END"
    };
    (column) => {
        "CASE WHEN p.partnatts = 1 THEN a.attname::text END"
    };
    (collation) => {
        "CASE WHEN p.partnatts = 1 THEN (SELECT co.collname::text FROM pg_collation co \
                                         WHERE co.oid = p.partcollation[0]) END"
    };
}
pub(crate) use key_sql;

/// A transaction for reading the catalog and the log in several queries: one view of both (`REPEATABLE
/// READ`), each query planned for its values (a statement prepared once is otherwise planned generically
/// after its fifth run, and over 100 000 partitions such plans cost a second more: they assume the arrays of
/// names small), and no JIT compilation (which these queries' estimates can ask for, at 0.4 s and no gain).
pub(crate) async fn read_snapshot(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction> {
    use sea_orm::TransactionTrait as _;
    let txn = db
        .begin_with_config(Some(sea_orm::IsolationLevel::RepeatableRead), None)
        .await?;
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
        .await?;
    Ok(txn)
}

/// Every row of a constant query with bound values.
pub(crate) async fn query_all<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>> {
    Ok(conn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?)
}

/// The first row of a constant query with bound values.
pub(crate) async fn query_one<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<QueryResult>> {
    Ok(conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?)
}

/// The partitioned indexes of `tables` that are not valid, each with the partitions that have no index
/// attached to it: one query.
pub(crate) async fn incomplete_indexes<C: ConnectionTrait>(
    conn: &C,
    tables: &[(String, String)],
) -> Result<Vec<((String, String), String, Vec<String>)>> {
    let (schemas, names): (Vec<String>, Vec<String>) = tables.iter().cloned().unzip();
    let rows = query_all(
        conn,
        "SELECT n.nspname::text, t.relname::text, ic.relname::text, \
                ARRAY(SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                      WHERE i.inhparent = t.oid AND NOT EXISTS ( \
                          SELECT 1 FROM pg_inherits h JOIN pg_index y ON y.indexrelid = h.inhrelid \
                          WHERE h.inhparent = ic.oid AND y.indrelid = c.oid) \
                      ORDER BY 1) \
         FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE NOT x.indisvalid AND t.relkind = 'p' \
           AND (n.nspname, t.relname) IN (SELECT * FROM unnest($1::text[], $2::text[])) \
         ORDER BY 1, 2, 3",
        vec![schemas.into(), names.into()],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
            ))
        })
        .collect()
}

/// The foreign keys other tables (or the table itself) hold on each of the partitioned `tables`: the
/// top-level constraints, not their clones on partitions. One query; every table is in the map, with no keys
/// when none refers to it.
pub(crate) async fn referencing_keys<C: ConnectionTrait>(
    conn: &C,
    tables: &[(String, String)],
) -> Result<std::collections::HashMap<(String, String), Vec<crate::model::recipe::ForeignKeyTo>>> {
    let (schemas, names): (Vec<String>, Vec<String>) = tables.iter().cloned().unzip();
    let rows = query_all(
        conn,
        "SELECT t.s, t.n, con.conname::text, rn.nspname::text, r.relname::text, \
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o) \
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o), \
                ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o) \
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) \
         FROM unnest($1::text[], $2::text[]) AS t(s, n) \
         JOIN pg_constraint con ON con.confrelid = to_regclass(format('%I.%I', t.s, t.n)) \
         JOIN pg_class r ON r.oid = con.conrelid \
         JOIN pg_namespace rn ON rn.oid = r.relnamespace \
         WHERE con.contype = 'f' AND con.conparentid = 0 \
         ORDER BY 1, 2, 3",
        vec![schemas.into(), names.into()],
    )
    .await?;
    let mut out: std::collections::HashMap<_, Vec<_>> =
        tables.iter().map(|t| (t.clone(), Vec::new())).collect();
    for r in &rows {
        let table: (String, String) = (r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        out.entry(table)
            .or_default()
            .push(crate::model::recipe::ForeignKeyTo {
                constraint: r.try_get_by_index(2)?,
                table: (r.try_get_by_index(3)?, r.try_get_by_index(4)?),
                columns: r.try_get_by_index(5)?,
                referenced: r.try_get_by_index(6)?,
            });
    }
    Ok(out)
}

/// Serialises every change to one partitioned table, until the transaction ends (so it cannot be lost at an
/// intermediate commit).
pub(crate) async fn lock_table<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<()> {
    let key = format!("{schema}.{table}");
    query_all(
        conn,
        "SELECT pg_advisory_xact_lock($1, hashtext($2))::text",
        vec![LOCK_CLASS.into(), key.into()],
    )
    .await?;
    Ok(())
}

/// `current_schema()`: where an unqualified name resolves to.
pub(crate) async fn current_schema<C: ConnectionTrait>(conn: &C) -> Result<String> {
    let row = query_one(conn, "SELECT current_schema()::text", vec![]).await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten())
        .unwrap_or_else(|| "public".to_owned()))
}

/// Whether every one of `tables` resolves through the connection's `search_path`, and that `search_path`.
pub(crate) async fn tables_found<C: ConnectionTrait>(
    conn: &C,
    tables: &[&str],
) -> Result<(bool, String, i32, String)> {
    let names: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
    let row = query_one(
        conn,
        "SELECT bool_and(to_regclass(quote_ident(t)) IS NOT NULL), current_setting('search_path'), \
                current_setting('server_version_num')::int, current_setting('server_version') \
         FROM unnest($1::text[]) t",
        vec![names.into()],
    )
    .await?;
    let version_num = row
        .as_ref()
        .and_then(|r| r.try_get_by_index::<Option<i32>>(2).ok().flatten())
        .unwrap_or(0);
    let version = row
        .as_ref()
        .and_then(|r| r.try_get_by_index::<Option<String>>(3).ok().flatten())
        .unwrap_or_default();
    let found = row
        .as_ref()
        .and_then(|r| r.try_get_by_index::<Option<bool>>(0).ok().flatten())
        .unwrap_or(false);
    let search_path = row
        .and_then(|r| r.try_get_by_index::<Option<String>>(1).ok().flatten())
        .unwrap_or_default();
    Ok((found, search_path, version_num, version))
}

/// What registration needs to know about a table.
#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    /// `r` range, `l` list, `h` hash; `None` when not partitioned.
    pub strategy: Option<String>,
    /// `pg_get_partkeydef`, e.g. `RANGE (created_at)`.
    pub key_definition: Option<String>,
    /// The single plain key column, if the key is exactly one column.
    pub key_column: Option<String>,
    /// Its type, e.g. `timestamp with time zone`.
    pub key_type: Option<String>,
    /// The key's collation (`C`, `default`, ...), for a collatable type.
    pub key_collation: Option<String>,
}

/// The table's partitioning, or `None` when no ordinary or partitioned table has that name.
pub(crate) async fn table_info<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<Option<TableInfo>> {
    const SQL: &str = concat!(
        "SELECT p.partstrat::text, pg_get_partkeydef(c.oid), ",
        key_sql!(column),
        ", ",
        key_sql!(type),
        ", ",
        key_sql!(collation),
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ",
        key_sql!(joins),
        "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')"
    );
    let Some(row) = query_one(conn, SQL, vec![schema.into(), table.into()]).await? else {
        return Ok(None);
    };
    Ok(Some(TableInfo {
        strategy: row.try_get_by_index(0)?,
        key_definition: row.try_get_by_index(1)?,
        key_column: row.try_get_by_index(2)?,
        key_type: row.try_get_by_index(3)?,
        key_collation: row.try_get_by_index(4)?,
    }))
}

/// The name of the table's DEFAULT partition, if it has one (in the table's schema).
pub(crate) async fn default_partition<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<Option<String>> {
    const SQL: &str = "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                       JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace \
                       JOIN pg_namespace cn ON cn.oid = c.relnamespace \
                       WHERE n.nspname = $1 AND p.relname = $2 AND cn.nspname = $1 \
                         AND pg_get_expr(c.relpartbound, 0) = 'DEFAULT'";
    Ok(
        match query_one(conn, SQL, vec![schema.into(), table.into()]).await? {
            Some(row) => Some(row.try_get_by_index(0)?),
            None => None,
        },
    )
}

/// Whether a relation (of any kind) of that name exists in the schema.
pub(crate) async fn relation_exists<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
) -> Result<bool> {
    const SQL: &str = "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                       WHERE n.nspname = $1 AND c.relname = $2";
    Ok(query_one(conn, SQL, vec![schema.into(), name.into()])
        .await?
        .is_some())
}

/// Whether the tablespace exists.
pub(crate) async fn tablespace_exists<C: ConnectionTrait>(
    conn: &C,
    tablespace: &str,
) -> Result<bool> {
    const SQL: &str = "SELECT 1 FROM pg_tablespace WHERE spcname = $1";
    Ok(query_one(conn, SQL, vec![tablespace.into()])
        .await?
        .is_some())
}

/// The tablespace of the table a `sopp_partition_log` row names, as an expression over that row's
/// `schema_name` and `partition_name` (the database default by its name, as [`placements`] gives it; NULL for
/// a table without storage, a sub-partitioned partition). The names are the row's own values, quoted by the
/// server's `format('%I.%I')`.
pub(crate) const PLACEMENT_OF_LOG_ROW: &str = "(SELECT s.spcname::text FROM pg_class c \
    JOIN pg_database d ON d.datname = current_database() \
    JOIN pg_tablespace s ON s.oid = COALESCE(NULLIF(c.reltablespace, 0), d.dattablespace) \
    WHERE c.oid = to_regclass(format('%I.%I', schema_name, partition_name)) AND c.relkind <> 'p')";

/// The table's own placement and that of each of its indexes, in one query.
pub(crate) async fn placements<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<(Option<Placement>, Vec<Placement>)> {
    const SQL: &str = "\
        WITH t AS (SELECT c.oid, c.relname, c.reltablespace FROM pg_class c \
                   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2), \
             d AS (SELECT dattablespace FROM pg_database WHERE datname = current_database()) \
        SELECT false, t.relname::text, s.spcname::text FROM t, d \
        JOIN pg_tablespace s ON true WHERE s.oid = COALESCE(NULLIF(t.reltablespace, 0), d.dattablespace) \
        UNION ALL \
        SELECT true, ci.relname::text, s.spcname::text FROM t \
        JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ci ON ci.oid = i.indexrelid, d \
        JOIN pg_tablespace s ON true WHERE s.oid = COALESCE(NULLIF(ci.reltablespace, 0), d.dattablespace)";
    let mut table_placement = None;
    let mut indexes = Vec::new();
    for row in query_all(conn, SQL, vec![schema.into(), table.into()]).await? {
        let is_index: bool = row.try_get_by_index(0)?;
        let placement = Placement {
            name: row.try_get_by_index(1)?,
            tablespace: row.try_get_by_index(2)?,
        };
        if is_index {
            indexes.push(placement);
        } else {
            table_placement = Some(placement);
        }
    }
    indexes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((table_placement, indexes))
}

/// The table's columns that an `INSERT` can write (not dropped, not generated), in order.
pub(crate) async fn columns<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<Vec<String>> {
    const SQL: &str = "SELECT a.attname::text FROM pg_attribute a \
                       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                       WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
                       AND a.attgenerated = '' ORDER BY a.attnum";
    query_all(conn, SQL, vec![schema.into(), table.into()])
        .await?
        .iter()
        .map(|row| Ok(row.try_get_by_index::<String>(0)?))
        .collect()
}

/// The planner's row estimate of a table; `None` while unknown (never vacuumed or analyzed).
pub(crate) async fn estimated_rows<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<Option<i64>> {
    const SQL: &str = "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                       WHERE n.nspname = $1 AND c.relname = $2";
    let row = query_one(conn, SQL, vec![schema.into(), table.into()]).await?;
    Ok(row
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .filter(|n| *n >= 0))
}

/// For each `(schema, table)` that exists: the type of its single partition key column (`None` for other
/// keys). One query for any number of tables.
pub(crate) async fn key_types<C: ConnectionTrait>(
    conn: &C,
    tables: &[(String, String)],
) -> Result<std::collections::HashMap<(String, String), Option<String>>> {
    const SQL: &str = concat!(
        "SELECT t.s, t.n, ",
        key_sql!(type),
        " FROM unnest($1::text[], $2::text[]) AS t(s, n) \
          JOIN pg_namespace ns ON ns.nspname = t.s \
          JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = t.n ",
        key_sql!(joins)
    );
    let schemas: Vec<String> = tables.iter().map(|(s, _)| s.clone()).collect();
    let names: Vec<String> = tables.iter().map(|(_, n)| n.clone()).collect();
    let mut types = std::collections::HashMap::new();
    for row in query_all(conn, SQL, vec![schemas.into(), names.into()]).await? {
        let schema: String = row.try_get_by_index(0)?;
        let name: String = row.try_get_by_index(1)?;
        types.insert((schema, name), row.try_get_by_index::<Option<String>>(2)?);
    }
    Ok(types)
}

/// Whether a partition is attached to its parent: `None` not attached, `Some(false)` attached,
/// `Some(true)` pending a concurrent detach. Parameters: partition schema, partition, parent schema, parent.
pub(crate) const DETACH_STATE: &str = "\
    SELECT i.inhdetachpending FROM pg_inherits i \
    JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
    JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace \
    WHERE n.nspname = $1 AND c.relname = $2 AND pn.nspname = $3 AND p.relname = $4";

/// See [`DETACH_STATE`].
pub(crate) async fn detach_state<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    partition: &str,
    parent_schema: &str,
    parent: &str,
) -> Result<Option<bool>> {
    let row = query_one(
        conn,
        DETACH_STATE,
        vec![
            schema.into(),
            partition.into(),
            parent_schema.into(),
            parent.into(),
        ],
    )
    .await?;
    Ok(row.map(|r| r.try_get_by_index::<bool>(0)).transpose()?)
}

/// A managed table for [`relations`]: schema, name, and the configured time zone.
pub(crate) struct ManagedTable<'a> {
    pub schema: &'a str,
    pub name: &'a str,
    pub time_zone: &'a str,
    /// How its key encodes time, when PostgreSQL cannot convert its bounds to instants itself (epoch
    /// integers, UUIDs, ULIDs, snowflakes): their range bounds are decoded with it.
    pub encoding: Option<TimeEncoding>,
}

impl<'a> ManagedTable<'a> {
    /// The table a configuration row manages.
    pub fn of(config: &'a crate::entity::partition_config::Model) -> Self {
        let encoding = config
            .key_encoding
            .as_deref()
            .and_then(|name| name.parse::<TimeEncoding>().ok())
            .filter(|e| !e.is_temporal());
        Self {
            schema: &config.schema_name,
            name: &config.table_name,
            time_zone: &config.time_zone,
            encoding,
        }
    }
}

/// The query of [`relations`] and [`unlogged_partitions`], given the relations to read as the CTE `rel`
/// (columns as `child`'s). Parameters: the managed tables' schemas, names and time zones, then the schemas
/// and names of relations the log names.
macro_rules! relations_sql {
    ($rel:literal) => {
        concat!(
    r#"
    WITH cfg AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(s, n, tz)),
    parent AS (
        SELECT c.oid, cfg.tz, ns.nspname, c.relname, "#,
    key_sql!(type),
    r#" AS kt
        FROM cfg
        JOIN pg_namespace ns ON ns.nspname = cfg.s
        JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = cfg.n "#,
    key_sql!(joins),
    r#"),
    -- The partitions of the managed tables, read once: their catalog row, with their parent's name, key
    -- type and zone carried along (joining the parents again per row would scan them for every partition).
    child AS (
        SELECT c.oid, ns.nspname AS s, c.relname AS n, c.relkind, c.relpartbound, c.reltuples, c.relpages,
               c.reltoastrelid, c.reltablespace,
               parent.kt, parent.tz, parent.nspname AS ps, parent.relname AS pn, i.inhdetachpending AS dp
        FROM parent JOIN pg_inherits i ON i.inhparent = parent.oid
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace),
    rel AS ("#,
    $rel,
    r#")
    SELECT c.oid::bigint, c.s::text, c.n::text, c.relkind::text,
           c.ps::text, c.pn::text, COALESCE(c.dp, false),
           b.e,
           COALESCE(ts.spcname, (SELECT dts.spcname FROM pg_database db
                                 JOIN pg_tablespace dts ON dts.oid = db.dattablespace
                                 WHERE db.datname = current_database()))::text,
           CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END,
           ((c.relpages::bigint + COALESCE(tt.relpages, 0) + COALESCE(isz.pages, 0))
            * current_setting('block_size')::bigint)::bigint,
           CASE WHEN c.kt = 'timestamp with time zone' THEN q.lo::timestamptz
                ELSE q.lo::timestamp AT TIME ZONE c.tz END,
           CASE WHEN c.kt = 'timestamp with time zone' THEN q.hi::timestamptz
                ELSE q.hi::timestamp AT TIME ZONE c.tz END,
           ir.lo::bigint, ir.hi::bigint,
           h.m[1]::int, h.m[2]::int,
           CASE WHEN b.e = 'DEFAULT' AND c.relkind IN ('r', 'p')
                THEN (xpath('/row/e/text()', query_to_xml(
                          format('SELECT EXISTS (SELECT 1 FROM %I.%I) AS e', c.s, c.n),
                          false, true, '')))[1]::text = 'true' END,
           r.lo, r.hi
    FROM rel c
    LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
    LEFT JOIN pg_class tt ON tt.oid = c.reltoastrelid
    LEFT JOIN (SELECT x.indrelid, sum(ix.relpages) AS pages FROM pg_index x
               JOIN pg_class ix ON ix.oid = x.indexrelid GROUP BY x.indrelid) isz ON isz.indrelid = c.oid
    -- Each expression once per row: OFFSET 0 keeps PostgreSQL from copying it into every use.
    -- Bounds hold constants only: without a relation (0), PostgreSQL prints them without opening it, which
    -- over 100 000 partitions costs a second, more on a connection that has not opened them yet.
    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, 0) AS e OFFSET 0) b
    -- The two sides of a range bound, cut at its ` TO ` (a capturing regular expression costs several
    -- times as much per partition).
    LEFT JOIN LATERAL (SELECT substr(b.e, 18, strpos(b.e, ') TO (') - 18) AS lo,
                              substr(b.e, strpos(b.e, ') TO (') + 6,
                                     length(b.e) - strpos(b.e, ') TO (') - 6) AS hi
                       WHERE b.e LIKE 'FOR VALUES FROM (%) TO (%)' OFFSET 0) r ON true
    -- Instants print as one quoted literal each (without a cast), or as MINVALUE or MAXVALUE.
    LEFT JOIN LATERAL (SELECT btrim(r.lo, '''') AS lo, btrim(r.hi, '''') AS hi
                       WHERE c.kt IN ('timestamp with time zone', 'timestamp without time zone', 'date')
                         AND r.lo LIKE '''%''' AND r.hi LIKE '''%''' OFFSET 0) q ON true
    -- Integers print bare, or quoted (bigint, negative numbers), possibly with a cast.
    LEFT JOIN LATERAL (SELECT (regexp_match(r.lo, '^''?(-?[0-9]+)''?(::[a-z ]+)?$'))[1] AS lo,
                              (regexp_match(r.hi, '^''?(-?[0-9]+)''?(::[a-z ]+)?$'))[1] AS hi
                       WHERE c.kt IN ('bigint', 'integer', 'smallint') OFFSET 0) ir ON true
    LEFT JOIN LATERAL (SELECT regexp_match(b.e,
                                           '^FOR VALUES WITH \(modulus (\d+), remainder (\d+)\)$') AS m
                       WHERE b.e LIKE 'FOR VALUES WITH (%' OFFSET 0) h ON true"#

        )
    };
}

/// Every partition of the managed tables.
const PARTITIONS_SQL: &str = relations_sql!("SELECT * FROM child");

/// The partitions of the managed tables that the log does not name. An anti-join, which PostgreSQL hashes
/// however many names there are (`NOT IN` over a list larger than `work_mem` scanned the list once per
/// partition: minutes over 100 000).
const UNLOGGED_SQL: &str = relations_sql!(
    "SELECT * FROM child WHERE NOT EXISTS (SELECT FROM unnest($4::text[], $5::text[]) AS l(s, n) \
                                           WHERE l.s = child.s AND l.n = child.n)"
);

/// The relations the log names, wherever they are (for those that are no partitions of the managed
/// tables: detached, or attached elsewhere), with their parent if they have one.
const NAMED_SQL: &str = relations_sql!(
    "SELECT c.oid, ns.nspname AS s, c.relname AS n, c.relkind, c.relpartbound, c.reltuples, c.relpages, \
            c.reltoastrelid, c.reltablespace, NULL::text AS kt, NULL::text AS tz, pns.nspname AS ps, \
            pc.relname AS pn, i.inhdetachpending AS dp \
     FROM (SELECT DISTINCT * FROM unnest($4::text[], $5::text[])) AS l(s, n) \
     JOIN pg_namespace ns ON ns.nspname = l.s \
     JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = l.n \
     LEFT JOIN pg_inherits i ON i.inhrelid = c.oid \
     LEFT JOIN pg_class pc ON pc.oid = i.inhparent \
     LEFT JOIN pg_namespace pns ON pns.oid = pc.relnamespace"
);

/// For a partition of a table whose key encodes time (see [`ManagedTable::encoding`]): its range bound as
/// instants, decoded from the values PostgreSQL printed, in place of the integer range. A bound that is not
/// an encoded boundary stays as it was (an integer range, or none), which status reports as a misfit.
fn decode_edges(
    rel: Option<&mut CatalogRelation>,
    encoded: &std::collections::HashMap<(&str, &str), TimeEncoding>,
    (from, to): (Option<String>, Option<String>),
) {
    let Some(rel) = rel else { return };
    let Some(&encoding) = rel
        .parent
        .as_ref()
        .and_then(|(s, n)| encoded.get(&(s.as_str(), n.as_str())))
    else {
        return;
    };
    // Integers print bare or quoted (a bigint, a numeric), UUIDs and ULIDs quoted.
    let decode = |edge: &str| {
        let unquoted = edge.trim_matches('\'');
        match unquoted.parse::<i64>() {
            Ok(value) => encoding.decode_int(value),
            Err(_) => encoding.decode_text(unquoted),
        }
    };
    if let (Some(from), Some(to)) = (from, to)
        && let (Some(start), Some(end)) = (decode(&from), decode(&to))
    {
        rel.time_range = Some((start, end));
        rel.int_range = None;
    }
}

/// Every partition of the given tables and every relation the log names, in one query whatever their
/// number, and a second one for the relations the log names that are not among those partitions (detached,
/// or attached elsewhere), when there are some. The rows of each DEFAULT partition are checked with
/// `query_to_xml`, which runs an `EXISTS` query whose identifiers PostgreSQL's `format('%I')` quotes. Sorted
/// by schema and name (bytewise).
pub(crate) async fn relations<C: ConnectionTrait + sea_orm::StreamTrait>(
    conn: &C,
    tables: &[ManagedTable<'_>],
    logged: &[(String, String)],
) -> Result<Vec<CatalogRelation>> {
    let mut out = read_relations(conn, PARTITIONS_SQL, tables, &[]).await?;
    // The log's names compared here rather than by the server, which would look up each of them.
    let found: std::collections::HashSet<(&str, &str)> = out
        .iter()
        .map(|r| (r.schema.as_str(), r.name.as_str()))
        .collect();
    let rest: Vec<(String, String)> = logged
        .iter()
        .filter(|(schema, name)| !found.contains(&(schema.as_str(), name.as_str())))
        .cloned()
        .collect();
    drop(found);
    if !rest.is_empty() {
        out.extend(read_relations(conn, NAMED_SQL, tables, &rest).await?);
    }
    out.sort_unstable_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(out)
}

/// The partitions of the given tables that are not among `logged`, in one query: the bounds, the costly
/// part of [`relations`] (PostgreSQL prints each with `pg_get_expr`), are read for those only, which
/// usually means none.
pub(crate) async fn unlogged_partitions<C: ConnectionTrait + sea_orm::StreamTrait>(
    conn: &C,
    tables: &[ManagedTable<'_>],
    logged: &[(String, String)],
) -> Result<Vec<CatalogRelation>> {
    let mut out = read_relations(conn, UNLOGGED_SQL, tables, logged).await?;
    out.sort_unstable_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(out)
}

/// The rows of `sql`, one of the [`relations_sql`] queries.
async fn read_relations<C: ConnectionTrait + sea_orm::StreamTrait>(
    conn: &C,
    sql: &str,
    tables: &[ManagedTable<'_>],
    logged: &[(String, String)],
) -> Result<Vec<CatalogRelation>> {
    let values = vec![
        tables
            .iter()
            .map(|t| t.schema.to_owned())
            .collect::<Vec<_>>()
            .into(),
        tables
            .iter()
            .map(|t| t.name.to_owned())
            .collect::<Vec<_>>()
            .into(),
        tables
            .iter()
            .map(|t| t.time_zone.to_owned())
            .collect::<Vec<_>>()
            .into(),
        logged
            .iter()
            .map(|l| l.0.clone())
            .collect::<Vec<_>>()
            .into(),
        logged
            .iter()
            .map(|l| l.1.clone())
            .collect::<Vec<_>>()
            .into(),
    ];
    let encoded: std::collections::HashMap<(&str, &str), TimeEncoding> = tables
        .iter()
        .filter_map(|t| Some(((t.schema, t.name), t.encoding?)))
        .collect();
    let mut out = Vec::new();
    // Row by row: over many thousands of partitions, the rows and what they become would otherwise be held
    // at once.
    use futures_util::TryStreamExt as _;
    let rows = conn
        .stream_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let mut rows = std::pin::pin!(rows);
    while let Some(row) = rows.try_next().await? {
        let parent_schema: Option<String> = column(&row, 4)?;
        let parent_name: Option<String> = column(&row, 5)?;
        let range = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| a.zip(b);
        out.push(CatalogRelation {
            oid: column(&row, 0)?,
            schema: column(&row, 1)?,
            name: column(&row, 2)?,
            relkind: column(&row, 3)?,
            parent: parent_schema.zip(parent_name),
            detach_pending: column(&row, 6)?,
            bound: column(&row, 7)?,
            tablespace: column(&row, 8)?,
            estimated_rows: column(&row, 9)?,
            size_bytes: column(&row, 10)?,
            time_range: range(column(&row, 11)?, column(&row, 12)?),
            int_range: column::<Option<i64>>(&row, 13)?.zip(column::<Option<i64>>(&row, 14)?),
            hash: column::<Option<i32>>(&row, 15)?.zip(column::<Option<i32>>(&row, 16)?),
            has_rows: column(&row, 17)?,
        });
        let edges: (Option<String>, Option<String>) = (column(&row, 18)?, column(&row, 19)?);
        decode_edges(out.last_mut(), &encoded, edges);
    }
    // Sorted by the callers rather than by the server, which over 100 000 wide rows sorts on disk.
    Ok(out)
}

/// The indexes of the given relations with their tablespaces, by relation oid; one query.
pub(crate) async fn index_placements<C: ConnectionTrait>(
    conn: &C,
    oids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<Placement>>> {
    const SQL: &str = "\
        WITH d AS (SELECT dattablespace FROM pg_database WHERE datname = current_database()) \
        SELECT i.indrelid::bigint, ci.relname::text, ts.spcname::text \
        FROM unnest($1::bigint[]) AS u(oid) JOIN pg_index i ON i.indrelid = u.oid::oid \
        JOIN pg_class ci ON ci.oid = i.indexrelid CROSS JOIN d \
        JOIN pg_tablespace ts ON ts.oid = COALESCE(NULLIF(ci.reltablespace, 0), d.dattablespace) \
        ORDER BY ci.relname";
    let mut out: std::collections::HashMap<i64, Vec<Placement>> = Default::default();
    for row in query_all(conn, SQL, vec![oids.to_vec().into()]).await? {
        out.entry(row.try_get_by_index(0)?)
            .or_default()
            .push(Placement {
                name: row.try_get_by_index(1)?,
                tablespace: row.try_get_by_index(2)?,
            });
    }
    Ok(out)
}

/// The query of [`relation_props`] and [`each_relation_props`], given the CTE `o` of the relations to read
/// (by name or by oid): the owner, the privileges of other roles, storage options, replica identity, unique
/// indexes and which index of the parent each index is attached to, of those that exist. The indexes are
/// aggregated in one pass joined by relation (looked up per relation, PostgreSQL scanned `pg_index` once per
/// partition, and the estimate of that had it compile the query, 0.4 s over 100 000 partitions).
macro_rules! relation_props_sql {
    ($relations:literal) => {
        concat!(
            "WITH o AS (",
            $relations,
            "), \
             ix AS ( \
                 SELECT x.indrelid, \
                        (array_agg(i.relname::text ORDER BY i.relname) FILTER (WHERE x.indisreplident))[1] AS identity, \
                        array_agg(i.relname::text ORDER BY i.relname) FILTER (WHERE x.indisunique) AS uniques, \
                        array_agg(i.relname::text ORDER BY i.relname) FILTER (WHERE pi.oid IS NOT NULL) AS children, \
                        array_agg(pi.relname::text ORDER BY i.relname) FILTER (WHERE pi.oid IS NOT NULL) AS parents \
                 FROM o JOIN pg_index x ON x.indrelid = o.oid JOIN pg_class i ON i.oid = x.indexrelid \
                 LEFT JOIN pg_inherits h ON h.inhrelid = i.oid LEFT JOIN pg_class pi ON pi.oid = h.inhparent \
                 GROUP BY x.indrelid) \
             SELECT n.nspname::text, c.relname::text, c.relkind = 'p', pg_get_userbyid(c.relowner)::text, \
                    COALESCE(c.reloptions::text[], '{}') || COALESCE(toast.options, '{}'), c.relreplident::text, \
                    ix.identity, COALESCE(ix.uniques, '{}'), COALESCE(ix.children, '{}'), \
                    COALESCE(ix.parents, '{}'), COALESCE(acl.grantees, '{}'), COALESCE(acl.privileges, '{}'), \
                    COALESCE(acl.grantable, '{}') \
             FROM o JOIN pg_class c ON c.oid = o.oid JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN ix ON ix.indrelid = c.oid \
             LEFT JOIN LATERAL (SELECT array_agg('toast.' || opt) AS options FROM pg_class t, unnest(t.reloptions) opt \
                                WHERE t.oid = c.reltoastrelid) toast ON true \
             LEFT JOIN LATERAL ( \
                 SELECT array_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END \
                                  ORDER BY a.grantee, a.privilege_type) AS grantees, \
                        array_agg(a.privilege_type::text ORDER BY a.grantee, a.privilege_type) AS privileges, \
                        array_agg(a.is_grantable ORDER BY a.grantee, a.privilege_type) AS grantable \
                 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner) acl ON true \
             WHERE c.relkind IN ('r', 'p')"
        )
    };
}

/// [`relation_props_sql`] of the relations named by $1 (schemas) and $2 (names).
const RELATION_PROPS_SQL: &str = relation_props_sql!(
    "SELECT DISTINCT c.oid FROM unnest($1::text[], $2::text[]) AS u(s, n) \
     JOIN pg_namespace ns ON ns.nspname = u.s JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = u.n"
);

/// [`relation_props_sql`] of the relations whose oids are $1.
/// Each oid once (the callers' are unique): without `DISTINCT`, PostgreSQL knows how many there are, and
/// over many thousands joins them to the catalog by hashing it rather than looking each up.
const RELATION_PROPS_BY_OID_SQL: &str =
    relation_props_sql!("SELECT unnest($1::bigint[])::oid AS oid");

/// The properties of `tables` (those that exist): owner, the privileges of other roles, storage options,
/// replica identity, unique indexes and which index of the parent each index is attached to. One query.
pub(crate) async fn relation_props<C: ConnectionTrait>(
    conn: &C,
    tables: &[(String, String)],
) -> Result<Vec<crate::model::properties::RelationProps>> {
    let (schemas, names): (Vec<String>, Vec<String>) = tables.iter().cloned().unzip();
    query_all(conn, RELATION_PROPS_SQL, vec![schemas.into(), names.into()])
        .await?
        .iter()
        .map(props_of_row)
        .collect()
}

/// [`relation_props`] of the relations whose oids are `oids`, handed to `each` one at a time as they
/// arrive: over many thousands of partitions, they are never all held at once.
pub(crate) async fn each_relation_props<C, F>(conn: &C, oids: Vec<i64>, mut each: F) -> Result<()>
where
    C: ConnectionTrait + sea_orm::StreamTrait,
    F: FnMut(crate::model::properties::RelationProps),
{
    use futures_util::TryStreamExt as _;
    let rows = conn
        .stream_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            RELATION_PROPS_BY_OID_SQL,
            vec![oids.into()],
        ))
        .await?;
    let mut rows = std::pin::pin!(rows);
    while let Some(row) = rows.try_next().await? {
        each(props_of_row(&row)?);
    }
    Ok(())
}

/// One row of [`RELATION_PROPS_SQL`].
fn props_of_row(r: &QueryResult) -> Result<crate::model::properties::RelationProps> {
    use crate::model::properties::{AclEntry, RelationProps};
    let children: Vec<String> = column(r, 8)?;
    let parents: Vec<String> = column(r, 9)?;
    let grantees: Vec<String> = column(r, 10)?;
    let privileges: Vec<String> = column(r, 11)?;
    let grantable: Vec<bool> = column(r, 12)?;
    Ok(RelationProps {
        schema: column(r, 0)?,
        name: column(r, 1)?,
        partitioned: column(r, 2)?,
        owner: column(r, 3)?,
        options: column(r, 4)?,
        replica_identity: column(r, 5)?,
        identity_index: column(r, 6)?,
        unique_indexes: column(r, 7)?,
        index_parents: children.into_iter().zip(parents).collect(),
        acl: grantees
            .into_iter()
            .zip(privileges)
            .zip(grantable)
            .map(|((grantee, privilege), grantable)| AclEntry {
                grantee,
                privilege,
                grantable,
            })
            .collect(),
    })
}

/// The foreign keys between `tables` (partitioned tables): (the referencing table, the referenced one),
/// the top-level constraints only.
pub(crate) async fn links_between<C: ConnectionTrait>(
    conn: &C,
    tables: &[(String, String)],
) -> Result<Vec<crate::model::group::Link>> {
    let (schemas, names): (Vec<String>, Vec<String>) = tables.iter().cloned().unzip();
    let rows = query_all(
        conn,
        "WITH t AS (SELECT to_regclass(format('%I.%I', s, n)) AS oid FROM unnest($1::text[], $2::text[]) u(s, n)) \
         SELECT DISTINCT rn.nspname::text, r.relname::text, fn.nspname::text, f.relname::text \
         FROM pg_constraint con JOIN pg_class r ON r.oid = con.conrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace \
         JOIN pg_class f ON f.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace \
         WHERE con.contype = 'f' AND con.conparentid = 0 \
           AND con.conrelid IN (SELECT oid FROM t) AND con.confrelid IN (SELECT oid FROM t) \
         ORDER BY 1, 2, 3, 4",
        vec![schemas.into(), names.into()],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
                (r.try_get_by_index(2)?, r.try_get_by_index(3)?),
            ))
        })
        .collect()
}

/// The foreign keys the partition `schema.name` holds towards any of `tables` (the clones of its parent's,
/// which it keeps as its own once detached).
pub(crate) async fn keys_towards<C: ConnectionTrait>(
    conn: &C,
    partition: (&str, &str),
    tables: &[(String, String)],
) -> Result<Vec<String>> {
    let (schemas, names): (Vec<String>, Vec<String>) = tables.iter().cloned().unzip();
    let rows = query_all(
        conn,
        "SELECT con.conname::text FROM pg_constraint con \
         WHERE con.contype = 'f' AND con.conrelid = to_regclass(format('%I.%I', $1::text, $2::text)) \
           AND con.confrelid IN (SELECT to_regclass(format('%I.%I', s, n)) FROM unnest($3::text[], $4::text[]) u(s, n)) \
         ORDER BY 1",
        vec![
            partition.0.into(),
            partition.1.into(),
            schemas.into(),
            names.into(),
        ],
    )
    .await?;
    rows.iter().map(|r| Ok(r.try_get_by_index(0)?)).collect()
}
