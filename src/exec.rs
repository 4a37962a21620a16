//! Running the statements [`schema`](crate::schema) builds, on any connection: the service's transactions and
//! the migrations' `SchemaManager` alike.

use crate::error::Result;

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
