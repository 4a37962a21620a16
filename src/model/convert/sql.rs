//! The statements of a conversion. Identifiers are quoted and values written by sea-query
//! (`QuotedBuilder::prepare_iden`, `QueryBuilder::prepare_value`); what comes from PostgreSQL's own
//! deparser (an index's method and keys after `USING`, a constraint's definition) is used as PostgreSQL
//! printed it, never built from names by hand.

use sea_orm::sea_query::{
    Alias, DynIden, IntoIden, PostgresQueryBuilder, QueryBuilder, QuotedBuilder, Value,
};

use super::{ConversionKind, ConversionSettings, SourceIndex, SourceTable, shadow_index_name};
use crate::schema::PrimaryKeyPolicy;

/// A statement being written.
#[derive(Debug, Default)]
pub(crate) struct Sql(String);

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql(text.to_owned())
    }

    pub fn push(mut self, text: &str) -> Self {
        self.0.push_str(text);
        self
    }

    /// A quoted identifier.
    pub fn iden(mut self, name: &str) -> Self {
        let iden: DynIden = Alias::new(name).into_iden();
        PostgresQueryBuilder.prepare_iden(&iden, &mut self.0);
        self
    }

    /// A quoted `schema.name`.
    pub fn table(self, (schema, name): (&str, &str)) -> Self {
        self.iden(schema).push(".").iden(name)
    }

    /// Quoted identifiers separated by commas.
    pub fn idens<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                self = self.push(", ");
            }
            self = self.iden(name.as_ref());
        }
        self
    }

    /// An expression, as sea-query writes it.
    pub fn expr(mut self, expr: &sea_orm::sea_query::Expr) -> Self {
        PostgresQueryBuilder.prepare_expr(expr, &mut self.0);
        self
    }

    /// A value, as a literal.
    pub fn value<V: Into<Value>>(mut self, value: V) -> Self {
        PostgresQueryBuilder.prepare_value(value.into(), &mut self.0);
        self
    }

    pub fn build(self) -> String {
        self.0
    }
}

/// Schema-qualified names of the conversion's tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names<'a> {
    pub schema: &'a str,
    /// The plain table.
    pub table: &'a str,
    /// The partitioned table being filled.
    pub shadow: &'a str,
}

impl<'a> Names<'a> {
    fn table(&self) -> (&'a str, &'a str) {
        (self.schema, self.table)
    }
    fn shadow(&self) -> (&'a str, &'a str) {
        (self.schema, self.shadow)
    }
}

/// `CREATE TABLE shadow (LIKE table INCLUDING ..) PARTITION BY RANGE (key)`: every column with its type,
/// default, identity, generated expression, NOT NULL, CHECK constraints, storage, compression, statistics
/// target and comments; no index (they follow).
pub(crate) fn create_shadow(names: Names<'_>, key: &str) -> String {
    Sql::new("CREATE TABLE ")
        .table(names.shadow())
        .push(" (LIKE ")
        .table(names.table())
        .push(
            " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY \
             INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING STATISTICS INCLUDING COMMENTS) PARTITION BY RANGE (",
        )
        .iden(key)
        .push(")")
        .build()
}

/// The statement that carries `index` over to the new table, under its temporary name; `None` when it is
/// not carried (the plan says why).
pub(crate) fn carry_index(
    names: Names<'_>,
    index: &SourceIndex,
    settings: &ConversionSettings,
) -> Option<String> {
    let key = settings.key.as_str();
    let columns = index.columns.as_ref();
    let has_key = columns.is_some_and(|c| c.iter().any(|c| c == key));
    let temp = shadow_index_name(&index.name);
    let add_constraint = || {
        Sql::new("ALTER TABLE ")
            .table(names.shadow())
            .push(" ADD CONSTRAINT ")
            .iden(&temp)
            .push(" ")
    };
    match (&index.constraint, &index.constraint_def) {
        // PRIMARY KEY, UNIQUE or EXCLUDE holding the key: as PostgreSQL prints it.
        (Some(_), Some(def)) if has_key => Some(add_constraint().push(def).build()),
        (Some((_, kind @ ('p' | 'u'))), Some(_)) => {
            let columns = columns?;
            if index.primary && settings.policy == PrimaryKeyPolicy::Suppress {
                return Some(plain_index(names, &temp, columns));
            }
            if settings.policy == PrimaryKeyPolicy::Suppress || !index.simple {
                return None;
            }
            let mut widened = columns.clone();
            widened.push(key.to_owned());
            let what = if *kind == 'p' {
                "PRIMARY KEY ("
            } else {
                "UNIQUE ("
            };
            Some(
                add_constraint()
                    .push(what)
                    .idens(&widened)
                    .push(")")
                    .build(),
            )
        }
        (Some(_), _) => None,
        (None, _) => {
            let using = index.using.as_ref()?;
            if index.unique && !has_key {
                // A unique index without the key: widened only when plain columns, under IncludeKey.
                let columns = columns?;
                if settings.policy == PrimaryKeyPolicy::Suppress || index.partial {
                    return None;
                }
                let mut widened = columns.clone();
                widened.push(key.to_owned());
                return Some(
                    Sql::new("CREATE UNIQUE INDEX ")
                        .iden(&temp)
                        .push(" ON ")
                        .table(names.shadow())
                        .push(" (")
                        .idens(&widened)
                        .push(")")
                        .build(),
                );
            }
            Some(
                Sql::new(if index.unique {
                    "CREATE UNIQUE INDEX "
                } else {
                    "CREATE INDEX "
                })
                .iden(&temp)
                .push(" ON ")
                .table(names.shadow())
                .push(" USING ")
                .push(using)
                .build(),
            )
        }
    }
}

fn plain_index(names: Names<'_>, name: &str, columns: &[String]) -> String {
    Sql::new("CREATE INDEX ")
        .iden(name)
        .push(" ON ")
        .table(names.shadow())
        .push(" (")
        .idens(columns)
        .push(")")
        .build()
}

/// The index the legacy partition needs for the partitioned table's `index` and lacks: a widened unique key,
/// or the suppressed primary key's plain index; built `CONCURRENTLY` on the plain table before the swap.
/// `None` when the table's own index serves (it is carried as it is).
pub(crate) fn legacy_index(
    names: Names<'_>,
    index: &SourceIndex,
    settings: &ConversionSettings,
) -> Option<String> {
    let key = settings.key.as_str();
    let columns = index.columns.as_ref()?;
    if !index.unique || columns.iter().any(|c| c == key) {
        return None;
    }
    let name = legacy_index_name(&index.name);
    let (unique, columns) = if index.primary && settings.policy == PrimaryKeyPolicy::Suppress {
        ("CREATE INDEX CONCURRENTLY IF NOT EXISTS ", columns.clone())
    } else {
        let mut widened = columns.clone();
        widened.push(key.to_owned());
        ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ", widened)
    };
    Some(
        Sql::new(unique)
            .iden(&name)
            .push(" ON ")
            .table(names.table())
            .push(" (")
            .idens(&columns)
            .push(")")
            .build(),
    )
}

/// The name of an index built for the legacy partition.
pub(crate) fn legacy_index_name(name: &str) -> String {
    crate::calendar::fit_name(name, "_sopp_legacy")
}

/// The `CHECK` on the plain table that proves the legacy partition's bound, so `ATTACH` does not scan it.
pub(crate) const LEGACY_CHECK: &str = "sopp_legacy_bound";

/// `ALTER TABLE .. ADD CONSTRAINT sopp_legacy_bound CHECK (key IS NOT NULL AND condition) NOT VALID`.
pub(crate) fn add_legacy_check(
    table: (&str, &str),
    key: &str,
    condition: &sea_orm::sea_query::Expr,
) -> String {
    Sql::new("ALTER TABLE ")
        .table(table)
        .push(" ADD CONSTRAINT ")
        .iden(LEGACY_CHECK)
        .push(" CHECK (")
        .iden(key)
        .push(" IS NOT NULL AND ")
        .expr(condition)
        .push(") NOT VALID")
        .build()
}

/// `ALTER TABLE .. ALTER COLUMN .. DROP IDENTITY`: a partition may not have an identity column of its own.
pub(crate) fn drop_identity(table: (&str, &str), column: &str) -> String {
    Sql::new("ALTER TABLE ")
        .table(table)
        .push(" ALTER COLUMN ")
        .iden(column)
        .push(" DROP IDENTITY")
        .build()
}

/// `DROP TRIGGER .. ON ..`.
pub(crate) fn drop_trigger(table: (&str, &str), trigger: &str) -> String {
    Sql::new("DROP TRIGGER ")
        .iden(trigger)
        .push(" ON ")
        .table(table)
        .build()
}

/// `ALTER TABLE .. DROP CONSTRAINT IF EXISTS ..`.
pub(crate) fn drop_constraint_if_exists(table: (&str, &str), constraint: &str) -> String {
    Sql::new("ALTER TABLE ")
        .table(table)
        .push(" DROP CONSTRAINT IF EXISTS ")
        .iden(constraint)
        .build()
}

/// `DROP INDEX IF EXISTS ..`.
pub(crate) fn drop_index(index: (&str, &str)) -> String {
    Sql::new("DROP INDEX IF EXISTS ").table(index).build()
}

/// `DROP INDEX CONCURRENTLY IF EXISTS ..`: an index a killed `CREATE INDEX CONCURRENTLY` left invalid.
pub(crate) fn drop_index_concurrently(index: (&str, &str)) -> String {
    Sql::new("DROP INDEX CONCURRENTLY IF EXISTS ")
        .table(index)
        .build()
}

/// The capture trigger and the `TRUNCATE` guard on the plain table: `conversion` and the identity columns
/// are the capture's arguments.
pub(crate) fn create_triggers(
    names: Names<'_>,
    conversion: i32,
    identity: &[String],
) -> [String; 2] {
    let mut capture = Sql::new("CREATE TRIGGER ")
        .iden(CAPTURE_TRIGGER)
        .push(" AFTER INSERT OR UPDATE OR DELETE ON ")
        .table(names.table())
        .push(" FOR EACH ROW EXECUTE FUNCTION sopp_conversion_capture(")
        .value(conversion.to_string());
    for column in identity {
        capture = capture.push(", ").value(column.clone());
    }
    let guard = Sql::new("CREATE TRIGGER ")
        .iden(TRUNCATE_TRIGGER)
        .push(" BEFORE TRUNCATE ON ")
        .table(names.table())
        .push(" FOR EACH STATEMENT EXECUTE FUNCTION sopp_conversion_refuse_truncate()")
        .build();
    [capture.push(")").build(), guard]
}

/// The capture trigger's name on the plain table.
pub(crate) const CAPTURE_TRIGGER: &str = "sopp_conversion_capture";
/// The `TRUNCATE` guard's name on the plain table.
pub(crate) const TRUNCATE_TRIGGER: &str = "sopp_conversion_no_truncate";

/// `DROP TRIGGER IF EXISTS` of both.
pub(crate) fn drop_triggers(names: Names<'_>) -> [String; 2] {
    [CAPTURE_TRIGGER, TRUNCATE_TRIGGER].map(|t| {
        Sql::new("DROP TRIGGER IF EXISTS ")
            .iden(t)
            .push(" ON ")
            .table(names.table())
            .build()
    })
}

/// The columns the copy writes: all but the generated ones.
pub(crate) fn copied_columns(source: &SourceTable) -> Vec<String> {
    source
        .columns
        .iter()
        .filter(|c| !c.generated)
        .map(|c| c.name.clone())
        .collect()
}

/// Copies the rows in blocks `[from, to)` of the plain table (a TID range scan) into the new table. A row an
/// update moved to a later block is copied twice; the first pass over the recorded changes removes both.
pub(crate) fn copy_blocks(names: Names<'_>, columns: &[String], from: i64, to: i64) -> String {
    Sql::new("INSERT INTO ")
        .table(names.shadow())
        .push(" (")
        .idens(columns)
        .push(") OVERRIDING SYSTEM VALUE SELECT ")
        .idens(columns)
        .push(" FROM ")
        .table(names.table())
        .push(" WHERE ctid >= ")
        .value(format!("({from},0)"))
        .push("::tid AND ctid < ")
        .value(format!("({to},0)"))
        .push("::tid")
        .build()
}

/// `(c1, c2)` of `alias`, for an identity comparison.
fn tuple(alias: &str, columns: &[String]) -> Sql {
    let mut sql = Sql::new("(");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            sql = sql.push(", ");
        }
        sql = sql.iden(alias).push(".").iden(c);
    }
    sql.push(")")
}

/// The identities recorded for `conversion` up to `seq`, typed as the table's columns.
fn recorded(names: Names<'_>, identity: &[String], conversion: i32, seq: i64) -> String {
    let mut sql = Sql::new("SELECT ");
    for (i, c) in identity.iter().enumerate() {
        if i > 0 {
            sql = sql.push(", ");
        }
        sql = sql.push("r.").iden(c);
    }
    sql.push(" FROM sopp_conversion_change c, jsonb_populate_record(NULL::")
        .table(names.table())
        .push(", c.ident) r WHERE c.conversion_id = ")
        .value(conversion)
        .push(" AND c.seq <= ")
        .value(seq)
        .build()
}

/// Applies the changes recorded up to `seq`: deletes the new table's rows of every recorded identity, inserts
/// the plain table's current rows of them, then forgets those changes. Run in one `REPEATABLE READ`
/// transaction, so all three see the same changes.
pub(crate) fn apply_changes(
    names: Names<'_>,
    columns: &[String],
    identity: &[String],
    conversion: i32,
    seq: i64,
) -> [String; 3] {
    let ids = recorded(names, identity, conversion, seq);
    let delete = Sql::new("DELETE FROM ")
        .table(names.shadow())
        .push(" s WHERE ")
        .push(&tuple("s", identity).build())
        .push(" IN (")
        .push(&ids)
        .push(")")
        .build();
    let insert = Sql::new("INSERT INTO ")
        .table(names.shadow())
        .push(" (")
        .idens(columns)
        .push(") OVERRIDING SYSTEM VALUE SELECT ")
        .idens(columns)
        .push(" FROM ")
        .table(names.table())
        .push(" o WHERE ")
        .push(&tuple("o", identity).build())
        .push(" IN (")
        .push(&ids)
        .push(")")
        .build();
    let forget = Sql::new("DELETE FROM sopp_conversion_change WHERE conversion_id = ")
        .value(conversion)
        .push(" AND seq <= ")
        .value(seq)
        .build();
    [delete, insert, forget]
}

/// The key's smallest and largest value as text (a `timestamptz` in UTC, so the text is the instant's), and
/// how many rows have none: `ORDER BY .. LIMIT 1` rather than `min`/`max`, which not every type has (`uuid`)
/// and which an index on the key answers as well.
pub(crate) fn key_stats(table: (&str, &str), key: &str, utc: bool) -> String {
    // `t.key` in ORDER BY: an unqualified name would be the text output column, ordered as text.
    let edge = |sql: Sql, order: &str| {
        let sql = sql.push("(SELECT (t.").iden(key);
        let sql = if utc {
            sql.push(" AT TIME ZONE 'UTC'")
        } else {
            sql
        };
        sql.push(")::text FROM ")
            .table(table)
            .push(" t WHERE t.")
            .iden(key)
            .push(" IS NOT NULL ORDER BY t.")
            .iden(key)
            .push(order)
            .push(" LIMIT 1)")
    };
    let sql = edge(Sql::new("SELECT "), "");
    edge(sql.push(", "), " DESC")
        .push(", (SELECT count(*) FROM ")
        .table(table)
        .push(" WHERE ")
        .iden(key)
        .push(" IS NULL)")
        .build()
}

/// `ALTER TABLE .. RENAME TO ..`.
pub(crate) fn rename_table(table: (&str, &str), to: &str) -> String {
    Sql::new("ALTER TABLE ")
        .table(table)
        .push(" RENAME TO ")
        .iden(to)
        .build()
}

/// `ALTER INDEX .. RENAME TO ..`.
pub(crate) fn rename_index(index: (&str, &str), to: &str) -> String {
    Sql::new("ALTER INDEX ")
        .table(index)
        .push(" RENAME TO ")
        .iden(to)
        .build()
}

/// `ALTER TABLE .. SET (option = 'value', ..)` for `key=value` options as `reloptions` holds them (the key
/// checked to be a storage parameter's name).
pub(crate) fn set_storage(table: (&str, &str), options: &[String]) -> Option<String> {
    let mut sql = Sql::new("ALTER TABLE ").table(table).push(" SET (");
    for (i, option) in options.iter().enumerate() {
        let (key, value) = option.split_once('=')?;
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
        {
            return None;
        }
        if i > 0 {
            sql = sql.push(", ");
        }
        sql = sql.push(key).push(" = ").value(value.to_owned());
    }
    Some(sql.push(")").build())
}

/// `ALTER TABLE .. OWNER TO ..`.
pub(crate) fn set_owner(table: (&str, &str), owner: &str) -> String {
    Sql::new("ALTER TABLE ")
        .table(table)
        .push(" OWNER TO ")
        .iden(owner)
        .build()
}

/// The privileges a table can be granted (`MAINTAIN` from PostgreSQL 17 on).
pub const TABLE_PRIVILEGES: [&str; 8] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "MAINTAIN",
];

/// `GRANT privilege ON TABLE .. TO grantee [WITH GRANT OPTION]`; `PUBLIC` as the keyword.
pub(crate) fn grant(
    table: (&str, &str),
    privilege: &str,
    grantee: &str,
    grantable: bool,
) -> Option<String> {
    let privilege = TABLE_PRIVILEGES.iter().find(|p| **p == privilege)?;
    let sql = Sql::new("GRANT ")
        .push(privilege)
        .push(" ON TABLE ")
        .table(table)
        .push(" TO ");
    let sql = if grantee == "PUBLIC" {
        sql.push("PUBLIC")
    } else {
        sql.iden(grantee)
    };
    Some(
        if grantable {
            sql.push(" WITH GRANT OPTION")
        } else {
            sql
        }
        .build(),
    )
}

/// `COMMENT ON TABLE .. IS '..'`.
pub(crate) fn comment(table: (&str, &str), text: &str) -> String {
    Sql::new("COMMENT ON TABLE ")
        .table(table)
        .push(" IS ")
        .value(text.to_owned())
        .build()
}

/// `ALTER SEQUENCE .. OWNED BY table.column`.
pub(crate) fn sequence_owned_by(
    sequence: (&str, &str),
    table: (&str, &str),
    column: &str,
) -> String {
    Sql::new("ALTER SEQUENCE ")
        .table(sequence)
        .push(" OWNED BY ")
        .table(table)
        .push(".")
        .iden(column)
        .build()
}

/// `ALTER TABLE .. ADD CONSTRAINT name definition [NOT VALID]` for a foreign key as PostgreSQL prints it.
pub(crate) fn add_foreign_key(
    table: (&str, &str),
    name: &str,
    definition: &str,
    not_valid: bool,
) -> String {
    let sql = Sql::new("ALTER TABLE ")
        .table(table)
        .push(" ADD CONSTRAINT ")
        .iden(name)
        .push(" ")
        .push(definition.trim_end_matches(" NOT VALID"));
    if not_valid {
        sql.push(" NOT VALID")
    } else {
        sql
    }
    .build()
}

/// `ALTER TABLE .. VALIDATE CONSTRAINT ..`.
pub(crate) fn validate_constraint(table: (&str, &str), name: &str) -> String {
    Sql::new("ALTER TABLE ")
        .table(table)
        .push(" VALIDATE CONSTRAINT ")
        .iden(name)
        .build()
}

/// `LOCK TABLE .. IN ACCESS EXCLUSIVE MODE`.
pub(crate) fn lock_exclusive(table: (&str, &str)) -> String {
    Sql::new("LOCK TABLE ")
        .table(table)
        .push(" IN ACCESS EXCLUSIVE MODE")
        .build()
}

/// `DROP TABLE IF EXISTS ..` (its partitions with it).
pub(crate) fn drop_table(table: (&str, &str)) -> String {
    Sql::new("DROP TABLE IF EXISTS ").table(table).build()
}

/// `TRUNCATE ..` of the new table, to copy again from the start.
pub(crate) fn truncate(table: (&str, &str)) -> String {
    Sql::new("TRUNCATE ").table(table).build()
}

/// What the conversion is asked for, as the state row keeps it, and back.
pub(crate) mod settings {
    use std::str::FromStr;

    use serde_json::{Value, json};

    use super::super::{ConversionKind, ConversionSettings};
    use crate::calendar::Period;
    use crate::encoding::TimeEncoding;
    use crate::schema::PrimaryKeyPolicy;

    /// The settings as JSON.
    pub fn to_json(s: &ConversionSettings, extra: &crate::model::convert::Registration) -> Value {
        let kind = match s.kind {
            ConversionKind::TimeRange {
                period,
                time_zone,
                encoding,
            } => json!({
                "kind": "time-range",
                "period": period.as_str(),
                "time_zone": time_zone.name(),
                "encoding": encoding.map(|e| e.to_string()),
            }),
            ConversionKind::IntRange { step } => json!({"kind": "int-range", "step": step}),
        };
        json!({
            "key": s.key,
            "partitioning": kind,
            "primary_key": match s.policy { PrimaryKeyPolicy::Suppress => "suppress", PrimaryKeyPolicy::IncludeKey => "include-key" },
            "default_partition": s.default_partition,
            "legacy": s.legacy,
            "attach_tablespace": s.attach_tablespace,
            "detach_tablespace": extra.detach_tablespace,
            "retention": extra.retention,
        })
    }

    /// The settings back from JSON; `None` when they do not parse.
    pub fn from_json(
        v: &Value,
    ) -> Option<(ConversionSettings, crate::model::convert::Registration)> {
        let p = &v["partitioning"];
        let kind = match p["kind"].as_str()? {
            "time-range" => ConversionKind::TimeRange {
                period: Period::from_str(p["period"].as_str()?).ok()?,
                time_zone: chrono_tz::Tz::from_str(p["time_zone"].as_str()?).ok()?,
                encoding: match p["encoding"].as_str() {
                    Some(e) => Some(TimeEncoding::from_str(e).ok()?),
                    None => None,
                },
            },
            "int-range" => ConversionKind::IntRange {
                step: p["step"].as_i64()?,
            },
            _ => return None,
        };
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        Some((
            ConversionSettings {
                key: text("key")?,
                kind,
                policy: match v["primary_key"].as_str()? {
                    "suppress" => PrimaryKeyPolicy::Suppress,
                    _ => PrimaryKeyPolicy::IncludeKey,
                },
                default_partition: v["default_partition"].as_bool()?,
                attach_tablespace: text("attach_tablespace"),
                legacy: v["legacy"].as_bool().unwrap_or(false),
            },
            crate::model::convert::Registration {
                detach_tablespace: text("detach_tablespace"),
                retention: v["retention"].as_u64().and_then(|r| u32::try_from(r).ok()),
            },
        ))
    }
}

/// Whether the settings describe a time range (whose `timestamptz` keys are read in UTC).
pub(crate) fn reads_utc(settings: &ConversionSettings, key_type: &str) -> bool {
    matches!(settings.kind, ConversionKind::TimeRange { .. })
        && key_type == "timestamp with time zone"
}
