//! Partition properties: checking them at configuration time, storing them, and applying them to the
//! partitions the service creates or attaches. What they are and what differs is
//! [`model::properties`](crate::model::properties)'.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, IntoActiveModel, Set, TransactionTrait,
};

use super::{TableHandle, catalog};
use crate::error::{ConfigProblem, Error, Result};
use crate::exec;
use crate::model::properties::{self, PartitionProperties, PropertyDifference, ReplicaIdentity};
use crate::model::table::Table;

/// Name of the scratch table on which the properties are tried (in the session's temporary schema, rolled
/// back at once).
const TRIAL_TABLE: &str = "sopp_properties_trial";

/// The declared properties of a table.
pub(crate) fn declared(ctx: &Table) -> Result<PartitionProperties> {
    PartitionProperties::from_json(ctx.config.properties.as_ref()).map_err(|problem| {
        Error::InvalidConfig {
            table: ctx.qualified(),
            problem,
        }
    })
}

/// Gives `partitions` (partitions of the table just created or attached, and their sub-partitions) what
/// they lack, in the caller's transaction: one catalog query, and the statements when something differs.
pub(crate) async fn apply<C: ConnectionTrait>(
    conn: &C,
    ctx: &Table,
    partitions: Vec<(String, String)>,
) -> Result<()> {
    let declared = declared(ctx)?;
    let parent = ctx.parent();
    let mut names = partitions;
    names.push(parent.clone());
    let mut rels = catalog::relation_props(conn, &names).await?;
    let Some(at) = rels
        .iter()
        .position(|r| r.schema == parent.0 && r.name == parent.1)
    else {
        return Ok(());
    };
    let parent = rels.swap_remove(at);
    let recipe = properties::apply(&properties::wanted(&declared, &parent), &rels);
    if !recipe.is_empty() {
        exec::run(conn, &ctx.qualified(), &recipe, |_, err| err).await?;
    }
    Ok(())
}

/// Checks `declared` against the catalog, without changing anything: the roles exist, the unique indexes'
/// columns and the replica identity index are the table's, and PostgreSQL accepts every property on a
/// scratch table like the parent (rolled back).
pub(crate) async fn check(
    txn: &DatabaseTransaction,
    table: (&str, &str),
    declared: &PartitionProperties,
) -> Result<()> {
    let invalid = |problem| Error::InvalidConfig {
        table: format!("{}.{}", table.0, table.1),
        problem,
    };
    declared.check().map_err(invalid)?;
    let roles: Vec<String> = declared.roles().into_iter().map(str::to_owned).collect();
    if let Some(row) = catalog::query_one(
        txn,
        "SELECT r FROM unnest($1::text[]) r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) LIMIT 1",
        vec![roles.into()],
    )
    .await?
    {
        return Err(invalid(ConfigProblem::UnknownRole(row.try_get_by_index(0)?)));
    }
    let columns = catalog::columns(txn, table.0, table.1).await?;
    for unique in declared.unique_indexes() {
        if let Some(column) = unique.columns.iter().find(|c| !columns.contains(c)) {
            return Err(invalid(ConfigProblem::UnknownColumn {
                index: unique.name.clone(),
                column: column.clone(),
            }));
        }
    }
    if let Some(ReplicaIdentity::Index(index)) = declared.declared_replica_identity() {
        let row = catalog::query_one(
            txn,
            "SELECT x.indisunique AND x.indpred IS NULL AND x.indimmediate \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             WHERE x.indrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND i.relname = $3",
            vec![table.0.into(), table.1.into(), index.clone().into()],
        )
        .await?;
        let why = match row.map(|r| r.try_get_by_index::<bool>(0)).transpose()? {
            None => Some("is not an index of the table"),
            Some(false) => Some("is not unique, immediate and without a WHERE clause"),
            Some(true) => None,
        };
        if let Some(why) = why {
            return Err(invalid(ConfigProblem::BadIdentityIndex {
                index: index.clone(),
                why,
            }));
        }
    }
    trial(txn, table, declared).await.map_err(|e| match e {
        Error::InvalidConfig { problem, .. } => invalid(problem),
        other => other,
    })
}

/// Applies `declared` to a temporary table with the parent's columns, in a savepoint rolled back whatever
/// happens: PostgreSQL itself checks storage values, the right to give a partition to the owner, privilege
/// names on this server version.
async fn trial(
    txn: &DatabaseTransaction,
    table: (&str, &str),
    declared: &PartitionProperties,
) -> Result<()> {
    let savepoint = txn.begin().await?;
    let result = async {
        let create = crate::model::convert::sql::Sql::new("CREATE TEMP TABLE ")
            .iden(TRIAL_TABLE)
            .push(" (LIKE ")
            .table(table)
            .push(")")
            .build();
        savepoint.execute_unprepared(&create).await?;
        let row = catalog::query_one(
            &savepoint,
            "SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()",
            vec![],
        )
        .await?;
        let schema: String = match row {
            Some(row) => row.try_get_by_index(0)?,
            None => return Ok(()),
        };
        let parent =
            catalog::relation_props(&savepoint, &[(table.0.to_owned(), table.1.to_owned())])
                .await?;
        let scratch =
            catalog::relation_props(&savepoint, &[(schema, TRIAL_TABLE.to_owned())]).await?;
        let (Some(parent), Some(scratch)) = (parent.first(), scratch.first()) else {
            return Ok(());
        };
        let wanted = properties::wanted(declared, parent);
        for difference in properties::differences(&wanted, scratch) {
            let Some(sql) = properties::repair_statement(&wanted, scratch, &difference) else {
                continue;
            };
            let step = savepoint.begin().await?;
            if let Err(err) = step.execute_unprepared(&sql).await {
                let reason = crate::error::db_message(&err);
                step.rollback().await?;
                let problem = match &difference {
                    PropertyDifference::Storage {
                        option, expected, ..
                    } => ConfigProblem::InvalidStorageOption {
                        option: format!("{option}={expected}"),
                        reason,
                    },
                    other => ConfigProblem::PropertyRefused {
                        property: refused(other),
                        reason,
                    },
                };
                return Err(Error::InvalidConfig {
                    table: String::new(),
                    problem,
                });
            }
            step.commit().await?;
        }
        Ok(())
    }
    .await;
    savepoint.rollback().await?;
    result
}

/// A property in the words of its declaration.
fn refused(difference: &PropertyDifference) -> String {
    match difference {
        PropertyDifference::Owner { expected, .. } => format!("owner {expected}"),
        PropertyDifference::Privilege {
            role, privilege, ..
        } => format!("grant {privilege} to {role}"),
        PropertyDifference::Storage {
            option, expected, ..
        } => format!("storage {option}={expected}"),
        PropertyDifference::ReplicaIdentity { expected, .. } => {
            format!("replica identity {expected}")
        }
        PropertyDifference::UniqueIndex { index, columns } => {
            format!("unique index {index} ({})", columns.join(", "))
        }
    }
}

impl TableHandle {
    /// The properties declared for the table's partitions.
    pub async fn properties(&self) -> Result<PartitionProperties> {
        let config = self.config().await?;
        PartitionProperties::from_json(config.properties.as_ref()).map_err(|problem| {
            Error::InvalidConfig {
                table: self.qualified(),
                problem,
            }
        })
    }

    /// Declares the properties every partition the service creates or attaches from now on carries (see
    /// [`model::properties`](crate::model::properties)). They are checked first, against the catalog and by
    /// PostgreSQL on a scratch table: a role that does not exist, a privilege tables do not have, a storage
    /// option refused, a column the table lacks are [`Error::InvalidConfig`], and nothing is changed.
    /// Existing partitions that differ are reported by status as
    /// [`properties-differ`](crate::model::status::AnomalyKind::PropertiesDiffer); reconcile gives them what
    /// they lack.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// use sea_orm_pg_partitioning::model::properties::PartitionProperties;
    /// # async fn run(events: TimeRangeTable) -> Result<(), Error> {
    /// events
    ///     .set_properties(
    ///         PartitionProperties::new()
    ///             .grant("reporting", ["SELECT"])
    ///             .storage("autovacuum_vacuum_scale_factor", "0.01"),
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_properties(&self, properties: PartitionProperties) -> Result<()> {
        let (txn, ctx) = self.lock().await?;
        check(&txn, (&self.schema, &self.table), &properties).await?;
        let mut active = ctx.config.into_active_model();
        active.properties = Set((!properties.is_empty()).then(|| properties.to_json()));
        active.updated_at = Set(self.service.now());
        active.update(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// The partition and its sub-partitions, as the catalog names them.
pub(crate) fn with_leaves(
    ctx: &Table,
    partition: &str,
    leaves: impl IntoIterator<Item = String>,
) -> Vec<(String, String)> {
    let schema = ctx.config.schema_name.clone();
    std::iter::once((schema.clone(), partition.to_owned()))
        .chain(leaves.into_iter().map(|leaf| (schema.clone(), leaf)))
        .collect()
}

/// Applies the table's properties to a partition just created or attached, in its transaction, within a
/// savepoint: when one cannot be applied (a role dropped since it was declared), the partition is still made,
/// a warning is logged, and status reports it as `properties-differ`. Running out of partitions because a
/// grant failed would be worse than a partition without the grant.
pub(crate) async fn apply_to_partition(
    txn: &DatabaseTransaction,
    ctx: &Table,
    partition: &str,
    leaves: impl IntoIterator<Item = String>,
) -> Result<()> {
    apply_or_warn(txn, ctx, with_leaves(ctx, partition, leaves)).await
}

/// [`apply`] within a savepoint, logging instead of failing (see [`apply_to_partition`]).
pub(crate) async fn apply_or_warn(
    txn: &DatabaseTransaction,
    ctx: &Table,
    partitions: Vec<(String, String)>,
) -> Result<()> {
    let savepoint = txn.begin().await?;
    match apply(&savepoint, ctx, partitions).await {
        Ok(()) => savepoint.commit().await?,
        Err(err) => {
            savepoint.rollback().await?;
            tracing::warn!(
                table = %ctx.qualified(),
                error = %err,
                "partition properties not applied; status reports the partitions as properties-differ"
            );
        }
    }
    Ok(())
}

/// Gives every attached partition of the table (and every sub-partition) what it lacks, in the caller's
/// transaction (which holds the table's lock): for a table whose partitions were made before it was
/// registered (a conversion's).
pub(crate) async fn apply_to_all(txn: &DatabaseTransaction, ctx: &Table) -> Result<()> {
    use crate::entity::partition_log;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let names = partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.eq(ctx.config.id))
        .filter(partition_log::Column::IsAttached.eq(true))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| (l.schema_name, l.partition_name))
        .collect();
    apply(txn, ctx, names).await
}
