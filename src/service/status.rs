//! Status: reads every managed table's partitions from the catalog and its log, in a constant number of
//! queries whatever the number of partitions, and hands them to the pure [`assess`](crate::model::assess).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::catalog::{self, CatalogRelation, ManagedTable};
use super::core;
use super::{PartitionService, QualifiedTable};
use crate::entity::{partition_config, partition_log};
use crate::error::{Error, Result};
use crate::model::TableSpec;
use crate::model::assess::{Observed, assess};
use crate::model::properties::{self, PartitionProperties, PropertyDifference, RelationProps};
use crate::model::status::{Status, TableStatus};
use crate::model::table::Table;

impl PartitionService {
    /// The status of every managed table: each partition from the catalog (bound, attached or not,
    /// tablespace of the table and of each index, estimated rows, size) joined with its log row, how far
    /// ahead partitions reach, whether DEFAULT holds rows, and every [`Anomaly`](crate::model::status::Anomaly).
    ///
    /// A constant number of queries however many partitions exist (the configurations, the log, the
    /// relations, their indexes), plus the largest key of each integer-range table. Nothing changes.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let status = service.status().await?;
    /// for (table, anomaly) in status.anomalies() {
    ///     println!("{table}: {anomaly}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<Status> {
        let configs = self.configs().await?;
        self.status_of_configs(configs).await
    }

    /// The status of one managed table (see [`status`](Self::status)).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let event = service.status_of(("public", "event")).await?;
    /// println!("ahead until {:?} (premake wants {:?})", event.horizon, event.wanted_horizon);
    /// assert!(event.is_healthy(), "{:?}", event.anomalies);
    /// # Ok(()) }
    /// ```
    pub async fn status_of<T: Into<QualifiedTable>>(&self, table: T) -> Result<TableStatus> {
        let config = self.config_of(table).await?;
        let table = format!("{}.{}", config.schema_name, config.table_name);
        self.status_of_configs(vec![config])
            .await?
            .tables
            .pop()
            .ok_or(Error::NotRegistered { table })
    }

    pub(crate) async fn status_of_configs(
        &self,
        configs: Vec<partition_config::Model>,
    ) -> Result<Status> {
        status_with(self.connection(), configs, self.now()).await
    }
}

/// The status of the given tables, read through `db` (a transaction holding their locks, during repairs).
pub(crate) async fn status_with<C: sea_orm::ConnectionTrait>(
    db: &C,
    configs: Vec<partition_config::Model>,
    now: DateTime<Utc>,
) -> Result<Status> {
    let ids: Vec<i32> = configs.iter().map(|c| c.id).collect();
    let logs = partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.is_in(ids))
        .order_by_asc(partition_log::Column::Id)
        .all(db)
        .await?;
    let managed: Vec<ManagedTable<'_>> = configs.iter().map(ManagedTable::of).collect();
    let named: Vec<(String, String)> = logs
        .iter()
        .map(|l| (l.schema_name.clone(), l.partition_name.clone()))
        .collect();
    let mut relations = catalog::relations(db, &managed, &named).await?;
    // A distributed partition's rows and size are in its shards, not in the coordinator's shell.
    let leaves: Vec<i64> = relations
        .iter()
        .filter(|r| r.relkind == "r")
        .map(|r| r.oid)
        .collect();
    let shards = super::citus::shard_stats(db, &leaves).await?;
    for rel in relations.iter_mut() {
        if let Some((rows, bytes)) = shards.get(&rel.oid) {
            rel.estimated_rows = *rows;
            rel.size_bytes = *bytes;
        }
    }
    let oids: Vec<i64> = relations.iter().map(|r| r.oid).collect();
    let indexes = catalog::index_placements(db, &oids).await?;
    let names: Vec<(String, String)> = configs
        .iter()
        .map(|c| (c.schema_name.clone(), c.table_name.clone()))
        .collect();
    let key_types = catalog::key_types(db, &names).await?;
    let incomplete = catalog::incomplete_indexes(db, &names).await?;
    let drift = property_drift(db, &configs, &relations).await?;
    let mut tables = Vec::with_capacity(configs.len());
    for config in &configs {
        let key = (config.schema_name.clone(), config.table_name.clone());
        let exists = key_types.contains_key(&key);
        let own_logs: Vec<partition_log::Model> = logs
            .iter()
            .filter(|l| l.config_id == config.id)
            .cloned()
            .collect();
        let own_names: BTreeSet<(&str, &str)> = own_logs
            .iter()
            .map(|l| (l.schema_name.as_str(), l.partition_name.as_str()))
            .collect();
        let rels: Vec<&CatalogRelation> = relations
            .iter()
            .filter(|r| {
                r.parent.as_ref() == Some(&key)
                    || own_names.contains(&(r.schema.as_str(), r.name.as_str()))
            })
            .collect();
        let max_key = if exists && matches!(TableSpec::of(config), Ok(TableSpec::IntRange { .. })) {
            let ctx = Table {
                config: config.clone(),
                key_type: key_types.get(&key).cloned().flatten(),
            };
            core::max_key(db, &ctx).await?
        } else {
            None
        };
        tables.push(assess(Observed {
            config,
            exists,
            logs: &own_logs,
            relations: rels,
            indexes: &indexes,
            max_key,
            now,
            incomplete_indexes: incomplete
                .iter()
                .filter(|(table, _, _)| *table == key)
                .map(|(_, index, missing)| (index.clone(), missing.clone()))
                .collect(),
            property_drift: drift
                .iter()
                .filter(|(config_id, ..)| *config_id == config.id)
                .map(|(_, schema, name, d)| (schema.clone(), name.clone(), d.clone()))
                .collect(),
        }));
    }
    Ok(Status { at: now, tables })
}

/// For each table, its attached partitions (and sub-partitions) that lack properties they should carry:
/// one catalog query for the tables and all their partitions.
async fn property_drift<C: sea_orm::ConnectionTrait>(
    db: &C,
    configs: &[partition_config::Model],
    relations: &[CatalogRelation],
) -> Result<Vec<(i32, String, String, Vec<PropertyDifference>)>> {
    let parents: Vec<(String, String)> = configs
        .iter()
        .map(|c| (c.schema_name.clone(), c.table_name.clone()))
        .collect();
    let attached: Vec<(String, String)> = relations
        .iter()
        .filter(|r| r.parent.is_some() && !r.detach_pending)
        .map(|r| (r.schema.clone(), r.name.clone()))
        .collect();
    let names: Vec<(String, String)> = parents.iter().chain(&attached).cloned().collect();
    let props = catalog::relation_props(db, &names).await?;
    let by_name: HashMap<(&str, &str), &RelationProps> = props
        .iter()
        .map(|p| ((p.schema.as_str(), p.name.as_str()), p))
        .collect();
    let parent_of: HashMap<(&str, &str), &(String, String)> = relations
        .iter()
        .filter_map(|r| Some(((r.schema.as_str(), r.name.as_str()), r.parent.as_ref()?)))
        .collect();
    let mut drift = Vec::new();
    for config in configs {
        let Some(parent) = by_name.get(&(config.schema_name.as_str(), config.table_name.as_str()))
        else {
            continue;
        };
        let Ok(declared) = PartitionProperties::from_json(config.properties.as_ref()) else {
            continue;
        };
        let wanted = properties::wanted(&declared, parent);
        let managed = (config.schema_name.clone(), config.table_name.clone());
        for (schema, name) in &attached {
            // A partition of the table, or a sub-partition of one of its partitions.
            let mut up = parent_of.get(&(schema.as_str(), name.as_str())).copied();
            if up.is_some_and(|p| *p != managed) {
                up = up.and_then(|p| parent_of.get(&(p.0.as_str(), p.1.as_str())).copied());
            }
            if up != Some(&managed) {
                continue;
            }
            if let Some(rel) = by_name.get(&(schema.as_str(), name.as_str())) {
                let differences = properties::differences(&wanted, rel);
                if !differences.is_empty() {
                    drift.push((config.id, schema.clone(), name.clone(), differences));
                }
            }
        }
    }
    Ok(drift)
}
