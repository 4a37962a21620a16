//! Benchmarks against raw DDL and pg_partman, in one run on the same server.
//!
//! ```text
//! scripts/bench            # installs postgresql-15-partman when missing (as root), then runs this in release
//! ```
//!
//! `BENCH_ONLY=main|growth|online|encoding|convert|index|columnar|citus` runs one group of scenarios.
//!
//! Method. Every scenario runs `RUNS` times (default 5; `BENCH_RUNS` overrides). Each run of each tool uses a
//! database of its own, created for it, so no tool pays for another's catalog. The figures are ratios of
//! wall-clock times measured in the same run, reported as min / median / max over the runs:
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
//! - retention is also run with `parallel_tables = 2` (two tables maintained at once).
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
    counter: usize,
}

impl Server {
    /// A new empty database with the crate's tables and pg_partman.
    async fn database(&mut self, label: &str) -> Res<DatabaseConnection> {
        self.counter += 1;
        let name = format!("sopp_bench_{label}_{}", self.counter);
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
        let name: String = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT current_database()::text",
            ))
            .await?
            .ok_or("no database")?
            .try_get_by_index(0)?;
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

/// Retention by our `run_maintenance()` on a fresh database: its duration and how many partitions it detached.
async fn ours_retention(
    server: &mut Server,
    past: DateTime<Utc>,
    parallel_tables: usize,
) -> Res<(StdDuration, usize)> {
    let db = server.database("ours_ret").await?;
    make_tables(&db).await?;
    let clock = ManualClock::new(past + Duration::hours(1));
    let service = ours_create(&db, &clock, 60, CreationMode::Direct)
        .await?
        .with_maintenance_options(MaintenanceOptions {
            parallel_tables,
            ..MaintenanceOptions::default()
        });
    for i in 0..TABLES {
        let t = service.time_range_of(table(i)).await?;
        t.update_maintenance(|m| m.premake = 30).await?;
        t.update_config(|s| s.interval = Some(7)).await?;
    }
    clock.set(Utc::now());
    let mut detached = 0;
    server.settle().await?;
    let took = timed(async {
        let report = service.run_maintenance().await?;
        detached = report.detached();
        if !report.is_ok() {
            return Err(format!("{report:?}").into());
        }
        Ok(())
    })
    .await?;
    server.drop(db).await?;
    Ok((took, detached))
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
        counter: 0,
    };
    let today = midnight(Utc::now());
    let (
        mut partman_r,
        mut direct_r,
        mut attach_r,
        mut noop_r,
        mut noop_abs,
        mut retention_partman,
        mut retention_ours,
        mut retention_parallel,
    ) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    let mut catalog_ms = vec![];

    let only = std::env::var("BENCH_ONLY").ok();
    let wants = |name: &str| only.as_deref().is_none_or(|o| o == name);
    for run in 0..if wants("main") { runs } else { 0 } {
        eprintln!("run {}/{runs}", run + 1);
        // --- premake ---------------------------------------------------------------------------------
        let raw_db = server.database("raw").await?;
        make_tables(&raw_db).await?;
        let sql = raw_premake(today)?;
        server.settle().await?;
        let raw = timed(async {
            raw_db
                .execute_unprepared(&sql)
                .await
                .map(|_| ())
                .map_err(Into::into)
        })
        .await?;
        let listing = Instant::now();
        raw_db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid",
            ))
            .await?;
        catalog_ms.push(listing.elapsed().as_secs_f64() * 1000.0);
        server.drop(raw_db).await?;

        let partman_db = server.database("partman").await?;
        make_tables(&partman_db).await?;
        server.settle().await?;
        let partman = timed(partman_create(&partman_db, today, 60)).await?;
        partman_r.push(partman.as_secs_f64() / raw.as_secs_f64());

        let attach_db = server.database("attach").await?;
        make_tables(&attach_db).await?;
        let clock = ManualClock::new(Utc::now());
        server.settle().await?;
        let attach = timed(async {
            ours_create(&attach_db, &clock, 60, CreationMode::Attach)
                .await
                .map(|_| ())
        })
        .await?;
        attach_r.push(attach.as_secs_f64() / raw.as_secs_f64());
        server.drop(attach_db).await?;

        let ours_db = server.database("ours").await?;
        make_tables(&ours_db).await?;
        let mut service = None;
        server.settle().await?;
        let direct = timed(async {
            service = Some(ours_create(&ours_db, &clock, 60, CreationMode::Direct).await?);
            Ok(())
        })
        .await?;
        direct_r.push(direct.as_secs_f64() / raw.as_secs_f64());
        eprintln!(
            "  premake: raw {:.0} ms, pg_partman {:.0} ms, ours direct {:.0} ms, ours low-lock {:.0} ms",
            ms(raw),
            ms(partman),
            ms(direct),
            ms(attach)
        );
        let service = service.ok_or("no service")?;

        // --- no-op maintenance -------------------------------------------------------------------------
        server.settle().await?;
        let partman_noop = timed(async {
            partman_db
                .execute_unprepared(
                    "SELECT partman.run_maintenance(p_analyze := false, p_jobmon := false)",
                )
                .await?;
            Ok(())
        })
        .await?;
        server.settle().await?;
        let ours_noop = timed(async {
            let report = service.run_maintenance().await?;
            if report.created() + report.detached() > 0 {
                return Err("the no-op run did something".into());
            }
            Ok(())
        })
        .await?;
        noop_r.push(ours_noop.as_secs_f64() / partman_noop.as_secs_f64());
        noop_abs.push((
            ours_noop.as_secs_f64() * 1000.0,
            partman_noop.as_secs_f64() * 1000.0,
        ));
        server.drop(partman_db).await?;
        server.drop(ours_db).await?;

        // --- retention ---------------------------------------------------------------------------------
        let past = today - Duration::days(30);
        let threshold = today - Duration::days(7);
        let raw_db = server.database("raw_ret").await?;
        make_tables(&raw_db).await?;
        raw_db.execute_unprepared(&raw_premake(past)?).await?;
        let mut detach = String::from("BEGIN;");
        let mut expired = 0;
        for i in 0..TABLES {
            for d in 0..DAYS {
                let start = past + Duration::days(d);
                if start + Duration::days(1) <= threshold {
                    let stmt = Partition::detach()
                        .table(table(i))
                        .partition(format!("{}_{}", table(i), start.format("%Y%m%d")))
                        .build(PostgresQueryBuilder)?;
                    detach.push_str(&stmt);
                    detach.push(';');
                    expired += 1;
                }
            }
        }
        detach.push_str("COMMIT;");
        server.settle().await?;
        let raw = timed(async {
            raw_db
                .execute_unprepared(&detach)
                .await
                .map(|_| ())
                .map_err(Into::into)
        })
        .await?;
        server.drop(raw_db).await?;

        let partman_db = server.database("partman_ret").await?;
        make_tables(&partman_db).await?;
        partman_create(&partman_db, past, 30).await?;
        partman_db
            .execute_unprepared(
                "UPDATE partman.part_config SET retention = '7 days', retention_keep_table = true",
            )
            .await?;
        server.settle().await?;
        let partman = timed(async {
            partman_db
                .execute_unprepared(
                    "SELECT partman.run_maintenance(p_analyze := false, p_jobmon := false)",
                )
                .await?;
            Ok(())
        })
        .await?;
        server.drop(partman_db).await?;

        let (ours, detached) = ours_retention(&mut server, past, 1).await?;
        let (parallel, parallel_detached) = ours_retention(&mut server, past, 2).await?;
        if detached != expired || parallel_detached != expired {
            return Err(format!(
                "ours detached {detached} and {parallel_detached} (two tables at once), raw {expired}"
            )
            .into());
        }
        eprintln!(
            "  retention: raw {:.0} ms, pg_partman {:.0} ms, ours {:.0} ms, ours two tables at once {:.0} ms",
            ms(raw),
            ms(partman),
            ms(ours),
            ms(parallel)
        );
        retention_partman.push(partman.as_secs_f64() / raw.as_secs_f64());
        retention_ours.push(ours.as_secs_f64() / raw.as_secs_f64());
        retention_parallel.push(parallel.as_secs_f64() / raw.as_secs_f64());
    }

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
    if wants("main") {
        println!("| scenario | min | median | max | target |");
        println!("|---|---|---|---|---|");
        summary(
            "premake 50 × 61: pg_partman / raw DDL",
            &mut partman_r,
            "reference (1.38× measured before)",
        );
        summary(
            "premake 50 × 61: ours (direct) / raw DDL",
            &mut direct_r,
            "≤ 1.1×",
        );
        summary(
            "premake 50 × 61: ours (low-lock attach) / raw DDL",
            &mut attach_r,
            "reported",
        );
        summary(
            "no-op maintenance, 3 050 partitions: ours / pg_partman",
            &mut noop_r,
            "≤ 0.15×",
        );
        summary(
            "retention, 1 150 detaches: pg_partman / raw DETACH",
            &mut retention_partman,
            "reference (6× measured before)",
        );
        summary(
            "retention, 1 150 detaches: ours / raw DETACH",
            &mut retention_ours,
            "≤ 1.2×",
        );
        summary(
            "retention, 1 150 detaches: ours, two tables at once / raw DETACH",
            &mut retention_parallel,
            "reported",
        );
        noop_abs.sort_by(|a, b| a.0.total_cmp(&b.0));
        catalog_ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "\nno-op maintenance, median: ours {:.1} ms (3 queries, whatever the number of partitions), pg_partman {:.1} ms; \
         one catalog query listing all partitions: {:.1} ms",
            noop_abs[noop_abs.len() / 2].0,
            noop_abs[noop_abs.len() / 2].1,
            catalog_ms[catalog_ms.len() / 2]
        );
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
