//! Quickstart: a partitioned table from a SeaORM entity, monthly partitions, rows routed, a partition detached.
//!
//! ```text
//! scripts/with-postgres cargo run --example quickstart
//! ```
//!
//! Uses the database at `DATABASE_URL` (the script starts a throwaway PostgreSQL when it is not set) and
//! works in a schema of its own, `quickstart`, which it drops and recreates on every run.

use chrono::{Datelike, TimeZone, Utc};
use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DbBackend, EntityName,
    EntityTrait, Schema, Set, Statement,
};
use sea_orm_pg_partitioning::prelude::*;

mod event {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(schema_name = "quickstart", table_name = "event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub created_at: DateTimeUtc,
        pub kind: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(
        |_| "DATABASE_URL is not set: run `scripts/with-postgres cargo run --example quickstart`",
    )?;
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    let db = Database::connect(options).await?;
    db.execute_unprepared("DROP SCHEMA IF EXISTS quickstart CASCADE; CREATE SCHEMA quickstart")
        .await?;

    // 1. The parent table, from the entity. Its primary key (id) lacks the partition key, so we widen it.
    let parent = Schema::new(DbBackend::Postgres)
        .create_table_from_entity(event::Entity)
        .partitioned_by(PartitionKey::range([event::Column::CreatedAt]))
        .primary_key_policy(PrimaryKeyPolicy::IncludeKey)
        .build(PostgresQueryBuilder)?;
    println!("{parent};");
    db.execute_unprepared(&parent).await?;

    // 2. Three monthly partitions, and a DEFAULT one for anything else. `table_ref()` keeps the entity's
    //    schema (an entity passed as a table name is unqualified).
    let month = |y: i32, m: u32| Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single();
    for m in 1..=3 {
        let (Some(from), Some(to)) = (month(2025, m), month(2025, m + 1)) else {
            return Err("invalid month".into());
        };
        let partition = Partition::create()
            .if_not_exists()
            .table(("quickstart".to_owned(), format!("event_2025_{m:02}")))
            .partition_of(event::Entity.table_ref())
            .values_from_to([from], [to])
            .build(PostgresQueryBuilder)?;
        println!("{partition};");
        db.execute_unprepared(&partition).await?;
    }
    let default = Partition::create()
        .table(("quickstart", "event_default"))
        .partition_of(event::Entity.table_ref())
        .default_partition()
        .build(PostgresQueryBuilder)?;
    println!("{default};");
    db.execute_unprepared(&default).await?;

    // 3. Rows go through the entity as usual; PostgreSQL routes each to its partition.
    for (m, d) in [(1, 15), (2, 28), (3, 31), (7, 4)] {
        let Some(at) = Utc.with_ymd_and_hms(2025, m, d, 12, 0, 0).single() else {
            return Err("invalid date".into());
        };
        event::ActiveModel {
            created_at: Set(at),
            kind: Set(format!("signup on {}", at.date_naive())),
            ..Default::default()
        }
        .insert(&db)
        .await?;
    }
    let routed = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT e.tableoid::regclass::text AS partition, e.created_at FROM quickstart.event e ORDER BY 2",
        ))
        .await?;
    for row in routed {
        let partition: String = row.try_get("", "partition")?;
        let at: chrono::DateTime<Utc> = row.try_get("", "created_at")?;
        println!(
            "-- row of {}-{:02}-{:02} is in {partition}",
            at.year(),
            at.month(),
            at.day()
        );
    }

    // 4. Detach January: it leaves the table, keeping its rows as a table of its own.
    let detach = Partition::detach()
        .table(event::Entity.table_ref())
        .partition(("quickstart", "event_2025_01"))
        .build(PostgresQueryBuilder)?;
    println!("{detach};");
    db.execute_unprepared(&detach).await?;
    let left = event::Entity::find().all(&db).await?.len();
    println!("-- {left} rows remain visible through the entity; event_2025_01 keeps its row");

    db.execute_unprepared("DROP SCHEMA quickstart CASCADE")
        .await?;
    Ok(())
}
