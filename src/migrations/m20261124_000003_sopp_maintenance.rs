//! Maintenance settings per table, and the two facts maintenance needs per partition: whether the crate
//! created it (only those are ever dropped), and whether a `DETACH .. CONCURRENTLY` of it is under way.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000003_sopp_maintenance"
    }
}

#[derive(DeriveIden)]
enum SoppPartitionConfig {
    Table,
    RetentionAction,
    DropAfterSeconds,
    CreationMode,
    ConcurrentDetach,
}

#[derive(DeriveIden)]
enum SoppPartitionLog {
    Table,
    CreatedByCrate,
    DetachPending,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use SoppPartitionConfig as C;
        use SoppPartitionLog as L;
        manager
            .alter_table(
                Table::alter()
                    .table(C::Table)
                    .add_column(
                        ColumnDef::new(C::RetentionAction)
                            .string_len(8)
                            .not_null()
                            .default("detach"),
                    )
                    .add_column(
                        ColumnDef::new(C::DropAfterSeconds)
                            .big_integer()
                            .check(Expr::col(C::DropAfterSeconds).gte(0)),
                    )
                    .add_column(
                        ColumnDef::new(C::CreationMode)
                            .string_len(8)
                            .not_null()
                            .default("direct"),
                    )
                    .add_column(
                        ColumnDef::new(C::ConcurrentDetach)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(L::Table)
                    .add_column(
                        ColumnDef::new(L::CreatedByCrate)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .add_column(
                        ColumnDef::new(L::DetachPending)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        // The DEFAULT partition of a table is looked up on every create: keep that O(1) however long the
        // table's history.
        manager
            .create_index(
                Index::create()
                    .name("sopp_partition_log_config_kind_idx")
                    .table(L::Table)
                    .col(Alias::new("config_id"))
                    .col(Alias::new("kind"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use SoppPartitionConfig as C;
        use SoppPartitionLog as L;
        manager
            .drop_index(
                Index::drop()
                    .name("sopp_partition_log_config_kind_idx")
                    .table(L::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(L::Table)
                    .drop_column(L::CreatedByCrate)
                    .drop_column(L::DetachPending)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(C::Table)
                    .drop_column(C::RetentionAction)
                    .drop_column(C::DropAfterSeconds)
                    .drop_column(C::CreationMode)
                    .drop_column(C::ConcurrentDetach)
                    .to_owned(),
            )
            .await
    }
}
