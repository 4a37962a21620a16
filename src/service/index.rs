//! Indexes on partitioned tables built without blocking writes: [`PartitionService::create_index`] (and the
//! migration's `create_partitioned_index`). The method is in [`model::index`](crate::model::index).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::IndexCreateStatement;

use super::catalog::query_all;
use super::maintenance::{backoff, is_lock_timeout};
use super::{MaintenanceOptions, PartitionService, QualifiedTable};
use crate::error::{Error, Result, StatementError, sqlstate};
use crate::model::index::{attach_index, drop_index, index_statement, partition_index_name};

/// What [`PartitionService::create_index`] did.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexBuild {
    /// The table, `schema.name`.
    pub table: String,
    /// The parent index.
    pub index: String,
    /// Partition indexes built (`CONCURRENTLY`) by this run.
    pub built: Vec<String>,
    /// Of those, the ones an interrupted build had left invalid, dropped and built again.
    pub rebuilt: Vec<String>,
    /// Partition indexes attached to their parent's by this run.
    pub attached: Vec<String>,
    /// Partitions whose index was already there and attached.
    pub kept: usize,
    /// Whether the parent index is valid now (every partition has its index attached).
    pub valid: bool,
}

impl PartitionService {
    /// Creates the index `index` (its name, columns, uniqueness, method, `INCLUDE`, `WHERE`; its table is
    /// `table`) on a partitioned table without blocking writes: `ON ONLY` on the parent, `CONCURRENTLY` on
    /// each partition, each attached under `lock_timeout` with retries. Run it again after an interruption:
    /// what was built is kept, an invalid leftover is rebuilt. See [`model::index`](crate::model::index).
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// use sea_orm::sea_query::Index;
    ///
    /// let build = service
    ///     .create_index("event", Index::create().name("event_payload").col("payload").to_owned())
    ///     .await?;
    /// assert!(build.valid);
    /// # Ok(()) }
    /// ```
    pub async fn create_index<T: Into<QualifiedTable>>(
        &self,
        table: T,
        index: IndexCreateStatement,
    ) -> Result<IndexBuild> {
        let table = table.into();
        let schema = self.resolve_schema(&table).await?;
        build_index(
            self.connection(),
            self.maintenance_options(),
            (&schema, &table.name),
            &index,
        )
        .await
    }

    /// Drops the index `name` of a partitioned table, with its partitions' indexes: one `DROP INDEX`, which
    /// holds the table's lock for a moment (under `lock_timeout`, retried). `false` when there was none.
    pub async fn drop_index<T: Into<QualifiedTable>>(&self, table: T, name: &str) -> Result<bool> {
        let table = table.into();
        let schema = self.resolve_schema(&table).await?;
        let db = self.connection();
        if index_state(db, &schema, name).await?.is_none() {
            return Ok(false);
        }
        let qualified = format!("{schema}.{}", table.name);
        with_lock_timeout(
            db,
            self.maintenance_options(),
            &qualified,
            &drop_index(&schema, name, false),
        )
        .await?;
        Ok(true)
    }
}

/// An index as the catalog has it.
struct IndexState {
    valid: bool,
}

async fn index_state<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
) -> Result<Option<IndexState>> {
    let found = query_all(
        conn,
        "SELECT i.indisvalid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid \
         WHERE n.nspname = $1 AND c.relname = $2",
        vec![schema.into(), name.into()],
    )
    .await?;
    found
        .first()
        .map(|r| {
            Ok(IndexState {
                valid: r.try_get_by_index(0)?,
            })
        })
        .transpose()
}

/// The partitions of `schema.table` (one level): name, whether partitioned itself, and the name of its index
/// already attached to `parent_index`, if any (one PostgreSQL made for a partition created meanwhile).
async fn partitions<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
    parent_index: &str,
) -> Result<Vec<(String, bool, Option<String>)>> {
    let found = query_all(
        conn,
        "SELECT c.relname::text, c.relkind = 'p', \
                (SELECT ic.relname::text FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid \
                 JOIN pg_inherits h ON h.inhrelid = x.indexrelid \
                 WHERE x.indrelid = c.oid AND h.inhparent = to_regclass(format('%I.%I', $1::text, $3::text))) \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = to_regclass(format('%I.%I', $1::text, $2::text)) ORDER BY 1",
        vec![schema.into(), table.into(), parent_index.into()],
    )
    .await?;
    found
        .iter()
        .map(|r| {
            Ok((
                r.try_get_by_index(0)?,
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
            ))
        })
        .collect()
}

/// Runs `statement` with `lock_timeout` for it alone (`SET LOCAL` in the implicit transaction of one
/// query), retried with backoff when the timeout stops it; [`Error::TableBusy`] after the last try.
async fn with_lock_timeout<C: ConnectionTrait>(
    conn: &C,
    options: &MaintenanceOptions,
    table: &str,
    statement: &str,
) -> Result<()> {
    let ms = options.lock_timeout.as_millis().max(1);
    let sql = format!("SET LOCAL lock_timeout = '{ms}ms'; {statement}");
    let mut attempt = 0;
    loop {
        match conn.execute_unprepared(&sql).await.map_err(Error::from) {
            Ok(_) => return Ok(()),
            Err(err) if is_lock_timeout(&err) && attempt < options.retries => {
                tokio::time::sleep(backoff(options.backoff, attempt)).await;
                attempt += 1;
            }
            Err(err) if is_lock_timeout(&err) => {
                return Err(Error::TableBusy {
                    table: table.to_owned(),
                    what: "the index build",
                    timeout_ms: u64::try_from(ms).unwrap_or(u64::MAX),
                    attempts: options.retries + 1,
                });
            }
            Err(err) => return Err(err),
        }
    }
}

/// Builds `index` on the partitioned table `schema.table` (see [`PartitionService::create_index`]), on a
/// connection outside any transaction (`CREATE INDEX CONCURRENTLY` cannot run in one).
pub(crate) async fn build_index<C: ConnectionTrait>(
    conn: &C,
    options: &MaintenanceOptions,
    (schema, table): (&str, &str),
    index: &IndexCreateStatement,
) -> Result<IndexBuild> {
    let name = index.get_index_spec().get_name().map(str::to_owned).ok_or(
        StatementError::IncompleteStatement {
            statement: "CREATE INDEX",
            missing: "the index's name: call .name(..)",
        },
    )?;
    let qualified = format!("{schema}.{table}");
    let columns = crate::service::catalog::columns(conn, schema, table).await?;
    if let Some(column) = index
        .get_index_spec()
        .get_column_names()
        .into_iter()
        .find(|c| !columns.is_empty() && !columns.contains(c))
    {
        return Err(crate::error::Error::InvalidConfig {
            table: qualified,
            problem: crate::error::ConfigProblem::UnknownColumn {
                index: name,
                column,
            },
        });
    }
    let mut build = IndexBuild {
        table: qualified.clone(),
        index: name.clone(),
        ..IndexBuild::default()
    };
    if index_state(conn, schema, &name).await?.is_none() {
        let parent = index_statement(index, &name, (schema, table), true)?;
        with_lock_timeout(conn, options, &qualified, &parent).await?;
    }
    // Depth first: a sub-partitioned partition's own `ON ONLY` index, then its leaves.
    let mut pending = vec![(table.to_owned(), name.clone())];
    while let Some((parent_table, parent_index)) = pending.pop() {
        for (partition, partitioned, attached) in
            partitions(conn, schema, &parent_table, &parent_index).await?
        {
            let child = match attached {
                Some(existing) => {
                    build.kept += 1;
                    existing
                }
                None => {
                    let child = partition_index_name(&partition, &name);
                    build_one(
                        conn,
                        options,
                        index,
                        (schema, &partition, &child),
                        partitioned,
                        &mut build,
                    )
                    .await?;
                    with_lock_timeout(
                        conn,
                        options,
                        &qualified,
                        &attach_index(schema, &parent_index, &child),
                    )
                    .await?;
                    build.attached.push(child.clone());
                    child
                }
            };
            if partitioned {
                pending.push((partition, child));
            }
        }
    }
    build.valid = index_state(conn, schema, &name)
        .await?
        .is_some_and(|s| s.valid);
    tracing::info!(table = %qualified, index = %name, built = build.built.len(), valid = build.valid, "index built");
    Ok(build)
}

/// One partition's index: `ON ONLY` for a sub-partitioned one, else built `CONCURRENTLY` (an invalid
/// leftover of an interrupted build dropped first).
async fn build_one<C: ConnectionTrait>(
    conn: &C,
    options: &MaintenanceOptions,
    index: &IndexCreateStatement,
    (schema, partition, child): (&str, &str, &str),
    partitioned: bool,
    build: &mut IndexBuild,
) -> Result<()> {
    let state = index_state(conn, schema, child).await?;
    if partitioned {
        if state.is_none() {
            let only = index_statement(index, child, (schema, partition), true)?;
            with_lock_timeout(conn, options, partition, &only).await?;
        }
        return Ok(());
    }
    if let Some(state) = &state {
        if state.valid {
            return Ok(());
        }
        conn.execute_unprepared(&drop_index(schema, child, true))
            .await?;
        build.rebuilt.push(child.to_owned());
    }
    let statement = index_statement(index, child, (schema, partition), false)?;
    conn.execute_unprepared(&statement).await.map_err(|err| {
        let err = Error::from(err);
        match err.sqlstate().as_deref() {
            Some(sqlstate::ACTIVE_SQL_TRANSACTION) => Error::CheckFailed {
                table: format!("{schema}.{partition}"),
                check: "building an index CONCURRENTLY",
                detail:
                    "it cannot run inside a transaction: in a migration, return Some(false) from \
                         MigrationTrait::use_transaction"
                        .to_owned(),
            },
            _ => err,
        }
    })?;
    build.built.push(child.to_owned());
    Ok(())
}
