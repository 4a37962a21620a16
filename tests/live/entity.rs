//! A partitioned table created from a SeaORM entity, under both primary-key policies, used through the entity.

use chrono::{TimeZone, Utc};
use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, QueryFilter, Schema, Set};
use sea_orm_pg_partitioning::prelude::*;

use crate::support::{TestDb, catalog, exec, strings};
use crate::test_name;

pub mod event {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub created_at: DateTimeUtc,
        pub payload: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

async fn entity_round_trip(path: &str, policy: PrimaryKeyPolicy, expected_pk: &[&str]) {
    let t = TestDb::new(path).await;
    let db = &t.conn;
    let sql = Schema::new(DbBackend::Postgres)
        .create_table_from_entity(event::Entity)
        .partitioned_by(PartitionKey::range([event::Column::CreatedAt]))
        .primary_key_policy(policy)
        .build(PostgresQueryBuilder)
        .expect("builds");
    exec(db, &sql).await;
    let month = |m| {
        Utc.with_ymd_and_hms(2024, m, 1, 0, 0, 0)
            .single()
            .expect("instant")
    };
    for m in [1, 2] {
        let sql = Partition::create()
            .table(format!("event_2024_{m:02}"))
            .partition_of(event::Entity)
            .values_from_to([month(m)], [month(m + 1)])
            .build(PostgresQueryBuilder)
            .expect("builds");
        exec(db, &sql).await;
    }
    let pk = strings(
        db,
        "SELECT a.attname::text FROM pg_constraint c JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, n) ON true \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
         WHERE c.conrelid = 'public.event'::regclass AND c.contype = 'p' ORDER BY k.n",
        vec![],
    )
    .await;
    assert_eq!(pk, expected_pk);

    let jan = event::ActiveModel {
        created_at: Set(Utc
            .with_ymd_and_hms(2024, 1, 31, 23, 59, 59)
            .single()
            .expect("instant")),
        payload: Set("january".to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert through the entity");
    let feb = event::ActiveModel {
        created_at: Set(month(2)),
        payload: Set("february".to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert through the entity");
    assert_ne!(
        jan.id, feb.id,
        "the identity column numbers rows across partitions"
    );
    assert_eq!(catalog::count(db, "event_2024_01").await, 1);
    assert_eq!(catalog::count(db, "event_2024_02").await, 1);

    let found = event::Entity::find_by_id(jan.id)
        .one(db)
        .await
        .expect("find");
    assert_eq!(found.as_ref(), Some(&jan));
    let in_feb = event::Entity::find()
        .filter(event::Column::CreatedAt.gte(month(2)))
        .all(db)
        .await
        .expect("find");
    assert_eq!(in_feb, std::slice::from_ref(&feb));

    let mut renamed: event::ActiveModel = feb.clone().into();
    renamed.payload = Set("renamed".to_owned());
    let renamed = renamed.update(db).await.expect("update through the entity");
    assert_eq!(renamed.payload, "renamed");

    let deleted = event::Entity::delete_by_id(jan.id)
        .exec(db)
        .await
        .expect("delete");
    assert_eq!(deleted.rows_affected, 1);
    assert_eq!(
        event::Entity::find_by_id(jan.id)
            .one(db)
            .await
            .expect("find"),
        None
    );
    assert_eq!(catalog::count(db, "event_2024_01").await, 0);
    t.finish().await;
}

#[tokio::test]
async fn entity_with_suppressed_primary_key() {
    entity_round_trip(
        test_name!("entity_with_suppressed_primary_key"),
        PrimaryKeyPolicy::Suppress,
        &[],
    )
    .await;
}

#[tokio::test]
async fn entity_with_primary_key_including_the_partition_key() {
    entity_round_trip(
        test_name!("entity_with_primary_key_including_the_partition_key"),
        PrimaryKeyPolicy::IncludeKey,
        &["id", "created_at"],
    )
    .await;
}

/// Entity-first schemas: SeaORM's `sync` creates plain tables, so a partitioned one is created from the entity
/// first; `sync` then finds it and leaves it partitioned, and registration works.
#[tokio::test]
async fn schema_sync_leaves_a_table_created_partitioned_from_the_entity() {
    let t = TestDb::new(test_name!(
        "schema_sync_leaves_a_table_created_partitioned_from_the_entity"
    ))
    .await;
    let db = &t.conn;
    sea_orm_pg_partitioning::migrations::up(db)
        .await
        .expect("crate migrations");
    // Without the partitioned create, sync makes a plain table and registration says so.
    db.get_schema_builder()
        .register(event::Entity)
        .sync(db)
        .await
        .expect("sync");
    let service = PartitionService::new(db.clone());
    let err = service
        .time_range(event::Entity)
        .period(Period::Month)
        .register()
        .await
        .expect_err("a plain table");
    assert!(matches!(err, Error::NotPartitioned { .. }), "{err}");
    exec(db, "DROP TABLE event").await;
    // Created partitioned from the entity, then synced: still partitioned, and registered.
    let sql = Schema::new(DbBackend::Postgres)
        .create_table_from_entity(event::Entity)
        .partitioned_by(PartitionKey::range([event::Column::CreatedAt]))
        .primary_key_policy(PrimaryKeyPolicy::IncludeKey)
        .build(PostgresQueryBuilder)
        .expect("builds");
    exec(db, &sql).await;
    db.get_schema_builder()
        .register(event::Entity)
        .sync(db)
        .await
        .expect("sync finds the table");
    assert_eq!(
        catalog::partition_key(db, "public", "event")
            .await
            .as_deref(),
        Some("RANGE (created_at)")
    );
    service
        .time_range(event::Entity)
        .period(Period::Month)
        .register()
        .await
        .expect("register");
    t.finish().await;
}
