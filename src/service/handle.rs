//! What every registered table can do, whatever its kind.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Asterisk, Expr, Func, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
};

use super::core;
use super::{PartitionService, catalog};
use crate::entity::partition_config::{CreationMode, RetentionAction};
use crate::entity::{partition_config, partition_log};
use crate::error::{ConfigProblem, Error, Result};
use crate::model::table::Table;
use crate::schema::Partition;

/// How maintenance treats a table: see [`TableHandle::update_maintenance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceSettings {
    /// Partitions kept ready beyond the current one (time ranges) or the one holding the largest key
    /// (integer ranges). Default 1, at most [`MAX_PREMAKE`](super::MAX_PREMAKE) (1000).
    pub premake: u32,
    /// What happens to partitions past retention. Default [`RetentionAction::Detach`].
    pub retention: RetentionAction,
    /// With [`RetentionAction::Drop`]: how long a partition stays detached before it is dropped (only
    /// partitions this crate created are ever dropped).
    pub drop_after: Option<Duration>,
    /// How partitions are created. Default [`CreationMode::Direct`].
    pub creation_mode: CreationMode,
    /// Detach with `DETACH .. CONCURRENTLY` (not possible while the table has a DEFAULT partition).
    pub concurrent_detach: bool,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        Self {
            premake: 1,
            retention: RetentionAction::Detach,
            drop_after: None,
            creation_mode: CreationMode::Direct,
            concurrent_detach: false,
        }
    }
}

impl MaintenanceSettings {
    fn of(config: &partition_config::Model) -> Self {
        Self {
            premake: config.premake.map_or(1, |p| p.max(0).unsigned_abs()),
            retention: config.retention_action,
            drop_after: config.drop_after_seconds.map(Duration::seconds),
            creation_mode: config.creation_mode,
            concurrent_detach: config.concurrent_detach,
        }
    }
}

/// What [`TableHandle::unregister`] does with the partitions the log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepPartitions {
    /// Every table stays as it is: attached partitions in the table, detached ones as tables of their own.
    All,
    /// Attached partitions stay; detached ones that this crate created are dropped (once the table is
    /// unregistered, nothing would ever drop them).
    Attached,
}

/// What [`TableHandle::unregister`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unregistered {
    /// The table, `schema.name`.
    pub table: String,
    /// Log rows removed with the configuration.
    pub log_rows: usize,
    /// Partitions left attached to the table.
    pub attached_kept: usize,
    /// Detached partitions kept as tables of their own.
    pub detached_kept: usize,
    /// Detached partitions dropped, by name.
    pub dropped: Vec<String>,
}

/// How many rows sit in a table's DEFAULT partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRows {
    /// The DEFAULT partition's name.
    pub partition: String,
    /// The planner's estimate (`pg_class.reltuples`); `None` before the table was first vacuumed or analyzed.
    pub estimated: Option<i64>,
    /// The exact count, when asked for (it reads the whole partition).
    pub exact: Option<i64>,
}

/// A registered table of any kind: the operations every kind shares. The kind-specific handles
/// ([`TimeRangeTable`](super::TimeRangeTable), [`ListTable`](super::ListTable), [`HashTable`](super::HashTable),
/// [`IdRangeTable`](super::IdRangeTable)) have the same methods (each once) and give this handle with
/// `as_table()`.
#[derive(Debug, Clone)]
pub struct TableHandle {
    pub(crate) service: PartitionService,
    pub(crate) config_id: i32,
    pub(crate) schema: String,
    pub(crate) table: String,
}

impl TableHandle {
    pub(crate) fn from_config(service: PartitionService, config: &partition_config::Model) -> Self {
        Self {
            service,
            config_id: config.id,
            schema: config.schema_name.clone(),
            table: config.table_name.clone(),
        }
    }

    /// The schema of the table.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    pub(crate) async fn lock(&self) -> Result<(DatabaseTransaction, Table)> {
        core::lock(&self.service, self.config_id, &self.schema, &self.table).await
    }

    /// The configuration row.
    pub async fn config(&self) -> Result<partition_config::Model> {
        partition_config::Entity::find_by_id(self.config_id)
            .one(self.service.connection())
            .await?
            .ok_or_else(|| Error::NotRegistered {
                table: self.qualified(),
            })
    }

    /// The maintenance settings.
    pub async fn maintenance_settings(&self) -> Result<MaintenanceSettings> {
        Ok(MaintenanceSettings::of(&self.config().await?))
    }

    /// Changes the maintenance settings.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(events: TimeRangeTable) -> Result<(), Error> {
    /// events
    ///     .update_maintenance(|m| {
    ///         m.premake = 7;                                   // a week of daily partitions ready
    ///         m.retention = RetentionAction::Drop;              // detach, then drop ...
    ///         m.drop_after = Some(chrono::Duration::days(30));  // ... 30 days later
    ///         m.creation_mode = CreationMode::Attach;          // never block inserts while creating
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_maintenance<F>(&self, change: F) -> Result<MaintenanceSettings>
    where
        F: FnOnce(&mut MaintenanceSettings),
    {
        use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
        let (txn, ctx) = self.lock().await?;
        let mut settings = MaintenanceSettings::of(&ctx.config);
        change(&mut settings);
        let invalid = |problem| Error::InvalidConfig {
            table: self.qualified(),
            problem,
        };
        if settings.retention == RetentionAction::Drop && settings.drop_after.is_none() {
            return Err(invalid(ConfigProblem::DropWithoutGrace));
        }
        super::check_premake(settings.premake)?;
        if settings.retention == RetentionAction::Columnar
            && ctx.config.retention_action != RetentionAction::Columnar
        {
            super::citus::check_columnar(&txn, &ctx)
                .await
                .map_err(invalid)?;
        }
        if settings.drop_after.is_some_and(|d| d < Duration::zero()) {
            return Err(invalid(ConfigProblem::NegativeDropAfter));
        }
        if settings.concurrent_detach && !ctx.config.concurrent_detach {
            super::citus::refuse_if_distributed(
                &txn,
                (&self.schema, &self.table),
                "concurrent_detach",
                super::citus::NO_CONCURRENT_DETACH,
            )
            .await?;
        }
        if settings.concurrent_detach
            && let Some(default) = core::default_log(&txn, ctx.config.id).await?
        {
            return Err(Error::ConcurrentDetachWithDefault {
                table: self.qualified(),
                partition: default.partition_name,
            });
        }
        let mut active = ctx.config.into_active_model();
        active.premake = Set(Some(i32::try_from(settings.premake).unwrap_or(i32::MAX)));
        active.retention_action = Set(settings.retention);
        active.drop_after_seconds = Set(settings.drop_after.map(|d| d.num_seconds()));
        active.creation_mode = Set(settings.creation_mode);
        active.concurrent_detach = Set(settings.concurrent_detach);
        active.updated_at = Set(self.service.now());
        active.update(&txn).await?;
        txn.commit().await?;
        Ok(settings)
    }

    /// Every recorded partition of the table, the DEFAULT one and sub-partitions included, in creation order.
    pub async fn all_partitions(&self) -> Result<Vec<partition_log::Model>> {
        Ok(partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.eq(self.config_id))
            .order_by_asc(partition_log::Column::Id)
            .all(self.service.connection())
            .await?)
    }

    /// The sub-partitions recorded for a partition.
    pub async fn sub_partitions(
        &self,
        partition: &partition_log::Model,
    ) -> Result<Vec<partition_log::Model>> {
        core::leaves(self.service.connection(), partition).await
    }

    /// The DEFAULT partition, if the table has one.
    pub async fn default_partition(&self) -> Result<Option<partition_log::Model>> {
        core::default_log(self.service.connection(), self.config_id).await
    }

    /// How many rows sit in the DEFAULT partition: the planner's estimate, and with `exact` a count.
    /// `None` when the table has no DEFAULT partition.
    pub async fn default_rows(&self, exact: bool) -> Result<Option<DefaultRows>> {
        let Some(default) = self.default_partition().await? else {
            return Ok(None);
        };
        let conn = self.service.connection();
        let estimated =
            catalog::estimated_rows(conn, &default.schema_name, &default.partition_name).await?;
        let exact = if exact {
            let count = Query::select()
                .expr(Func::count(Expr::col(Asterisk)))
                .from((default.schema_name.clone(), default.partition_name.clone()))
                .to_owned();
            let row = conn.query_one(&count).await?;
            Some(
                row.map(|r| r.try_get_by_index::<i64>(0))
                    .transpose()?
                    .unwrap_or(0),
            )
        } else {
            None
        };
        Ok(Some(DefaultRows {
            partition: default.partition_name,
            estimated,
            exact,
        }))
    }

    /// Detaches the given partitions, moving each (and its indexes) to the configured detach tablespace.
    /// Partitions already detached are left alone. All or nothing; returns those detached.
    pub async fn detach(
        &self,
        partitions: &[partition_log::Model],
    ) -> Result<Vec<partition_log::Model>> {
        let (txn, ctx) = self.lock().await?;
        let targets = core::reread(&txn, &ctx, partitions).await?;
        let detached = self.detach_locked(&txn, &ctx, targets).await?;
        txn.commit().await?;
        Ok(detached)
    }

    pub(crate) async fn detach_locked(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Table,
        targets: Vec<partition_log::Model>,
    ) -> Result<Vec<partition_log::Model>> {
        let tablespace = ctx.config.detach_tablespace.clone();
        let mut detached = Vec::new();
        for log in targets.into_iter().filter(|log| log.is_attached) {
            detached.push(core::detach(&self.service, txn, ctx, log, tablespace.as_deref()).await?);
        }
        Ok(detached)
    }

    /// Attaches the given partitions back, first moving each (and its indexes) to the configured attach
    /// tablespace; rows of the DEFAULT partition that belong in one are moved into it. `detach_time` protects
    /// them from a rule-based detach until then. Partitions already attached are left alone. All or nothing.
    pub async fn attach(
        &self,
        partitions: &[partition_log::Model],
        detach_time: Option<DateTime<Utc>>,
    ) -> Result<Vec<partition_log::Model>> {
        let (txn, ctx) = self.lock().await?;
        let targets = core::reread(&txn, &ctx, partitions).await?;
        let attached = self.attach_locked(&txn, &ctx, targets, detach_time).await?;
        txn.commit().await?;
        Ok(attached)
    }

    pub(crate) async fn attach_locked(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Table,
        targets: Vec<partition_log::Model>,
        detach_time: Option<DateTime<Utc>>,
    ) -> Result<Vec<partition_log::Model>> {
        let tablespace = ctx.config.attach_tablespace.clone();
        let mut attached = Vec::new();
        for log in targets.into_iter().filter(|log| !log.is_attached) {
            attached.push(
                core::attach(
                    &self.service,
                    txn,
                    ctx,
                    log,
                    tablespace.as_deref(),
                    detach_time,
                )
                .await?,
            );
        }
        Ok(attached)
    }

    /// Attaches the given partitions, or with `None` every detached range partition in `order`.
    pub(crate) async fn attach_ranges(
        &self,
        partitions: Option<&[partition_log::Model]>,
        detach_time: Option<DateTime<Utc>>,
        order: partition_log::Column,
    ) -> Result<Vec<partition_log::Model>> {
        let (txn, ctx) = self.lock().await?;
        let targets = match partitions {
            Some(logs) => core::reread(&txn, &ctx, logs).await?,
            None => {
                core::range_partitions(self.config_id)
                    .filter(partition_log::Column::IsAttached.eq(false))
                    .order_by_asc(order)
                    .all(&txn)
                    .await?
            }
        };
        let attached = self.attach_locked(&txn, &ctx, targets, detach_time).await?;
        txn.commit().await?;
        Ok(attached)
    }

    /// Drops the given partitions (attached or not) with their rows, sub-partitions and log rows. A partition
    /// whose table is already gone only loses its log rows.
    pub async fn delete_partitions(&self, partitions: &[partition_log::Model]) -> Result<()> {
        let (txn, ctx) = self.lock().await?;
        for log in core::reread(&txn, &ctx, partitions).await? {
            core::drop_partition(&txn, &log).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Removes every row of a partition.
    pub async fn truncate(&self, partition: &partition_log::Model) -> Result<()> {
        let (txn, ctx) = self.lock().await?;
        for log in core::reread(&txn, &ctx, std::slice::from_ref(partition)).await? {
            let sql = Partition::truncate()
                .table((log.schema_name.clone(), log.partition_name.clone()))
                .build(sea_orm::sea_query::PostgresQueryBuilder)?;
            super::execute(&txn, sql).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Moves a partition and all its indexes (a sub-partitioned one: all its sub-partitions) to `tablespace`
    /// (`pg_default` for the default), attached or not. Returns the updated log row.
    pub async fn set_tablespace(
        &self,
        partition: &partition_log::Model,
        tablespace: &str,
    ) -> Result<partition_log::Model> {
        use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
        let (txn, ctx) = self.lock().await?;
        check_tablespace(&txn, tablespace).await?;
        super::citus::refuse_if_distributed(
            &txn,
            (&self.schema, &self.table),
            "set_tablespace",
            super::citus::NO_TABLESPACE,
        )
        .await?;
        let Some(log) = core::reread(&txn, &ctx, std::slice::from_ref(partition))
            .await?
            .pop()
        else {
            return Err(Error::ForeignPartition {
                partition: partition.partition_name.clone(),
                table: self.qualified(),
            });
        };
        core::place_partition(&txn, &log, tablespace).await?;
        let mut active = log.into_active_model();
        active.tablespace = Set(Some(tablespace.to_owned()));
        let log = active.update(&txn).await?;
        txn.commit().await?;
        Ok(log)
    }

    /// Removes the table's configuration and log: the service no longer manages it (registering it again, or
    /// adopting it, starts anew). The partitioned table and its attached partitions are never touched;
    /// detached partitions are kept or, with [`KeepPartitions::Attached`], those this crate created are
    /// dropped. One transaction under the table's lock.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # use sea_orm_pg_partitioning::service::KeepPartitions;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let done = service.table_of("event").await?.unregister(KeepPartitions::All).await?;
    /// println!("{} log rows removed, {} partitions kept", done.log_rows, done.attached_kept + done.detached_kept);
    /// # Ok(()) }
    /// ```
    pub async fn unregister(&self, keep: KeepPartitions) -> Result<Unregistered> {
        use sea_orm::{QuerySelect, TransactionTrait};
        // The table's lock without requiring the table: a table dropped by hand is unregistered too.
        let txn = self.service.connection().begin().await?;
        catalog::lock_table(&txn, &self.schema, &self.table).await?;
        if partition_config::Entity::find_by_id(self.config_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(Error::NotRegistered {
                table: self.qualified(),
            });
        }
        let logs = partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.eq(self.config_id))
            .all(&txn)
            .await?;
        let mut done = Unregistered {
            table: self.qualified(),
            log_rows: logs.len(),
            attached_kept: 0,
            detached_kept: 0,
            dropped: Vec::new(),
        };
        for log in logs.iter().filter(|l| l.parent_name.is_none()) {
            match (log.is_attached, keep) {
                (true, _) => done.attached_kept += 1,
                (false, KeepPartitions::Attached) if log.created_by_crate => {
                    core::drop_partition(&txn, log).await?;
                    done.dropped.push(log.partition_name.clone());
                }
                (false, _) => done.detached_kept += 1,
            }
        }
        partition_log::Entity::delete_many()
            .filter(partition_log::Column::ConfigId.eq(self.config_id))
            .exec(&txn)
            .await?;
        partition_config::Entity::delete_by_id(self.config_id)
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(done)
    }

    /// Protects a partition from the retention rule until `until` has passed (the original's `detach_time`:
    /// kept attached while `now <= until`), or with `None` lifts the protection. Returns the updated log row.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(events: TimeRangeTable, log: partition_log::Model) -> Result<(), Error> {
    /// let until = chrono::Utc::now() + chrono::Duration::days(30);
    /// let log = events.set_detach_time(&log, Some(until)).await?; // an audit needs it a month longer
    /// assert_eq!(log.detach_time, Some(until));
    /// # Ok(()) }
    /// ```
    pub async fn set_detach_time(
        &self,
        partition: &partition_log::Model,
        until: Option<DateTime<Utc>>,
    ) -> Result<partition_log::Model> {
        use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
        let (txn, ctx) = self.lock().await?;
        let Some(log) = core::reread(&txn, &ctx, std::slice::from_ref(partition))
            .await?
            .pop()
        else {
            return Err(Error::UnknownPartition {
                partition: partition.partition_name.clone(),
                table: self.qualified(),
            });
        };
        let mut active = log.into_active_model();
        active.detach_time = Set(until);
        let log = active.update(&txn).await?;
        txn.commit().await?;
        Ok(log)
    }
}

/// A handle for one kind of table: the struct (documented by the caller), `from_config`, [`TableHandle`]'s
/// operations forwarded one by one (no `Deref`: every operation is one method of the handle), and
/// `as_table` for code that works on any kind. With `ranges`, the kind has its own attach and detach (by
/// rule or given), so the plain ones of [`TableHandle`] are not forwarded.
macro_rules! typed_handle {
    ($(#[$meta:meta])* $name:ident $(, $ranges:ident)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            handle: $crate::service::TableHandle,
        }

        impl $name {
            pub(super) fn from_config(
                service: $crate::service::PartitionService,
                config: &$crate::entity::partition_config::Model,
            ) -> Self {
                Self {
                    handle: $crate::service::TableHandle::from_config(service, config),
                }
            }

            /// The same table as a [`TableHandle`](crate::service::TableHandle), for code that works on any
            /// kind.
            pub fn as_table(&self) -> &$crate::service::TableHandle {
                &self.handle
            }

            /// The schema of the table.
            pub fn schema(&self) -> &str {
                self.handle.schema()
            }

            /// The table's name.
            pub fn table(&self) -> &str {
                self.handle.table()
            }

            /// The declared partition properties (see
            /// [`TableHandle::properties`](crate::service::TableHandle::properties)).
            pub async fn properties(
                &self,
            ) -> $crate::Result<$crate::model::properties::PartitionProperties> {
                self.handle.properties().await
            }

            /// Declares the partition properties (see
            /// [`TableHandle::set_properties`](crate::service::TableHandle::set_properties)).
            pub async fn set_properties(
                &self,
                properties: $crate::model::properties::PartitionProperties,
            ) -> $crate::Result<()> {
                self.handle.set_properties(properties).await
            }

            /// The configuration row (see [`TableHandle::config`](crate::service::TableHandle::config)).
            pub async fn config(
                &self,
            ) -> $crate::Result<$crate::entity::partition_config::Model> {
                self.handle.config().await
            }

            /// The maintenance settings (see
            /// [`TableHandle::maintenance_settings`](crate::service::TableHandle::maintenance_settings)).
            pub async fn maintenance_settings(
                &self,
            ) -> $crate::Result<$crate::service::MaintenanceSettings> {
                self.handle.maintenance_settings().await
            }

            /// Changes the maintenance settings (see
            /// [`TableHandle::update_maintenance`](crate::service::TableHandle::update_maintenance)).
            pub async fn update_maintenance<F>(
                &self,
                change: F,
            ) -> $crate::Result<$crate::service::MaintenanceSettings>
            where
                F: FnOnce(&mut $crate::service::MaintenanceSettings),
            {
                self.handle.update_maintenance(change).await
            }

            /// Every recorded partition, the DEFAULT one and sub-partitions included (see
            /// [`TableHandle::all_partitions`](crate::service::TableHandle::all_partitions)).
            pub async fn all_partitions(
                &self,
            ) -> $crate::Result<Vec<$crate::entity::partition_log::Model>> {
                self.handle.all_partitions().await
            }

            /// The sub-partitions of a partition (see
            /// [`TableHandle::sub_partitions`](crate::service::TableHandle::sub_partitions)).
            pub async fn sub_partitions(
                &self,
                partition: &$crate::entity::partition_log::Model,
            ) -> $crate::Result<Vec<$crate::entity::partition_log::Model>> {
                self.handle.sub_partitions(partition).await
            }

            /// The DEFAULT partition, if the table has one (see
            /// [`TableHandle::default_partition`](crate::service::TableHandle::default_partition)).
            pub async fn default_partition(
                &self,
            ) -> $crate::Result<Option<$crate::entity::partition_log::Model>> {
                self.handle.default_partition().await
            }

            /// How many rows sit in the DEFAULT partition (see
            /// [`TableHandle::default_rows`](crate::service::TableHandle::default_rows)).
            pub async fn default_rows(
                &self,
                exact: bool,
            ) -> $crate::Result<Option<$crate::service::DefaultRows>> {
                self.handle.default_rows(exact).await
            }

            /// Drops partitions and their log rows (see
            /// [`TableHandle::delete_partitions`](crate::service::TableHandle::delete_partitions)).
            pub async fn delete_partitions(
                &self,
                partitions: &[$crate::entity::partition_log::Model],
            ) -> $crate::Result<()> {
                self.handle.delete_partitions(partitions).await
            }

            /// Removes every row of a partition (see
            /// [`TableHandle::truncate`](crate::service::TableHandle::truncate)).
            pub async fn truncate(
                &self,
                partition: &$crate::entity::partition_log::Model,
            ) -> $crate::Result<()> {
                self.handle.truncate(partition).await
            }

            /// Moves a partition and its indexes to a tablespace (see
            /// [`TableHandle::set_tablespace`](crate::service::TableHandle::set_tablespace)).
            pub async fn set_tablespace(
                &self,
                partition: &$crate::entity::partition_log::Model,
                tablespace: &str,
            ) -> $crate::Result<$crate::entity::partition_log::Model> {
                self.handle.set_tablespace(partition, tablespace).await
            }

            /// Stops managing the table (see
            /// [`TableHandle::unregister`](crate::service::TableHandle::unregister)).
            pub async fn unregister(
                &self,
                keep: $crate::service::KeepPartitions,
            ) -> $crate::Result<$crate::service::Unregistered> {
                self.handle.unregister(keep).await
            }

            /// Protects a partition from retention until a time (see
            /// [`TableHandle::set_detach_time`](crate::service::TableHandle::set_detach_time)).
            pub async fn set_detach_time(
                &self,
                partition: &$crate::entity::partition_log::Model,
                until: Option<chrono::DateTime<chrono::Utc>>,
            ) -> $crate::Result<$crate::entity::partition_log::Model> {
                self.handle.set_detach_time(partition, until).await
            }
        }

        $crate::service::handle::typed_handle!(@plain $name $(, $ranges)?);
    };
    (@plain $name:ident, ranges) => {};
    (@plain $name:ident) => {
        impl $name {
            /// Detaches the given partitions (see [`TableHandle::detach`](crate::service::TableHandle::detach)).
            pub async fn detach(
                &self,
                partitions: &[$crate::entity::partition_log::Model],
            ) -> $crate::Result<Vec<$crate::entity::partition_log::Model>> {
                self.handle.detach(partitions).await
            }

            /// Attaches the given partitions back (see
            /// [`TableHandle::attach`](crate::service::TableHandle::attach)).
            pub async fn attach(
                &self,
                partitions: &[$crate::entity::partition_log::Model],
                detach_time: Option<chrono::DateTime<chrono::Utc>>,
            ) -> $crate::Result<Vec<$crate::entity::partition_log::Model>> {
                self.handle.attach(partitions, detach_time).await
            }
        }
    };
}
pub(crate) use typed_handle;

/// The tablespace's name is storable and it exists.
pub(crate) async fn check_tablespace<C: ConnectionTrait>(conn: &C, tablespace: &str) -> Result<()> {
    crate::schema::check_name("tablespace", tablespace)?;
    if !catalog::tablespace_exists(conn, tablespace).await? {
        return Err(Error::MissingTablespace {
            tablespace: tablespace.to_owned(),
        });
    }
    Ok(())
}
