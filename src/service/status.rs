//! Status: reads every managed table's partitions from the catalog and its log, in a constant number of
//! queries whatever the number of partitions, and hands them to the pure [`assess`](crate::model::assess).

// foldhash: over 100 000 partitions, the standard SipHash was a tenth of the client's time here.
use foldhash::HashMap;

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
    /// relations, their indexes), plus the largest key of each integer-range table. Nothing changes. Each
    /// table's partitions and log are read in one snapshot (`REPEATABLE READ`); over 100 tables or more, up
    /// to [`parallel_tables`](crate::service::MaintenanceOptions::parallel_tables) readers share the tables,
    /// each on its own connection, and the result is the same.
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

    /// The status of `configs`, read in one snapshot per reader: with many tables, up to
    /// [`parallel_tables`](crate::service::MaintenanceOptions::parallel_tables) readers at once, each on its
    /// own connection with its share of the tables (a table's status depends on its own partitions and log
    /// only, so the shares add up to the whole). Over 100 000 partitions the catalog's server time is most of
    /// the cost, and this spreads it over the server's cores.
    pub(crate) async fn status_of_configs(
        &self,
        configs: Vec<partition_config::Model>,
    ) -> Result<Status> {
        let now = self.now();
        let readers = self
            .parallel_tables()
            .min(configs.len() / TABLES_PER_READER)
            .max(1);
        if readers == 1 {
            return Ok(Status {
                at: now,
                tables: self.read_status(configs, now).await?,
            });
        }
        // Dealt out in turn, so that each reader gets large and small tables alike; put back in order after.
        let mut shares: Vec<Vec<(usize, partition_config::Model)>> = vec![Vec::new(); readers];
        for (i, config) in configs.into_iter().enumerate() {
            shares[i % readers].push((i, config));
        }
        let reads = shares.into_iter().map(|share| async move {
            let (order, configs): (Vec<usize>, Vec<_>) = share.into_iter().unzip();
            let tables = self.read_status(configs, now).await?;
            Ok::<_, Error>(order.into_iter().zip(tables))
        });
        let mut tables: Vec<(usize, TableStatus)> = futures_util::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        tables.sort_unstable_by_key(|(i, _)| *i);
        Ok(Status {
            at: now,
            tables: tables.into_iter().map(|(_, t)| t).collect(),
        })
    }

    /// [`status_with`] in a snapshot of its own.
    async fn read_status(
        &self,
        configs: Vec<partition_config::Model>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TableStatus>> {
        let txn = catalog::read_snapshot(self.connection()).await?;
        let status = status_with(&txn, configs, now).await?;
        txn.commit().await?;
        Ok(status.tables)
    }
}

/// Below this many tables per reader, status reads them in one snapshot: a reader costs a connection and
/// a dozen queries, which pay off only over many partitions.
const TABLES_PER_READER: usize = 50;

/// A partitioned index that is not valid, with the partitions lacking theirs.
type IncompleteIndex = (String, Vec<String>);

/// The status of the given tables, read through `db` (a transaction holding their locks, during repairs).
pub(crate) async fn status_with<C: sea_orm::ConnectionTrait + sea_orm::StreamTrait>(
    db: &C,
    configs: Vec<partition_config::Model>,
    now: DateTime<Utc>,
) -> Result<Status> {
    let ids: Vec<i32> = configs.iter().map(|c| c.id).collect();
    // Row by row, as the catalog below: the rows and the models are not held at once.
    let logs = core::logs(
        db,
        partition_log::Entity::find()
            .filter(partition_log::Column::ConfigId.is_in(ids))
            .order_by_asc(partition_log::Column::Id),
    )
    .await?;
    let managed: Vec<ManagedTable<'_>> = configs.iter().map(ManagedTable::of).collect();
    let named: Vec<(String, String)> = logs
        .iter()
        .map(|l| (l.schema_name.clone(), l.partition_name.clone()))
        .collect();
    let mut relations = catalog::relations(db, &managed, &named).await?;
    drop(named);
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
    // Everything grouped by table once, so that the work grows with the number of partitions, not with
    // partitions × tables.
    let mut logs_of: HashMap<i32, Vec<partition_log::Model>> = HashMap::default();
    for log in logs {
        logs_of.entry(log.config_id).or_default().push(log);
    }
    let mut children_of: HashMap<(&str, &str), Vec<&CatalogRelation>> = HashMap::default();
    let mut by_name: HashMap<(&str, &str), &CatalogRelation> = HashMap::default();
    for rel in &relations {
        if let Some((schema, name)) = &rel.parent {
            children_of
                .entry((schema.as_str(), name.as_str()))
                .or_default()
                .push(rel);
        }
        by_name.insert((rel.schema.as_str(), rel.name.as_str()), rel);
    }
    let mut incomplete_of: HashMap<&(String, String), Vec<IncompleteIndex>> = HashMap::default();
    for (table, index, missing) in &incomplete {
        incomplete_of
            .entry(table)
            .or_default()
            .push((index.clone(), missing.clone()));
    }
    let mut drift_of: HashMap<i32, Vec<(String, String, Vec<PropertyDifference>)>> =
        HashMap::default();
    for (config_id, schema, name, differences) in drift {
        drift_of
            .entry(config_id)
            .or_default()
            .push((schema, name, differences));
    }
    let mut tables = Vec::with_capacity(configs.len());
    for config in &configs {
        let key = (config.schema_name.clone(), config.table_name.clone());
        let exists = key_types.contains_key(&key);
        let own_logs = logs_of.remove(&config.id).unwrap_or_default();
        // Its partitions in the catalog, and the relations its log names wherever they are now (a
        // detached partition, or one attached elsewhere), each once, in the catalog's order.
        let mut rels: Vec<&CatalogRelation> = children_of
            .get(&(config.schema_name.as_str(), config.table_name.as_str()))
            .cloned()
            .unwrap_or_default();
        for log in &own_logs {
            if let Some(rel) = by_name.get(&(log.schema_name.as_str(), log.partition_name.as_str()))
                && rel.parent.as_ref() != Some(&key)
            {
                rels.push(rel);
            }
        }
        rels.sort_by_key(|r| (r.schema.as_str(), r.name.as_str()));
        rels.dedup_by_key(|r| (r.schema.as_str(), r.name.as_str()));
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
            incomplete_indexes: incomplete_of.remove(&key).unwrap_or_default(),
            property_drift: drift_of.remove(&config.id).unwrap_or_default(),
        }));
    }
    Ok(Status { at: now, tables })
}

/// For each table, its attached partitions (and sub-partitions) that lack properties they should carry:
/// the tables' properties in one query, then their partitions' in another, compared as they arrive (over
/// many thousands of partitions they are never all held at once).
async fn property_drift<C: sea_orm::ConnectionTrait + sea_orm::StreamTrait>(
    db: &C,
    configs: &[partition_config::Model],
    relations: &[CatalogRelation],
) -> Result<Vec<(i32, String, String, Vec<PropertyDifference>)>> {
    let parents: Vec<(String, String)> = configs
        .iter()
        .map(|c| (c.schema_name.clone(), c.table_name.clone()))
        .collect();
    let parent_props = catalog::relation_props(db, &parents).await?;
    let parent_props: HashMap<(&str, &str), &RelationProps> = parent_props
        .iter()
        .map(|p| ((p.schema.as_str(), p.name.as_str()), p))
        .collect();
    // What each table's partitions should carry.
    let mut wanted: HashMap<(&str, &str), (i32, properties::Wanted)> = HashMap::default();
    for config in configs {
        let key = (config.schema_name.as_str(), config.table_name.as_str());
        let Some(parent) = parent_props.get(&key) else {
            continue;
        };
        let Ok(declared) = PartitionProperties::from_json(config.properties.as_ref()) else {
            continue;
        };
        wanted.insert(key, (config.id, properties::wanted(&declared, parent)));
    }
    // Each attached partition under the managed table it belongs to: its parent, or its parent's parent
    // for a sub-partition.
    let parent_of: HashMap<(&str, &str), &(String, String)> = relations
        .iter()
        .filter_map(|r| Some(((r.schema.as_str(), r.name.as_str()), r.parent.as_ref()?)))
        .collect();
    let mut table_of: HashMap<(&str, &str), (&str, &str)> = HashMap::default();
    let mut oids = Vec::new();
    for rel in relations
        .iter()
        .filter(|r| r.parent.is_some() && !r.detach_pending)
    {
        let mut up = parent_of
            .get(&(rel.schema.as_str(), rel.name.as_str()))
            .copied();
        if let Some(p) = up
            && !wanted.contains_key(&(p.0.as_str(), p.1.as_str()))
        {
            up = parent_of.get(&(p.0.as_str(), p.1.as_str())).copied();
        }
        if let Some(p) = up
            && wanted.contains_key(&(p.0.as_str(), p.1.as_str()))
        {
            table_of.insert(
                (rel.schema.as_str(), rel.name.as_str()),
                (p.0.as_str(), p.1.as_str()),
            );
            oids.push(rel.oid);
        }
    }
    let mut drift = Vec::new();
    catalog::each_relation_props(db, oids, |rel| {
        let Some((config_id, wanted)) = table_of
            .get(&(rel.schema.as_str(), rel.name.as_str()))
            .and_then(|table| wanted.get(table))
        else {
            return;
        };
        let differences = properties::differences(wanted, &rel);
        if !differences.is_empty() {
            drift.push((*config_id, rel.schema, rel.name, differences));
        }
    })
    .await?;
    // In the catalog's order, as the rest of the status.
    drift.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
    Ok(drift)
}
