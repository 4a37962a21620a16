//! The `SchemaManager` extension inside real sea-orm-migration migrations: up, down, and a refused definition.

use sea_orm::TransactionTrait;
use sea_orm_migration::prelude::*;
use sea_orm_pg_partitioning::prelude::*;

use crate::support::{TS_A, TestDb, catalog};
use crate::test_name;

struct CreateEvent;

impl MigrationName for CreateEvent {
    fn name(&self) -> &str {
        "m20240101_000001_create_event"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateEvent {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let event = Table::create()
            .table("event")
            .col(
                ColumnDef::new("id")
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new("tenant").integer().not_null())
            .col(
                ColumnDef::new("created_at")
                    .timestamp_with_time_zone()
                    .not_null(),
            )
            .partitioned_by(PartitionKey::list(["tenant"]))
            .primary_key_policy(PrimaryKeyPolicy::IncludeKey)
            .to_owned();
        manager.create_partitioned_table(event).await?;
        manager
            .create_partition(
                Partition::create()
                    .table("event_t1")
                    .partition_of("event")
                    .values_in([1])
                    .tablespace(TS_A)
                    .to_owned(),
            )
            .await?;
        manager
            .create_partition(
                Partition::create()
                    .table("event_rest")
                    .partition_of("event")
                    .default_partition()
                    .to_owned(),
            )
            .await?;
        manager
            .detach_partition(
                Partition::detach()
                    .table("event")
                    .partition("event_rest")
                    .to_owned(),
            )
            .await?;
        manager
            .set_tablespace(
                Partition::set_tablespace()
                    .table("event_rest")
                    .tablespace(TS_A)
                    .to_owned(),
            )
            .await?;
        manager
            .attach_partition(
                Partition::attach()
                    .table("event")
                    .partition("event_rest")
                    .default_partition()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("event").to_owned())
            .await
    }
}

struct IllegalUnique;

impl MigrationName for IllegalUnique {
    fn name(&self) -> &str {
        "m20240101_000002_illegal_unique"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for IllegalUnique {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let account = Table::create()
            .table("account")
            .col(ColumnDef::new("email").text().not_null().unique_key())
            .col(ColumnDef::new("region").text().not_null())
            .partitioned_by(PartitionKey::list(["region"]))
            .to_owned();
        manager.create_partitioned_table(account).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

struct Good;

#[async_trait::async_trait]
impl MigratorTrait for Good {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateEvent)]
    }
}

struct Bad;

#[async_trait::async_trait]
impl MigratorTrait for Bad {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(IllegalUnique)]
    }
}

#[tokio::test]
async fn migration_up_and_down() {
    let t = TestDb::new(test_name!("migration_up_and_down")).await;
    let db = &t.conn;
    Good::up(db, None).await.expect("up");
    assert_eq!(
        catalog::partition_key(db, "public", "event")
            .await
            .as_deref(),
        Some("LIST (tenant)")
    );
    assert_eq!(
        catalog::partitions(db, "public", "event").await,
        [
            ("event_rest".to_owned(), "DEFAULT".to_owned()),
            ("event_t1".to_owned(), "FOR VALUES IN (1)".to_owned()),
        ]
    );
    assert_eq!(
        catalog::tablespace(db, "public", "event_t1")
            .await
            .as_deref(),
        Some(TS_A)
    );
    assert_eq!(
        catalog::tablespace(db, "public", "event_rest")
            .await
            .as_deref(),
        Some(TS_A)
    );
    Good::down(db, None).await.expect("down");
    assert!(!catalog::exists(db, "public", "event").await);
    assert!(!catalog::exists(db, "public", "event_t1").await);
    Good::up(db, None).await.expect("up again");
    assert_eq!(catalog::partitions(db, "public", "event").await.len(), 2);
    t.finish().await;
}

#[tokio::test]
async fn an_illegal_definition_fails_the_migration_before_any_sql() {
    let t = TestDb::new(test_name!(
        "an_illegal_definition_fails_the_migration_before_any_sql"
    ))
    .await;
    let db = &t.conn;
    let err = Bad::up(db, None).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(r#"unique constraint UNIQUE ("email")"#)
            && message.contains(r#"add "region""#),
        "{message}"
    );
    assert!(!catalog::exists(db, "public", "account").await);
    t.finish().await;
}

struct DetachConcurrently {
    in_transaction: bool,
}

impl MigrationName for DetachConcurrently {
    fn name(&self) -> &str {
        "m20240101_000003_detach_concurrently"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DetachConcurrently {
    fn use_transaction(&self) -> Option<bool> {
        Some(self.in_transaction)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .detach_partition(
                Partition::detach()
                    .table("event")
                    .partition("event_t1")
                    .concurrently()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

#[tokio::test]
async fn refused_concurrent_detaches_say_why_and_what_to_do() {
    let t = TestDb::new(test_name!(
        "refused_concurrent_detaches_say_why_and_what_to_do"
    ))
    .await;
    let db = &t.conn;
    Good::up(db, None).await.expect("up");
    let manager = SchemaManager::new(db);
    let detach = Partition::detach()
        .table("event")
        .partition("event_t1")
        .concurrently()
        .to_owned();
    // The table has a DEFAULT partition.
    let err = manager.detach_partition(detach.clone()).await.unwrap_err();
    assert!(
        matches!(err, Error::ConcurrentDetachWithDefault { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("detach it without CONCURRENTLY"),
        "{err}"
    );
    // Inside a migration's transaction.
    crate::support::exec(db, "ALTER TABLE event DETACH PARTITION event_rest").await;
    let err = DetachConcurrently {
        in_transaction: true,
    }
    .up(&SchemaManager::new(db.begin().await.expect("begin")))
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("return Some(false) from use_transaction"),
        "{err}"
    );
    // Outside one, it works.
    DetachConcurrently {
        in_transaction: false,
    }
    .up(&manager)
    .await
    .expect("detach concurrently");
    assert_eq!(catalog::partitions(db, "public", "event").await.len(), 0);
    t.finish().await;
}

/// An application's migration of its own, by name.
struct AppMigration {
    name: &'static str,
    up: &'static str,
    down: &'static str,
}

impl MigrationName for AppMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AppMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.up).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.down)
            .await?;
        Ok(())
    }
}

fn create_app() -> Box<dyn MigrationTrait> {
    Box::new(AppMigration {
        name: "m20250101_000001_create_app",
        up: "CREATE TABLE app (id bigint)",
        down: "DROP TABLE app",
    })
}

fn add_note() -> Box<dyn MigrationTrait> {
    Box::new(AppMigration {
        name: "m20270101_000001_add_note",
        up: "ALTER TABLE app ADD COLUMN note text",
        down: "ALTER TABLE app DROP COLUMN note",
    })
}

/// The application before it used the crate.
struct Before;

#[async_trait::async_trait]
impl MigratorTrait for Before {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![create_app()]
    }
}

/// The application with the crate, as the README writes it.
struct Mixed;

#[async_trait::async_trait]
impl MigratorTrait for Mixed {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        sea_orm_pg_partitioning_migration::merge(vec![create_app(), add_note()])
    }
}

async fn has_column(db: &sea_orm::DatabaseConnection, table: &str, column: &str) -> bool {
    !crate::support::strings(
        db,
        "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
        vec![table.into(), column.into()],
    )
    .await
    .is_empty()
}

#[tokio::test]
async fn a_mixed_migrator_rolls_back_what_was_applied_last_and_survives_fresh_and_refresh() {
    let t = TestDb::new(test_name!(
        "a_mixed_migrator_rolls_back_what_was_applied_last_and_survives_fresh_and_refresh"
    ))
    .await;
    let db = &t.conn;
    // The application's first migration ran long before the crate came (its date is older than ours).
    Before::up(db, None).await.expect("before");
    Mixed::up(db, None).await.expect("up");
    assert!(has_column(db, "app", "note").await);
    assert!(catalog::exists(db, "public", "sopp_partition_config").await);
    assert!(has_column(db, "sopp_partition_config", "key_encoding").await);

    // down goes back in the order things were applied: the application's newest, then the crate's newest.
    Mixed::down(db, Some(1)).await.expect("down 1");
    assert!(!has_column(db, "app", "note").await);
    assert!(catalog::exists(db, "public", "sopp_conversion").await);
    assert!(has_column(db, "sopp_partition_log", "columnar_at").await);
    let attached_index = || {
        crate::support::strings(
            db,
            "SELECT indexname::text FROM pg_indexes WHERE indexname = 'sopp_partition_log_config_attached_idx'",
            vec![],
        )
    };
    let fillfactor = || {
        crate::support::strings(
            db,
            "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE relname = 'sopp_partition_log'",
            vec![],
        )
    };
    assert!(attached_index().await.is_empty());
    assert_eq!(fillfactor().await, ["fillfactor=90"]);
    Mixed::down(db, Some(1))
        .await
        .expect("down heap-only updates");
    assert_eq!(attached_index().await.len(), 1);
    assert_eq!(fillfactor().await, [""]);
    assert!(has_column(db, "sopp_partition_log", "columnar_at").await);
    Mixed::down(db, Some(1)).await.expect("down columnar");
    assert!(!has_column(db, "sopp_partition_log", "columnar_at").await);
    assert!(has_column(db, "sopp_partition_config", "properties").await);
    Mixed::down(db, Some(1)).await.expect("down 2");
    assert!(!has_column(db, "sopp_partition_config", "properties").await);
    assert!(catalog::exists(db, "public", "sopp_conversion").await);
    Mixed::down(db, Some(1)).await.expect("down 2b");
    assert!(!catalog::exists(db, "public", "sopp_conversion").await);
    assert!(has_column(db, "sopp_partition_config", "key_encoding").await);
    Mixed::down(db, Some(1)).await.expect("down 3");
    assert!(!has_column(db, "sopp_partition_config", "key_encoding").await);
    assert!(
        catalog::exists(db, "public", "app").await,
        "the application's table stays"
    );

    Mixed::up(db, None).await.expect("up again");
    Mixed::refresh(db).await.expect("refresh");
    assert!(has_column(db, "app", "note").await);
    assert!(has_column(db, "sopp_partition_config", "key_encoding").await);
    Mixed::fresh(db).await.expect("fresh");
    assert!(has_column(db, "app", "note").await);
    assert!(catalog::exists(db, "public", "sopp_partition_log").await);
    // What the crate's own functions see agrees.
    let status = sea_orm_pg_partitioning::migrations::status(db)
        .await
        .expect("status");
    assert!(status.iter().all(|(_, applied)| *applied), "{status:?}");
    t.finish().await;
}
