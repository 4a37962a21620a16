//! `sopp_partition_config`: one row per managed partitioned table.

use sea_orm::entity::prelude::*;

use crate::calendar::Period;
use crate::schema::PartitionStrategy;

/// The configuration of one managed partitioned table.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sopp_partition_config")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Schema of the partitioned table.
    pub schema_name: String,
    /// Name of the partitioned table; unique with `schema_name`.
    pub table_name: String,
    /// The partition key column.
    pub key_column: String,
    /// How the table is partitioned.
    pub strategy: PartitionStrategy,
    /// Length of each time-range partition.
    pub period: Option<Period>,
    /// Retention: attached partitions that ended more than `interval` periods ago are detached. `None`: never.
    pub interval: Option<i32>,
    /// Tablespace of partitions (and their indexes) while attached; `None` leaves them where they are.
    pub attach_tablespace: Option<String>,
    /// Tablespace of partitions (and their indexes) once detached; `None` leaves them where they are.
    pub detach_tablespace: Option<String>,
    /// IANA time zone in which period boundaries fall, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// When the table was registered.
    pub created_at: DateTimeUtc,
    /// When the configuration last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of [`Model`].
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The partitions recorded for this table.
    #[sea_orm(has_many = "super::partition_log::Entity")]
    PartitionLog,
}

impl Related<super::partition_log::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartitionLog.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
