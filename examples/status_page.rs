//! Writes the status page of a small installation: five tables of every kind with rows, one of them with a
//! gap, a partition made by hand and rows stuck in DEFAULT, so the page has something to show.
//!
//! ```text
//! scripts/with-postgres cargo run --example status_page -- status.html
//! ```
//!
//! `scripts/status-page-screenshot` runs it and photographs the page in headless Chromium for the README.
//! Works in a schema of its own, `example_status_page`, which it drops and recreates at start. The clock is
//! fixed at 2026-11-20 12:00 UTC, so the page looks the same every time.

use chrono::{TimeZone, Utc};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::status_page::StatusPage;

type AnyError = Box<dyn std::error::Error>;

async fn schema(db: &DatabaseConnection) -> Result<(), AnyError> {
    db.execute_unprepared(
        "CREATE TABLE event (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, kind text NOT NULL, body text) \
             PARTITION BY RANGE (at); CREATE INDEX ON event (kind); \
         CREATE TABLE metric (device int NOT NULL, at timestamptz NOT NULL, value float8) PARTITION BY RANGE (at); \
         CREATE TABLE order_line (id bigint NOT NULL, sku text, qty int) PARTITION BY RANGE (id); \
         CREATE TABLE account (id bigint NOT NULL, name text) PARTITION BY HASH (id); \
         CREATE TABLE tenant_data (region text, payload text) PARTITION BY LIST (region)",
    )
    .await?;
    Ok(())
}

async fn register(service: &PartitionService) -> Result<(), AnyError> {
    let event = service
        .time_range_table("event")
        .period(Period::Month)
        .interval(9)
        .time_zone(chrono_tz::Europe::Berlin)
        .default_partition(true)
        .register()
        .await?;
    event.update_maintenance(|m| m.premake = 2).await?;
    let metric = service
        .time_range_table("metric")
        .period(Period::Day)
        .interval(21)
        .register()
        .await?;
    metric.update_maintenance(|m| m.premake = 7).await?;
    service
        .id_range_table("order_line")
        .step(250_000)
        .premake(2)
        .register()
        .await?;
    service.hash_table("account").modulus(8).register().await?;
    let tenants = service
        .list_table("tenant_data")
        .default_partition(true)
        .register()
        .await?;
    tenants
        .create_partition("tenant_data_eu", ["de", "fr", "nl"], None)
        .await?;
    tenants
        .create_partition("tenant_data_us", ["us"], None)
        .await?;
    tenants
        .create_partition("tenant_data_apac", ["jp", "sg", "au"], None)
        .await?;
    Ok(())
}

/// Rows, then a year of partitions made by maintenance, then drift by hand.
async fn history(
    db: &DatabaseConnection,
    service: &PartitionService,
    clock: &ManualClock,
) -> Result<(), AnyError> {
    for month in 1..=11 {
        clock.set(
            Utc.with_ymd_and_hms(2026, month, 1, 12, 0, 0)
                .single()
                .ok_or("instant")?,
        );
        service.run_maintenance().await?;
    }
    clock.set(
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
            .single()
            .ok_or("instant")?,
    );
    service.run_maintenance().await?;
    db.execute_unprepared(
        "INSERT INTO event (at, kind, body) \
             SELECT t, 'click', repeat('x', 40) FROM generate_series('2026-03-01'::timestamptz, '2026-11-20', '1 minute') t \
             WHERE (extract(epoch from t)::bigint / 60) % 12 < extract(month from t) - 2; \
         INSERT INTO metric SELECT d, t, d * 0.5 FROM generate_series('2026-10-30'::timestamptz, '2026-11-20 12:00', '2 minutes') t, generate_series(1, 3) d; \
         INSERT INTO order_line SELECT g, 'sku-' || g % 97, 1 + g % 5 FROM generate_series(1, 600000) g; \
         INSERT INTO account SELECT g, 'user ' || g FROM generate_series(1, 20000) g; \
         INSERT INTO tenant_data SELECT (ARRAY['de','fr','us','jp','br'])[1 + g % 5], 'p' FROM generate_series(1, 5000) g; \
         DROP TABLE \"event_2026-06-01_2026-07-01\"; \
         CREATE TABLE event_patch PARTITION OF event FOR VALUES FROM ('2026-06-01 00:00+02') TO ('2026-06-15 00:00+02'); \
         INSERT INTO event (at, kind) VALUES ('2026-06-20 08:00+02', 'late'), ('2027-06-01 00:00+02', 'future'); \
         ANALYZE",
    )
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "status.html".to_owned());
    let url = std::env::var("DATABASE_URL").map_err(
        |_| "DATABASE_URL is not set: run `scripts/with-postgres cargo run --example status_page`",
    )?;
    let setup = Database::connect(url.as_str()).await?;
    setup
        .execute_unprepared(
            "DROP SCHEMA IF EXISTS example_status_page CASCADE; CREATE SCHEMA example_status_page",
        )
        .await?;
    setup.close().await?;
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .set_schema_search_path("example_status_page");
    let db = Database::connect(options).await?;
    sea_orm_pg_partitioning_migration::Migrator::up(&db, None).await?;
    schema(&db).await?;

    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
            .single()
            .ok_or("instant")?,
    );
    let service = PartitionService::new(db.clone()).with_clock(clock.clone());
    register(&service).await?;
    history(&db, &service, &clock).await?;

    let status = service.status().await?;
    let page = StatusPage::new()
        .title("Partition status: example_status_page")
        .render(&status);
    std::fs::write(&out, page)?;
    println!(
        "wrote {out}: {} tables, {} anomalies",
        status.tables.len(),
        status.anomalies().count()
    );
    db.close().await?;
    Ok(())
}
