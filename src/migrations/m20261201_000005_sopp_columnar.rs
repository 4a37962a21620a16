//! Columnar archiving: when a partition was converted to the `columnar` access method, and its size before
//! and after.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_sopp_columnar"
    }
}

#[derive(DeriveIden)]
enum SoppPartitionLog {
    Table,
    ColumnarAt,
    SizeBefore,
    SizeAfter,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionLog::Table)
                    .add_column(
                        ColumnDef::new(SoppPartitionLog::ColumnarAt).timestamp_with_time_zone(),
                    )
                    .add_column(ColumnDef::new(SoppPartitionLog::SizeBefore).big_integer())
                    .add_column(ColumnDef::new(SoppPartitionLog::SizeAfter).big_integer())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionLog::Table)
                    .drop_column(SoppPartitionLog::ColumnarAt)
                    .drop_column(SoppPartitionLog::SizeBefore)
                    .drop_column(SoppPartitionLog::SizeAfter)
                    .to_owned(),
            )
            .await
    }
}
