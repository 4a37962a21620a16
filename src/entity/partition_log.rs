//! `sopp_partition_log`: one row per partition the crate created or adopted.

use sea_orm::entity::prelude::*;

/// What kind of partition a log row records.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum PartitionKind {
    /// A range: `[start, end)` of timestamps, or `[int_start, int_end)` of integers.
    #[sea_orm(string_value = "range")]
    Range,
    /// A list of values (`list_values`).
    #[sea_orm(string_value = "list")]
    List,
    /// A hash partition (`hash_modulus`, `hash_remainder`).
    #[sea_orm(string_value = "hash")]
    Hash,
    /// The DEFAULT partition.
    #[sea_orm(string_value = "default")]
    Default,
}

/// The record of one partition.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sopp_partition_log")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The table's configuration (deleting it deletes these rows).
    pub config_id: i32,
    /// Schema of the partition (that of its parent).
    pub schema_name: String,
    /// The partition's table name, as it is in the catalog; unique with `schema_name`.
    pub partition_name: String,
    /// What kind of partition this is.
    pub kind: PartitionKind,
    /// For a sub-partition: the partition it belongs to (`None`: a partition of the registered table).
    pub parent_name: Option<String>,
    /// Time ranges: start, inclusive.
    pub start: Option<DateTimeUtc>,
    /// Time ranges: end, exclusive.
    pub end: Option<DateTimeUtc>,
    /// Integer ranges: start, inclusive.
    pub int_start: Option<i64>,
    /// Integer ranges: end, exclusive.
    pub int_end: Option<i64>,
    /// List partitions: the values, as a JSON array of strings, integers, booleans and nulls.
    pub list_values: Option<Json>,
    /// Hash partitions: the modulus.
    pub hash_modulus: Option<i32>,
    /// Hash partitions: the remainder.
    pub hash_remainder: Option<i32>,
    /// Rows moved out of the DEFAULT partition into this one when it was created or attached.
    pub moved_rows: Option<i64>,
    /// Whether the crate created this table (only such partitions are ever dropped by retention).
    pub created_by_crate: bool,
    /// A `DETACH .. CONCURRENTLY` of this partition started and has not been recorded as finished.
    pub detach_pending: bool,
    /// Whether the partition is attached to its parent.
    pub is_attached: bool,
    /// While set and in the future, the rule-based detach leaves this partition attached.
    pub detach_time: Option<DateTimeUtc>,
    /// Tablespace the crate last put the partition in (`None`: the database default or left unchanged).
    pub tablespace: Option<String>,
    /// Tablespace the partition's table was created in, read from the catalog when the crate created it
    /// (`pg_default` for the database default; `None` for adopted partitions, sub-partitioned ones, and those
    /// logged before this was recorded). Status expects a partition here when neither `tablespace` nor the
    /// configuration names one, so a move by hand is drift.
    pub created_tablespace: Option<String>,
    /// The partition a conversion kept the table's old rows in ([`legacy_partition`](crate::service::ConversionBuilder::legacy_partition)):
    /// one range over many periods (or steps), never reported as misaligned.
    pub legacy: bool,
    /// When retention converted it to the `columnar` access method
    /// ([`RetentionAction::Columnar`](super::partition_config::RetentionAction::Columnar)).
    pub columnar_at: Option<DateTimeUtc>,
    /// Its size in bytes before that conversion (on Citus, its shards' total).
    pub size_before: Option<i64>,
    /// Its size in bytes after it.
    pub size_after: Option<i64>,
    /// When the partition was created.
    pub created_at: DateTimeUtc,
    /// When it was last detached.
    pub detached_at: Option<DateTimeUtc>,
}

/// Relations of [`Model`].
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The table's configuration.
    #[sea_orm(
        belongs_to = "super::partition_config::Entity",
        from = "Column::ConfigId",
        to = "super::partition_config::Column::Id",
        on_delete = "Cascade"
    )]
    PartitionConfig,
}

impl Related<super::partition_config::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartitionConfig.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// The columns in the order [`Model::from_row`] reads them, which is the order of the fields and so the
/// order `Entity::find()` selects them in (a test holds the three together).
#[cfg(test)]
const ROW_ORDER: [&str; 26] = [
    "id",
    "config_id",
    "schema_name",
    "partition_name",
    "kind",
    "parent_name",
    "start",
    "end",
    "int_start",
    "int_end",
    "list_values",
    "hash_modulus",
    "hash_remainder",
    "moved_rows",
    "created_by_crate",
    "detach_pending",
    "is_attached",
    "detach_time",
    "tablespace",
    "created_tablespace",
    "legacy",
    "columnar_at",
    "size_before",
    "size_after",
    "created_at",
    "detached_at",
];

impl Model {
    /// Decodes a row of `Entity::find()` (every column, in the fields' order) by position. sea-orm's own
    /// decoding formats each column's name and looks it up, which over 100 000 log rows was a fifth of
    /// `status()`'s time in the client.
    pub(crate) fn from_row(row: &sea_orm::QueryResult) -> Result<Self, DbErr> {
        let kind: String = super::column(row, 4)?;
        Ok(Self {
            id: super::column(row, 0)?,
            config_id: super::column(row, 1)?,
            schema_name: super::column(row, 2)?,
            partition_name: super::column(row, 3)?,
            kind: PartitionKind::try_from_value(&kind)?,
            parent_name: super::column(row, 5)?,
            start: super::column(row, 6)?,
            end: super::column(row, 7)?,
            int_start: super::column(row, 8)?,
            int_end: super::column(row, 9)?,
            list_values: super::column(row, 10)?,
            hash_modulus: super::column(row, 11)?,
            hash_remainder: super::column(row, 12)?,
            moved_rows: super::column(row, 13)?,
            created_by_crate: super::column(row, 14)?,
            detach_pending: super::column(row, 15)?,
            is_attached: super::column(row, 16)?,
            detach_time: super::column(row, 17)?,
            tablespace: super::column(row, 18)?,
            created_tablespace: super::column(row, 19)?,
            legacy: super::column(row, 20)?,
            columnar_at: super::column(row, 21)?,
            size_before: super::column(row, 22)?,
            size_after: super::column(row, 23)?,
            created_at: super::column(row, 24)?,
            detached_at: super::column(row, 25)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable as _;

    #[test]
    fn rows_are_read_in_the_order_of_the_columns() {
        let columns: Vec<String> = Column::iter().map(|c| c.as_str().to_owned()).collect();
        assert_eq!(
            columns, ROW_ORDER,
            "update Model::from_row and ROW_ORDER with the columns"
        );
        // And `Entity::find()` selects them in that order.
        use sea_orm::{DbBackend, QueryTrait as _};
        let sql = Entity::find().build(DbBackend::Postgres).to_string();
        let mut at = 0;
        for column in ROW_ORDER {
            let quoted = format!("\"sopp_partition_log\".\"{column}\"");
            let found = sql[at..].find(&quoted).map(|i| i + at);
            assert!(found.is_some(), "{column} out of order in {sql}");
            at = found.unwrap_or(at) + quoted.len();
        }
    }
}
