//! `sopp_partition_config`: one row per managed partitioned table.

use sea_orm::entity::prelude::*;

use crate::calendar::Period;
use crate::schema::PartitionStrategy;

/// What maintenance does with partitions past retention.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum RetentionAction {
    /// Detach them and keep the tables (moved to the detach tablespace, if any).
    #[sea_orm(string_value = "detach")]
    Detach,
    /// Detach them, then drop them once detached for longer than `drop_after_seconds`.
    #[sea_orm(string_value = "drop")]
    Drop,
    /// Keep them attached, converted to the `columnar` access method (compressed, read-mostly; from the
    /// `citus_columnar` extension, or Citus): the log records each one's size before and after.
    #[sea_orm(string_value = "columnar")]
    Columnar,
}

/// How maintenance creates partitions.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum CreationMode {
    /// `CREATE TABLE .. PARTITION OF`: one statement, but it takes an ACCESS EXCLUSIVE lock on the parent, so
    /// it waits for, and then briefly blocks, every query on the table. Cheapest with no concurrent writers.
    #[sea_orm(string_value = "direct")]
    Direct,
    /// `CREATE TABLE .. (LIKE parent)` with a `CHECK` matching the bound, then `ATTACH PARTITION`, which takes
    /// only a SHARE UPDATE EXCLUSIVE lock on the parent: inserts and queries go on meanwhile.
    #[sea_orm(string_value = "attach")]
    Attach,
}

/// The configuration of one managed partitioned table.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
    /// How many partitions maintenance keeps ready beyond the current one (time ranges) or the one holding
    /// the largest key (integer ranges); `None` means 1.
    pub premake: Option<i32>,
    /// Whether the table keeps a DEFAULT partition (range and list tables).
    pub default_partition: bool,
    /// Sub-partitioning: each new range partition is itself partitioned by HASH of this column ...
    pub sub_partition_column: Option<String>,
    /// ... into this many hash partitions.
    pub sub_partition_modulus: Option<i32>,
    /// What maintenance does with partitions past retention.
    pub retention_action: RetentionAction,
    /// With [`RetentionAction::Drop`]: how long a partition stays detached before it is dropped.
    pub drop_after_seconds: Option<i64>,
    /// How maintenance creates partitions.
    pub creation_mode: CreationMode,
    /// Whether retention detaches with `DETACH .. CONCURRENTLY` (not possible while a DEFAULT partition exists).
    pub concurrent_detach: bool,
    /// Time ranges: how the key encodes time ([`TimeEncoding`](crate::encoding::TimeEncoding)'s name, e.g.
    /// `uuidv7`); `None`: as the key column's type says (`timestamptz`, `timestamp`, `date`).
    pub key_encoding: Option<String>,
    /// The properties every partition carries beyond what PostgreSQL gives it
    /// ([`PartitionProperties`](crate::model::properties::PartitionProperties), as JSON); `None`: they follow
    /// the parent.
    pub properties: Option<Json>,
    /// The retirement group: tables of one group (partitioned alike, linked by foreign keys) are retired
    /// together, partition by partition, in one step.
    pub retire_group: Option<String>,
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
