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
    /// Retention: time ranges detach attached partitions that ended more than `interval` periods ago; integer
    /// ranges those more than `interval` partitions below the one holding the largest key. `None`: never.
    pub interval: Option<i32>,
    /// Tablespace of partitions (and their indexes) while attached; `None` leaves them where they are.
    pub attach_tablespace: Option<String>,
    /// Tablespace of partitions (and their indexes) once detached; `None` leaves them where they are.
    pub detach_tablespace: Option<String>,
    /// IANA time zone in which period boundaries fall, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Integer ranges: the width of each partition (e.g. 1 000 000 ids).
    pub step: Option<i64>,
    /// Integer ranges: how many partitions to keep ready beyond the one holding the largest key.
    pub premake: Option<i32>,
    /// Whether the table keeps a DEFAULT partition (range and list tables).
    pub default_partition: bool,
    /// Sub-partitioning: each new range partition is itself partitioned by HASH of this column ...
    pub sub_partition_column: Option<String>,
    /// ... into this many hash partitions.
    pub sub_partition_modulus: Option<i32>,
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
