//! `SchemaManager` extension for sea-orm-migration files (feature `migration`).

use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm_migration::SchemaManager;

use crate::error::Result;
use crate::exec::execute;
use crate::schema::{
    DistributeStatement, PartitionAttachStatement, PartitionCreateStatement,
    PartitionDetachStatement, PartitionedTable, SetTablespaceStatement,
};

/// Partitioning statements on sea-orm-migration's `SchemaManager`. Each method validates its statement first
/// (nothing reaches the server when validation fails) and then executes it on the migration's connection.
///
/// The methods return this crate's [`Result`]; `?` turns the error into a `DbErr` inside `up` and `down`.
///
/// # Examples
///
/// ```
/// use sea_orm_migration::prelude::*;
/// use sea_orm_pg_partitioning::prelude::*;
///
/// pub struct Migration;
///
/// impl MigrationName for Migration {
///     fn name(&self) -> &str {
///         "m20240101_000001_create_event"
///     }
/// }
///
/// #[async_trait::async_trait]
/// impl MigrationTrait for Migration {
///     async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
///         let event = Table::create()
///             .table("event")
///             .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
///             .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
///             .col(ColumnDef::new("payload").json_binary().not_null())
///             .partitioned_by(PartitionKey::range(["created_at"]))
///             .primary_key_policy(PrimaryKeyPolicy::IncludeKey)
///             .to_owned();
///         manager.create_partitioned_table(event).await?;
///         manager
///             .create_partition(
///                 Partition::create()
///                     .table("event_default")
///                     .partition_of("event")
///                     .default_partition()
///                     .to_owned(),
///             )
///             .await?;
///         Ok(())
///     }
///
///     async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
///         // Dropping the parent drops its partitions.
///         manager.drop_table(Table::drop().table("event").to_owned()).await
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait PartitionSchemaManagerExt {
    /// `CREATE TABLE .. PARTITION BY ..`, after the legality checks of [`PartitionedTable`]; for a table
    /// [`distributed_by`](PartitionedTable::distributed_by) a column, then `create_distributed_table` (Citus
    /// distributes the partitions made later too). Both are checked before either runs.
    async fn create_partitioned_table(&self, table: PartitionedTable) -> Result<()>;

    /// Citus' `create_distributed_table` or `create_reference_table` (see
    /// [`Distribute`](crate::schema::Distribute)), e.g. for a reference table a distributed one points to.
    ///
    /// ```
    /// use sea_orm_migration::prelude::*;
    /// use sea_orm_pg_partitioning::prelude::*;
    /// use sea_orm_pg_partitioning::schema::Distribute;
    ///
    /// # async fn up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    /// manager.distribute(Distribute::reference("country")).await?;
    /// manager.distribute(Distribute::table("account").column("tenant").to_owned()).await?;
    /// # Ok(()) }
    /// ```
    async fn distribute(&self, statement: DistributeStatement) -> Result<()>;

    /// `CREATE TABLE .. PARTITION OF ..`.
    async fn create_partition(&self, partition: PartitionCreateStatement) -> Result<()>;

    /// `ALTER TABLE .. ATTACH PARTITION ..`.
    async fn attach_partition(&self, attach: PartitionAttachStatement) -> Result<()>;

    /// `ALTER TABLE .. DETACH PARTITION ..`. A `CONCURRENTLY` detach cannot run inside a transaction: the
    /// migration must return `Some(false)` from `MigrationTrait::use_transaction`.
    async fn detach_partition(&self, detach: PartitionDetachStatement) -> Result<()>;

    /// `ALTER TABLE | INDEX .. SET TABLESPACE ..`.
    async fn set_tablespace(&self, set: SetTablespaceStatement) -> Result<()>;

    /// Creates `index` on the partitioned table `table` without blocking writes, as
    /// [`PartitionService::create_index`](crate::service::PartitionService::create_index) does (with the
    /// default `lock_timeout` and retries). `CREATE INDEX CONCURRENTLY` cannot run in a transaction: the
    /// migration returns `Some(false)` from `MigrationTrait::use_transaction`, else this fails before
    /// building anything. Running the migration again after an interruption finishes the build.
    ///
    /// ```
    /// use sea_orm_migration::prelude::*;
    /// use sea_orm_pg_partitioning::prelude::*;
    ///
    /// pub struct Migration;
    ///
    /// impl MigrationName for Migration {
    ///     fn name(&self) -> &str {
    ///         "m20240201_000001_event_payload_index"
    ///     }
    /// }
    ///
    /// #[async_trait::async_trait]
    /// impl MigrationTrait for Migration {
    ///     fn use_transaction(&self) -> Option<bool> {
    ///         Some(false)
    ///     }
    ///
    ///     async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
    ///         let index = Index::create().name("event_payload").col("payload").to_owned();
    ///         manager.create_partitioned_index("event", index).await?;
    ///         Ok(())
    ///     }
    ///
    ///     async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
    ///         manager.drop_index(Index::drop().name("event_payload").to_owned()).await
    ///     }
    /// }
    /// ```
    async fn create_partitioned_index(
        &self,
        table: &str,
        index: sea_orm::sea_query::IndexCreateStatement,
    ) -> Result<crate::service::IndexBuild>;
}

#[async_trait::async_trait]
impl PartitionSchemaManagerExt for SchemaManager<'_> {
    async fn create_partitioned_table(&self, table: PartitionedTable) -> Result<()> {
        let sql = table.build(PostgresQueryBuilder)?;
        let distribute = table.distribute_statement()?;
        execute(self.get_connection(), sql).await?;
        if let Some(distribute) = distribute {
            execute(self.get_connection(), distribute).await?;
        }
        Ok(())
    }

    async fn distribute(&self, statement: DistributeStatement) -> Result<()> {
        let sql = statement.build(PostgresQueryBuilder)?;
        execute(self.get_connection(), sql).await
    }

    async fn create_partition(&self, partition: PartitionCreateStatement) -> Result<()> {
        let sql = partition.build(PostgresQueryBuilder)?;
        execute(self.get_connection(), sql).await
    }

    async fn attach_partition(&self, attach: PartitionAttachStatement) -> Result<()> {
        let sql = attach.build(PostgresQueryBuilder)?;
        execute(self.get_connection(), sql).await
    }

    async fn detach_partition(&self, detach: PartitionDetachStatement) -> Result<()> {
        let sql = detach.build(PostgresQueryBuilder)?;
        execute(self.get_connection(), sql)
            .await
            .map_err(|err| detach.classify(err))
    }

    async fn create_partitioned_index(
        &self,
        table: &str,
        index: sea_orm::sea_query::IndexCreateStatement,
    ) -> Result<crate::service::IndexBuild> {
        let conn = self.get_connection();
        let schema = crate::service::catalog_current_schema(conn).await?;
        let options = crate::service::MaintenanceOptions::default();
        crate::service::index::build_index(conn, &options, (&schema, table), &index).await
    }

    async fn set_tablespace(&self, set: SetTablespaceStatement) -> Result<()> {
        let sql = set.build(PostgresQueryBuilder)?;
        execute(self.get_connection(), sql).await
    }
}
