//! The `columnar` group: one partition of `BENCH_COLUMNAR_ROWS` rows (default 1 000 000) converted to the
//! `columnar` access method, ours (retention action `columnar`: one `run_maintenance()`, which also records
//! the sizes) against a raw `ALTER TABLE .. SET ACCESS METHOD columnar` of the same partition, with a reader
//! counting the partition's rows back to back during both. Needs `citus_columnar` on the server (built with
//! Citus: `scripts/with-citus` installs it); skipped with a message otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use chrono::TimeZone;
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use sea_orm_pg_partitioning::prelude::*;

use super::convert::{connect, copy_of, writing};
use super::{Res, Server, ms, summary};

const SOURCE: &str = "sopp_bench_columnar_src";
const PARTITION: &str = "ev_2026-01-01_2026-01-02";
const READ: &str = r#"SELECT count(*) FROM "ev_2026-01-01_2026-01-02""#;

/// The figures of every pair.
#[derive(Default)]
pub struct Figures {
    /// Ours / raw, per pair.
    pub ratio: Vec<f64>,
    /// Heap size / columnar size, per conversion.
    pub compression: Vec<f64>,
    /// The reader's worst count during the conversion, ms: raw, ours.
    pub reader: Vec<(f64, f64)>,
}

/// Whether the server has `citus_columnar`.
async fn available(server: &Server) -> Res<bool> {
    Ok(server
        .admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT 1 FROM pg_available_extensions WHERE name = 'citus_columnar'",
        ))
        .await?
        .is_some())
}

async fn source(server: &mut Server, rows: i64) -> Res<()> {
    server
        .admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {SOURCE} WITH (FORCE)"))
        .await?;
    server
        .admin
        .execute_unprepared(&format!("CREATE DATABASE {SOURCE} TEMPLATE template0"))
        .await?;
    let db = connect(&server.url, SOURCE).await?;
    sea_orm_pg_partitioning_migration::Migrator::up(&db, None).await?;
    // The days up to now exist already, so that maintenance has only the conversion to do.
    let later: String = (2..6)
        .map(|day| {
            format!(
                "CREATE TABLE \"ev_2026-01-0{day}_2026-01-0{next}\" PARTITION OF ev \
                 FOR VALUES FROM ('2026-01-0{day} 00:00+00') TO ('2026-01-0{next} 00:00+00');",
                next = day + 1
            )
        })
        .collect();
    db.execute_unprepared(&format!(
        "CREATE EXTENSION citus_columnar; \
         CREATE TABLE ev (tenant int NOT NULL, created_at timestamptz NOT NULL, kind text NOT NULL, value float8) \
             PARTITION BY RANGE (created_at); \
         CREATE TABLE \"{PARTITION}\" PARTITION OF ev FOR VALUES FROM ('2026-01-01 00:00+00') TO ('2026-01-02 00:00+00'); \
         {later} \
         INSERT INTO ev SELECT g % 500, '2026-01-01 00:00+00'::timestamptz + g * (interval '1 day' / {rows}), \
             (ARRAY['click', 'view', 'purchase', 'signup'])[1 + g % 4], (g % 1000) / 10.0 \
             FROM generate_series(0, {rows} - 1) g;"
    ))
    .await?;
    db.execute_unprepared("VACUUM ANALYZE ev").await?;
    let service = PartitionService::new(db.clone());
    service
        .time_range_table("ev")
        .period(Period::Day)
        .interval(1)
        .adopt()
        .await?;
    db.close().await?;
    Ok(())
}

/// Converts the partition one way on a fresh copy with the reader running: the conversion's time, the sizes
/// before and after, the reader's worst count.
async fn side(server: &mut Server, ours: bool) -> Res<(StdDuration, (i64, i64), StdDuration)> {
    let (name, db) = copy_of(
        server,
        SOURCE,
        if ours {
            "columnar_ours"
        } else {
            "columnar_raw"
        },
    )
    .await?;
    let size = |db: sea_orm::DatabaseConnection| async move {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT pg_total_relation_size('\"{PARTITION}\"')::int8"),
            ))
            .await?
            .ok_or("no size")?;
        Res::Ok(row.try_get_by_index::<i64>(0)?)
    };
    let before = size(db.clone()).await?;
    let reader_db = connect(&server.url, &name).await?;
    let service = PartitionService::new(db.clone()).with_clock(ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 1, 3, 12, 0, 0)
            .single()
            .ok_or("instant")?,
    ));
    let events = service.time_range_of("ev").await?;
    if ours {
        events
            .update_maintenance(|m| {
                m.retention = RetentionAction::Columnar;
                m.premake = 0;
            })
            .await?;
    }
    server.settle().await?;
    let stop = Arc::new(AtomicBool::new(false));
    let reader = writing(reader_db.clone(), stop.clone(), READ);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let began = Instant::now();
    if ours {
        let report = service.run_maintenance().await?;
        if !report.is_ok() {
            return Err(format!("maintenance failed: {report:?}").into());
        }
    } else {
        db.execute_unprepared(&format!(
            "ALTER TABLE \"{PARTITION}\" SET ACCESS METHOD columnar"
        ))
        .await?;
    }
    let took = began.elapsed();
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let latencies = reader.await?;
    let worst = latencies.iter().max().copied().unwrap_or_default();
    let after = size(db.clone()).await?;
    if ours {
        let log = events
            .partitions()
            .await?
            .into_iter()
            .find(|l| l.partition_name == PARTITION)
            .ok_or("no log row")?;
        if log.size_before != Some(before) || log.size_after != Some(after) {
            return Err(format!(
                "the log says {:?} -> {:?}, the catalog {before} -> {after}",
                log.size_before, log.size_after
            )
            .into());
        }
    }
    reader_db.close().await?;
    server.drop(db).await?;
    Ok((took, (before, after), worst))
}

/// `pairs` alternating pairs (raw first in even pairs); `None` without `citus_columnar`.
pub async fn run(server: &mut Server, pairs: usize) -> Res<Option<Figures>> {
    if !available(server).await? {
        eprintln!(
            "columnar: skipped, the server has no citus_columnar (scripts/with-citus builds and installs it)"
        );
        return Ok(None);
    }
    let rows: i64 = std::env::var("BENCH_COLUMNAR_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    source(server, rows).await?;
    let mut figures = Figures::default();
    for pair in 0..pairs {
        eprintln!("columnar pair {}/{pairs}", pair + 1);
        let (raw, ours) = if pair % 2 == 0 {
            let raw = side(server, false).await?;
            (raw, side(server, true).await?)
        } else {
            let ours = side(server, true).await?;
            (side(server, false).await?, ours)
        };
        eprintln!(
            "  columnar: raw {:.2} s ({} -> {} bytes, reader worst {:.0} ms), ours {:.2} s ({} -> {} bytes, reader worst {:.0} ms)",
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
            .ratio
            .push(ours.0.as_secs_f64() / raw.0.as_secs_f64());
        for (before, after) in [raw.1, ours.1] {
            figures
                .compression
                .push(before as f64 / after.max(1) as f64);
        }
        figures.reader.push((ms(raw.2), ms(ours.2)));
    }
    server
        .admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {SOURCE} WITH (FORCE)"))
        .await?;
    Ok(Some(figures))
}

/// The group's table.
pub fn print(figures: &mut Figures) {
    println!(
        "| columnar archiving of one partition, with a reader | min | median | max | target |"
    );
    println!("|---|---|---|---|---|");
    summary(
        "ours (retention columnar) / a raw ALTER TABLE .. SET ACCESS METHOD columnar",
        &mut figures.ratio,
        "reported",
    );
    summary(
        "compression: heap size / columnar size",
        &mut figures.compression,
        "reported",
    );
    let parts: Vec<String> = figures
        .reader
        .iter()
        .map(|(raw, ours)| format!("raw: worst read {raw:.0} ms; ours: worst read {ours:.0} ms"))
        .collect();
    println!(
        "\ncolumnar: the reader during each conversion, per pair: {}",
        parts.join(" | ")
    );
}
