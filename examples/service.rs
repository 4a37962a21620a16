//! A service that writes events while partition maintenance runs in the background, serves the partition
//! status page on an admin endpoint, and shuts down cleanly on Ctrl-C.
//!
//! ```text
//! scripts/with-postgres cargo run --example service              # Ctrl-C to stop
//! SERVICE_RUN_FOR=5 scripts/with-postgres cargo run --example service
//! SERVICE_ADMIN_ADDR=127.0.0.1:8080 scripts/with-postgres cargo run --example service
//! ```
//!
//! The admin endpoint (its address is printed at start; by default a free port of 127.0.0.1) serves the status
//! page at `/status`, the background task's health at `/health` (503 once a run failed) and the crate's
//! metrics in Prometheus' text format at `/metrics`. Works in a schema of its own, `example_service`, which it drops and recreates at start.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;
use sea_orm_pg_partitioning::prelude::*;

/// `GET /status`: the status page, or the error as text with status 500.
async fn status_page(
    axum::extract::State(service): axum::extract::State<PartitionService>,
) -> axum::response::Response {
    use axum::response::{Html, IntoResponse};
    match service.status().await {
        Ok(status) => Html(status.to_html()).into_response(),
        Err(err) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the partition status: {err}"),
        )
            .into_response(),
    }
}

/// `GET /health`: the background maintenance task's health as JSON; 503 after a failed run.
async fn health(
    axum::extract::State(health): axum::extract::State<
        sea_orm_pg_partitioning::service::HealthWatch,
    >,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let h = health.get();
    let code = if h.consecutive_failures == 0 {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    // `MaintenanceHealth` is `serde::Serialize` with the crate's `serde` feature: runs, last success, last
    // error, failures in a row, and the last run's report.
    (code, axum::Json(h)).into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(
        |_| "DATABASE_URL is not set: run `scripts/with-postgres cargo run --example service`",
    )?;
    // The crate publishes its metrics through the `metrics` facade: here to Prometheus, at /metrics.
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let setup = Database::connect(url.as_str()).await?;
    setup
        .execute_unprepared(
            "DROP SCHEMA IF EXISTS example_service CASCADE; CREATE SCHEMA example_service",
        )
        .await?;
    setup.close().await?;
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .set_schema_search_path("example_service");
    let db = Database::connect(options).await?;
    sea_orm_pg_partitioning_migration::Migrator::up(&db, None).await?;
    db.execute_unprepared(
        "CREATE TABLE event (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, kind text NOT NULL) \
         PARTITION BY RANGE (at)",
    )
    .await?;

    // Hourly partitions, three kept ready ahead, detached after a day, created without blocking writers.
    let service = PartitionService::new(db.clone());
    let events = service
        .time_range_table("event")
        .period(Period::Hour)
        .interval(24)
        .register()
        .await?;
    events
        .update_maintenance(|m| {
            m.premake = 3;
            m.creation_mode = CreationMode::Attach;
        })
        .await?;
    // In the background, paced to a twentieth of the time so the writers keep the server.
    let maintenance = service
        .clone()
        .with_maintenance_options(MaintenanceOptions {
            duty_cycle: 0.05,
            ..MaintenanceOptions::default()
        })
        .spawn_maintenance(Duration::from_secs(60));

    // The admin endpoint: the status page, rendered from the catalog at each request.
    let admin_addr =
        std::env::var("SERVICE_ADMIN_ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&admin_addr).await?;
    let at = listener.local_addr()?;
    println!("status page at http://{at}/status, health at /health, metrics at /metrics");
    let admin = axum::Router::new()
        .route("/status", axum::routing::get(status_page))
        .with_state(service.clone())
        .route("/health", axum::routing::get(health))
        .with_state(maintenance.health_watch())
        .route(
            "/metrics",
            axum::routing::get(move || std::future::ready(prometheus.render())),
        );
    let admin = tokio::spawn(async move { axum::serve(listener, admin).await });

    let run_for = std::env::var("SERVICE_RUN_FOR")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let stop = async {
        match run_for {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(stop);
    println!("writing events; Ctrl-C to stop");
    let mut written = 0u64;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                db.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO event (at, kind) VALUES ($1, 'tick')",
                    [Utc::now().into()],
                ))
                .await?;
                written += 1;
            }
        }
    }

    println!("stopping: {written} events written");
    admin.abort();
    maintenance.shutdown().await;
    let partitions = events.partitions().await?;
    println!("maintenance stopped; {} partitions:", partitions.len());
    for p in partitions {
        println!("   {}", p.partition_name);
    }
    db.close().await?;
    Ok(())
}
