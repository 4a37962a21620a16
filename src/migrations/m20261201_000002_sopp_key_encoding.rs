//! How a time-range table's key encodes time (NULL: as its column type says), for keys such as epoch
//! integers, UUIDv7, ULIDs and snowflake IDs.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000002_sopp_key_encoding"
    }
}

#[derive(DeriveIden)]
enum SoppPartitionConfig {
    Table,
    KeyEncoding,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionConfig::Table)
                    .add_column(ColumnDef::new(SoppPartitionConfig::KeyEncoding).text())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionConfig::Table)
                    .drop_column(SoppPartitionConfig::KeyEncoding)
                    .to_owned(),
            )
            .await
    }
}
