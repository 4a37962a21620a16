//! Creates `sopp_partition_config` and `sopp_partition_log`. Written out column by column (not derived from the
//! entities) so that this migration keeps meaning the same thing when the entities change later.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_sopp_create_partition_tables"
    }
}

#[derive(DeriveIden)]
enum SoppPartitionConfig {
    Table,
    Id,
    SchemaName,
    TableName,
    KeyColumn,
    Strategy,
    Period,
    Interval,
    AttachTablespace,
    DetachTablespace,
    TimeZone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SoppPartitionLog {
    Table,
    Id,
    ConfigId,
    SchemaName,
    PartitionName,
    Start,
    End,
    IsAttached,
    DetachTime,
    Tablespace,
    CreatedAt,
    DetachedAt,
}

/// `sopp_partition_config`: one row per managed table.
fn config_table() -> TableCreateStatement {
    use SoppPartitionConfig as C;
    Table::create()
        .table(C::Table)
        .col(
            ColumnDef::new(C::Id)
                .integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(ColumnDef::new(C::SchemaName).text().not_null())
        .col(ColumnDef::new(C::TableName).text().not_null())
        .col(ColumnDef::new(C::KeyColumn).text().not_null())
        .col(ColumnDef::new(C::Strategy).string_len(8).not_null())
        .col(ColumnDef::new(C::Period).string_len(16))
        .col(
            ColumnDef::new(C::Interval)
                .integer()
                .check(Expr::col(C::Interval).gt(0)),
        )
        .col(ColumnDef::new(C::AttachTablespace).text())
        .col(ColumnDef::new(C::DetachTablespace).text())
        .col(ColumnDef::new(C::TimeZone).text().not_null())
        .col(
            ColumnDef::new(C::CreatedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(C::UpdatedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .index(
            Index::create()
                .name("sopp_partition_config_table_key")
                .unique()
                .col(C::SchemaName)
                .col(C::TableName),
        )
        .to_owned()
}

/// `sopp_partition_log`: one row per partition.
fn log_table() -> TableCreateStatement {
    use SoppPartitionConfig as C;
    use SoppPartitionLog as L;
    Table::create()
        .table(L::Table)
        .col(
            ColumnDef::new(L::Id)
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(ColumnDef::new(L::ConfigId).integer().not_null())
        .col(ColumnDef::new(L::SchemaName).text().not_null())
        .col(ColumnDef::new(L::PartitionName).text().not_null())
        .col(
            ColumnDef::new(L::Start)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(ColumnDef::new(L::End).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(L::IsAttached).boolean().not_null())
        .col(ColumnDef::new(L::DetachTime).timestamp_with_time_zone())
        .col(ColumnDef::new(L::Tablespace).text())
        .col(
            ColumnDef::new(L::CreatedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(ColumnDef::new(L::DetachedAt).timestamp_with_time_zone())
        .index(
            Index::create()
                .name("sopp_partition_log_partition_key")
                .unique()
                .col(L::SchemaName)
                .col(L::PartitionName),
        )
        .foreign_key(
            ForeignKey::create()
                .name("sopp_partition_log_config_fkey")
                .from(L::Table, L::ConfigId)
                .to(C::Table, C::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .check(Expr::col(L::Start).lt(Expr::col(L::End)))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use SoppPartitionLog as L;
        manager.create_table(config_table()).await?;
        manager.create_table(log_table()).await?;
        // The service reads the latest partition (by end) and the attached ones of a table.
        manager
            .create_index(
                Index::create()
                    .name("sopp_partition_log_config_end_idx")
                    .table(L::Table)
                    .col(L::ConfigId)
                    .col(L::End)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sopp_partition_log_config_attached_idx")
                    .table(L::Table)
                    .col(L::ConfigId)
                    .col(L::IsAttached)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SoppPartitionLog::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SoppPartitionConfig::Table).to_owned())
            .await
    }
}
