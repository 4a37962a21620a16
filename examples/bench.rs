//! Benchmarks against raw DDL and pg_partman, in one run on the same server.
//!
//! ```text
//! scripts/bench            # installs postgresql-15-partman when missing (as root), then runs this in release
//! ```
//!
//! `BENCH_ONLY=main|premake|retention|growth|online|encoding|convert|index|columnar|citus|scale` runs one group
//! of scenarios (`main` is premake and retention; `scale` runs only when asked for). `BENCH_STATEMENTS=1`
//! prints, for our side of the main scenarios and for every scale measurement, where the server's time went
//! (`pg_stat_statements`, which `scripts/bench` loads).
//!
//! Method. This machine's speed is not constant: a fixed CPU loop takes from 0.13 to 0.22 s from one minute
//! to the next, and the raw premake below from 2.5 to 17.6 s. The backend's own CPU time follows its wall
//! time within 10 % while steal stays under 1 %, so the swing is the host's CPU (shared caches and memory
//! bandwidth), not checkpoints, autovacuum, the order of the databases or the cache state, which the
//! settling below rules out. A ratio is therefore only taken between contenders measured side by side:
//!
//! - The main scenarios run in rounds (`BENCH_RUNS`, default 5). In each round every contender runs once,
//!   in a database of its own made for it (so none pays for another's catalog), after the server has settled
//!   the same way (a checkpoint, then no autovacuum worker left), and in an order that turns with the round
//!   (raw DDL first in one round, second in the next, ...). Each contender's time is divided by the raw DDL's
//!   of the same round, and the table gives min / median / max of those per-round ratios.
//! - The no-op runs take milliseconds: 5 pairs per round, alternating which goes first.
//! - The other scenarios alternate their two sides pair by pair in the same way.
//! - A goal `≤ x` is judged on the spread: met in every pair (max ≤ x), not met (min > x), met or not at the
//!   median when max / min ≤ 1.5, and otherwise "spread too wide to conclude".
//!
//! - premake: 50 tables × 61 daily partitions from empty. Raw: the 3 050 `CREATE TABLE .. PARTITION OF`
//!   statements in one transaction. pg_partman: `create_parent(.., 'native', 'daily', p_premake := 60)` per
//!   table (it also makes a DEFAULT partition and a template table). Ours: register each table and one
//!   `run_maintenance()` with premake 60, in the default (direct) and the low-lock (attach) creation mode.
//! - no-op maintenance over those 50 tables (3 050 partitions): `partman.run_maintenance()` against our
//!   `run_maintenance()` when nothing is due; one catalog query listing every partition with its bounds is
//!   shown for scale.
//! - retention: 50 tables × 61 daily partitions from 30 days ago; detach (keep tables) what ended more than
//!   7 days ago (1 150 partitions). Raw: the `DETACH` statements in one transaction. pg_partman:
//!   `retention = '7 days', retention_keep_table = true` and `run_maintenance()`. Ours: `run_maintenance()`.
//! - growth: one integer-range table; the cost of creating one more partition at 1 000 and at 10 000
//!   partitions, ours (`create_partition`, premake 1, a row in the newest partition as in service) against a
//!   raw `CREATE TABLE .. PARTITION OF` at the same count; 20 partitions each, alternating.
//! - online: a writer inserting rows alone, and while maintenance creates and detaches partitions (low-lock
//!   mode, concurrent detach) in a loop, back to back and paced with `duty_cycle` 0.1 and 0.05: each variant in
//!   6 alternating pairs of 0.5 s windows (alone, then with maintenance), the throughput ratio over the
//!   writer's own time and its p99 latency. The same with no maintenance shows the machine's own noise.
//! - retention is also run with `parallel_tables = 1` (one table at a time; the default is two at once).
//! - scale (`BENCH_ONLY=scale`): 1 000 tables (`BENCH_SCALE_TABLES`) × 100 daily partitions, made by raw
//!   DDL with pg_partman's names and no index, given to pg_partman (`create_parent`, which keeps them; finding
//!   every partition it would make already there, it adds no DEFAULT partition) and adopted by us, in one
//!   database, built up to 10, 100 and 1 000 tables and
//!   measured at each: `status()` and `plan()` (wall time; statements the server ran, from
//!   `pg_stat_statements`; the process's peak resident memory, `VmHWM` after resetting it through
//!   `/proc/self/clear_refs`), and our no-op `run_maintenance()` against `partman.run_maintenance()`,
//!   `RUNS` pairs alternating. At the largest, `RUNS` runs that each have one partition to create on every
//!   table, against the same 1 000 `CREATE TABLE .. PARTITION OF` in one transaction (made just before,
//!   then dropped). `BENCH_KEEP=1` keeps the database afterwards, to look into with `psql`.
//! - encoding: the premake and the no-op run above (ours, direct), on the 50 tables keyed by a `timestamptz`
//!   and keyed by a UUIDv7 `id` that is also the primary key, each in a database of its own, alternating
//!   which goes first; the ratio uuidv7 / timestamptz of each run.
//! - convert: a plain `event` table of `BENCH_CONVERT_ROWS` rows (default 10 million, two years, a primary key
//!   and an index on `created_at`, vacuumed and analyzed) is made once, and every measurement works on a copy
//!   of its database (`CREATE DATABASE .. TEMPLATE`). In each of `RUNS` pairs, alternating which goes first:
//!   raw, the same end state in one go (the partitioned table with its monthly partitions, one
//!   `INSERT .. SELECT *`, then the primary key and the index), against ours, `convert(..).run()` to its end;
//!   the ratio ours / raw. Then, on a third copy, a writer inserting one row at a time runs alone for 3 s and
//!   then during a conversion: its throughput ratio, its p99 latency alone and during, its worst insert, and
//!   the swap's lock (the only ACCESS EXCLUSIVE one on the table).
//! - index: a table of 100 daily partitions of `BENCH_INDEX_ROWS` rows (default 100 000), made once and copied
//!   for every measurement. In each of `RUNS` pairs, alternating which goes first, a writer inserts rows back to
//!   back while an index is built on `payload`: with one blocking `CREATE INDEX` on the parent, then with
//!   `create_index` (`ON ONLY`, `CONCURRENTLY` per partition, attached). The ratio of build times, and the
//!   writer's p99 and worst insert during each.
//! - columnar: one daily partition of `BENCH_COLUMNAR_ROWS` rows (default 1 000 000), made once and copied for
//!   every measurement. In each of `RUNS` pairs, alternating which goes first, a reader counts the partition's
//!   rows back to back while it is converted to `columnar`: with a raw `ALTER TABLE .. SET ACCESS METHOD
//!   columnar`, then with our retention action (`run_maintenance()`, which also checks the table and records
//!   the sizes in the log). The ratio of conversion times, the compression (heap / columnar size) and the
//!   reader's worst count during each. Needs `citus_columnar` (skipped otherwise).
//! - citus: under `scripts/with-citus scripts/bench`, 10 tables × 31 daily partitions made from empty by one
//!   `run_maintenance()`, then a no-op run, on distributed tables (`create_distributed_table` by a `tenant`
//!   column, 4 shards, 2 workers) against the same tables in a database of the coordinator's server without
//!   the extension (the same binaries and settings); `RUNS` pairs, alternating which goes first; the ratios
//!   distributed / single node.

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use sea_orm_migration::MigratorTrait;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::Clock;

#[path = "bench/citus.rs"]
mod citus;
#[path = "bench/columnar.rs"]
mod columnar;
#[path = "bench/convert.rs"]
mod convert;
#[path = "bench/index.rs"]
mod index;
#[path = "bench/rounds.rs"]
mod rounds;
#[path = "bench/scale.rs"]
mod scale;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const TABLES: usize = 50;
const DAYS: i64 = 61;

fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let start = base.find("://").map_or(0, |i| i + 3);
    let base = base[start..]
        .find('/')
        .map_or(base, |slash| &base[..start + slash]);
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

struct Server {
    url: String,
    admin: DatabaseConnection,
    counter: std::cell::Cell<usize>,
}

impl Server {
    /// A name for a new database, unique in the run.
    fn name(&self, label: &str) -> String {
        self.counter.set(self.counter.get() + 1);
        format!("sopp_bench_{label}_{}", self.counter.get())
    }

    /// A new empty database with the crate's tables and pg_partman.
    async fn database(&self, label: &str) -> Res<DatabaseConnection> {
        let name = self.name(label);
        self.admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        self.admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE template0"))
            .await?;
        let mut options = ConnectOptions::new(url_with_database(&self.url, &name));
        options.sqlx_logging(false).max_connections(4);
        let db = Database::connect(options).await?;
        sea_orm_pg_partitioning_migration::Migrator::up(&db, None).await?;
        db.execute_unprepared("CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman")
            .await?;
        Ok(db)
    }

    /// Lets the server's background work from earlier scenarios finish before a measurement: a checkpoint
    /// (when permitted), then up to 20 s for autovacuum workers (catalog churn from the previous scenario) to
    /// end.
    async fn settle(&self) -> Res<()> {
        let _ = self.admin.execute_unprepared("CHECKPOINT").await;
        for _ in 0..200 {
            let busy: i64 = self
                .admin
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
                ))
                .await?
                .ok_or("no row")?
                .try_get_by_index(0)?;
            if busy == 0 {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        Ok(())
    }

    async fn drop(&self, db: DatabaseConnection) -> Res<()> {
        let name = database_name(&db).await?;
        db.close().await?;
        self.admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        Ok(())
    }
}

fn table(i: usize) -> String {
    format!("b{i:02}")
}

/// The name of the database `db` is connected to.
async fn database_name(db: &DatabaseConnection) -> Res<String> {
    Ok(db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_database()::text",
        ))
        .await?
        .ok_or("no database")?
        .try_get_by_index(0)?)
}

async fn make_tables(db: &DatabaseConnection) -> Res<()> {
    let mut sql = String::new();
    for i in 0..TABLES {
        let t = table(i);
        sql.push_str(&format!(
            "CREATE TABLE {t} (id bigint NOT NULL, created_at timestamptz NOT NULL, payload text) PARTITION BY RANGE (created_at); \
             CREATE INDEX ON {t} (created_at);"
        ));
    }
    db.execute_unprepared(&sql).await?;
    Ok(())
}

/// The tables of [`make_tables`], keyed by a UUIDv7 `id` that is also the primary key.
async fn make_uuid_tables(db: &DatabaseConnection) -> Res<()> {
    let mut sql = String::new();
    for i in 0..TABLES {
        let t = table(i);
        sql.push_str(&format!(
            "CREATE TABLE {t} (id uuid NOT NULL, payload text, PRIMARY KEY (id)) PARTITION BY RANGE (id);"
        ));
    }
    db.execute_unprepared(&sql).await?;
    Ok(())
}

/// Premake of 50 × 61 daily partitions from empty, then a no-op run, by our `run_maintenance()`, on tables
/// keyed by a `timestamptz` or (with `uuid`) a UUIDv7: the two durations.
async fn keyed_run(
    server: &mut Server,
    clock: &ManualClock,
    uuid: bool,
) -> Res<(StdDuration, StdDuration)> {
    let db = server.database(if uuid { "uuid" } else { "tstz" }).await?;
    if uuid {
        make_uuid_tables(&db).await?;
    } else {
        make_tables(&db).await?;
    }
    server.settle().await?;
    let encoding = uuid.then_some(TimeEncoding::UuidV7);
    let mut service = None;
    let premake = timed(async {
        service = Some(ours_create_keyed(&db, clock, 60, CreationMode::Direct, encoding).await?);
        Ok(())
    })
    .await?;
    let service = service.ok_or("no service")?;
    server.settle().await?;
    let noop = timed(async {
        let report = service.run_maintenance().await?;
        if report.created() + report.detached() > 0 {
            return Err("the no-op run did something".into());
        }
        Ok(())
    })
    .await?;
    server.drop(db).await?;
    Ok((premake, noop))
}

fn midnight(day: DateTime<Utc>) -> DateTime<Utc> {
    Period::Day.start(day, chrono_tz::UTC)
}

/// Raw DDL for `DAYS` daily partitions of every table from `first`, in one transaction.
fn raw_premake(first: DateTime<Utc>) -> Res<String> {
    let mut sql = String::from("BEGIN;");
    for i in 0..TABLES {
        for d in 0..DAYS {
            let start = first + Duration::days(d);
            let stmt = Partition::create()
                .table(format!("{}_{}", table(i), start.format("%Y%m%d")))
                .partition_of(table(i))
                .values_from_to([start], [start + Duration::days(1)])
                .build(PostgresQueryBuilder)?;
            sql.push_str(&stmt);
            sql.push(';');
        }
    }
    sql.push_str("COMMIT;");
    Ok(sql)
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// pg_partman's maintenance of every table it manages, without `ANALYZE` or pg_jobmon.
const PARTMAN_MAINTENANCE: &str =
    "SELECT partman.run_maintenance(p_analyze := false, p_jobmon := false)";

/// How long `sql` takes to run on `db`.
async fn timed_sql(db: &DatabaseConnection, sql: &str) -> Res<StdDuration> {
    timed(async {
        db.execute_unprepared(sql)
            .await
            .map(|_| ())
            .map_err(Into::into)
    })
    .await
}

async fn timed<F: std::future::Future<Output = Res<()>>>(f: F) -> Res<StdDuration> {
    let began = Instant::now();
    f.await?;
    Ok(began.elapsed())
}

async fn partman_create(db: &DatabaseConnection, start: DateTime<Utc>, premake: i32) -> Res<()> {
    for i in 0..TABLES {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT partman.create_parent($1, 'created_at', 'native', 'daily', p_premake := $2, p_start_partition := $3, p_jobmon := false)",
            [format!("public.{}", table(i)).into(), premake.into(), start.format("%Y-%m-%d").to_string().into()],
        ))
        .await?;
    }
    Ok(())
}

async fn ours_create(
    db: &DatabaseConnection,
    clock: &ManualClock,
    premake: u32,
    mode: CreationMode,
) -> Res<PartitionService> {
    ours_create_keyed(db, clock, premake, mode, None).await
}

/// [`ours_create`] for tables whose key encodes time (`None`: a `timestamptz`).
async fn ours_create_keyed(
    db: &DatabaseConnection,
    clock: &ManualClock,
    premake: u32,
    mode: CreationMode,
    encoding: Option<TimeEncoding>,
) -> Res<PartitionService> {
    let service = PartitionService::new(db.clone()).with_clock(clock.clone());
    for i in 0..TABLES {
        let mut registration = service.time_range_table(table(i)).period(Period::Day);
        if let Some(encoding) = encoding {
            registration = registration.encoding(encoding);
        }
        let t = registration.register().await?;
        t.update_maintenance(|m| {
            m.premake = premake;
            m.creation_mode = mode;
        })
        .await?;
    }
    let report = service.run_maintenance().await?;
    if !report.is_ok() {
        return Err(format!("maintenance failed: {report:?}").into());
    }
    Ok(service)
}

/// The verdict on ratios measured pair by pair against a goal of `≤ bound`: met in every pair, met at the
/// median with a spread narrow enough (max / min ≤ 1.5) to say so, not met in any pair, or too wide to conclude.
fn verdict(ratios: &[f64], bound: f64) -> String {
    let mut sorted = ratios.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return format!("≤ {bound}× (no pairs)");
    };
    let median = sorted[sorted.len() / 2];
    let verdict = if max <= bound {
        "met in every pair"
    } else if min > bound {
        "**not met**"
    } else if median <= bound && max / min <= 1.5 {
        "met at the median"
    } else if median > bound && max / min <= 1.5 {
        "**not met** at the median"
    } else {
        "spread too wide to conclude"
    };
    format!("≤ {bound}× ({verdict})")
}

fn summary(label: &str, ratios: &mut [f64], target: &str) {
    ratios.sort_by(|a, b| a.total_cmp(b));
    let median = ratios[ratios.len() / 2];
    println!(
        "| {label} | {:.2}× | {:.2}× | {:.2}× | {target} |",
        ratios[0],
        median,
        ratios[ratios.len() - 1]
    );
}

#[tokio::main]
async fn main() -> Res<()> {
    let url =
        std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set: run scripts/bench")?;
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let admin = Database::connect(url.as_str()).await?;
    let mut server = Server {
        url,
        admin,
        counter: std::cell::Cell::new(0),
    };
    let today = midnight(Utc::now());
    let only = std::env::var("BENCH_ONLY").ok();
    let wants = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let (premake, retention) = (
        wants("main") || wants("premake"),
        wants("main") || wants("retention"),
    );
    let mut main_figures = if premake || retention {
        Some(rounds::run(&server, runs, today, premake, retention).await?)
    } else {
        None
    };

    // --- growth ---------------------------------------------------------------------------------------
    let mut growth = vec![];
    for _ in 0..if wants("growth") { runs } else { 0 } {
        let db = server.database("growth").await?;
        db.execute_unprepared(
        "CREATE TABLE graw (id bigint NOT NULL) PARTITION BY RANGE (id); CREATE TABLE g (id bigint NOT NULL) PARTITION BY RANGE (id)",
    )
    .await?;
        let service = PartitionService::new(db.clone());
        let ours = service
            .id_range_table("g")
            .step(1000)
            .premake(1)
            .register()
            .await?;
        let mut count = 2i64; // partitions of each table so far: [0, 1000) and [1000, 2000) in both
        db.execute_unprepared(
            "CREATE TABLE graw_0 PARTITION OF graw FOR VALUES FROM (0) TO (1000); \
         CREATE TABLE graw_1 PARTITION OF graw FOR VALUES FROM (1000) TO (2000)",
        )
        .await?;
        for target in [1000i64, 10_000] {
            // Fill both tables up to `target` partitions: raw DDL, and for ours raw DDL plus the log rows.
            while count < target {
                let upto = (count + 500).min(target);
                let mut sql = String::from("BEGIN;");
                for k in count..upto {
                    let (s, e) = (k * 1000, (k + 1) * 1000);
                    sql.push_str(&format!(
                        "CREATE TABLE graw_{k} PARTITION OF graw FOR VALUES FROM ({s}) TO ({e}); \
                     CREATE TABLE g_{s}_{e} PARTITION OF g FOR VALUES FROM ({s}) TO ({e});"
                    ));
                }
                sql.push_str(&format!(
                "INSERT INTO sopp_partition_log (config_id, schema_name, partition_name, kind, int_start, int_end, is_attached, created_at) \
                 SELECT c.id, 'public', 'g_' || k * 1000 || '_' || (k + 1) * 1000, 'range', k * 1000, (k + 1) * 1000, true, now() \
                 FROM sopp_partition_config c, generate_series({count}, {upto} - 1) k WHERE c.table_name = 'g'; COMMIT;"
            ));
                db.execute_unprepared(&sql).await?;
                count = upto;
            }
            let (mut raw_t, mut ours_t) = (StdDuration::ZERO, StdDuration::ZERO);
            let per = 20;
            for _ in 0..per {
                let (s, e) = (count * 1000, (count + 1) * 1000);
                let stmt = Partition::create()
                    .table(format!("graw_{count}"))
                    .partition_of("graw")
                    .values_from_to([s], [e])
                    .build(PostgresQueryBuilder)?;
                raw_t += timed(async {
                    db.execute_unprepared(&stmt)
                        .await
                        .map(|_| ())
                        .map_err(Into::into)
                })
                .await?;
                // As in service: rows arrive in the newest partition, maintenance makes the next one ready.
                db.execute_unprepared(&format!("INSERT INTO g VALUES ({})", count * 1000 - 1))
                    .await?;
                ours_t += timed(async {
                    let created = ours.create_partition().await?;
                    if created.len() != 1 {
                        return Err(format!("created {}", created.len()).into());
                    }
                    Ok(())
                })
                .await?;
                count += 1;
            }
            growth.push((
                target,
                raw_t.as_secs_f64() * 1000.0 / per as f64,
                ours_t.as_secs_f64() * 1000.0 / per as f64,
            ));
        }
        server.drop(db).await?;
    }

    // --- online ---------------------------------------------------------------------------------------
    let mut online = vec![];
    for _ in 0..if wants("online") { runs } else { 0 } {
        let db = server.database("online").await?;
        db.execute_unprepared("CREATE TABLE w (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)").await?;
        let start = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .ok_or("date")?;
        let clock = ManualClock::new(start);
        let service = PartitionService::new(db.clone()).with_clock(clock.clone());
        let w = service
            .time_range_table("w")
            .period(Period::Hour)
            .interval(2)
            .register()
            .await?;
        w.update_maintenance(|m| {
            m.premake = 2;
            m.creation_mode = CreationMode::Attach;
            m.concurrent_detach = true;
        })
        .await?;
        service.run_maintenance().await?;
        // The same maintenance, paced to a tenth of the time (`MaintenanceOptions::duty_cycle`).
        let paced = service
            .clone()
            .with_maintenance_options(MaintenanceOptions {
                duty_cycle: 0.1,
                ..MaintenanceOptions::default()
            });
        let gentle = service
            .clone()
            .with_maintenance_options(MaintenanceOptions {
                duty_cycle: 0.05,
                ..MaintenanceOptions::default()
            });
        // Simulated hours go on across the writer's runs (retention detaches those left behind).
        let hour = std::cell::Cell::new(0);
        // One window of `window`: the writer's inserts, the time it wrote, and each insert's latency (the
        // maintenance run in progress at the end finishes after the writer stopped, outside its time).
        let writer = async |busy: Option<&PartitionService>,
                            window: StdDuration|
               -> Res<(usize, StdDuration, Vec<StdDuration>)> {
            let mut latencies = vec![];
            let began = Instant::now();
            let maintain = async {
                while let Some(service) = busy
                    && began.elapsed() < window
                {
                    hour.set(hour.get() + 1);
                    clock.set(start + Duration::hours(hour.get()));
                    let report = service.run_maintenance().await?;
                    if !report.is_ok() {
                        return Err(format!("maintenance failed: {report:?}").into());
                    }
                }
                Res::Ok(())
            };
            let write = async {
                while began.elapsed() < window {
                    let t = Instant::now();
                    db.execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "INSERT INTO w (created_at) VALUES ($1)",
                        [clock.now().into()],
                    ))
                    .await?;
                    latencies.push(t.elapsed());
                }
                Res::Ok(began.elapsed())
            };
            let (m, w) = tokio::join!(maintain, write);
            m?;
            let wrote = w?;
            Ok((latencies.len(), wrote, latencies))
        };
        // Each variant in 6 alternating pairs of 0.5 s windows, the writer alone then with maintenance, so
        // drift in the machine's speed falls on both sides alike.
        let mut measured = vec![];
        for variant in [None, Some(&service), Some(&paced), Some(&gentle)] {
            let (mut alone_n, mut alone_t, mut during_n, mut during_t) =
                (0, StdDuration::ZERO, 0, StdDuration::ZERO);
            let mut latencies = vec![];
            for _ in 0..6 {
                let (n, t, _) = writer(None, StdDuration::from_millis(500)).await?;
                alone_n += n;
                alone_t += t;
                let (n, t, mut l) = writer(variant, StdDuration::from_millis(500)).await?;
                during_n += n;
                during_t += t;
                latencies.append(&mut l);
            }
            latencies.sort();
            let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
            let rate = |n: usize, t: StdDuration| n as f64 / t.as_secs_f64();
            measured.push((rate(during_n, during_t) / rate(alone_n, alone_t), p99));
        }
        online.push(measured);
        server.drop(db).await?;
    }

    // --- keys that encode time: UUIDv7 against timestamptz, alternating which goes first ----------------
    let (mut uuid_premake, mut uuid_noop) = (vec![], vec![]);
    for run in 0..if wants("encoding") { runs } else { 0 } {
        eprintln!("encoding run {}/{runs}", run + 1);
        let clock = ManualClock::new(today + Duration::hours(1));
        let (tstz, uuid) = if run % 2 == 0 {
            let tstz = keyed_run(&mut server, &clock, false).await?;
            (tstz, keyed_run(&mut server, &clock, true).await?)
        } else {
            let uuid = keyed_run(&mut server, &clock, true).await?;
            (keyed_run(&mut server, &clock, false).await?, uuid)
        };
        eprintln!(
            "  timestamptz: premake {:.0} ms, no-op {:.1} ms; uuidv7: premake {:.0} ms, no-op {:.1} ms",
            ms(tstz.0),
            ms(tstz.1),
            ms(uuid.0),
            ms(uuid.1)
        );
        uuid_premake.push(uuid.0.as_secs_f64() / tstz.0.as_secs_f64());
        uuid_noop.push(uuid.1.as_secs_f64() / tstz.1.as_secs_f64());
    }

    // Not part of a full run (it builds 100 000 partitions): `BENCH_ONLY=scale`.
    let mut scaled = if only.as_deref() == Some("scale") {
        Some(scale::run(&server, runs, today).await?)
    } else {
        None
    };
    let mut converted = if wants("convert") {
        Some(convert::run(&mut server, runs).await?)
    } else {
        None
    };

    println!(
        "\nBenchmarks: {runs} runs, ratios min / median / max (PostgreSQL 15, this machine)\n"
    );
    let mut indexed = if wants("index") {
        Some(index::run(&mut server, runs).await?)
    } else {
        None
    };
    if let Some(figures) = indexed.as_mut() {
        index::print(figures);
        println!();
    }
    let mut archived = if wants("columnar") {
        columnar::run(&mut server, runs).await?
    } else {
        None
    };
    if let Some(figures) = archived.as_mut() {
        columnar::print(figures);
        println!();
    }
    let mut distributed = if wants("citus") {
        citus::run(runs).await?
    } else {
        None
    };
    if let Some(figures) = distributed.as_mut() {
        citus::print(figures);
        println!();
    }
    if let Some(figures) = converted.as_mut() {
        convert::print(figures);
        println!();
    }
    if wants("encoding") {
        println!("| keys that encode time | min | median | max | target |");
        println!("|---|---|---|---|---|");
        summary(
            "premake 50 × 61: uuidv7 / timestamptz",
            &mut uuid_premake,
            "≤ 1.1×",
        );
        summary(
            "no-op maintenance, 3 050 partitions: uuidv7 / timestamptz",
            &mut uuid_noop,
            "≤ 1.1×",
        );
        println!();
    }
    if let Some(figures) = scaled.as_mut() {
        scale::print(figures);
        println!();
    }
    if let Some(figures) = main_figures.as_mut() {
        rounds::print(figures, runs);
    }
    for (n, raw, ours) in &growth {
        println!(
            "growth at {n} partitions: raw {raw:.2} ms, ours {ours:.2} ms per created partition: {:.2}×",
            ours / raw
        );
    }
    if !growth.is_empty() {
        println!("\n| growth: ours / raw per created partition | min | median | max | target |");
        println!("|---|---|---|---|---|");
        for (n, target) in [(1000, "reported"), (10_000, "≤ 1.1×")] {
            let mut ratios: Vec<f64> = growth
                .iter()
                .filter(|(count, _, _)| *count == n)
                .map(|(_, raw, ours)| ours / raw)
                .collect();
            summary(&format!("at {n} partitions"), &mut ratios, target);
        }
        let mut rise: Vec<f64> = growth
            .chunks(2)
            .filter_map(|pair| match pair {
                [(_, raw1, _), (_, raw10, _)] => Some(raw10 / raw1),
                _ => None,
            })
            .collect();
        summary(
            "raw DDL's own cost, 10 000 vs 1 000 partitions",
            &mut rise,
            "reference",
        );
    }
    let labels = [
        "no maintenance (noise)",
        "back to back",
        "duty_cycle 0.1",
        "duty_cycle 0.05",
    ];
    if !online.is_empty() {
        println!(
            "\n| online: writer throughput during maintenance / alone | min | median | max | writer p99 (max) |"
        );
        println!("|---|---|---|---|---|");
        for (k, label) in labels.iter().enumerate() {
            let mut ratios: Vec<f64> = online.iter().map(|run| run[k].0).collect();
            let p99 = online.iter().map(|run| run[k].1).max().unwrap_or_default();
            ratios.sort_by(|a, b| a.total_cmp(b));
            println!(
                "| {label} | {:.0} % | {:.0} % | {:.0} % | {:.1} ms |",
                ratios[0] * 100.0,
                ratios[ratios.len() / 2] * 100.0,
                ratios[ratios.len() - 1] * 100.0,
                p99.as_secs_f64() * 1000.0
            );
        }
    }
    for run in &online {
        let parts: Vec<String> = run
            .iter()
            .zip(labels)
            .map(|((ratio, p99), label)| {
                format!(
                    "{label}: {:.0} % (p99 {:.1} ms)",
                    ratio * 100.0,
                    p99.as_secs_f64() * 1000.0
                )
            })
            .collect();
        println!(
            "online: writer throughput during maintenance, of alone: {}",
            parts.join("; ")
        );
    }
    Ok(())
}
