//! The `index` group: an index built on a partitioned table of 100 partitions of `BENCH_INDEX_ROWS` rows each
//! (default 100 000), ours (`create_index`: `ON ONLY`, then `CONCURRENTLY` per partition) against a plain
//! blocking `CREATE INDEX` on the parent, with a writer inserting back to back during both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::Index;
use sea_orm_pg_partitioning::prelude::*;

use super::convert::{connect, copy_of, p99, writing};
use super::{Res, Server, ms, summary};

const SOURCE: &str = "sopp_bench_index_src";
const PARTITIONS: i64 = 100;
const INSERT: &str = "INSERT INTO ev (created_at, payload) VALUES ('2026-01-01'::timestamptz + random() * interval '100 days', 'w')";

/// The figures of every pair.
#[derive(Default)]
pub struct Figures {
    /// Ours / raw, per pair.
    pub ratio: Vec<f64>,
    /// The writer's p99 and worst insert, ms: raw, ours.
    pub writer: Vec<((f64, f64), (f64, f64))>,
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
    let mut sql = String::from(
        "CREATE TABLE ev (id bigserial, created_at timestamptz NOT NULL, payload text NOT NULL) \
         PARTITION BY RANGE (created_at);",
    );
    for d in 0..PARTITIONS {
        sql.push_str(&format!(
            "CREATE TABLE ev_{d} PARTITION OF ev FOR VALUES FROM ('2026-01-01'::date + {d}) TO ('2026-01-01'::date + {});",
            d + 1
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO ev (created_at, payload) SELECT '2026-01-01'::timestamptz + g * (interval '{PARTITIONS} days' / {total}), md5(g::text) \
         FROM generate_series(0, {total} - 1) g;",
        total = PARTITIONS * rows
    ));
    let began = Instant::now();
    db.execute_unprepared(&sql).await?;
    db.execute_unprepared("VACUUM ANALYZE ev").await?;
    eprintln!(
        "  index: {PARTITIONS} × {rows} rows made in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    db.close().await?;
    Ok(())
}

/// Builds the index one way on a fresh copy with the writer running: the build's time, the writer's p99 and
/// worst insert.
async fn side(server: &mut Server, ours: bool) -> Res<(StdDuration, StdDuration, StdDuration)> {
    let (name, db) = copy_of(
        server,
        SOURCE,
        if ours { "index_ours" } else { "index_raw" },
    )
    .await?;
    let writer_db = connect(&server.url, &name).await?;
    server.settle().await?;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = writing(writer_db.clone(), stop.clone(), INSERT);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let began = Instant::now();
    if ours {
        let build = PartitionService::new(db.clone())
            .create_index(
                "ev",
                Index::create().name("ev_payload").col("payload").to_owned(),
            )
            .await?;
        if !build.valid {
            return Err("the index is not valid".into());
        }
    } else {
        db.execute_unprepared("CREATE INDEX ev_payload ON ev (payload)")
            .await?;
    }
    let took = began.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = writer.await?;
    let worst = latencies.iter().max().copied().unwrap_or_default();
    let p = p99(&mut latencies);
    writer_db.close().await?;
    server.drop(db).await?;
    Ok((took, p, worst))
}

/// `pairs` alternating pairs (raw first in even pairs).
pub async fn run(server: &mut Server, pairs: usize) -> Res<Figures> {
    let rows: i64 = std::env::var("BENCH_INDEX_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100_000);
    source(server, rows).await?;
    let mut figures = Figures::default();
    for pair in 0..pairs {
        eprintln!("index pair {}/{pairs}", pair + 1);
        let (raw, ours) = if pair % 2 == 0 {
            let raw = side(server, false).await?;
            (raw, side(server, true).await?)
        } else {
            let ours = side(server, true).await?;
            (side(server, false).await?, ours)
        };
        eprintln!(
            "  index: raw {:.1} s (writer p99 {:.1} ms, worst {:.0} ms), ours {:.1} s (p99 {:.1} ms, worst {:.0} ms)",
            raw.0.as_secs_f64(),
            ms(raw.1),
            ms(raw.2),
            ours.0.as_secs_f64(),
            ms(ours.1),
            ms(ours.2)
        );
        figures
            .ratio
            .push(ours.0.as_secs_f64() / raw.0.as_secs_f64());
        figures
            .writer
            .push(((ms(raw.1), ms(raw.2)), (ms(ours.1), ms(ours.2))));
    }
    server
        .admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {SOURCE} WITH (FORCE)"))
        .await?;
    Ok(figures)
}

/// The group's table.
pub fn print(figures: &mut Figures) {
    println!("| an index on 100 partitions, with a writer | min | median | max | target |");
    println!("|---|---|---|---|---|");
    summary(
        "ours (ON ONLY, CONCURRENTLY per partition) / a blocking CREATE INDEX",
        &mut figures.ratio,
        "reported",
    );
    let parts: Vec<String> = figures
        .writer
        .iter()
        .map(|((rp, rw), (op, ow))| {
            format!(
                "blocking: p99 {rp:.1} ms, worst {rw:.0} ms; ours: p99 {op:.1} ms, worst {ow:.0} ms"
            )
        })
        .collect();
    println!(
        "\nindex: the writer during each build, per pair: {}",
        parts.join(" | ")
    );
}
