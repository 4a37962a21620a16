//! `sopp_partition_log`: one row per partition the crate created or adopted.

use sea_orm::entity::prelude::*;

/// The record of one partition.
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
    /// Start of the range, inclusive.
    pub start: DateTimeUtc,
    /// End of the range, exclusive.
    pub end: DateTimeUtc,
    /// Whether the partition is attached to its parent.
    pub is_attached: bool,
    /// While set and in the future, the rule-based detach leaves this partition attached.
    pub detach_time: Option<DateTimeUtc>,
    /// Tablespace the crate last put the partition in (`None`: the database default or left unchanged).
    pub tablespace: Option<String>,
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
