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
