//! Operations shared by every kind of managed table: the lock, creating, attaching, detaching and placing a
//! partition, moving rows out of the DEFAULT partition, and hooks.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, PostgresQueryBuilder, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use super::catalog;
use super::{PartitionEvent, PartitionEventKind, PartitionService, execute};
use crate::calendar::fit_name;
use crate::entity::partition_config::CreationMode;
use crate::entity::partition_log::PartitionKind;
use crate::entity::{partition_config, partition_log};
use crate::error::{Error, Result, sqlstate};
use crate::model::LoggedBound;
use crate::model::table::{NewPartition, Table};
use crate::schema::{Partition, PartitionBound, PartitionKey};

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
    // The configuration row is `cfg`; `c` is the managed table in `pg_class`, as `key_sql!` expects.
    const SQL: &str = concat!(
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
    let txn = service.connection().begin().await?;
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
    Ok((txn, Table { config, key_type }))
}

/// Name of the CHECK constraint that proves a new partition's bound while it is attached (then dropped).
const BOUND_CHECK: &str = "sopp_bound";

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
/// and records it. Sub-partitions, when configured, are created and recorded with it.
pub(crate) async fn create(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    new: NewPartition,
) -> Result<partition_log::Model> {
    crate::schema::check_name("partition", &new.name)?;
    let default = match &new.condition {
        Some(condition) => detach_default_if_needed(txn, ctx, condition).await?,
        None => None,
    };
    create_table(txn, ctx, &new).await?;
    let now = service.now();
    let leaves = match &new.sub_partition {
        Some((_, modulus)) => create_leaves(txn, ctx, &new, *modulus, now).await?,
        None => {
            if let Some(tablespace) = &new.tablespace {
                place(txn, &ctx.config.schema_name, &new.name, tablespace).await?;
            }
            Vec::new()
        }
    };
    let moved = match (default, &new.condition) {
        (Some(default), Some(condition)) => {
            Some(move_rows_back(txn, ctx, &default, &new.name, condition).await?)
        }
        _ => None,
    };
    let mut log = new.logged.to_log();
    log.config_id = Set(ctx.config.id);
    log.schema_name = Set(ctx.config.schema_name.clone());
    log.partition_name = Set(new.name);
    log.is_attached = Set(true);
    log.tablespace = Set(new.tablespace);
    log.created_at = Set(now);
    log.moved_rows = Set(moved.map(|n| i64::try_from(n).unwrap_or(i64::MAX)));
    // The partition first, then its sub-partitions: recorded in one statement, hooks in that order.
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

/// The partition's table: `CREATE TABLE .. PARTITION OF`, or in the low-lock mode a standalone table with a
/// CHECK proving the bound, then `ATTACH` (SHARE UPDATE EXCLUSIVE on the parent instead of ACCESS EXCLUSIVE,
/// so the application's queries go on), then the CHECK dropped.
async fn create_table(txn: &DatabaseTransaction, ctx: &Table, new: &NewPartition) -> Result<()> {
    let schema = ctx.config.schema_name.clone();
    let low_lock = ctx.config.creation_mode == CreationMode::Attach && new.sub_partition.is_none();
    let ddl = |err| overlap(ctx, &new.name, err);
    match (&new.condition, low_lock) {
        (Some(check), true) => {
            let mut like = Partition::create_like();
            like.table((schema.clone(), new.name.clone()))
                .like(ctx.parent())
                .check(BOUND_CHECK, check.clone());
            if let Some(tablespace) = &new.tablespace {
                like.tablespace(tablespace.clone());
            }
            execute(txn, like.build(PostgresQueryBuilder)?)
                .await
                .map_err(ddl)?;
            let attach = Partition::attach()
                .table(ctx.parent())
                .partition((schema.clone(), new.name.clone()))
                .bound(new.bound.clone())
                .build(PostgresQueryBuilder)?;
            execute(txn, attach).await.map_err(ddl)?;
            let drop = Partition::drop_constraint()
                .table((schema, new.name.clone()))
                .constraint(BOUND_CHECK)
                .build(PostgresQueryBuilder)?;
            execute(txn, drop).await
        }
        _ => {
            let mut create = Partition::create();
            create
                .table((schema, new.name.clone()))
                .partition_of(ctx.parent())
                .bound(new.bound.clone());
            if let Some((column, _)) = &new.sub_partition {
                create.partition_by(PartitionKey::hash([column.clone()]));
            }
            if let Some(tablespace) = &new.tablespace {
                create.tablespace(tablespace.clone());
            }
            execute(txn, create.build(PostgresQueryBuilder)?)
                .await
                .map_err(ddl)
        }
    }
}

/// The `modulus` hash sub-partitions of a new partition, placed in its tablespace; their log rows, to insert.
async fn create_leaves(
    txn: &DatabaseTransaction,
    ctx: &Table,
    new: &NewPartition,
    modulus: u32,
    now: DateTime<Utc>,
) -> Result<Vec<partition_log::ActiveModel>> {
    let schema = ctx.config.schema_name.clone();
    let mut leaves = Vec::new();
    for remainder in 0..modulus {
        let leaf = fit_name(&new.name, &format!("_h{remainder}"));
        crate::schema::check_name("partition", &leaf)?;
        let mut create = Partition::create();
        create
            .table((schema.clone(), leaf.clone()))
            .partition_of((schema.clone(), new.name.clone()))
            .values_with(modulus, remainder);
        if let Some(tablespace) = &new.tablespace {
            create.tablespace(tablespace.clone());
        }
        execute(txn, create.build(PostgresQueryBuilder)?)
            .await
            .map_err(|err| overlap(ctx, &leaf, err))?;
        if let Some(tablespace) = &new.tablespace {
            place(txn, &schema, &leaf, tablespace).await?;
        }
        let mut log = LoggedBound::Hash { modulus, remainder }.to_log();
        log.config_id = Set(ctx.config.id);
        log.schema_name = Set(schema.clone());
        log.partition_name = Set(leaf);
        log.parent_name = Set(Some(new.name.clone()));
        log.is_attached = Set(true);
        log.tablespace = Set(new.tablespace.clone());
        log.created_at = Set(now);
        leaves.push(log);
    }
    Ok(leaves)
}

/// The attached DEFAULT partition of the table, if it has one and it holds rows matching `condition`: then it
/// is detached (within the transaction) so that a partition for those rows can be created or attached.
async fn detach_default_if_needed(
    txn: &DatabaseTransaction,
    ctx: &Table,
    condition: &Expr,
) -> Result<Option<partition_log::Model>> {
    let Some(default) = default_log(txn, ctx.config.id).await? else {
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
    if txn.query_one(&probe).await?.is_none() {
        return Ok(None);
    }
    let detach = Partition::detach()
        .table(ctx.parent())
        .partition((default.schema_name.clone(), default.partition_name.clone()))
        .build(PostgresQueryBuilder)?;
    execute(txn, detach).await?;
    Ok(Some(default))
}

/// Moves the rows of the (detached) DEFAULT partition that match `condition` into `target`, then attaches
/// DEFAULT again. Returns how many rows moved; the count inserted and deleted must agree.
async fn move_rows_back(
    txn: &DatabaseTransaction,
    ctx: &Table,
    default: &partition_log::Model,
    target: &str,
    condition: &Expr,
) -> Result<u64> {
    let schema = &ctx.config.schema_name;
    let columns = catalog::columns(txn, schema, &ctx.config.table_name).await?;
    let source = (default.schema_name.clone(), default.partition_name.clone());
    let select = Query::select()
        .columns(columns.clone())
        .from(source.clone())
        .cond_where(condition.clone())
        .to_owned();
    let insert = Query::insert()
        .into_table((schema.clone(), target.to_owned()))
        .columns(columns)
        .select_from(select)
        .map_err(|e| Error::CheckFailed {
            table: ctx.qualified(),
            check: "building the copy of rows out of DEFAULT",
            detail: e.to_string(),
        })?
        .to_owned();
    let inserted = txn.execute(&insert).await?.rows_affected();
    let delete = Query::delete()
        .from_table(source)
        .cond_where(condition.clone())
        .to_owned();
    let deleted = txn.execute(&delete).await?.rows_affected();
    if inserted != deleted {
        return Err(Error::CheckFailed {
            table: ctx.qualified(),
            check: "moving rows out of DEFAULT",
            detail: format!("{inserted} rows were copied but {deleted} removed"),
        });
    }
    let attach = Partition::attach()
        .table(ctx.parent())
        .partition((default.schema_name.clone(), default.partition_name.clone()))
        .default_partition()
        .build(PostgresQueryBuilder)?;
    execute(txn, attach).await?;
    Ok(inserted)
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

/// Where a partition's parent is: the registered table, or the partition it is a sub-partition of.
fn parent_of(ctx: &Table, log: &partition_log::Model) -> (String, String) {
    match &log.parent_name {
        Some(parent) => (log.schema_name.clone(), parent.clone()),
        None => ctx.parent(),
    }
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
    let sql = Partition::detach()
        .table(parent_of(ctx, &log))
        .partition((log.schema_name.clone(), log.partition_name.clone()))
        .build(PostgresQueryBuilder)?;
    execute(txn, sql).await?;
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
    if let Some(tablespace) = tablespace {
        place_partition(txn, &log, tablespace).await?;
    }
    let (bound, condition) = ctx.bound_of(&log)?;
    let default = match (&condition, log.kind) {
        (Some(condition), kind) if kind != PartitionKind::Default => {
            detach_default_if_needed(txn, ctx, condition).await?
        }
        _ => None,
    };
    let bound_sql = bound.build(PostgresQueryBuilder)?;
    let sql = Partition::attach()
        .table(parent_of(ctx, &log))
        .partition((log.schema_name.clone(), log.partition_name.clone()))
        .bound(bound)
        .build(PostgresQueryBuilder)?;
    execute(txn, sql).await.map_err(|err| match err {
        Error::Db(db) if sqlstate(&db).as_deref() == Some(sqlstate::CHECK_VIOLATION) => {
            Error::RowsOutsideBound {
                table: ctx.qualified(),
                partition: log.partition_name.clone(),
                bound: bound_sql,
                source: Box::new(db),
            }
        }
        other => overlap(ctx, &log.partition_name, other),
    })?;
    let moved = match (default, &condition) {
        (Some(default), Some(condition)) => {
            Some(move_rows_back(txn, ctx, &default, &log.partition_name, condition).await?)
        }
        _ => None,
    };
    let keep = log.tablespace.clone();
    let mut active = log.into_active_model();
    active.is_attached = Set(true);
    active.detach_time = Set(detach_time);
    active.tablespace = Set(tablespace.map(str::to_owned).or(keep));
    if let Some(moved) = moved {
        active.moved_rows = Set(Some(i64::try_from(moved).unwrap_or(i64::MAX)));
    }
    let log = active.update(txn).await?;
    fire(service, txn, ctx, PartitionEventKind::Attached, &log).await?;
    Ok(log)
}

/// Moves a partition and all its indexes to `tablespace`; a sub-partitioned one moves its sub-partitions.
pub(crate) async fn place_partition(
    txn: &DatabaseTransaction,
    log: &partition_log::Model,
    tablespace: &str,
) -> Result<()> {
    let leaves = leaves(txn, log).await?;
    if leaves.is_empty() {
        return place(txn, &log.schema_name, &log.partition_name, tablespace).await;
    }
    for leaf in leaves {
        place(txn, &leaf.schema_name, &leaf.partition_name, tablespace).await?;
        let mut active = leaf.into_active_model();
        active.tablespace = Set(Some(tablespace.to_owned()));
        active.update(txn).await?;
    }
    Ok(())
}

/// Moves a table and every index of it to `tablespace`, skipping those already there.
pub(crate) async fn place<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
    tablespace: &str,
) -> Result<()> {
    let (table, indexes) = catalog::placements(conn, schema, name).await?;
    if let Some(table) = &table
        && table.tablespace != tablespace
    {
        let sql = Partition::set_tablespace()
            .table((schema.to_owned(), name.to_owned()))
            .tablespace(tablespace.to_owned())
            .build(PostgresQueryBuilder)?;
        execute(conn, sql).await?;
    }
    for index in indexes
        .into_iter()
        .filter(|index| index.tablespace != tablespace)
    {
        let sql = Partition::set_tablespace()
            .index((schema.to_owned(), index.name))
            .tablespace(tablespace.to_owned())
            .build(PostgresQueryBuilder)?;
        execute(conn, sql).await?;
    }
    Ok(())
}

/// Drops a partition (with its sub-partitions) and their log rows. A table already gone only loses its rows.
pub(crate) async fn drop_partition(
    txn: &DatabaseTransaction,
    log: &partition_log::Model,
) -> Result<()> {
    let sql = Partition::drop()
        .table((log.schema_name.clone(), log.partition_name.clone()))
        .if_exists()
        .build(PostgresQueryBuilder)?;
    execute(txn, sql).await?;
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
