//! Identifier checks. Quoting itself is sea-query's (`QuotedBuilder::prepare_iden`); this module only refuses
//! names that PostgreSQL would not keep exactly as given.

use sea_orm::sea_query::{DatabaseName, DynIden, SchemaName, TableName, TableRef};

use crate::error::{StatementError as Error, StatementResult as Result};

/// PostgreSQL keeps at most `NAMEDATALEN - 1` = 63 bytes of an identifier and silently truncates longer ones.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Checks that `name` is stored by PostgreSQL exactly as given once quoted: not empty, no NUL, at most 63 bytes.
///
/// Quotes, semicolons, spaces, mixed case and any other Unicode are fine: sea-query quotes every identifier.
pub(crate) fn check_identifier(what: &'static str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::EmptyIdentifier { what });
    }
    if name.contains('\0') {
        return Err(Error::NulInIdentifier {
            what,
            name: name.to_owned(),
        });
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(Error::IdentifierTooLong {
            what,
            name: name.to_owned(),
            len: name.len(),
        });
    }
    Ok(())
}

pub(crate) fn check_iden(what: &'static str, iden: &DynIden) -> Result<()> {
    check_identifier(what, &iden.to_string())
}

/// Checks every part of a possibly schema-qualified table name; refuses aliases and sub-queries, which no DDL
/// statement accepts.
pub(crate) fn check_table_ref(what: &'static str, table: &TableRef) -> Result<()> {
    match table {
        TableRef::Table(TableName(schema, name), None) => {
            if let Some(SchemaName(database, schema)) = schema {
                if let Some(DatabaseName(database)) = database {
                    check_iden("database", database)?;
                }
                check_iden("schema", schema)?;
            }
            check_iden(what, name)
        }
        _ => Err(Error::UnsupportedStatement {
            table: table_display(table),
            detail: "a table reference that is not a plain, optionally schema-qualified, name",
        }),
    }
}

/// The unquoted table name, for messages (`schema.table` when qualified).
pub(crate) fn table_display(table: &TableRef) -> String {
    match table {
        TableRef::Table(TableName(Some(SchemaName(_, schema)), name), _) => {
            format!("{schema}.{name}")
        }
        TableRef::Table(TableName(None, name), _) => name.to_string(),
        _ => "<not a table>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hostile_but_storable_names() {
        for name in [
            "a",
            "Mixed Case",
            r#"quo"te"#,
            "semi;colon",
            "drop table x; --",
            "ünïcödé ✓",
            &"x".repeat(63),
        ] {
            assert!(check_identifier("table", name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_names_postgres_would_change() {
        assert!(matches!(
            check_identifier("table", ""),
            Err(Error::EmptyIdentifier { what: "table" })
        ));
        assert!(matches!(
            check_identifier("table", "a\0b"),
            Err(Error::NulInIdentifier { .. })
        ));
        assert!(matches!(
            check_identifier("table", &"x".repeat(64)),
            Err(Error::IdentifierTooLong { len: 64, .. })
        ));
        // 32 two-byte characters = 64 bytes: too long although only 32 characters.
        assert!(matches!(
            check_identifier("table", &"é".repeat(32)),
            Err(Error::IdentifierTooLong { len: 64, .. })
        ));
    }

    #[test]
    fn checks_every_part_of_a_qualified_name() {
        let long = "s".repeat(64);
        let table: TableRef = (long.clone(), "t".to_owned()).into();
        assert!(matches!(
            check_table_ref("table", &table),
            Err(Error::IdentifierTooLong { what: "schema", .. })
        ));
        let table: TableRef = ("public".to_owned(), "t".to_owned()).into();
        assert!(check_table_ref("table", &table).is_ok());
        assert_eq!(table_display(&table), "public.t");
    }
}
