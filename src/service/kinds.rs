//! List, hash and integer-range tables.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::IntoIden;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};

use super::Adoption;
use super::core;
use super::handle::{check_tablespace, typed_handle};
use super::{PartitionService, QualifiedTable, Registering, SingleKey, catalog, check_single_key};
use crate::calendar::fit_name;
use crate::entity::partition_log::PartitionKind;
use crate::entity::{partition_config, partition_log};
use crate::error::{ConfigProblem, Error, Result};
use crate::model::properties::PartitionProperties;
use crate::model::table::NewPartition;
use crate::model::table::Table;
use crate::model::{LoggedBound, TableKind};
use crate::schema::{ListValue, PartitionBound, PartitionStrategy};

const LIST_TYPES: &[&str] = &[
    "text",
    "character varying",
    "character",
    "smallint",
    "integer",
    "bigint",
    "boolean",
];
const INT_TYPES: &[&str] = &["smallint", "integer", "bigint"];

/// Settings every kind of registration shares.
#[derive(Debug, Clone, Default)]
struct Common {
    key_column: Option<String>,
    attach_tablespace: Option<String>,
    detach_tablespace: Option<String>,
    default_partition: bool,
    properties: PartitionProperties,
}

impl Common {
    async fn validate(&self, txn: &DatabaseTransaction, table: (&str, &str)) -> Result<()> {
        super::citus::refuse_tablespaces(
            txn,
            table,
            self.attach_tablespace.as_deref(),
            self.detach_tablespace.as_deref(),
        )
        .await?;
        for tablespace in [&self.attach_tablespace, &self.detach_tablespace]
            .into_iter()
            .flatten()
        {
            check_tablespace(txn, tablespace).await?;
        }
        super::properties::check(txn, table, &self.properties).await
    }

    fn config(
        &self,
        schema: &str,
        table: &str,
        key: String,
        strategy: PartitionStrategy,
        now: DateTime<Utc>,
    ) -> partition_config::ActiveModel {
        partition_config::ActiveModel {
            schema_name: Set(schema.to_owned()),
            table_name: Set(table.to_owned()),
            key_column: Set(key),
            strategy: Set(strategy),
            period: Set(None),
            interval: Set(None),
            attach_tablespace: Set(self.attach_tablespace.clone()),
            detach_tablespace: Set(self.detach_tablespace.clone()),
            time_zone: Set("UTC".to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            default_partition: Set(self.default_partition),
            properties: Set((!self.properties.is_empty()).then(|| self.properties.to_json())),
            ..Default::default()
        }
    }
}

fn check_type(
    schema: &str,
    table: &str,
    column: String,
    key_type: String,
    allowed: &[&str],
    needed: &'static str,
) -> Result<String> {
    if allowed.contains(&key_type.as_str()) {
        Ok(column)
    } else {
        Err(Error::UnsupportedKeyType {
            table: format!("{schema}.{table}"),
            column,
            data_type: key_type,
            needed,
        })
    }
}

macro_rules! common_setters {
    () => {
        /// The key column the table must be partitioned by (checked against the catalog); without it, the
        /// table's one key column is used.
        pub fn key_column<C: IntoIden>(mut self, column: C) -> Self {
            self.common.key_column = Some(column.into_iden().to_string());
            self
        }

        /// Tablespace of partitions and their indexes while attached (and of those created without one).
        pub fn attach_tablespace<T: Into<String>>(mut self, tablespace: T) -> Self {
            self.common.attach_tablespace = Some(tablespace.into());
            self
        }

        /// Tablespace of partitions and their indexes once detached.
        pub fn detach_tablespace<T: Into<String>>(mut self, tablespace: T) -> Self {
            self.common.detach_tablespace = Some(tablespace.into());
            self
        }

        /// The properties every partition carries (see
        /// [`TableHandle::set_properties`](crate::service::TableHandle::set_properties)); checked at
        /// registration. A table registered already keeps its own: change them with `set_properties`.
        pub fn properties(mut self, properties: PartitionProperties) -> Self {
            self.common.properties = properties;
            self
        }
    };
}

// ---------------------------------------------------------------------------------------------------------
// List

/// Registers a table partitioned by LIST on one column (text, integer or boolean); made by
/// [`PartitionService::list`] or [`PartitionService::list_table`].
#[derive(Debug)]
#[must_use = "call .register() to register the table"]
pub struct ListRegistration {
    service: PartitionService,
    table: QualifiedTable,
    common: Common,
}

impl ListRegistration {
    pub(super) fn new(service: PartitionService, table: QualifiedTable) -> Self {
        Self {
            service,
            table,
            common: Common::default(),
        }
    }

    common_setters!();

    /// Keep a DEFAULT partition (`{table}_default`) for values no partition lists. When a partition is created
    /// or attached whose values have rows sitting in DEFAULT, exactly those rows move into it.
    pub fn default_partition(mut self, keep: bool) -> Self {
        self.common.default_partition = keep;
        self
    }

    /// Verifies the table and tablespaces and records the configuration (and creates the DEFAULT partition
    /// when asked), in one transaction. Registering again returns the existing configuration.
    pub async fn register(self) -> Result<ListTable> {
        Ok(self.register_or_adopt(false).await?.0)
    }

    /// Registers a table that already has partitions, creating nothing: each list partition (and a
    /// DEFAULT partition) is written to the log with its values read from the catalog. See
    /// [`TimeRangeRegistration::adopt`](super::TimeRangeRegistration::adopt).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let (_regions, adoption) = service.list_table("region").adopt().await?;
    /// println!("{} partitions logged with their values", adoption.adopted.len());
    /// # Ok(()) }
    /// ```
    pub async fn adopt(self) -> Result<(ListTable, Adoption)> {
        let (table, adoption) = self.register_or_adopt(true).await?;
        Ok((table, adoption.unwrap_or_default()))
    }

    async fn register_or_adopt(self, adopt: bool) -> Result<(ListTable, Option<Adoption>)> {
        let service = self.service.clone();
        let Registering {
            txn,
            schema,
            table,
            existing,
        } = service
            .begin_registration(&self.table, TableKind::List)
            .await?;
        if let Some(config) = existing {
            let handle = ListTable::from_config(service.clone(), &config);
            let adoption = super::reconcile::adopt_if(&service, &txn, config, adopt).await?;
            txn.commit().await?;
            return Ok((handle, adoption));
        }
        let SingleKey {
            column, key_type, ..
        } = check_single_key(
            &txn,
            &schema,
            &table,
            "l",
            self.common.key_column.as_deref(),
        )
        .await?;
        let column = check_type(
            &schema,
            &table,
            column,
            key_type,
            LIST_TYPES,
            "text, an integer type or boolean",
        )?;
        self.common.validate(&txn, (&schema, &table)).await?;
        let config = self
            .common
            .config(
                &schema,
                &table,
                column,
                PartitionStrategy::List,
                service.now(),
            )
            .insert(&txn)
            .await?;
        let handle = ListTable::from_config(service.clone(), &config);
        if adopt {
            let adoption = super::reconcile::adopt_if(&service, &txn, config, true).await?;
            txn.commit().await?;
            return Ok((handle, adoption));
        }
        if self.common.default_partition {
            let ctx = core::load(&txn, config).await?;
            super::reconcile::register_default(
                &service,
                &txn,
                &ctx,
                self.common.attach_tablespace.clone(),
            )
            .await?;
        }
        txn.commit().await?;
        Ok((handle, None))
    }
}

typed_handle! {
    /// A registered list-partitioned table. Unlike the original, its partitions are recorded in the log with their
    /// values. It has what every kind shares, as [`TableHandle`](super::TableHandle) does.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let orders = service.list_table("order").default_partition(true).register().await?;
    /// orders.create_partition("order_eu", ["de", "fr"], Some("fast")).await?;   // rows for de/fr leave DEFAULT
    /// orders.create_partition("order_none", [None::<&str>, Some("")], None).await?; // NULL and ''
    /// orders.detach_partition("order_eu", Some("archive")).await?;
    /// # Ok(()) }
/// ```
    ListTable
}

impl ListTable {
    /// The list partitions, by name.
    pub async fn partitions(&self) -> Result<Vec<partition_log::Model>> {
        Ok(partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.eq(self.handle.config_id))
            .filter(partition_log::Column::Kind.eq(PartitionKind::List))
            .order_by_asc(partition_log::Column::PartitionName)
            .all(self.handle.service.connection())
            .await?)
    }

    async fn find(
        &self,
        txn: &DatabaseTransaction,
        name: &str,
    ) -> Result<Option<partition_log::Model>> {
        Ok(partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.eq(self.handle.config_id))
            .filter(partition_log::Column::PartitionName.eq(name))
            .one(txn)
            .await?)
    }

    /// Creates partition `name` for `values` (text, integers or booleans; `None` for NULL; several per
    /// partition), in `tablespace` or the configured attach tablespace, with its indexes; rows of DEFAULT with
    /// those values move into it. Returns its log row (`moved_rows` says how many moved).
    pub async fn create_partition<I, V>(
        &self,
        name: &str,
        values: I,
        tablespace: Option<&str>,
    ) -> Result<partition_log::Model>
    where
        I: IntoIterator<Item = V>,
        V: Into<ListValue>,
    {
        let values: Vec<ListValue> = values.into_iter().map(Into::into).collect();
        let (txn, ctx) = self.handle.lock().await?;
        let tablespace = match tablespace {
            Some(ts) => {
                check_tablespace(&txn, ts).await?;
                Some(ts.to_owned())
            }
            None => ctx.config.attach_tablespace.clone(),
        };
        let bound = PartitionBound::List(values.iter().map(ListValue::to_expr).collect());
        bound.validate()?;
        let log = core::create(
            &self.handle.service,
            &txn,
            &ctx,
            NewPartition {
                name: name.to_owned(),
                bound,
                condition: Some(ctx.list_condition(&values)),
                tablespace,
                logged: LoggedBound::List(values.clone()),
                sub_partition: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(log)
    }

    /// Attaches table `name` as the partition for `values`, first moving it and its indexes to `tablespace`
    /// (or the configured attach tablespace). A table the log does not know yet (made by hand) is recorded.
    pub async fn attach_partition<I, V>(
        &self,
        name: &str,
        values: I,
        tablespace: Option<&str>,
    ) -> Result<partition_log::Model>
    where
        I: IntoIterator<Item = V>,
        V: Into<ListValue>,
    {
        let values: Vec<ListValue> = values.into_iter().map(Into::into).collect();
        PartitionBound::List(values.iter().map(ListValue::to_expr).collect()).validate()?;
        let (txn, ctx) = self.handle.lock().await?;
        if let Some(ts) = tablespace {
            check_tablespace(&txn, ts).await?;
        }
        let log = match self.find(&txn, name).await? {
            Some(log) if log.is_attached => {
                txn.commit().await?;
                return Ok(log);
            }
            Some(log) => {
                let mut active = log.into_active_model();
                active.list_values = Set(Some(ListValue::to_json(&values)));
                active.update(&txn).await?
            }
            None => {
                crate::schema::check_name("partition", name)?;
                if !catalog::relation_exists(&txn, &self.handle.schema, name).await? {
                    return Err(Error::UnknownTable {
                        table: format!("{}.{name}", self.handle.schema),
                    });
                }
                let mut log = LoggedBound::List(values.clone()).to_log();
                log.config_id = Set(self.handle.config_id);
                log.schema_name = Set(self.handle.schema.clone());
                log.partition_name = Set(name.to_owned());
                log.is_attached = Set(false);
                log.created_by_crate = Set(false);
                log.created_at = Set(self.handle.service.now());
                log.insert(&txn).await?
            }
        };
        let tablespace = tablespace
            .map(str::to_owned)
            .or(ctx.config.attach_tablespace.clone());
        let log = core::attach(
            &self.handle.service,
            &txn,
            &ctx,
            log,
            tablespace.as_deref(),
            None,
        )
        .await?;
        txn.commit().await?;
        Ok(log)
    }

    /// Detaches partition `name`, moving it and its indexes to `tablespace` (or the configured detach
    /// tablespace). Returns its log row.
    pub async fn detach_partition(
        &self,
        name: &str,
        tablespace: Option<&str>,
    ) -> Result<partition_log::Model> {
        let (txn, ctx) = self.handle.lock().await?;
        if let Some(ts) = tablespace {
            check_tablespace(&txn, ts).await?;
        }
        let log = self
            .find(&txn, name)
            .await?
            .ok_or_else(|| Error::ForeignPartition {
                partition: name.to_owned(),
                table: self.handle.qualified(),
            })?;
        if !log.is_attached {
            txn.commit().await?;
            return Ok(log);
        }
        let tablespace = tablespace
            .map(str::to_owned)
            .or(ctx.config.detach_tablespace.clone());
        let log =
            core::detach(&self.handle.service, &txn, &ctx, log, tablespace.as_deref()).await?;
        txn.commit().await?;
        Ok(log)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Hash

/// Registers a table partitioned by HASH on one column and creates all its partitions; made by
/// [`PartitionService::hash`] or [`PartitionService::hash_table`].
#[derive(Debug)]
#[must_use = "call .register() to register the table"]
pub struct HashRegistration {
    service: PartitionService,
    table: QualifiedTable,
    common: Common,
    modulus: u32,
}

impl HashRegistration {
    pub(super) fn new(service: PartitionService, table: QualifiedTable) -> Self {
        Self {
            service,
            table,
            common: Common::default(),
            modulus: 4,
        }
    }

    common_setters!();

    /// How many hash partitions (default 4; from 1 to [`MAX_HASH_MODULUS`](super::MAX_HASH_MODULUS), else
    /// registration fails with [`Error::OutOfRange`]).
    pub fn modulus(mut self, modulus: u32) -> Self {
        self.modulus = modulus;
        self
    }

    /// Verifies the table, records the configuration and creates all `modulus` partitions
    /// (`{table}_h0` .. `{table}_h{modulus-1}`), in one transaction. Registering again returns the existing
    /// configuration.
    pub async fn register(self) -> Result<HashTable> {
        Ok(self.register_or_adopt(false).await?.0)
    }

    /// Registers a table that already has hash partitions, creating nothing: each is written to the log
    /// with its modulus and remainder read from the catalog. See
    /// [`TimeRangeRegistration::adopt`](super::TimeRangeRegistration::adopt).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let (users, _) = service.hash_table("user").adopt().await?;
    /// println!("{} hash partitions", users.partitions().await?.len());
    /// # Ok(()) }
    /// ```
    pub async fn adopt(self) -> Result<(HashTable, Adoption)> {
        let (table, adoption) = self.register_or_adopt(true).await?;
        Ok((table, adoption.unwrap_or_default()))
    }

    async fn register_or_adopt(self, adopt: bool) -> Result<(HashTable, Option<Adoption>)> {
        super::check_modulus(self.modulus)?;
        let service = self.service.clone();
        let Registering {
            txn,
            schema,
            table,
            existing,
        } = service
            .begin_registration(&self.table, TableKind::Hash)
            .await?;
        if let Some(config) = existing {
            let handle = HashTable::from_config(service.clone(), &config);
            let adoption = super::reconcile::adopt_if(&service, &txn, config, adopt).await?;
            txn.commit().await?;
            return Ok((handle, adoption));
        }
        let SingleKey { column, .. } = check_single_key(
            &txn,
            &schema,
            &table,
            "h",
            self.common.key_column.as_deref(),
        )
        .await?;
        self.common.validate(&txn, (&schema, &table)).await?;
        let config = self
            .common
            .config(
                &schema,
                &table,
                column,
                PartitionStrategy::Hash,
                service.now(),
            )
            .insert(&txn)
            .await?;
        let handle = HashTable::from_config(service.clone(), &config);
        if adopt {
            let adoption = super::reconcile::adopt_if(&service, &txn, config, true).await?;
            txn.commit().await?;
            return Ok((handle, adoption));
        }
        let ctx = core::load(&txn, config).await?;
        for remainder in 0..self.modulus {
            core::create(
                &service,
                &txn,
                &ctx,
                NewPartition {
                    name: fit_name(&table, &format!("_h{remainder}")),
                    bound: PartitionBound::hash(self.modulus, remainder),
                    condition: None,
                    tablespace: self.common.attach_tablespace.clone(),
                    logged: LoggedBound::Hash {
                        modulus: self.modulus,
                        remainder,
                    },
                    sub_partition: None,
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok((handle, None))
    }
}

typed_handle! {
    /// A registered hash-partitioned table; it attaches, detaches and moves its partitions like any others
    /// (the methods of [`TableHandle`](super::TableHandle)).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let users = service.hash_table("user").modulus(8).attach_tablespace("fast").register().await?; // user_h0 .. user_h7
    /// let parts = users.partitions().await?;
    /// users.set_tablespace(&parts[3], "archive").await?;  // the table and its indexes
    /// # Ok(()) }
/// ```
    HashTable
}

impl HashTable {
    /// The hash partitions, by remainder.
    pub async fn partitions(&self) -> Result<Vec<partition_log::Model>> {
        Ok(partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.eq(self.handle.config_id))
            .filter(partition_log::Column::Kind.eq(PartitionKind::Hash))
            .filter(partition_log::Column::ParentName.is_null())
            .order_by_asc(partition_log::Column::HashRemainder)
            .all(self.handle.service.connection())
            .await?)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Integer ranges

/// Registers a table partitioned by RANGE on an integer column with a fixed step (e.g. every 1 000 000 ids);
/// made by [`PartitionService::id_range`] or [`PartitionService::id_range_table`].
#[derive(Debug)]
#[must_use = "call .register() to register the table"]
pub struct IdRangeRegistration {
    service: PartitionService,
    table: QualifiedTable,
    common: Common,
    step: i64,
    premake: u32,
    keep: Option<u32>,
    sub_partition: Option<(String, u32)>,
}

impl IdRangeRegistration {
    pub(super) fn new(service: PartitionService, table: QualifiedTable) -> Self {
        Self {
            service,
            table,
            common: Common::default(),
            step: 1_000_000,
            premake: 1,
            keep: None,
            sub_partition: None,
        }
    }

    common_setters!();

    /// Width of each partition (default 1 000 000): partition `k` holds keys `[k × step, (k + 1) × step)`.
    pub fn step(mut self, step: i64) -> Self {
        self.step = step;
        self
    }

    /// How many partitions to keep ready beyond the one holding the largest key (default 1; at most
    /// [`MAX_PREMAKE`](super::MAX_PREMAKE), else registration fails with [`Error::OutOfRange`]).
    pub fn premake(mut self, partitions: u32) -> Self {
        self.premake = partitions;
        self
    }

    /// Retention by count: detach partitions more than `partitions` below the one holding the largest key.
    pub fn keep(mut self, partitions: u32) -> Self {
        self.keep = Some(partitions);
        self
    }

    /// Keep a DEFAULT partition; rows in it move into partitions created later for their keys.
    pub fn default_partition(mut self, keep: bool) -> Self {
        self.common.default_partition = keep;
        self
    }

    /// Sub-partition every new range partition by HASH of `column` into `modulus` partitions.
    pub fn sub_partition_by_hash<C: IntoIden>(mut self, column: C, modulus: u32) -> Self {
        self.sub_partition = Some((column.into_iden().to_string(), modulus));
        self
    }

    /// Verifies the table, records the configuration, and creates the DEFAULT partition (when asked) and the
    /// partitions up to `premake` beyond the one holding the largest key, in one transaction.
    pub async fn register(self) -> Result<IdRangeTable> {
        Ok(self.register_or_adopt(false).await?.0)
    }

    /// Registers a table that already has partitions, creating nothing: each partition whose bound is
    /// exactly one step on a multiple of the step (and a DEFAULT partition) is written to the log; the
    /// others are reported in [`Adoption::misfits`] and left alone. See
    /// [`TimeRangeRegistration::adopt`](super::TimeRangeRegistration::adopt).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let (orders, adoption) = service.id_range_table("order").step(1_000_000).adopt().await?;
    /// assert!(adoption.misfits.is_empty(), "{:?}", adoption.misfits);
    /// orders.create_partition().await?; // premake continues after the newest adopted partition
    /// # Ok(()) }
    /// ```
    pub async fn adopt(self) -> Result<(IdRangeTable, Adoption)> {
        let (table, adoption) = self.register_or_adopt(true).await?;
        Ok((table, adoption.unwrap_or_default()))
    }

    /// Refuses settings out of their ranges, before anything is read.
    fn check_settings(&self) -> Result<()> {
        if self.keep == Some(0) {
            return Err(Error::ZeroInterval);
        }
        if let Some(keep) = self.keep {
            super::check_count("keep", keep, 1)?;
        }
        super::check_premake(self.premake)?;
        super::check_range(
            "step",
            self.step,
            (1, i64::MAX),
            "the width of one partition",
        )
    }

    async fn register_or_adopt(self, adopt: bool) -> Result<(IdRangeTable, Option<Adoption>)> {
        self.check_settings()?;
        let service = self.service.clone();
        let Registering {
            txn,
            schema,
            table,
            existing,
        } = service
            .begin_registration(&self.table, TableKind::IntRange)
            .await?;
        if let Some(config) = existing {
            let handle = IdRangeTable::from_config(service.clone(), &config);
            let adoption = super::reconcile::adopt_if(&service, &txn, config, adopt).await?;
            txn.commit().await?;
            return Ok((handle, adoption));
        }
        let SingleKey {
            column, key_type, ..
        } = check_single_key(
            &txn,
            &schema,
            &table,
            "r",
            self.common.key_column.as_deref(),
        )
        .await?;
        let column = check_type(
            &schema,
            &table,
            column,
            key_type,
            INT_TYPES,
            "smallint, integer or bigint",
        )?;
        self.common.validate(&txn, (&schema, &table)).await?;
        let sub = super::validate_sub_partition(self.sub_partition.as_ref())?;
        let mut config = self.common.config(
            &schema,
            &table,
            column,
            PartitionStrategy::Range,
            service.now(),
        );
        config.step = Set(Some(self.step));
        config.premake = Set(Some(i32::try_from(self.premake).unwrap_or(i32::MAX)));
        config.interval = Set(self.keep.map(|k| i32::try_from(k).unwrap_or(i32::MAX)));
        config.sub_partition_column = Set(sub.as_ref().map(|(c, _)| c.clone()));
        config.sub_partition_modulus = Set(sub.as_ref().map(|(_, m)| *m));
        let config = config.insert(&txn).await?;
        let handle = IdRangeTable::from_config(service.clone(), &config);
        let ctx = core::load(&txn, config).await?;
        if adopt {
            let adoption = super::reconcile::adopt_unlogged(&service, &txn, &ctx).await?;
            txn.commit().await?;
            return Ok((handle, Some(adoption)));
        }
        if self.common.default_partition {
            super::reconcile::register_default(
                &service,
                &txn,
                &ctx,
                self.common.attach_tablespace.clone(),
            )
            .await?;
        }
        txn.commit().await?;
        handle.create_partition().await?;
        Ok((handle, None))
    }
}

typed_handle! {
    /// A registered integer-range table. Attach and detach go through `attach_partitions` and
    /// `detach_partitions` (given partitions, or by the rule); the rest is as [`TableHandle`](super::TableHandle).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let orders = service.id_range_table("order").step(1_000_000).premake(2).keep(10).register().await?;
    /// orders.create_partition().await?;      // two partitions ready beyond the one holding max(id)
    /// orders.detach_partitions(None).await?; // those more than 10 partitions below it
    /// # Ok(()) }
/// ```
    IdRangeTable, ranges
}

impl IdRangeTable {
    /// The range partitions, by start.
    pub async fn partitions(&self) -> Result<Vec<partition_log::Model>> {
        Ok(core::range_partitions(self.handle.config_id)
            .order_by_asc(partition_log::Column::IntStart)
            .all(self.handle.service.connection())
            .await?)
    }

    fn step(&self, ctx: &Table) -> Result<i64> {
        ctx.config
            .step
            .filter(|s| *s > 0)
            .ok_or_else(|| Error::InvalidConfig {
                table: ctx.qualified(),
                problem: ConfigProblem::NoStep,
            })
    }

    /// The index `k` of the partition holding the largest key (`max / step`, rounded down; 0 when empty).
    async fn holding(&self, txn: &DatabaseTransaction, ctx: &Table, step: i64) -> Result<i64> {
        Ok(core::max_key(txn, ctx)
            .await?
            .map_or(0, |m| m.div_euclid(step)))
    }

    /// Creates partitions until `premake` partitions exist beyond the one holding the largest key (rows in
    /// DEFAULT count, and move into the new partitions). Up to 16 partitions per transaction (catching up
    /// after a long outage takes several, so the table's lock is never held long); usually one.
    pub async fn create_partition(&self) -> Result<Vec<partition_log::Model>> {
        const PER_TRANSACTION: usize = 16;
        let mut created = Vec::new();
        loop {
            let (txn, ctx) = self.handle.lock().await?;
            let step = self.step(&ctx)?;
            let premake = i64::from(Ord::max(ctx.config.premake.unwrap_or(1), 0));
            let holding = self.holding(&txn, &ctx, step).await?;
            let overflow = || Error::InvalidConfig {
                table: ctx.qualified(),
                problem: ConfigProblem::BoundsOverflow,
            };
            let last_end = holding
                .checked_add(premake + 1)
                .and_then(|k| k.checked_mul(step))
                .ok_or_else(overflow)?;
            let latest = core::range_partitions(self.handle.config_id)
                .order_by_desc(partition_log::Column::IntEnd)
                .one(&txn)
                .await?;
            let mut start = match latest.and_then(|l| l.int_end) {
                Some(end) => end,
                None => holding.checked_mul(step).ok_or_else(overflow)?,
            };
            let mut in_transaction = 0;
            while start < last_end && in_transaction < PER_TRANSACTION {
                let end = start.checked_add(step).ok_or_else(overflow)?;
                let log = core::create(
                    &self.handle.service,
                    &txn,
                    &ctx,
                    ctx.int_partition(start, end),
                )
                .await?;
                created.push(log);
                in_transaction += 1;
                start = end;
            }
            if in_transaction == 0 {
                break;
            }
            txn.commit().await?;
            if start >= last_end {
                break;
            }
        }
        Ok(created)
    }

    /// Detaches partitions: the given ones, or with `None` those more than `keep` partitions below the one
    /// holding the largest key (and whose `detach_time` is unset or past). All or nothing.
    pub async fn detach_partitions(
        &self,
        partitions: Option<&[partition_log::Model]>,
    ) -> Result<Vec<partition_log::Model>> {
        let (txn, ctx) = self.handle.lock().await?;
        let targets = match partitions {
            Some(logs) => core::reread(&txn, &ctx, logs).await?,
            None => match ctx.config.interval {
                None => Vec::new(),
                Some(keep) => {
                    let step = self.step(&ctx)?;
                    let holding = self.holding(&txn, &ctx, step).await?;
                    let threshold = holding.saturating_sub(i64::from(keep)).saturating_mul(step);
                    let now = self.handle.service.now();
                    core::range_partitions(self.handle.config_id)
                        .filter(partition_log::Column::IsAttached.eq(true))
                        .filter(partition_log::Column::IntEnd.lte(threshold))
                        .filter(core::unprotected(now))
                        .order_by_asc(partition_log::Column::IntStart)
                        .all(&txn)
                        .await?
                }
            },
        };
        let detached = self.handle.detach_locked(&txn, &ctx, targets).await?;
        txn.commit().await?;
        Ok(detached)
    }

    /// Attaches partitions back: the given ones, or with `None` every detached range partition.
    pub async fn attach_partitions(
        &self,
        partitions: Option<&[partition_log::Model]>,
        detach_time: Option<DateTime<Utc>>,
    ) -> Result<Vec<partition_log::Model>> {
        self.handle
            .attach_ranges(partitions, detach_time, partition_log::Column::IntStart)
            .await
    }
}
