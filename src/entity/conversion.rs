//! `sopp_conversion`: one row per conversion of a plain table into a partitioned one
//! ([`PartitionService::convert`](crate::service::PartitionService::convert)), its phase and progress.

use sea_orm::entity::prelude::*;

/// The state of one conversion.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sopp_conversion")]
pub struct Model {
    /// Surrogate key (the capture trigger's first argument).
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Schema of the table (and of the new one).
    pub schema_name: String,
    /// The table's name: the plain one until the swap, the partitioned one after.
    pub table_name: String,
    /// The partitioned table being filled, until the swap gives it the table's name.
    pub shadow_name: String,
    /// The name the plain table gets at the swap.
    pub retired_name: String,
    /// Where the conversion is: see [`ConversionPhase`](crate::service::ConversionPhase).
    pub phase: String,
    /// What was asked for: kind, key, period or step, zone, encoding, policy, tablespaces, DEFAULT.
    pub settings: Json,
    /// The plain table's size in blocks when the copy started (later rows are captured).
    pub total_blocks: i64,
    /// Blocks copied so far.
    pub copied_blocks: i64,
    /// Rows the copy inserted.
    pub rows_copied: i64,
    /// Captured changes applied.
    pub changes_applied: i64,
    /// How long the swap held the table's ACCESS EXCLUSIVE lock, in milliseconds.
    pub swap_lock_ms: Option<i64>,
    /// Keep the plain table after the swap (renamed) instead of dropping it.
    pub keep_retired: bool,
    /// The last error that stopped the conversion.
    pub last_error: Option<String>,
    /// When it started.
    pub started_at: DateTimeUtc,
    /// When its state last changed.
    pub updated_at: DateTimeUtc,
    /// When it finished or was rolled back.
    pub finished_at: Option<DateTimeUtc>,
}

/// Relations of [`Model`]: none.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
