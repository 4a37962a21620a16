//! The properties every partition of a table carries (owner, grants, storage options, replica identity,
//! per-partition unique indexes), as JSON; and the retirement group a table belongs to.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_sopp_partition_properties"
    }
}

#[derive(DeriveIden)]
enum SoppPartitionConfig {
    Table,
    Properties,
    RetireGroup,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionConfig::Table)
                    .add_column(ColumnDef::new(SoppPartitionConfig::Properties).json_binary())
                    .add_column(ColumnDef::new(SoppPartitionConfig::RetireGroup).text())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionConfig::Table)
                    .drop_column(SoppPartitionConfig::Properties)
                    .drop_column(SoppPartitionConfig::RetireGroup)
                    .to_owned(),
            )
            .await
    }
}
