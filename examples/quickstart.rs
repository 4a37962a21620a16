//! Quickstart: a partitioned table from a SeaORM entity, managed by `PartitionService`.
//!
//! ```text
//! scripts/with-postgres cargo run --example quickstart
//! ```
//!
//! Uses the database at `DATABASE_URL` (the script starts a throwaway PostgreSQL when it is not set) and works
//! in a schema of its own, `quickstart`, which it drops and recreates on every run. To show retention without
//! waiting for months, the service reads the time from a `ManualClock` that the example moves forward.

use chrono::{Duration, TimeZone, Utc};
use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DbBackend, EntityTrait, Schema,
    Set,
};
use sea_orm_migration::MigratorTrait;
use sea_orm_pg_partitioning::prelude::*;

mod event {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub created_at: DateTimeUtc,
        pub kind: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

fn show(partitions: &[partition_log::Model]) {
    for p in partitions {
        let state = if p.is_attached {
            "attached"
        } else {
            "detached"
        };
        let (Some(start), Some(end)) = (p.start, p.end) else {
            continue;
        };
        println!(
            "   {:<34} [{} .. {})  {state}",
            p.partition_name, start, end
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(
        |_| "DATABASE_URL is not set: run `scripts/with-postgres cargo run --example quickstart`",
    )?;
    let setup = Database::connect(url.as_str()).await?;
    setup
        .execute_unprepared("DROP SCHEMA IF EXISTS quickstart CASCADE; CREATE SCHEMA quickstart")
        .await?;
    setup.close().await?;
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .set_schema_search_path("quickstart");
    let db = Database::connect(options).await?;

    // 1. The crate's own tables (in an application: add its Migrator's migrations to yours).
    sea_orm_pg_partitioning_migration::Migrator::up(&db, None).await?;

    // 2. The partitioned table, from the entity. Its primary key (id) lacks the partition key: widen it.
    let parent = Schema::new(DbBackend::Postgres)
        .create_table_from_entity(event::Entity)
        .partitioned_by(PartitionKey::range([event::Column::CreatedAt]))
        .primary_key_policy(PrimaryKeyPolicy::IncludeKey)
        .build(PostgresQueryBuilder)?;
    println!("{parent};");
    db.execute_unprepared(&parent).await?;

    // 3. Register it: monthly partitions in Berlin time, detached 2 months after they end.
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2025, 1, 20, 9, 0, 0)
            .single()
            .ok_or("date")?,
    );
    let service = PartitionService::new(db.clone()).with_clock(clock.clone());
    let events = service
        .time_range(event::Entity)
        .period(Period::Month)
        .interval(2)
        .time_zone(chrono_tz::Europe::Berlin)
        .register()
        .await?;
    // Keep partitions ready 40 days ahead: February and March are created now.
    events.create_partition(40).await?;
    println!("-- registered on {}:", service.now());
    show(&events.partitions().await?);

    // 4. Rows go through the entity; PostgreSQL routes each to its partition.
    for day in [1, 20, 31] {
        let at = Utc
            .with_ymd_and_hms(2025, 1, day, 12, 0, 0)
            .single()
            .ok_or("date")?;
        event::ActiveModel {
            created_at: Set(at),
            kind: Set(format!("signup on {}", at.date_naive())),
            ..Default::default()
        }
        .insert(&db)
        .await?;
    }

    // 5. Five months later (a daily job would have run create_partition all along; this call catches up).
    clock.advance(Duration::days(150));
    let created = events.create_partition(40).await?;
    let detached = events.detach_partitions(None).await?;
    println!(
        "-- on {}: created {} partitions, detached {} by the retention rule:",
        service.now(),
        created.len(),
        detached.len()
    );
    show(&events.partitions().await?);
    let visible = event::Entity::find().all(&db).await?.len();
    println!(
        "-- rows visible through the entity: {visible} (January's rows stay in their detached table)"
    );

    // 6. Bring January back until the end of the year, e.g. for an audit.
    let january: Vec<_> = detached.into_iter().take(1).collect();
    let until = Utc
        .with_ymd_and_hms(2025, 12, 31, 0, 0, 0)
        .single()
        .ok_or("date")?;
    events
        .attach_partitions(Some(&january), Some(until))
        .await?;
    let visible = event::Entity::find().all(&db).await?.len();
    println!("-- January attached again until {until}: {visible} rows visible");

    db.execute_unprepared("DROP SCHEMA quickstart CASCADE")
        .await?;
    Ok(())
}
