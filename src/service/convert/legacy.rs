//! Keeping the old rows in place ([`ConversionBuilder::legacy_partition`](super::ConversionBuilder::legacy_partition)):
//! validate the `CHECK` that proves the legacy partition's bound, build the indexes it lacks `CONCURRENTLY`,
//! then the swap attaches the table as that partition, which scans nothing.

use std::time::Instant;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Set};

use super::{
    ConversionPhase, Runner, bound_from_json, range_of, set_lock_timeout, shadow_table, source,
};
use crate::entity::{conversion, partition_log};
use crate::error::{Error, Result};
use crate::exec;
use crate::model::LoggedBound;
use crate::model::convert::sql::{self, Names};
use crate::model::convert::{self as model, SourceTable};
use crate::schema::Partition;

impl Runner {
    /// The legacy partition's bound, as the prepare recorded it.
    pub(super) fn legacy_bound(&self) -> Result<LoggedBound> {
        bound_from_json(&self.state.settings["legacy_bound"]).ok_or_else(|| Error::CheckFailed {
            table: self.qualified(),
            check: "reading the legacy partition's bound",
            detail: self.state.settings.to_string(),
        })
    }

    /// Validates the `CHECK` (a scan under SHARE UPDATE EXCLUSIVE: reads and writes go on), then moves to
    /// building the indexes, in one transaction.
    pub(super) async fn validate(&mut self) -> Result<()> {
        let (schema, table, _) = self.names();
        let txn = self.begin(None).await?;
        exec::execute(
            &txn,
            sql::validate_constraint((&schema, &table), sql::LEGACY_CHECK),
        )
        .await?;
        let mut active: conversion::ActiveModel = self.state.clone().into();
        active.phase = Set(ConversionPhase::Indexing.as_str().to_owned());
        active.updated_at = Set(self.service.now());
        self.state = active.update(&txn).await?;
        txn.commit().await?;
        self.tell();
        tracing::info!(table = %self.qualified(), "conversion: the legacy partition's bound is proven");
        Ok(())
    }

    /// Builds, `CONCURRENTLY`, each index the partitioned table will have that the table lacks (a unique key
    /// widened with the partition key); an invalid one a kill left behind is dropped and built again.
    pub(super) async fn legacy_indexes(&mut self) -> Result<()> {
        let (schema, table, shadow) = self.names();
        let names = Names {
            schema: &schema,
            table: &table,
            shadow: &shadow,
        };
        let db = self.service.connection();
        let source = self.source.clone().unwrap_or_default();
        for index in &source.indexes {
            let Some(statement) = sql::legacy_index(names, index, &self.settings) else {
                continue;
            };
            let name = sql::legacy_index_name(&index.name);
            if source::index_is_invalid(db, &schema, &name).await? {
                exec::execute(db, sql::drop_index_concurrently((&schema, &name))).await?;
            }
            exec::execute(db, statement).await?;
        }
        Ok(())
    }

    /// The swap when the old rows stay: the table's identity, triggers and index names handed to the new
    /// table, then the table attached as the legacy partition under the name it gets.
    pub(super) async fn swap_legacy_once(&mut self) -> Result<()> {
        let (schema, table, shadow) = self.names();
        let txn = self.begin(None).await?;
        if self.phase()? != ConversionPhase::Indexing {
            return Ok(txn.commit().await?);
        }
        set_lock_timeout(&txn, self.service.maintenance_options().lock_timeout).await?;
        exec::execute(&txn, sql::lock_exclusive((&schema, &table))).await?;
        let locked = Instant::now();
        let source = self.source.clone().unwrap_or_default();
        for column in source.columns.iter().filter(|c| c.identity.is_some()) {
            source::continue_identity(&txn, &schema, (&table, &shadow), &column.name).await?;
            exec::execute(&txn, sql::drop_identity((&schema, &table), &column.name)).await?;
        }
        let meta = source::metadata(&txn, &schema, &table).await?;
        for trigger in &source.triggers {
            exec::execute(&txn, sql::drop_trigger((&schema, &table), trigger)).await?;
        }
        self.legacy_into_place(&txn, &source).await?;
        self.carry_metadata(&txn, &meta).await?;
        self.record_swap(txn, &source, locked, 0).await
    }

    /// The new table's indexes (instant: its partitions are empty), the names handed over, the table
    /// attached as the legacy partition (its `CHECK` proves the bound: no scan), and the `CHECK` dropped.
    async fn legacy_into_place(
        &self,
        txn: &DatabaseTransaction,
        source: &SourceTable,
    ) -> Result<()> {
        let (schema, table, shadow) = self.names();
        let names = Names {
            schema: &schema,
            table: &table,
            shadow: &shadow,
        };
        for index in &source.indexes {
            if let Some(statement) = sql::carry_index(names, index, &self.settings) {
                exec::execute(txn, statement).await?;
            }
            // A partition has one primary key: the new table's, widened; the table's own goes (its index
            // with it: a moment, under the lock held).
            let widened = index.primary
                && self.settings.policy == crate::schema::PrimaryKeyPolicy::IncludeKey
                && !index
                    .columns
                    .as_ref()
                    .is_some_and(|c| c.contains(&self.settings.key));
            if let (true, Some((constraint, _))) = (widened, &index.constraint) {
                let drop = Partition::drop_constraint()
                    .table((schema.clone(), table.clone()))
                    .constraint(constraint.clone())
                    .build(sea_orm::sea_query::PostgresQueryBuilder)?;
                exec::execute(txn, drop).await?;
            }
        }
        for index in &source.indexes {
            let temp = model::shadow_index_name(&index.name);
            if source::exists(txn, &schema, &temp).await? {
                if source::exists(txn, &schema, &index.name).await? {
                    let kept = crate::calendar::fit_name(&index.name, "_legacy");
                    exec::execute(txn, sql::rename_index((&schema, &index.name), &kept)).await?;
                }
                exec::execute(txn, sql::rename_index((&schema, &temp), &index.name)).await?;
            }
        }
        let legacy = model::legacy_name(&table);
        exec::execute(txn, sql::rename_table((&schema, &table), &legacy)).await?;
        exec::execute(txn, sql::rename_table((&schema, &shadow), &table)).await?;
        let key_type = source.key_type(&self.settings.key);
        let parent = shadow_table(&schema, &table, &self.settings, key_type)?;
        let (bound, _) = range_of(&parent, &self.legacy_bound()?)?;
        let attach = Partition::attach()
            .table((schema.clone(), table.clone()))
            .partition((schema.clone(), legacy.clone()))
            .bound(bound)
            .build(sea_orm::sea_query::PostgresQueryBuilder)?;
        exec::execute(txn, attach).await?;
        let drop = Partition::drop_constraint()
            .table((schema.clone(), legacy))
            .constraint(sql::LEGACY_CHECK)
            .build(sea_orm::sea_query::PostgresQueryBuilder)?;
        exec::execute(txn, drop).await
    }

    /// Records the legacy partition in the log (once): a range over many periods, not made by the crate (so
    /// retention detaches it but never drops it).
    pub(super) async fn log_legacy(&self) -> Result<()> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let (schema, table, _) = self.names();
        let config = self
            .service
            .config_of((schema.clone(), table.clone()))
            .await?;
        let name = model::legacy_name(&table);
        let db = self.service.connection();
        let logged = partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.eq(config.id))
            .filter(partition_log::Column::PartitionName.eq(name.as_str()))
            .one(db)
            .await?;
        if logged.is_some() {
            return Ok(());
        }
        let mut log = self.legacy_bound()?.to_log();
        log.config_id = Set(config.id);
        log.schema_name = Set(schema);
        log.partition_name = Set(name);
        log.parent_name = Set(None);
        log.created_by_crate = Set(false);
        log.detach_pending = Set(false);
        log.is_attached = Set(true);
        log.legacy = Set(true);
        log.created_at = Set(self.service.now());
        log.insert(db).await?;
        Ok(())
    }

    /// Rolling back before the swap: the `CHECK` and the indexes built for the legacy partition go.
    pub(super) async fn undo_legacy<C: ConnectionTrait>(&self, conn: &C) -> Result<()> {
        let (schema, table, _) = self.names();
        let drop = sql::drop_constraint_if_exists((&schema, &table), sql::LEGACY_CHECK);
        exec::execute(conn, drop).await?;
        let source = source::shape(conn, &schema, &table).await?;
        for index in &source.indexes {
            if index.name.ends_with("_sopp_legacy") {
                exec::execute(conn, sql::drop_index((&schema, &index.name))).await?;
            }
        }
        Ok(())
    }
}
