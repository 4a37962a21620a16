//! The `citus` group: premake and a no-op run on distributed tables against the same on a single node, both on
//! the Citus coordinator's server (the single node is a database there without the extension, so both sides
//! run on the same binaries and settings). Needs the cluster of `scripts/with-citus` (`CITUS_DATABASE_URL`,
//! `CITUS_WORKER_URLS`); skipped with a message otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use chrono::Utc;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use sea_orm_pg_partitioning::prelude::*;

use super::{Res, ms, summary, url_with_database};

/// Tables per side, each with `PREMAKE + 1` daily partitions made from empty.
const TABLES: usize = 10;
const PREMAKE: u32 = 30;

/// The figures of every pair.
#[derive(Default)]
pub struct Figures {
    /// Distributed / single node: premake, per pair.
    pub premake: Vec<f64>,
    /// Distributed / single node: the no-op run, per pair.
    pub noop: Vec<f64>,
    /// Milliseconds, per pair: (single premake, single no-op, distributed premake, distributed no-op).
    pub times: Vec<(f64, f64, f64, f64)>,
    /// A distributed partition to columnar: ours / raw `alter_table_set_access_method`, per pair.
    pub columnar: Vec<f64>,
    /// Its compression (size before / after), per conversion.
    pub compression: Vec<f64>,
    /// The reader's worst count of the partition during the conversion, ms: raw, ours.
    pub reader: Vec<(f64, f64)>,
}

/// Rows of the distributed partition converted to columnar.
const COLUMNAR_ROWS: i64 = 500_000;

/// One distributed partition of `COLUMNAR_ROWS` rows converted to columnar, ours (retention `columnar`) or
/// raw (`alter_table_set_access_method`): the time and the sizes before and after.
async fn columnar_side(
    servers: &[String],
    ours: bool,
) -> Res<(StdDuration, (i64, i64), StdDuration)> {
    use chrono::TimeZone;
    let name = if ours {
        "sopp_bench_citus_col_ours"
    } else {
        "sopp_bench_citus_col_raw"
    };
    let db = database(servers, name, true).await?;
    db.execute_unprepared(
        "CREATE TABLE ev (tenant int NOT NULL, created_at timestamptz NOT NULL, kind text NOT NULL, value float8) \
         PARTITION BY RANGE (created_at); \
         SELECT create_distributed_table('ev', 'tenant'); \
         CREATE TABLE \"ev_2026-01-01_2026-01-02\" PARTITION OF ev FOR VALUES FROM ('2026-01-01 00:00+00') TO ('2026-01-02 00:00+00');",
    )
    .await?;
    // The days up to now exist already, so that maintenance has only the conversion to do.
    for day in 2..6 {
        db.execute_unprepared(&format!(
            "CREATE TABLE \"ev_2026-01-0{day}_2026-01-0{next}\" PARTITION OF ev \
             FOR VALUES FROM ('2026-01-0{day} 00:00+00') TO ('2026-01-0{next} 00:00+00')",
            next = day + 1
        ))
        .await?;
    }
    db.execute_unprepared("CREATE EXTENSION citus_columnar")
        .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO ev SELECT g % 500, '2026-01-01 00:00+00'::timestamptz + g * (interval '1 day' / {COLUMNAR_ROWS}), \
         (ARRAY['click', 'view', 'purchase', 'signup'])[1 + g % 4], (g % 1000) / 10.0 FROM generate_series(0, {COLUMNAR_ROWS} - 1) g"
    ))
    .await?;
    db.execute_unprepared("VACUUM ANALYZE ev").await?;
    let size = || async {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT citus_total_relation_size('\"ev_2026-01-01_2026-01-02\"')::int8",
            ))
            .await?
            .ok_or("no size")?;
        Res::Ok(row.try_get_by_index::<i64>(0)?)
    };
    let before = size().await?;
    let clock = ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 1, 3, 12, 0, 0)
            .single()
            .ok_or("instant")?,
    );
    let service = PartitionService::new(db.clone()).with_clock(clock);
    let (events, _) = service
        .time_range_table("ev")
        .period(Period::Day)
        .interval(1)
        .adopt()
        .await?;
    if ours {
        events
            .update_maintenance(|m| {
                m.retention = RetentionAction::Columnar;
                m.premake = 0;
            })
            .await?;
    }
    let reader_db = connect(&url_with_database(&servers[0], name)).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let reader = super::convert::writing(
        reader_db.clone(),
        stop.clone(),
        r#"SELECT count(*) FROM "ev_2026-01-01_2026-01-02""#,
    );
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let began = Instant::now();
    if ours {
        let report = service.run_maintenance().await?;
        if !report.is_ok() {
            return Err(format!("maintenance failed: {report:?}").into());
        }
    } else {
        db.execute_unprepared(
            "SELECT alter_table_set_access_method('\"ev_2026-01-01_2026-01-02\"', 'columnar')",
        )
        .await?;
    }
    let took = began.elapsed();
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let worst = reader.await?.into_iter().max().unwrap_or_default();
    reader_db.close().await?;
    let after = size().await?;
    db.close().await?;
    drop_database(servers, name).await?;
    Ok((took, (before, after), worst))
}

async fn connect(url: &str) -> Res<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(4);
    Ok(Database::connect(options).await?)
}

fn port(url: &str) -> Res<u16> {
    url.rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("no port in {url}").into())
}

/// A fresh database `name` on each of `servers`; with `citus`, the extension on each and the workers added
/// on the first (the coordinator).
async fn database(servers: &[String], name: &str, citus: bool) -> Res<DatabaseConnection> {
    let mut first = None;
    for (i, server) in servers.iter().enumerate() {
        let admin = connect(server).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE template0"))
            .await?;
        admin.close().await?;
        let db = connect(&url_with_database(server, name)).await?;
        if citus {
            db.execute_unprepared("CREATE EXTENSION citus").await?;
        }
        if i == 0 {
            first = Some(db);
        } else {
            db.close().await?;
        }
    }
    let db = first.ok_or("no server")?;
    if citus {
        db.execute_unprepared(&format!(
            "SELECT citus_set_coordinator_host('127.0.0.1', {})",
            port(&servers[0])?
        ))
        .await?;
        for worker in &servers[1..] {
            db.execute_unprepared(&format!(
                "SELECT citus_add_node('127.0.0.1', {})",
                port(worker)?
            ))
            .await?;
        }
    }
    sea_orm_pg_partitioning_migration::Migrator::up(&db, None).await?;
    Ok(db)
}

async fn drop_database(servers: &[String], name: &str) -> Res<()> {
    for server in servers {
        let admin = connect(server).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin.close().await?;
    }
    Ok(())
}

/// Premake from empty, then a no-op run, of `TABLES` tables: the two durations.
async fn side(
    servers: &[String],
    name: &str,
    distributed: bool,
) -> Res<(StdDuration, StdDuration)> {
    let nodes = if distributed { servers } else { &servers[..1] };
    let db = database(nodes, name, distributed).await?;
    for i in 0..TABLES {
        db.execute_unprepared(&format!(
            "CREATE TABLE ev_{i} (tenant int NOT NULL, created_at timestamptz NOT NULL, payload text) \
             PARTITION BY RANGE (created_at)"
        ))
        .await?;
        if distributed {
            db.execute_unprepared(&format!(
                "SELECT create_distributed_table('ev_{i}', 'tenant')"
            ))
            .await?;
        }
    }
    let clock = ManualClock::new(Utc::now());
    let service = PartitionService::new(db.clone()).with_clock(clock);
    for i in 0..TABLES {
        service
            .time_range_table(format!("ev_{i}"))
            .period(Period::Day)
            .register()
            .await?
            .update_maintenance(|m| m.premake = PREMAKE)
            .await?;
    }
    let began = Instant::now();
    let report = service.run_maintenance().await?;
    let premake = began.elapsed();
    if !report.is_ok() {
        return Err(format!("maintenance failed: {report:?}").into());
    }
    let began = Instant::now();
    let report = service.run_maintenance().await?;
    let noop = began.elapsed();
    if !report.tables.is_empty() {
        return Err(format!("the second run had work: {report:?}").into());
    }
    db.close().await?;
    drop_database(nodes, name).await?;
    Ok((premake, noop))
}

/// `pairs` alternating pairs (single node first in even pairs); `None` without a cluster.
pub async fn run(pairs: usize) -> Res<Option<Figures>> {
    let Ok(coordinator) = std::env::var("CITUS_DATABASE_URL") else {
        eprintln!("citus: skipped, no cluster (run it as scripts/with-citus scripts/bench)");
        return Ok(None);
    };
    let servers: Vec<String> = std::iter::once(coordinator)
        .chain(
            std::env::var("CITUS_WORKER_URLS")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned),
        )
        .collect();
    let mut figures = Figures::default();
    for pair in 0..pairs {
        eprintln!("citus pair {}/{pairs}", pair + 1);
        let (single, distributed) = if pair % 2 == 0 {
            let single = side(&servers, "sopp_bench_citus_single", false).await?;
            (single, side(&servers, "sopp_bench_citus_dist", true).await?)
        } else {
            let distributed = side(&servers, "sopp_bench_citus_dist", true).await?;
            (
                side(&servers, "sopp_bench_citus_single", false).await?,
                distributed,
            )
        };
        eprintln!(
            "  citus: single node premake {:.0} ms, no-op {:.1} ms; distributed premake {:.0} ms, no-op {:.1} ms",
            ms(single.0),
            ms(single.1),
            ms(distributed.0),
            ms(distributed.1)
        );
        figures
            .premake
            .push(distributed.0.as_secs_f64() / single.0.as_secs_f64());
        figures
            .noop
            .push(distributed.1.as_secs_f64() / single.1.as_secs_f64());
        figures.times.push((
            ms(single.0),
            ms(single.1),
            ms(distributed.0),
            ms(distributed.1),
        ));
        let (raw, ours) = if pair % 2 == 0 {
            let raw = columnar_side(&servers, false).await?;
            (raw, columnar_side(&servers, true).await?)
        } else {
            let ours = columnar_side(&servers, true).await?;
            (columnar_side(&servers, false).await?, ours)
        };
        eprintln!(
            "  citus columnar: raw {:.2} s ({} -> {} bytes, reader worst {:.0} ms), ours {:.2} s ({} -> {} bytes, reader worst {:.0} ms)",
            raw.0.as_secs_f64(),
            raw.1.0,
            raw.1.1,
            ms(raw.2),
            ours.0.as_secs_f64(),
            ours.1.0,
            ours.1.1,
            ms(ours.2)
        );
        figures
            .columnar
            .push(ours.0.as_secs_f64() / raw.0.as_secs_f64());
        figures.reader.push((ms(raw.2), ms(ours.2)));
        for (before, after) in [raw.1, ours.1] {
            figures
                .compression
                .push(before as f64 / after.max(1) as f64);
        }
    }
    Ok(Some(figures))
}

/// The group's table.
pub fn print(figures: &mut Figures) {
    println!(
        "| Citus, {TABLES} tables × {} daily partitions: distributed / single node | min | median | max | target |",
        PREMAKE + 1
    );
    println!("|---|---|---|---|---|");
    summary("premake from empty", &mut figures.premake, "reported");
    summary("no-op maintenance", &mut figures.noop, "reported");
    summary(
        "a distributed partition to columnar: ours / raw alter_table_set_access_method",
        &mut figures.columnar,
        "reported",
    );
    summary(
        "its compression: size before / after",
        &mut figures.compression,
        "reported",
    );
    let parts: Vec<String> = figures
        .times
        .iter()
        .map(|(sp, sn, dp, dn)| {
            format!("single {sp:.0} / {sn:.1} ms, distributed {dp:.0} / {dn:.1} ms")
        })
        .collect();
    println!("\ncitus: premake / no-op per pair: {}", parts.join(" | "));
    let reads: Vec<String> = figures
        .reader
        .iter()
        .map(|(raw, ours)| format!("raw: worst read {raw:.0} ms; ours: worst read {ours:.0} ms"))
        .collect();
    println!(
        "citus: a reader of the partition during each columnar conversion: {}",
        reads.join(" | ")
    );
}
