//! Where each partition's table was created, so that a move by hand is drift even when neither the log nor
//! the configuration names a tablespace.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_sopp_created_tablespace"
    }
}

#[derive(DeriveIden)]
enum SoppPartitionLog {
    Table,
    CreatedTablespace,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionLog::Table)
                    .add_column(ColumnDef::new(SoppPartitionLog::CreatedTablespace).text())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionLog::Table)
                    .drop_column(SoppPartitionLog::CreatedTablespace)
                    .to_owned(),
            )
            .await
    }
}
