//! Operations shared by every kind of managed table: the lock, creating, attaching, detaching and placing a
//! partition, moving rows out of the DEFAULT partition, and hooks.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, PostgresQueryBuilder, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::catalog;
use super::{PartitionEvent, PartitionEventKind, PartitionService};
use crate::calendar::fit_name;
use crate::entity::partition_log::PartitionKind;
use crate::entity::{partition_config, partition_log};
use crate::error::{Error, Result, sqlstate};
use crate::exec;
use crate::model::LoggedBound;
use crate::model::recipe::{self, DefaultRows, Placed, Recipe};
use crate::model::table::{NewPartition, Table};
use crate::schema::{DetachMode, PartitionBound};

/// The log rows `select` finds, streamed and decoded by position ([`partition_log::Model::from_row`]):
/// over 100 000 rows, sea-orm's decoding by name cost more than the server's query.
pub(crate) async fn logs<C>(
    db: &C,
    select: sea_orm::Select<partition_log::Entity>,
) -> Result<Vec<partition_log::Model>>
where
    C: ConnectionTrait + sea_orm::StreamTrait,
{
    use futures_util::TryStreamExt as _;
    use sea_orm::QueryTrait as _;
    let rows = db
        .stream_raw(select.build(sea_orm::DbBackend::Postgres))
        .await?;
    let mut rows = std::pin::pin!(rows);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(partition_log::Model::from_row(&row)?);
    }
    Ok(out)
}

/// The table's configuration with its key type read from the catalog.
pub(crate) async fn load<C: ConnectionTrait>(
    conn: &C,
    config: partition_config::Model,
) -> Result<Table> {
    let info = catalog::table_info(conn, &config.schema_name, &config.table_name)
        .await?
        .ok_or_else(|| Error::UnknownTable {
            table: format!("{}.{}", config.schema_name, config.table_name),
        })?;
    Ok(Table {
        config,
        key_type: info.key_type,
    })
}

/// The lock of [`lock_in`]: the configuration row is `cfg`; `c` is the managed table in `pg_class`, as `key_sql!` expects.
const LOCK_SQL: &str = concat!(
    "WITH sopp_lock AS MATERIALIZED ( \
        SELECT pg_advisory_xact_lock($1, hashtext($2))::text AS locked, \
               set_config('lock_timeout', COALESCE($3, current_setting('lock_timeout')), true) AS timeout) \
    SELECT cfg.*, \
           (SELECT ",
    catalog::key_sql!(type),
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ",
    catalog::key_sql!(joins),
    "WHERE n.nspname = cfg.schema_name AND c.relname = cfg.table_name) AS sopp_key_type, \
           EXISTS (SELECT 1 FROM pg_class pc JOIN pg_namespace n ON n.oid = pc.relnamespace \
                   WHERE n.nspname = cfg.schema_name AND pc.relname = cfg.table_name \
                     AND pc.relkind IN ('r', 'p')) AS sopp_table_exists \
    FROM sopp_partition_config cfg CROSS JOIN sopp_lock \
    WHERE cfg.id = $4 \
    FOR UPDATE OF cfg"
);

/// Begins a transaction holding the table's advisory lock and its configuration row `FOR UPDATE`.
pub(crate) async fn lock(
    service: &PartitionService,
    config_id: i32,
    schema: &str,
    table: &str,
) -> Result<(DatabaseTransaction, Table)> {
    lock_with_timeout(service, config_id, schema, table, None).await
}

/// [`lock`], and with `lock_timeout` set for the rest of the transaction when given. One round trip after
/// `BEGIN`: the advisory lock and the setting are taken in a materialised CTE, which PostgreSQL evaluates
/// below the `FOR UPDATE` of the configuration row, so the advisory lock always comes first; the key's type
/// is read from the catalog in the same statement.
pub(crate) async fn lock_with_timeout(
    service: &PartitionService,
    config_id: i32,
    schema: &str,
    table: &str,
    lock_timeout: Option<std::time::Duration>,
) -> Result<(DatabaseTransaction, Table)> {
    let txn = service.connection().begin().await?;
    let table = lock_in(&txn, config_id, schema, table, lock_timeout).await?;
    Ok((txn, table))
}

/// [`lock_with_timeout`] in a transaction begun already: one more table's lock, for a step on several tables
/// (a retirement group), taken in the order of their configuration ids by every runner.
pub(crate) async fn lock_in(
    txn: &DatabaseTransaction,
    config_id: i32,
    schema: &str,
    table: &str,
    lock_timeout: Option<std::time::Duration>,
) -> Result<Table> {
    const SQL: &str = LOCK_SQL;
    let timeout = lock_timeout.map(|t| format!("{}ms", Ord::max(t.as_millis(), 1)));
    let row = txn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            SQL,
            [
                catalog::LOCK_CLASS.into(),
                format!("{schema}.{table}").into(),
                timeout.into(),
                config_id.into(),
            ],
        ))
        .await?
        .ok_or_else(|| Error::NotRegistered {
            table: format!("{schema}.{table}"),
        })?;
    let config =
        <partition_config::Model as sea_orm::FromQueryResult>::from_query_result(&row, "")?;
    let exists: bool = row.try_get("", "sopp_table_exists")?;
    if !exists {
        return Err(Error::UnknownTable {
            table: format!("{}.{}", config.schema_name, config.table_name),
        });
    }
    let key_type: Option<String> = row.try_get("", "sopp_key_type")?;
    Ok(Table { config, key_type })
}

/// The typed error for a partition's DDL that failed because its range overlaps another partition
/// (42P17) or its name is taken (42P07); the transaction is then rolled back, so nothing changed.
fn overlap(ctx: &Table, partition: &str, err: Error) -> Error {
    match err {
        Error::Db(db) if sqlstate(&db).as_deref() == Some(sqlstate::INVALID_OBJECT_DEFINITION) => {
            Error::Overlap {
                table: ctx.qualified(),
                partition: partition.to_owned(),
                source: Box::new(db),
            }
        }
        Error::Db(db) if sqlstate(&db).as_deref() == Some(sqlstate::DUPLICATE_TABLE) => {
            Error::PartitionNameTaken {
                schema: ctx.config.schema_name.clone(),
                partition: partition.to_owned(),
                table: ctx.qualified(),
            }
        }
        other => other,
    }
}

/// Creates a partition of the registered table, moving the rows of the DEFAULT partition that belong in it,
/// and records it. Sub-partitions, when configured, are created and recorded with it. The statements are
/// [`recipe::create`]'s.
pub(crate) async fn create(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    new: NewPartition,
) -> Result<partition_log::Model> {
    let default = match &new.condition {
        Some(condition) => default_holding(txn, ctx, condition).await?,
        None => None,
    };
    let recipe = recipe::create(ctx, &new, default.as_ref())?;
    let ran = exec::run(txn, &ctx.qualified(), &recipe, |statement, err| {
        overlap(ctx, statement.target(), err)
    })
    .await?;
    super::properties::apply_to_partition(
        txn,
        ctx,
        &new.name,
        new.leaves().into_iter().map(|(leaf, _, _)| leaf),
    )
    .await?;
    let now = service.now();
    let leaves = leaf_logs(ctx, &new, now);
    let moved = ran.moved_rows;
    let mut log = new.logged.to_log();
    log.config_id = Set(ctx.config.id);
    log.schema_name = Set(ctx.config.schema_name.clone());
    log.partition_name = Set(new.name);
    log.is_attached = Set(true);
    log.tablespace = Set(new.tablespace);
    log.created_at = Set(now);
    log.moved_rows = Set(moved.map(|n| i64::try_from(n).unwrap_or(i64::MAX)));
    // The partition first, then its sub-partitions: hooks fire in that order.
    let mut created = vec![log.insert(txn).await?];
    for leaf in leaves {
        created.push(leaf.insert(txn).await?);
    }
    record_placement(txn, &mut created).await?;
    for log in &created {
        fire(service, txn, ctx, PartitionEventKind::Created, log).await?;
    }
    let log = created.swap_remove(0);
    if let Some(moved) = moved {
        tracing::info!(partition = %log.partition_name, moved, "rows moved out of the DEFAULT partition");
    }
    Ok(log)
}

/// The log rows of a new partition's hash sub-partitions, to insert.
fn leaf_logs(
    ctx: &Table,
    new: &NewPartition,
    now: DateTime<Utc>,
) -> Vec<partition_log::ActiveModel> {
    new.leaves()
        .into_iter()
        .map(|(leaf, modulus, remainder)| {
            let mut log = LoggedBound::Hash { modulus, remainder }.to_log();
            log.config_id = Set(ctx.config.id);
            log.schema_name = Set(ctx.config.schema_name.clone());
            log.partition_name = Set(leaf);
            log.parent_name = Set(Some(new.name.clone()));
            log.is_attached = Set(true);
            log.tablespace = Set(new.tablespace.clone());
            log.created_at = Set(now);
            log
        })
        .collect()
}

/// The table's DEFAULT partition, when it is attached and holds rows matching `condition` (so that a
/// partition for them needs them moved into it), with the table's columns: what the recipes need.
pub(crate) async fn default_holding<C: ConnectionTrait>(
    conn: &C,
    ctx: &Table,
    condition: &Expr,
) -> Result<Option<DefaultRows>> {
    let Some(default) = default_log(conn, ctx.config.id).await? else {
        return Ok(None);
    };
    if !default.is_attached {
        return Ok(None);
    }
    let probe = Query::select()
        .expr(Expr::val(1))
        .from((default.schema_name.clone(), default.partition_name.clone()))
        .cond_where(condition.clone())
        .limit(1)
        .to_owned();
    if conn.query_one(&probe).await?.is_none() {
        return Ok(None);
    }
    let columns = catalog::columns(conn, &ctx.config.schema_name, &ctx.config.table_name).await?;
    Ok(Some(DefaultRows {
        partition: (default.schema_name, default.partition_name),
        columns,
    }))
}

/// The table's DEFAULT partition log row, if any.
pub(crate) async fn default_log<C: ConnectionTrait>(
    conn: &C,
    config_id: i32,
) -> Result<Option<partition_log::Model>> {
    Ok(partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.eq(config_id))
        .filter(partition_log::Column::Kind.eq(PartitionKind::Default))
        .one(conn)
        .await?)
}

/// The sub-partitions recorded for a partition.
pub(crate) async fn leaves<C: ConnectionTrait>(
    conn: &C,
    log: &partition_log::Model,
) -> Result<Vec<partition_log::Model>> {
    Ok(partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.eq(log.config_id))
        .filter(partition_log::Column::ParentName.eq(log.partition_name.as_str()))
        .order_by_asc(partition_log::Column::PartitionName)
        .all(conn)
        .await?)
}

/// Detaches a partition, moves it (and its sub-partitions) with their indexes to `tablespace` when given, and
/// records it; clears `detach_time`.
pub(crate) async fn detach(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    log: partition_log::Model,
    tablespace: Option<&str>,
) -> Result<partition_log::Model> {
    let recipe = recipe::detach(
        ctx.parent_of(&log),
        (log.schema_name.clone(), log.partition_name.clone()),
        DetachMode::Blocking,
    )?;
    exec::run(txn, &ctx.qualified(), &recipe, |_, err| match err {
        Error::Db(db) if sqlstate(&db).as_deref() == Some(sqlstate::FOREIGN_KEY_VIOLATION) => {
            Error::StillReferenced {
                table: ctx.qualified(),
                partition: log.partition_name.clone(),
                source: Box::new(db),
            }
        }
        other => other,
    })
    .await?;
    record_detached(service, txn, ctx, log, tablespace).await
}

/// After the partition left its parent: moves it to `tablespace` when given, records it, fires the hooks.
pub(crate) async fn record_detached(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    log: partition_log::Model,
    tablespace: Option<&str>,
) -> Result<partition_log::Model> {
    if let Some(tablespace) = tablespace {
        place_partition(txn, &log, tablespace).await?;
    }
    let keep = log.tablespace.clone();
    let mut active = log.into_active_model();
    active.is_attached = Set(false);
    active.detach_pending = Set(false);
    active.detach_time = Set(None);
    active.detached_at = Set(Some(service.now()));
    active.tablespace = Set(tablespace.map(str::to_owned).or(keep));
    let log = active.update(txn).await?;
    fire(service, txn, ctx, PartitionEventKind::Detached, &log).await?;
    Ok(log)
}

/// The largest key of an integer-range table (`None` when it is empty).
///
/// Read from the newest attached partitions downwards (the first non-empty one holds the maximum) and the
/// DEFAULT partition, so the cost does not grow with the number of partitions: a `max()` over the parent
/// would be planned over every partition. Falls back to the parent only when the newest ones are all empty.
pub(crate) async fn max_key<C: ConnectionTrait>(conn: &C, ctx: &Table) -> Result<Option<i64>> {
    const PROBE: u64 = 8;
    let max_of = |table: (String, String)| {
        Query::select()
            .expr(Expr::expr(Func::max(Expr::col(ctx.config.key_column.clone()))).cast_as("bigint"))
            .from(table)
            .to_owned()
    };
    let top = partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.eq(ctx.config.id))
        .filter(partition_log::Column::Kind.eq(PartitionKind::Range))
        .filter(partition_log::Column::ParentName.is_null())
        .filter(partition_log::Column::IsAttached.eq(true))
        .filter(partition_log::Column::IntEnd.is_not_null())
        .order_by_desc(partition_log::Column::IntEnd)
        .limit(PROBE)
        .all(conn)
        .await?;
    let mut best: Option<i64> = None;
    for log in &top {
        let row = conn
            .query_one(&max_of((
                log.schema_name.clone(),
                log.partition_name.clone(),
            )))
            .await?;
        if let Some(max) = row
            .map(|r| r.try_get_by_index::<Option<i64>>(0))
            .transpose()?
            .flatten()
        {
            best = Some(max);
            break;
        }
    }
    if best.is_none() && top.len() as u64 == PROBE {
        let row = conn.query_one(&max_of(ctx.parent())).await?;
        return Ok(row
            .map(|r| r.try_get_by_index::<Option<i64>>(0))
            .transpose()?
            .flatten());
    }
    if let Some(default) = default_log(conn, ctx.config.id).await?
        && default.is_attached
    {
        let row = conn
            .query_one(&max_of((default.schema_name, default.partition_name)))
            .await?;
        let in_default = row
            .map(|r| r.try_get_by_index::<Option<i64>>(0))
            .transpose()?
            .flatten();
        best = Ord::max(best, in_default);
    }
    Ok(best)
}

/// Attaches a recorded partition back: first moves it (and its sub-partitions) with their indexes to
/// `tablespace` when given; moves matching rows out of DEFAULT; sets `detach_time`.
pub(crate) async fn attach(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    log: partition_log::Model,
    tablespace: Option<&str>,
    detach_time: Option<DateTime<Utc>>,
) -> Result<partition_log::Model> {
    let (placed, leaves) = placed(txn, &log).await?;
    let mut recipe = match tablespace {
        Some(tablespace) => recipe::relocate(&placed, tablespace)?,
        None => Recipe::default(),
    };
    let (bound, condition) = ctx.bound_of(&log)?;
    let default = match (&condition, log.kind) {
        (Some(condition), kind) if kind != PartitionKind::Default => {
            default_holding(txn, ctx, condition).await?
        }
        _ => None,
    };
    recipe = recipe.then(recipe::attach(ctx, &log, default.as_ref())?);
    let bound_sql = bound.build(PostgresQueryBuilder)?;
    let ran = exec::run(txn, &ctx.qualified(), &recipe, |statement, err| match err {
        Error::Db(db)
            if statement.target() == log.partition_name
                && sqlstate(&db).as_deref() == Some(sqlstate::CHECK_VIOLATION) =>
        {
            Error::RowsOutsideBound {
                table: ctx.qualified(),
                partition: log.partition_name.clone(),
                bound: bound_sql.clone(),
                source: Box::new(db),
            }
        }
        other => overlap(ctx, statement.target(), other),
    })
    .await?;
    super::properties::apply_to_partition(
        txn,
        ctx,
        &log.partition_name,
        leaves.iter().map(|leaf| leaf.partition_name.clone()),
    )
    .await?;
    if let Some(tablespace) = tablespace {
        record_leaves_placed(txn, leaves, tablespace).await?;
    }
    let keep = log.tablespace.clone();
    let mut active = log.into_active_model();
    active.is_attached = Set(true);
    active.detach_time = Set(detach_time);
    active.tablespace = Set(tablespace.map(str::to_owned).or(keep));
    if let Some(moved) = ran.moved_rows {
        active.moved_rows = Set(Some(i64::try_from(moved).unwrap_or(i64::MAX)));
    }
    let log = active.update(txn).await?;
    fire(service, txn, ctx, PartitionEventKind::Attached, &log).await?;
    Ok(log)
}

/// Where a partition's tables are, with their indexes: the partition itself, or each of its sub-partitions
/// (returned too). What [`recipe::relocate`] starts from.
pub(crate) async fn placed<C: ConnectionTrait>(
    conn: &C,
    log: &partition_log::Model,
) -> Result<(Vec<Placed>, Vec<partition_log::Model>)> {
    let leaves = leaves(conn, log).await?;
    let tables: Vec<(&str, &str)> = if leaves.is_empty() {
        vec![(&log.schema_name, &log.partition_name)]
    } else {
        leaves
            .iter()
            .map(|leaf| (leaf.schema_name.as_str(), leaf.partition_name.as_str()))
            .collect()
    };
    let mut placed = Vec::with_capacity(tables.len());
    for (schema, name) in tables {
        if let (Some(table), indexes) = catalog::placements(conn, schema, name).await? {
            placed.push(Placed {
                schema: schema.to_owned(),
                table,
                indexes,
            });
        }
    }
    Ok((placed, leaves))
}

/// Records that the sub-partitions of a partition just moved are in `tablespace`.
async fn record_leaves_placed(
    txn: &DatabaseTransaction,
    leaves: Vec<partition_log::Model>,
    tablespace: &str,
) -> Result<()> {
    for leaf in leaves {
        let mut active = leaf.into_active_model();
        active.tablespace = Set(Some(tablespace.to_owned()));
        active.update(txn).await?;
    }
    Ok(())
}

/// Moves a partition and all its indexes to `tablespace`; a sub-partitioned one moves its sub-partitions
/// (recorded in their log rows).
pub(crate) async fn place_partition(
    txn: &DatabaseTransaction,
    log: &partition_log::Model,
    tablespace: &str,
) -> Result<()> {
    let (placed, leaves) = placed(txn, log).await?;
    let recipe = recipe::relocate(&placed, tablespace)?;
    exec::run(txn, &log.schema_name, &recipe, |_, err| err).await?;
    record_leaves_placed(txn, leaves, tablespace).await
}

/// Drops a partition (with its sub-partitions) and their log rows. A table already gone only loses its rows.
pub(crate) async fn drop_partition(
    txn: &DatabaseTransaction,
    log: &partition_log::Model,
) -> Result<()> {
    let recipe = recipe::drop((log.schema_name.clone(), log.partition_name.clone()))?;
    exec::run(txn, &log.schema_name, &recipe, |_, err| err).await?;
    partition_log::Entity::delete_many()
        .filter(partition_log::Column::ConfigId.eq(log.config_id))
        .filter(partition_log::Column::ParentName.eq(log.partition_name.as_str()))
        .exec(txn)
        .await?;
    partition_log::Entity::delete_by_id(log.id)
        .exec(txn)
        .await?;
    Ok(())
}

pub(crate) async fn fire(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    kind: PartitionEventKind,
    partition: &partition_log::Model,
) -> Result<()> {
    let event = PartitionEvent {
        kind,
        config: ctx.config.clone(),
        partition: partition.clone(),
    };
    service.run_hooks(txn, &event).await
}

/// The given partitions, re-read under the lock, after checking they belong to this table and are still logged
/// ([`Error::UnknownPartition`] otherwise: nothing is done to the others either).
pub(crate) async fn reread(
    txn: &DatabaseTransaction,
    ctx: &Table,
    logs: &[partition_log::Model],
) -> Result<Vec<partition_log::Model>> {
    if let Some(foreign) = logs.iter().find(|log| log.config_id != ctx.config.id) {
        return Err(Error::ForeignPartition {
            partition: foreign.partition_name.clone(),
            table: ctx.qualified(),
        });
    }
    let ids: Vec<i64> = logs.iter().map(|log| log.id).collect();
    let found = partition_log::Entity::find()
        .filter(partition_log::Column::Id.is_in(ids))
        .order_by_asc(partition_log::Column::Id)
        .all(txn)
        .await?;
    if let Some(gone) = logs.iter().find(|log| found.iter().all(|f| f.id != log.id)) {
        return Err(Error::UnknownPartition {
            partition: gone.partition_name.clone(),
            table: ctx.qualified(),
        });
    }
    Ok(found)
}

/// Creates the DEFAULT partition of a table and records it.
pub(crate) async fn create_default(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    tablespace: Option<String>,
) -> Result<partition_log::Model> {
    let name = fit_name(&ctx.config.table_name, "_default");
    create_default_named(service, txn, ctx, name, tablespace).await
}

/// The DEFAULT partition under a given name.
pub(crate) async fn create_default_named(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    name: String,
    tablespace: Option<String>,
) -> Result<partition_log::Model> {
    create(
        service,
        txn,
        ctx,
        NewPartition {
            name,
            bound: PartitionBound::Default,
            condition: None,
            tablespace,
            logged: LoggedBound::Default,
            sub_partition: None,
        },
    )
    .await
}

/// Records in `created_tablespace` where the partitions of these just-inserted log rows were created, read
/// from the catalog in one statement (see [`catalog::PLACEMENT_OF_LOG_ROW`]), and updates the rows given.
pub(crate) async fn record_placement(
    txn: &DatabaseTransaction,
    logs: &mut [partition_log::Model],
) -> Result<()> {
    if logs.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = logs.iter().map(|l| l.id).collect();
    let updated = partition_log::Entity::update_many()
        .col_expr(
            partition_log::Column::CreatedTablespace,
            Expr::cust(catalog::PLACEMENT_OF_LOG_ROW),
        )
        .filter(partition_log::Column::Id.is_in(ids))
        .exec_with_returning(txn)
        .await?;
    for log in logs.iter_mut() {
        if let Some(row) = updated.iter().find(|u| u.id == log.id) {
            log.created_tablespace = row.created_tablespace.clone();
        }
    }
    Ok(())
}

/// Log rows the retention rule may take at `now`: `detach_time` unset or past. As in the original, a
/// partition stays attached until `detach_time < now` (see [`plan::is_protected`](crate::model::plan::is_protected)).
pub(crate) fn unprotected(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(partition_log::Column::DetachTime.is_null())
        .add(partition_log::Column::DetachTime.lt(now))
}

/// The range partitions of a table: not DEFAULT, not sub-partitions.
pub(crate) fn range_partitions(config_id: i32) -> sea_orm::Select<partition_log::Entity> {
    partition_log::Entity::find()
        .filter(partition_log::Column::ConfigId.eq(config_id))
        .filter(partition_log::Column::Kind.eq(PartitionKind::Range))
        .filter(partition_log::Column::ParentName.is_null())
}
