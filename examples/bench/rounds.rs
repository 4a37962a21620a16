//! The main scenarios (premake, no-op maintenance, retention), each contender against raw DDL in rounds: in
//! every round each contender runs once in a database of its own, after the server has settled, in an order
//! that turns with the round, and its time is divided by the raw DDL's of the same round.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use sea_orm_pg_partitioning::prelude::*;

use super::{
    DAYS, PARTMAN_MAINTENANCE, Res, Server, TABLES, make_tables, ms, ours_create, partman_create,
    raw_premake, summary, table, timed, timed_sql, verdict,
};

/// A contender's run: its measured time (set-up and clean-up are not measured).
type Run<'a> = Pin<Box<dyn Future<Output = Res<StdDuration>> + 'a>>;

/// Runs `contenders` one after another, starting with the one at `round % n`, and returns their times in the
/// order given.
async fn round(round: usize, contenders: Vec<Run<'_>>) -> Res<Vec<StdDuration>> {
    let n = contenders.len();
    let mut slots: Vec<Option<Run<'_>>> = contenders.into_iter().map(Some).collect();
    let mut times = vec![StdDuration::ZERO; n];
    for k in 0..n {
        let i = (k + round) % n;
        let run = slots[i].take().ok_or("contender run twice")?;
        times[i] = run.await?;
    }
    Ok(times)
}

/// Pairwise ratios and absolute times of the main scenarios, one entry per round (per pair for the no-op).
#[derive(Default)]
pub struct Figures {
    pub premake: [Vec<f64>; 3],
    pub premake_raw_ms: Vec<f64>,
    pub noop: Vec<f64>,
    pub noop_ms: Vec<(f64, f64)>,
    pub catalog_ms: Vec<f64>,
    pub retention: [Vec<f64>; 3],
    pub retention_raw_ms: Vec<f64>,
}

/// How many no-op pairs run in each round (they take milliseconds).
const NOOP_PAIRS: usize = 5;

/// `rounds` rounds of premake (raw, pg_partman, ours direct, ours low-lock), the no-op pairs on the tables two
/// of them made, and retention (raw, pg_partman, ours, ours two tables at once).
/// `premake` and `retention` say which of the two parts run.
pub async fn run(
    server: &Server,
    rounds: usize,
    today: DateTime<Utc>,
    premake: bool,
    retention: bool,
) -> Res<Figures> {
    let mut figures = Figures::default();
    let profile = std::env::var("BENCH_STATEMENTS").is_ok();
    for r in 0..rounds {
        eprintln!("round {}/{rounds}", r + 1);
        if premake {
            premake_round(server, r, today, profile, &mut figures).await?;
        }
        if retention {
            retention_round(server, r, today, profile, &mut figures).await?;
        }
    }
    Ok(figures)
}

/// One round of premake, then the no-op pairs.
async fn premake_round(
    server: &Server,
    r: usize,
    today: DateTime<Utc>,
    profile: bool,
    figures: &mut Figures,
) -> Res<()> {
    {
        // --- premake ---------------------------------------------------------------------------------
        let partman_db: RefCell<Option<DatabaseConnection>> = RefCell::new(None);
        let ours_service: RefCell<Option<(DatabaseConnection, PartitionService)>> =
            RefCell::new(None);
        let catalog = std::cell::Cell::new(0.0);
        let clock = ManualClock::new(Utc::now());
        let raw = Box::pin(async {
            let db = server.database("raw").await?;
            make_tables(&db).await?;
            let sql = raw_premake(today)?;
            server.settle().await?;
            let took = timed_sql(&db, &sql).await?;
            let listing = Instant::now();
            db.query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid",
            ))
            .await?;
            catalog.set(ms(listing.elapsed()));
            server.drop(db).await?;
            Ok(took)
        }) as Run<'_>;
        let partman = Box::pin(async {
            let db = server.database("partman").await?;
            make_tables(&db).await?;
            server.settle().await?;
            let took = timed(partman_create(&db, today, 60)).await?;
            *partman_db.borrow_mut() = Some(db);
            Ok(took)
        }) as Run<'_>;
        let direct = Box::pin(async {
            let db = server.database("ours").await?;
            make_tables(&db).await?;
            server.settle().await?;
            let mut service = None;
            let took = timed(async {
                service = Some(ours_create(&db, &clock, 60, CreationMode::Direct).await?);
                Ok(())
            })
            .await?;
            *ours_service.borrow_mut() = Some((db, service.ok_or("no service")?));
            Ok(took)
        }) as Run<'_>;
        let attach = Box::pin(async {
            let db = server.database("attach").await?;
            make_tables(&db).await?;
            server.settle().await?;
            if profile {
                reset_statements(server).await;
            }
            let took = timed(async {
                ours_create(&db, &clock, 60, CreationMode::Attach)
                    .await
                    .map(|_| ())
            })
            .await?;
            if profile {
                print_statements(server, &db, "low-lock premake").await?;
            }
            server.drop(db).await?;
            Ok(took)
        }) as Run<'_>;
        let times = round(r, vec![raw, partman, direct, attach]).await?;
        let raw = times[0].as_secs_f64();
        for (k, t) in times[1..].iter().enumerate() {
            figures.premake[k].push(t.as_secs_f64() / raw);
        }
        figures.premake_raw_ms.push(ms(times[0]));
        figures.catalog_ms.push(catalog.get());
        eprintln!(
            "  premake: raw {:.0} ms, pg_partman {:.0} ms, ours direct {:.0} ms, ours low-lock {:.0} ms",
            ms(times[0]),
            ms(times[1]),
            ms(times[2]),
            ms(times[3])
        );

        // --- no-op maintenance, alternating pair by pair ---------------------------------------------
        let partman_db = partman_db.take().ok_or("no pg_partman database")?;
        let (ours_db, service) = ours_service.take().ok_or("no service")?;
        for p in 0..NOOP_PAIRS {
            let partman = Box::pin(async {
                server.settle().await?;
                timed_sql(&partman_db, PARTMAN_MAINTENANCE).await
            }) as Run<'_>;
            let ours = Box::pin(async {
                server.settle().await?;
                timed(async {
                    let report = service.run_maintenance().await?;
                    if report.created() + report.detached() > 0 {
                        return Err("the no-op run did something".into());
                    }
                    Ok(())
                })
                .await
            }) as Run<'_>;
            let times = round(r + p, vec![partman, ours]).await?;
            figures
                .noop
                .push(times[1].as_secs_f64() / times[0].as_secs_f64());
            figures.noop_ms.push((ms(times[1]), ms(times[0])));
        }
        server.drop(partman_db).await?;
        server.drop(ours_db).await?;
    }
    Ok(())
}

/// One round of retention.
async fn retention_round(
    server: &Server,
    r: usize,
    today: DateTime<Utc>,
    profile: bool,
    figures: &mut Figures,
) -> Res<()> {
    {
        let past = today - Duration::days(30);
        let threshold = today - Duration::days(7);
        let mut expired = 0;
        let mut detach = String::from("BEGIN;");
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
        let raw = Box::pin(async {
            let db = server.database("raw_ret").await?;
            make_tables(&db).await?;
            db.execute_unprepared(&raw_premake(past)?).await?;
            server.settle().await?;
            let took = timed_sql(&db, &detach).await?;
            server.drop(db).await?;
            Ok(took)
        }) as Run<'_>;
        let partman = Box::pin(async {
            let db = server.database("partman_ret").await?;
            make_tables(&db).await?;
            partman_create(&db, past, 30).await?;
            db.execute_unprepared(
                "UPDATE partman.part_config SET retention = '7 days', retention_keep_table = true",
            )
            .await?;
            server.settle().await?;
            let took = timed_sql(&db, PARTMAN_MAINTENANCE).await?;
            server.drop(db).await?;
            Ok(took)
        }) as Run<'_>;
        let ours = Box::pin(ours_retention(server, past, None, expired, profile)) as Run<'_>;
        let sequential = Box::pin(ours_retention(server, past, Some(1), expired, false)) as Run<'_>;
        let times = round(r, vec![raw, partman, ours, sequential]).await?;
        let raw = times[0].as_secs_f64();
        for (k, t) in times[1..].iter().enumerate() {
            figures.retention[k].push(t.as_secs_f64() / raw);
        }
        figures.retention_raw_ms.push(ms(times[0]));
        eprintln!(
            "  retention: raw {:.0} ms, pg_partman {:.0} ms, ours (default) {:.0} ms, ours one table at a time {:.0} ms",
            ms(times[0]),
            ms(times[1]),
            ms(times[2]),
            ms(times[3])
        );
    }
    Ok(())
}

/// Retention by our `run_maintenance()` on a fresh database, with the default options but `parallel_tables`
/// when given: its duration; an error unless it detached `expired` partitions.
async fn ours_retention(
    server: &Server,
    past: DateTime<Utc>,
    parallel_tables: Option<usize>,
    expired: usize,
    profile: bool,
) -> Res<StdDuration> {
    let db = server.database("ours_ret").await?;
    make_tables(&db).await?;
    let clock = ManualClock::new(past + Duration::hours(1));
    let service = ours_create(&db, &clock, 60, CreationMode::Direct)
        .await?
        .with_maintenance_options(MaintenanceOptions {
            parallel_tables: parallel_tables
                .unwrap_or(MaintenanceOptions::default().parallel_tables),
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
    if profile {
        reset_statements(server).await;
    }
    let took = timed(async {
        let report = service.run_maintenance().await?;
        detached = report.detached();
        if !report.is_ok() {
            return Err(format!("{report:?}").into());
        }
        Ok(())
    })
    .await?;
    if detached != expired {
        return Err(format!(
            "ours detached {detached} (parallel_tables = {parallel_tables:?}), raw {expired}"
        )
        .into());
    }
    if profile {
        print_statements(server, &db, "retention").await?;
    }
    server.drop(db).await?;
    Ok(took)
}

/// Forgets what `pg_stat_statements` gathered so far, when the server has it.
pub async fn reset_statements(server: &Server) {
    let _ = server
        .admin
        .execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await;
    let _ = server
        .admin
        .execute_unprepared("SELECT pg_stat_statements_reset()")
        .await;
}

/// Prints, from `pg_stat_statements` (`BENCH_STATEMENTS=1`), where the server's time went in `db` since the
/// last reset: calls and total milliseconds per statement, the largest first.
pub async fn print_statements(server: &Server, db: &DatabaseConnection, label: &str) -> Res<()> {
    let name = super::database_name(db).await?;
    let rows = server
        .admin
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            // Statements that differ only in their quoted names (one DETACH per partition) as one, and all
            // of them in the last row.
            "WITH s AS (SELECT s.calls, s.total_exec_time AS t, \
                               left(regexp_replace(regexp_replace(s.query, '\"[^\"]*\"', '\"…\"', 'g'), \
                                                   '\\s+', ' ', 'g'), 110) AS q \
                        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1), \
                  g AS (SELECT sum(calls)::int8 AS calls, sum(t)::float8 AS t, q FROM s GROUP BY q) \
             (SELECT * FROM g ORDER BY t DESC LIMIT 12) \
             UNION ALL SELECT sum(calls)::int8, sum(t)::float8, 'all statements' FROM g",
            [name.into()],
        ))
        .await;
    let Ok(rows) = rows else {
        eprintln!("  {label}: pg_stat_statements is not loaded (scripts/bench loads it)");
        return Ok(());
    };
    let (mut calls, mut total) = (0i64, 0.0f64);
    let mut lines = vec![];
    for row in &rows {
        let c: i64 = row.try_get_by_index::<Option<i64>>(0)?.unwrap_or(0);
        let t: f64 = row.try_get_by_index::<Option<f64>>(1)?.unwrap_or(0.0);
        let q: String = row.try_get_by_index(2)?;
        if q == "all statements" {
            (calls, total) = (c, t);
        }
        lines.push(format!("    {c:>6} calls {t:>9.1} ms  {q}"));
    }
    eprintln!(
        "  {label}: server time by statement (the 12 costliest and all: {calls} calls, {total:.0} ms)"
    );
    for line in lines {
        eprintln!("{line}");
    }
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Prints the main scenarios' table and the absolute times they are relative to.
pub fn print(figures: &mut Figures, rounds: usize) {
    println!(
        "| main scenarios ({rounds} rounds; no-op: {} pairs) | min | median | max | target |",
        rounds * NOOP_PAIRS
    );
    println!("|---|---|---|---|---|");
    if !figures.premake_raw_ms.is_empty() {
        let [partman, direct, attach] = &mut figures.premake;
        let (direct_goal, attach_goal) = (verdict(direct, 1.1), verdict(attach, 1.5));
        summary(
            "premake 50 × 61: pg_partman / raw DDL",
            partman,
            "reference",
        );
        summary(
            "premake 50 × 61: ours (direct) / raw DDL",
            direct,
            &direct_goal,
        );
        summary(
            "premake 50 × 61: ours (low-lock attach) / raw DDL",
            attach,
            &attach_goal,
        );
        let noop_goal = verdict(&figures.noop, 0.15);
        summary(
            "no-op maintenance, 3 050 partitions: ours / pg_partman",
            &mut figures.noop,
            &noop_goal,
        );
    }
    if !figures.retention_raw_ms.is_empty() {
        let [partman, ours, sequential] = &mut figures.retention;
        let (ours_goal, sequential_goal) = (verdict(ours, 1.2), verdict(sequential, 1.2));
        summary(
            "retention, 1 150 detaches: pg_partman / raw DETACH",
            partman,
            "reference",
        );
        summary(
            "retention, 1 150 detaches: ours (default: two tables at once) / raw DETACH",
            ours,
            &ours_goal,
        );
        summary(
            "retention, 1 150 detaches: ours, `parallel_tables = 1` / raw DETACH",
            sequential,
            &sequential_goal,
        );
    }
    let ours_noop: Vec<f64> = figures.noop_ms.iter().map(|(o, _)| *o).collect();
    let partman_noop: Vec<f64> = figures.noop_ms.iter().map(|(_, p)| *p).collect();
    println!(
        "\nmedians: raw premake {:.0} ms (range {:.0}–{:.0}), raw retention {:.0} ms; no-op ours {:.1} ms, \
         pg_partman {:.1} ms; one catalog query listing all partitions {:.1} ms",
        median(&figures.premake_raw_ms),
        figures
            .premake_raw_ms
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min),
        figures.premake_raw_ms.iter().copied().fold(0.0, f64::max),
        median(&figures.retention_raw_ms),
        median(&ours_noop),
        median(&partman_noop),
        median(&figures.catalog_ms)
    );
}
