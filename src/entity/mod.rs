//! The tables this crate owns, as SeaORM entities. The `sea-orm-pg-partitioning-migration` crate creates them.
//!
//! Their names carry the prefix `sopp_` (sea-orm-pg-partitioning) so they cannot clash with yours.

pub mod conversion;
pub mod partition_config;
pub mod partition_log;

/// Column `index` of a row from PostgreSQL, decoded by sqlx itself: sea-orm's decoding by position formats
/// an error message for every NULL it meets (which its `Option` then drops), and over 100 000 rows of
/// mostly empty columns that was a tenth of `status()`'s time in the client.
pub(crate) fn column<'r, T>(
    row: &'r sea_orm::QueryResult,
    index: usize,
) -> Result<T, sea_orm::DbErr>
where
    T: sea_orm::sqlx::Decode<'r, sea_orm::sqlx::Postgres>
        + sea_orm::sqlx::Type<sea_orm::sqlx::Postgres>,
{
    use sea_orm::sqlx::Row as _;
    let row = row
        .try_as_pg_row()
        .ok_or_else(|| sea_orm::DbErr::Type("not a row from PostgreSQL".to_owned()))?;
    row.try_get::<T, usize>(index)
        .map_err(|e| sea_orm::DbErr::Type(format!("column {index}: {e}")))
}
