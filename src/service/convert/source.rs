//! Catalog reads of a table being converted. Every query is a constant text with bound parameters, except
//! the key statistics, whose column sea-query quotes.

use sea_orm::{ConnectionTrait, QueryResult};

use super::super::catalog::{query_all, query_one};

use crate::error::Result;
use crate::model::convert::sql;
use crate::model::convert::{
    ConversionSettings, KeyStats, Referencing, SourceColumn, SourceIndex, SourceTable,
};

fn get<T: sea_orm::TryGetable>(row: &QueryResult, i: usize) -> Result<T> {
    Ok(row.try_get_by_index(i)?)
}

const RELATION: &str = "SELECT c.oid::int8, c.relkind::text, c.relrowsecurity \
        OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid), \
    COALESCE(c.reloptions::text[], '{}'), c.reltuples::int8, pg_total_relation_size(c.oid), \
    ARRAY(SELECT pn.nspname || '.' || p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent \
          JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid ORDER BY 1), \
    ARRAY(SELECT pn.nspname || '.' || p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid \
          JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhparent = c.oid ORDER BY 1), \
    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND a.attacl IS NOT NULL), \
    ARRAY(SELECT r.rulename::text FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN' ORDER BY 1) \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2";

const COLUMNS: &str = "SELECT a.attname::text, a.atttypid::regtype::text, a.attnotnull, a.attgenerated <> '', \
    NULLIF(a.attidentity, '')::text FROM pg_attribute a \
    WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

/// Valid indexes: the definition after `USING` (cut where PostgreSQL's own prefix ends), the constraint
/// they back, whether it is a plain column list, and the key columns when all are plain.
const INDEXES: &str = "SELECT ic.relname::text, pg_get_indexdef(i.indexrelid), \
    'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(ic.relname) \
        || ' ON ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' USING ', \
    i.indisunique, i.indisprimary, con.conname::text, con.contype::text, pg_get_constraintdef(con.oid), \
    COALESCE(pg_get_constraintdef(con.oid) = CASE con.contype WHEN 'p' THEN 'PRIMARY KEY (' ELSE 'UNIQUE (' END \
        || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) \
            FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) WITH ORDINALITY k(attnum, ord) \
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) || ')', false), \
    CASE WHEN i.indexprs IS NULL AND 0 <> ALL ((i.indkey::int2[])[0:i.indnkeyatts - 1]) THEN \
        ARRAY(SELECT a.attname::text FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) WITH ORDINALITY k(attnum, ord) \
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.ord) END, \
    i.indpred IS NOT NULL \
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = c.oid AND con.contype IN ('p', 'u', 'x') \
    WHERE c.oid = $1::int8::oid AND i.indisvalid ORDER BY ic.relname";

const FOREIGN_KEYS: &str = "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
    WHERE conrelid = $1::int8::oid AND contype = 'f' AND confrelid <> conrelid ORDER BY conname";

const REFERENCED_BY: &str = "SELECT n.nspname || '.' || c.relname, con.conname::text FROM pg_constraint con \
    JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE con.confrelid = $1::int8::oid AND con.contype = 'f' ORDER BY 1, 2";

const TRIGGERS: &str = "SELECT tgname::text FROM pg_trigger WHERE tgrelid = $1::int8::oid AND NOT tgisinternal \
    AND tgname NOT IN ($2, $3) ORDER BY tgname";

const VIEWS: &str = "SELECT DISTINCT vn.nspname || '.' || v.relname FROM pg_depend d \
    JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class \
    JOIN pg_namespace vn ON vn.oid = v.relnamespace \
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1::int8::oid AND v.oid <> $1::int8::oid ORDER BY 1";

/// What the catalog says of `schema.table`, and the key's statistics (one scan) when the key column exists.
pub(super) async fn read<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
    settings: &ConversionSettings,
) -> Result<SourceTable> {
    let mut source = shape(conn, schema, table).await?;
    if source.relkind == Some('r')
        && let Some(key_type) = source.key_type(&settings.key)
    {
        let utc = sql::reads_utc(settings, key_type);
        source.key = Some(key_stats(conn, (schema, table), &settings.key, utc).await?);
    }
    Ok(source)
}

/// [`read`] without the key's statistics.
pub(super) async fn shape<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<SourceTable> {
    let mut source = SourceTable {
        schema: schema.to_owned(),
        name: table.to_owned(),
        ..SourceTable::default()
    };
    let Some(row) = query_one(conn, RELATION, vec![schema.into(), table.into()]).await? else {
        return Ok(source);
    };
    let oid: i64 = get(&row, 0)?;
    let relkind: String = get(&row, 1)?;
    source.relkind = relkind.chars().next();
    source.row_security = get(&row, 2)?;
    source.storage = get(&row, 3)?;
    source.estimated_rows = get::<i64>(&row, 4)?.max(0);
    source.size_bytes = get(&row, 5)?;
    source.inherits = get(&row, 6)?;
    source.children = get(&row, 7)?;
    source.column_privileges = get(&row, 8)?;
    source.rules = get(&row, 9)?;
    for row in query_all(conn, COLUMNS, vec![oid.into()]).await? {
        source.columns.push(SourceColumn {
            name: get(&row, 0)?,
            data_type: get(&row, 1)?,
            not_null: get(&row, 2)?,
            generated: get(&row, 3)?,
            identity: get::<Option<String>>(&row, 4)?.and_then(|s| s.chars().next()),
        });
    }
    source.indexes = indexes(conn, oid).await?;
    for row in query_all(conn, FOREIGN_KEYS, vec![oid.into()]).await? {
        source.foreign_keys.push((get(&row, 0)?, get(&row, 1)?));
    }
    for row in query_all(conn, REFERENCED_BY, vec![oid.into()]).await? {
        source.referenced_by.push(Referencing {
            table: get(&row, 0)?,
            constraint: get(&row, 1)?,
        });
    }
    let ours = vec![
        oid.into(),
        sql::CAPTURE_TRIGGER.into(),
        sql::TRUNCATE_TRIGGER.into(),
    ];
    for row in query_all(conn, TRIGGERS, ours).await? {
        source.triggers.push(get(&row, 0)?);
    }
    for row in query_all(conn, VIEWS, vec![oid.into()]).await? {
        source.views.push(get(&row, 0)?);
    }
    Ok(source)
}

async fn indexes<C: ConnectionTrait>(conn: &C, oid: i64) -> Result<Vec<SourceIndex>> {
    let mut indexes = Vec::new();
    for row in query_all(conn, INDEXES, vec![oid.into()]).await? {
        let definition: String = get(&row, 1)?;
        let prefix: String = get(&row, 2)?;
        let name: Option<String> = get(&row, 5)?;
        let kind: Option<String> = get(&row, 6)?;
        indexes.push(SourceIndex {
            name: get(&row, 0)?,
            using: definition.strip_prefix(&prefix).map(str::to_owned),
            unique: get(&row, 3)?,
            primary: get(&row, 4)?,
            constraint: name.zip(kind.and_then(|k| k.chars().next())),
            constraint_def: get(&row, 7)?,
            simple: get(&row, 8)?,
            columns: get(&row, 9)?,
            partial: get(&row, 10)?,
        });
    }
    Ok(indexes)
}

/// The key's statistics.
pub(super) async fn key_stats<C: ConnectionTrait>(
    conn: &C,
    table: (&str, &str),
    key: &str,
    utc: bool,
) -> Result<KeyStats> {
    let text = sql::key_stats(table, key, utc);
    let row = query_one(conn, &text, vec![]).await?;
    Ok(match row {
        Some(row) => KeyStats {
            min: get(&row, 0)?,
            max: get(&row, 1)?,
            nulls: get(&row, 2)?,
        },
        None => KeyStats::default(),
    })
}

/// The table's size in blocks.
pub(super) async fn blocks<C: ConnectionTrait>(conn: &C, schema: &str, table: &str) -> Result<i64> {
    let row = query_one(
        conn,
        "SELECT pg_relation_size(to_regclass(format('%I.%I', $1::text, $2::text))) \
             / current_setting('block_size')::int8",
        vec![schema.into(), table.into()],
    )
    .await?;
    Ok(match row {
        Some(row) => get::<Option<i64>>(&row, 0)?.unwrap_or(0),
        None => 0,
    })
}

/// The table's file node: it changes when the table is rewritten (`VACUUM FULL`, `CLUSTER`), which moves
/// its rows to other blocks.
pub(super) async fn filenode<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<i64> {
    let row = query_one(
        conn,
        "SELECT pg_relation_filenode(to_regclass(format('%I.%I', $1::text, $2::text)))::int8",
        vec![schema.into(), table.into()],
    )
    .await?;
    Ok(match row {
        Some(row) => get::<Option<i64>>(&row, 0)?.unwrap_or(0),
        None => 0,
    })
}

/// Whether a relation of that name exists in the schema.
pub(super) async fn exists<C: ConnectionTrait>(conn: &C, schema: &str, name: &str) -> Result<bool> {
    let row = query_one(
        conn,
        "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL",
        vec![schema.into(), name.into()],
    )
    .await?;
    Ok(match row {
        Some(row) => get(&row, 0)?,
        None => false,
    })
}

/// What the swap carries over as it is at that moment: owner, grants, comment, the user triggers'
/// definitions, the sequences the table's columns own.
#[derive(Debug, Default)]
pub(super) struct Metadata {
    pub owner: String,
    /// Privilege, grantee (`PUBLIC` for everyone), grantable.
    pub grants: Vec<(String, String, bool)>,
    pub comment: Option<String>,
    pub triggers: Vec<String>,
    /// Schema and name of the sequence, and the column owning it.
    pub sequences: Vec<(String, String, String)>,
}

pub(super) async fn metadata<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<Metadata> {
    let rel = "to_regclass(format('%I.%I', $1::text, $2::text))";
    let mut meta = Metadata::default();
    let text = format!(
        "SELECT pg_get_userbyid(c.relowner)::text, obj_description(c.oid, 'pg_class') FROM pg_class c WHERE c.oid = {rel}"
    );
    if let Some(row) = query_one(conn, &text, vec![schema.into(), table.into()]).await? {
        meta.owner = get(&row, 0)?;
        meta.comment = get(&row, 1)?;
    }
    let text = format!(
        "SELECT a.privilege_type::text, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END, \
                a.is_grantable FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = {rel} AND a.grantee <> c.relowner ORDER BY 2, 1"
    );
    for row in query_all(conn, &text, vec![schema.into(), table.into()]).await? {
        meta.grants
            .push((get(&row, 0)?, get(&row, 1)?, get(&row, 2)?));
    }
    let text = format!(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgrelid = {rel} AND NOT t.tgisinternal \
         AND t.tgname NOT IN ($3, $4) ORDER BY t.tgname"
    );
    let values = vec![
        schema.into(),
        table.into(),
        sql::CAPTURE_TRIGGER.into(),
        sql::TRUNCATE_TRIGGER.into(),
    ];
    for row in query_all(conn, &text, values).await? {
        meta.triggers.push(get(&row, 0)?);
    }
    let text = format!(
        "SELECT sn.nspname::text, s.relname::text, a.attname::text FROM pg_depend d \
         JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace \
         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
         WHERE d.classid = 'pg_class'::regclass AND d.refobjid = {rel} AND d.deptype = 'a' ORDER BY 2"
    );
    for row in query_all(conn, &text, vec![schema.into(), table.into()]).await? {
        meta.sequences
            .push((get(&row, 0)?, get(&row, 1)?, get(&row, 2)?));
    }
    Ok(meta)
}

/// Sets the identity sequence of `column` of the new table to continue where the plain table's left off.
pub(super) async fn continue_identity<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    (table, shadow): (&str, &str),
    column: &str,
) -> Result<()> {
    query_one(
        conn,
        "SELECT setval(pg_get_serial_sequence(format('%I.%I', $1::text, $3::text), $4), v, true) \
         FROM (SELECT pg_sequence_last_value(pg_get_serial_sequence(format('%I.%I', $1::text, $2::text), $4)::regclass) AS v) s \
         WHERE v IS NOT NULL",
        vec![schema.into(), table.into(), shadow.into(), column.into()],
    )
    .await?;
    Ok(())
}

/// The partitions of `schema.table` (top level), by name.
pub(super) async fn partitions<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
) -> Result<Vec<String>> {
    let rows = query_all(
        conn,
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = to_regclass(format('%I.%I', $1::text, $2::text)) ORDER BY 1",
        vec![schema.into(), table.into()],
    )
    .await?;
    rows.iter().map(|r| get(r, 0)).collect()
}

/// Whether the index `name` exists and is invalid (a `CREATE INDEX CONCURRENTLY` that did not finish).
pub(super) async fn index_is_invalid<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
) -> Result<bool> {
    let row = query_one(
        conn,
        "SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(format('%I.%I', $1::text, $2::text)) \
         AND NOT indisvalid)",
        vec![schema.into(), name.into()],
    )
    .await?;
    Ok(match row {
        Some(row) => get(&row, 0)?,
        None => false,
    })
}

/// Whether `table` has a constraint named `name`.
pub(super) async fn has_constraint<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
    name: &str,
) -> Result<bool> {
    let row = query_one(
        conn,
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(format('%I.%I', $1::text, $2::text)) \
         AND conname = $3)",
        vec![schema.into(), table.into(), name.into()],
    )
    .await?;
    Ok(match row {
        Some(row) => get(&row, 0)?,
        None => false,
    })
}
