//! List, hash, integer-range and DEFAULT partitions: the log records every kind of partition (bounds are null
//! where a kind has none), and the configuration gains the settings of the new kinds.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000002_sopp_partition_kinds"
    }
}

#[derive(DeriveIden)]
enum SoppPartitionConfig {
    Table,
    Step,
    Premake,
    DefaultPartition,
    SubPartitionColumn,
    SubPartitionModulus,
}

#[derive(DeriveIden)]
enum SoppPartitionLog {
    Table,
    Start,
    End,
    Kind,
    ParentName,
    ListValues,
    IntStart,
    IntEnd,
    HashModulus,
    HashRemainder,
    MovedRows,
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
                        ColumnDef::new(C::Step)
                            .big_integer()
                            .check(Expr::col(C::Step).gt(0)),
                    )
                    .add_column(
                        ColumnDef::new(C::Premake)
                            .integer()
                            .check(Expr::col(C::Premake).gte(0)),
                    )
                    .add_column(
                        ColumnDef::new(C::DefaultPartition)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .add_column(ColumnDef::new(C::SubPartitionColumn).text())
                    .add_column(
                        ColumnDef::new(C::SubPartitionModulus)
                            .integer()
                            .check(Expr::col(C::SubPartitionModulus).gt(0)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(L::Table)
                    .modify_column(ColumnDef::new(L::Start).timestamp_with_time_zone().null())
                    .modify_column(ColumnDef::new(L::End).timestamp_with_time_zone().null())
                    .add_column(
                        ColumnDef::new(L::Kind)
                            .string_len(8)
                            .not_null()
                            .default("range"),
                    )
                    .add_column(ColumnDef::new(L::ParentName).text())
                    .add_column(ColumnDef::new(L::ListValues).json_binary())
                    .add_column(ColumnDef::new(L::IntStart).big_integer())
                    .add_column(ColumnDef::new(L::IntEnd).big_integer())
                    .add_column(ColumnDef::new(L::HashModulus).integer())
                    .add_column(ColumnDef::new(L::HashRemainder).integer())
                    .add_column(ColumnDef::new(L::MovedRows).big_integer())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sopp_partition_log_config_int_end_idx")
                    .table(L::Table)
                    .col(Alias::new("config_id"))
                    .col(L::IntEnd)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use SoppPartitionConfig as C;
        use SoppPartitionLog as L;
        // Rows of the new kinds cannot live in the old shape.
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM sopp_partition_log WHERE start IS NULL OR \"end\" IS NULL",
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("sopp_partition_log_config_int_end_idx")
                    .table(L::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(L::Table)
                    .drop_column(L::Kind)
                    .drop_column(L::ParentName)
                    .drop_column(L::ListValues)
                    .drop_column(L::IntStart)
                    .drop_column(L::IntEnd)
                    .drop_column(L::HashModulus)
                    .drop_column(L::HashRemainder)
                    .drop_column(L::MovedRows)
                    .modify_column(
                        ColumnDef::new(L::Start)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .modify_column(ColumnDef::new(L::End).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(C::Table)
                    .drop_column(C::Step)
                    .drop_column(C::Premake)
                    .drop_column(C::DefaultPartition)
                    .drop_column(C::SubPartitionColumn)
                    .drop_column(C::SubPartitionModulus)
                    .to_owned(),
            )
            .await
    }
}
