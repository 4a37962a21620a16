//! Running the statements [`schema`](crate::schema) builds and the [recipes](crate::model::recipe) the model
//! composes, on any connection: the service's transactions and the migrations' `SchemaManager` alike.

use crate::error::{Error, Result};
use crate::model::recipe::{Recipe, RecipeStatement, StatementKind};

/// Runs several statements built by [`schema`](crate::schema) in one round trip (the simple query protocol;
/// their values were written by sea-query).
pub(crate) async fn execute_script<C: sea_orm::ConnectionTrait>(
    conn: &C,
    sql: String,
) -> Result<()> {
    tracing::trace!(%sql);
    conn.execute_unprepared(&sql).await?;
    Ok(())
}

/// Runs one statement built by [`schema`](crate::schema). The text comes from a statement's `build`, which
/// quoted every identifier and wrote every value through sea-query.
pub(crate) async fn execute<C: sea_orm::ConnectionTrait>(conn: &C, sql: String) -> Result<()> {
    tracing::trace!(%sql);
    conn.execute_raw(sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        sql,
    ))
    .await?;
    Ok(())
}

/// What running a recipe did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ran {
    /// Rows moved out of DEFAULT, when the recipe moves rows.
    pub moved_rows: Option<u64>,
}

/// Runs `recipe` on `conn`, statement by statement, as they are (the simple query protocol, so the server
/// sees and logs exactly the recipe's text). A failed statement's error goes through `classify` with the
/// statement, for a typed error. Rows copied out of DEFAULT must be as many as were removed from it, or the
/// run fails with [`Error::CheckFailed`] (the caller's transaction then rolls back). `table`: for messages.
pub(crate) async fn run<C: sea_orm::ConnectionTrait>(
    conn: &C,
    table: &str,
    recipe: &Recipe,
    classify: impl Fn(&RecipeStatement, Error) -> Error,
) -> Result<Ran> {
    let mut copied = None;
    let mut ran = Ran::default();
    for statement in recipe.statements() {
        tracing::trace!(sql = %statement.sql());
        let result = conn
            .execute_unprepared(statement.sql())
            .await
            .map_err(|err| classify(statement, Error::from(err)))?;
        match statement.kind() {
            StatementKind::CopyRows => copied = Some(result.rows_affected()),
            StatementKind::RemoveRows => {
                let removed = result.rows_affected();
                let inserted = copied.take().unwrap_or(0);
                if inserted != removed {
                    return Err(Error::CheckFailed {
                        table: table.to_owned(),
                        check: "moving rows out of DEFAULT",
                        detail: format!("{inserted} rows were copied but {removed} removed"),
                    });
                }
                ran.moved_rows = Some(ran.moved_rows.unwrap_or(0) + removed);
            }
            StatementKind::Ddl | StatementKind::OutsideTransaction => {}
        }
    }
    Ok(ran)
}

/// Several DDL-only recipes as one script, to run in one round trip; `None` when one of them has a statement
/// that must run on its own (row moves, outside a transaction).
pub(crate) fn script<'a>(recipes: impl IntoIterator<Item = &'a Recipe>) -> Option<String> {
    let mut sql = String::new();
    for recipe in recipes {
        if !recipe.is_ddl_only() {
            return None;
        }
        for statement in recipe.sql() {
            sql.push_str(statement);
            sql.push_str(";\n");
        }
    }
    Some(sql)
}
