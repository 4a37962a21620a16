//! Online conversion of a plain table into a partitioned one (`PartitionService::convert`): the state of each
//! conversion, the changes the application makes to the table while it is copied, the trigger function
//! that records them, and the log's mark of a legacy partition (the old rows kept as one partition).
//!
//! The function runs as its owner (`SECURITY DEFINER`, with the search path of this migration), so the
//! application's role needs no privilege on the crate's tables to keep writing to a table being converted.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000003_sopp_conversion"
    }
}

#[derive(DeriveIden)]
enum SoppConversion {
    Table,
    Id,
    SchemaName,
    TableName,
    ShadowName,
    RetiredName,
    Phase,
    Settings,
    TotalBlocks,
    CopiedBlocks,
    RowsCopied,
    ChangesApplied,
    SwapLockMs,
    KeepRetired,
    LastError,
    StartedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum SoppPartitionLog {
    Table,
    Legacy,
}

#[derive(DeriveIden)]
enum SoppConversionChange {
    Table,
    Seq,
    ConversionId,
    Ident,
}

/// Records the identity of every row the application inserts, updates or deletes: the trigger's first
/// argument is the conversion's id, the others the names of the identity columns.
const CAPTURE: &str = r#"
CREATE OR REPLACE FUNCTION sopp_conversion_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $sopp$
DECLARE
    id_old jsonb := '{}';
    id_new jsonb := '{}';
    r jsonb;
    i int;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        r := to_jsonb(OLD);
        FOR i IN 1 .. TG_NARGS - 1 LOOP
            id_old := id_old || jsonb_build_object(TG_ARGV[i], r -> TG_ARGV[i]);
        END LOOP;
        INSERT INTO sopp_conversion_change (conversion_id, ident) VALUES (TG_ARGV[0]::int, id_old);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        r := to_jsonb(NEW);
        FOR i IN 1 .. TG_NARGS - 1 LOOP
            id_new := id_new || jsonb_build_object(TG_ARGV[i], r -> TG_ARGV[i]);
        END LOOP;
        IF TG_OP = 'INSERT' OR id_new IS DISTINCT FROM id_old THEN
            INSERT INTO sopp_conversion_change (conversion_id, ident) VALUES (TG_ARGV[0]::int, id_new);
        END IF;
    END IF;
    RETURN NULL;
END
$sopp$"#;

/// `TRUNCATE` is not a row change the capture sees: refused while a conversion copies the table.
const REFUSE_TRUNCATE: &str = r#"
CREATE OR REPLACE FUNCTION sopp_conversion_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $sopp$
BEGIN
    RAISE EXCEPTION 'table %.% is being converted into a partitioned table: TRUNCATE is refused until the conversion ends (or is rolled back)', TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'object_in_use';
END
$sopp$"#;

/// `sopp_conversion_change`: the recorded identities, by conversion and in order. No foreign key to the state
/// row: every captured write would lock that one row (`FOR KEY SHARE`), so the application's writers would
/// queue on each other and on the conversion's batches.
async fn create_change_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(SoppConversionChange::Table)
                .col(
                    ColumnDef::new(SoppConversionChange::Seq)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(SoppConversionChange::ConversionId)
                        .integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(SoppConversionChange::Ident)
                        .json_binary()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("sopp_conversion_change_by_conversion")
                .table(SoppConversionChange::Table)
                .col(SoppConversionChange::ConversionId)
                .col(SoppConversionChange::Seq)
                .to_owned(),
        )
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let text = |c| ColumnDef::new(c).text().not_null().to_owned();
        let big = |c| {
            ColumnDef::new(c)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        let at = |c| ColumnDef::new(c).timestamp_with_time_zone().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(SoppConversion::Table)
                    .col(
                        ColumnDef::new(SoppConversion::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text(SoppConversion::SchemaName))
                    .col(text(SoppConversion::TableName))
                    .col(text(SoppConversion::ShadowName))
                    .col(text(SoppConversion::RetiredName))
                    .col(text(SoppConversion::Phase))
                    .col(
                        ColumnDef::new(SoppConversion::Settings)
                            .json_binary()
                            .not_null(),
                    )
                    .col(big(SoppConversion::TotalBlocks))
                    .col(big(SoppConversion::CopiedBlocks))
                    .col(big(SoppConversion::RowsCopied))
                    .col(big(SoppConversion::ChangesApplied))
                    .col(ColumnDef::new(SoppConversion::SwapLockMs).big_integer())
                    .col(
                        ColumnDef::new(SoppConversion::KeepRetired)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(SoppConversion::LastError).text())
                    .col(at(SoppConversion::StartedAt).not_null())
                    .col(at(SoppConversion::UpdatedAt).not_null())
                    .col(at(SoppConversion::FinishedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sopp_conversion_table_key")
                    .table(SoppConversion::Table)
                    .col(SoppConversion::SchemaName)
                    .col(SoppConversion::TableName)
                    .unique()
                    .to_owned(),
            )
            .await?;
        create_change_table(manager).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionLog::Table)
                    .add_column(
                        ColumnDef::new(SoppPartitionLog::Legacy)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(CAPTURE).await?;
        db.execute_unprepared(REFUSE_TRUNCATE).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP FUNCTION IF EXISTS sopp_conversion_capture() CASCADE")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS sopp_conversion_refuse_truncate() CASCADE")
            .await?;
        manager
            .drop_table(Table::drop().table(SoppConversionChange::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SoppPartitionLog::Table)
                    .drop_column(SoppPartitionLog::Legacy)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(SoppConversion::Table).to_owned())
            .await
    }
}
