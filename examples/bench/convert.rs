//! The `convert` group: converting a plain table of `BENCH_CONVERT_ROWS` rows (default 10 million) online,
//! against the raw way to the same end state in one go, and what a writer sees meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_pg_partitioning::prelude::*;

use super::{Res, Server, ms, summary, timed, url_with_database};

const SOURCE: &str = "sopp_bench_convert_src";

/// The figures of one pair and one writer run.
#[derive(Default)]
pub struct Figures {
    /// Ours / raw, per pair.
    pub ratio: Vec<f64>,
    /// The swap's lock, ms, per conversion (with and without the writer).
    pub lock_ms: Vec<f64>,
    /// The writer's throughput during the conversion / alone.
    pub throughput: Vec<f64>,
    /// The writer's p99 alone and during, ms.
    pub p99: Vec<(f64, f64)>,
    /// The writer's longest single insert during the conversion, ms.
    pub worst_ms: Vec<f64>,
}

/// The source database: `event` with `rows` rows over two years, its primary key and an index on the key;
/// vacuumed and analyzed; the crate's tables. Copied for every measurement (`CREATE DATABASE .. TEMPLATE`).
async fn source(server: &mut Server, rows: i64) -> Res<()> {
    let admin = &server.admin;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {SOURCE} WITH (FORCE)"))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {SOURCE} TEMPLATE template0"))
        .await?;
    let db = connect(&server.url, SOURCE).await?;
    sea_orm_pg_partitioning::migrations::up(&db).await?;
    let began = Instant::now();
    db.execute_unprepared(&format!(
        "CREATE TABLE event (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, \
             user_id int NOT NULL, payload text NOT NULL); \
         INSERT INTO event (created_at, user_id, payload) \
             SELECT timestamptz '2024-12-01' + g * (interval '2 years' / {rows}), g % 1000, md5(g::text) \
             FROM generate_series(1, {rows}) g; \
         CREATE INDEX event_created_at ON event (created_at)"
    ))
    .await?;
    db.execute_unprepared("VACUUM ANALYZE event").await?;
    eprintln!(
        "  convert: {rows} rows made in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    db.close().await?;
    Ok(())
}

pub(super) async fn connect(url: &str, database: &str) -> Res<DatabaseConnection> {
    let mut options = ConnectOptions::new(url_with_database(url, database));
    options.sqlx_logging(false).max_connections(4);
    Ok(Database::connect(options).await?)
}

/// A copy of the source database.
async fn copy(server: &mut Server, label: &str) -> Res<(String, DatabaseConnection)> {
    copy_of(server, SOURCE, label).await
}

/// A copy of the database `source`, named after `label`.
pub(super) async fn copy_of(
    server: &mut Server,
    source: &str,
    label: &str,
) -> Res<(String, DatabaseConnection)> {
    let name = server.name(label);
    server
        .admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    server
        .admin
        .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {source}"))
        .await?;
    let db = connect(&server.url, &name).await?;
    Ok((name, db))
}

/// The raw way to the same end state, in one go: the partitioned table with the same 25 monthly partitions,
/// one `INSERT INTO .. SELECT *`, then the primary key and the index.
async fn raw(db: &DatabaseConnection) -> Res<()> {
    let mut sql = String::from(
        "CREATE TABLE event_new (LIKE event INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);",
    );
    let start = chrono::NaiveDate::from_ymd_opt(2024, 12, 1).ok_or("date")?;
    for m in 0..26 {
        let from = start + chrono::Months::new(m);
        let to = start + chrono::Months::new(m + 1);
        sql.push_str(&format!(
            "CREATE TABLE event_new_{m} PARTITION OF event_new FOR VALUES FROM ('{from}') TO ('{to}');"
        ));
    }
    sql.push_str(
        "INSERT INTO event_new SELECT * FROM event; \
         ALTER TABLE event_new ADD PRIMARY KEY (id, created_at); \
         CREATE INDEX ON event_new (created_at);",
    );
    db.execute_unprepared(&sql).await?;
    Ok(())
}

/// Ours: the conversion, to its end; the swap's lock.
async fn ours(db: &DatabaseConnection) -> Res<StdDuration> {
    let report = PartitionService::new(db.clone())
        .convert("event")
        .key("created_at")
        .period(Period::Month)
        .run()
        .await?;
    report.swap_lock.ok_or_else(|| "no swap".into())
}

/// A writer inserting one row at a time until `stop`; the latency of each insert.
fn writer(
    db: DatabaseConnection,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<StdDuration>> {
    writing(
        db,
        stop,
        "INSERT INTO event (created_at, user_id, payload) VALUES (now(), 1, 'w')",
    )
}

/// A writer running `insert` back to back until `stop`; the latency of each.
pub(super) fn writing(
    db: DatabaseConnection,
    stop: Arc<AtomicBool>,
    insert: &'static str,
) -> tokio::task::JoinHandle<Vec<StdDuration>> {
    tokio::spawn(async move {
        let mut latencies = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let began = Instant::now();
            if db.execute_unprepared(insert).await.is_err() {
                eprintln!("  a write failed");
            }
            latencies.push(began.elapsed());
        }
        latencies
    })
}

pub(super) fn p99(latencies: &mut [StdDuration]) -> StdDuration {
    latencies.sort();
    latencies
        .get((latencies.len() * 99 / 100).min(latencies.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// The writer alone for 3 s, then during a conversion of the same database.
async fn with_writer(server: &mut Server, figures: &mut Figures) -> Res<()> {
    let (name, db) = copy(server, "writer").await?;
    let writer_db = connect(&server.url, &name).await?;
    server.settle().await?;
    let stop = Arc::new(AtomicBool::new(false));
    let alone = writer(writer_db.clone(), stop.clone());
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut alone = alone.await?;
    let alone_rate = alone.len() as f64 / 3.0;
    let stop = Arc::new(AtomicBool::new(false));
    let during = writer(writer_db.clone(), stop.clone());
    let began = Instant::now();
    let lock = ours(&db).await?;
    let took = began.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut during = during.await?;
    let during_rate = during.len() as f64 / took.as_secs_f64();
    let worst = during.iter().max().copied().unwrap_or_default();
    let (p_alone, p_during) = (p99(&mut alone), p99(&mut during));
    eprintln!(
        "  convert with a writer: {:.1} s, swap lock {:.0} ms; writer {alone_rate:.0}/s alone, {during_rate:.0}/s during, \
         p99 {:.1} → {:.1} ms, worst {:.0} ms",
        took.as_secs_f64(),
        ms(lock),
        ms(p_alone),
        ms(p_during),
        ms(worst)
    );
    figures.lock_ms.push(ms(lock));
    figures.throughput.push(during_rate / alone_rate);
    figures.p99.push((ms(p_alone), ms(p_during)));
    figures.worst_ms.push(ms(worst));
    writer_db.close().await?;
    server.drop(db).await?;
    Ok(())
}

/// `pairs` alternating pairs (raw first in even pairs, ours first in odd ones), each on fresh copies, then a
/// writer run per pair.
pub async fn run(server: &mut Server, pairs: usize) -> Res<Figures> {
    let rows: i64 = std::env::var("BENCH_CONVERT_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10_000_000);
    source(server, rows).await?;
    let mut figures = Figures::default();
    for pair in 0..pairs {
        eprintln!("convert pair {}/{pairs}", pair + 1);
        let mut times = [StdDuration::ZERO; 2];
        for side in if pair % 2 == 0 { [0, 1] } else { [1, 0] } {
            let (_, db) = copy(server, if side == 0 { "raw" } else { "ours" }).await?;
            server.settle().await?;
            times[side] = if side == 0 {
                timed(raw(&db)).await?
            } else {
                let began = Instant::now();
                let lock = ours(&db).await?;
                figures.lock_ms.push(ms(lock));
                began.elapsed()
            };
            server.drop(db).await?;
        }
        eprintln!(
            "  convert: raw {:.1} s, ours {:.1} s",
            times[0].as_secs_f64(),
            times[1].as_secs_f64()
        );
        figures
            .ratio
            .push(times[1].as_secs_f64() / times[0].as_secs_f64());
        with_writer(server, &mut figures).await?;
    }
    server
        .admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {SOURCE} WITH (FORCE)"))
        .await?;
    Ok(figures)
}

/// The group's table.
pub fn print(figures: &mut Figures) {
    let rows = std::env::var("BENCH_CONVERT_ROWS").unwrap_or_else(|_| "10000000".into());
    println!("| converting a plain table of {rows} rows online | min | median | max | target |");
    println!("|---|---|---|---|---|");
    summary(
        "ours / raw (`INSERT .. SELECT *` into the partitioned table, then the indexes)",
        &mut figures.ratio,
        "≤ 1.5×",
    );
    let mut lock = figures.lock_ms.clone();
    lock.sort_by(|a, b| a.total_cmp(b));
    let mut rate = figures.throughput.clone();
    rate.sort_by(|a, b| a.total_cmp(b));
    let mid = |v: &[f64]| v[v.len() / 2];
    println!(
        "| longest ACCESS EXCLUSIVE lock (the swap), ms | {:.0} | {:.0} | {:.0} | < 1000 |",
        lock[0],
        mid(&lock),
        lock[lock.len() - 1]
    );
    println!(
        "| a writer's throughput during the conversion / alone | {:.0} % | {:.0} % | {:.0} % | reported |",
        rate[0] * 100.0,
        mid(&rate) * 100.0,
        rate[rate.len() - 1] * 100.0
    );
    let parts: Vec<String> = figures
        .p99
        .iter()
        .zip(&figures.worst_ms)
        .map(|((a, d), w)| format!("{a:.1} → {d:.1} ms (worst {w:.0} ms)"))
        .collect();
    println!(
        "\nconvert: the writer's p99 alone → during, per run: {}",
        parts.join("; ")
    );
}
