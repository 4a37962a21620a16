//! Scale: many registered tables of 100 daily partitions each, built with raw DDL, then adopted by us and
//! given to pg_partman (`create_parent` keeps the partitions it finds under its names); measured at 10, 100
//! and 1 000 tables (`BENCH_SCALE_TABLES` sets the largest).

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use sea_orm_pg_partitioning::prelude::*;

use super::{Res, Server, ms, summary, verdict};

/// Partitions per table: 70 days back, today, and 29 ahead.
const PARTITIONS: i64 = 100;
const PAST: i64 = 70;

/// What one measured operation cost: wall time, statements the server ran for it, and the process's peak
/// resident memory while it ran.
#[derive(Clone, Copy, Default)]
pub struct Cost {
    pub wall: StdDuration,
    pub queries: Option<i64>,
    pub peak_mb: Option<f64>,
}

/// The figures at one number of tables.
pub struct Size {
    pub tables: usize,
    pub partitions: i64,
    pub status: Vec<Cost>,
    pub plan: Vec<Cost>,
    pub noop: Vec<Cost>,
    pub partman_noop: Vec<StdDuration>,
}

/// All figures: per size, and at the largest, one create per table against raw DDL.
pub struct Figures {
    pub sizes: Vec<Size>,
    pub creates: Vec<(StdDuration, StdDuration, Option<i64>)>,
}

fn table(i: usize) -> String {
    format!("s{i:04}")
}

/// Resets the process's peak resident memory to what it holds now (Linux: `clear_refs`).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak resident memory since the last [`reset_peak`], in MB.
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Statements the server ran in `database` since the last reset of `pg_stat_statements` (`None` without it).
async fn statements(server: &Server, database: &str) -> Option<i64> {
    let row = server
        .admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT coalesce(sum(s.calls), 0)::int8 FROM pg_stat_statements s \
             JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
            [database.into()],
        ))
        .await
        .ok()??;
    row.try_get_by_index(0).ok()
}

/// Prints the statements that took the most server time in `database` since the last reset.
async fn print_top(server: &Server, database: &str) {
    let Ok(rows) = server
        .admin
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT s.calls, s.total_exec_time, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 100) \
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 \
             ORDER BY s.total_exec_time DESC LIMIT 6",
            [database.into()],
        ))
        .await
    else {
        return;
    };
    for row in rows {
        let (Ok(calls), Ok(time), Ok(query)) = (
            row.try_get_by_index::<i64>(0),
            row.try_get_by_index::<f64>(1),
            row.try_get_by_index::<String>(2),
        ) else {
            continue;
        };
        eprintln!("    {calls:>6} calls {time:>9.1} ms  {query}");
    }
}

/// Runs `op` after the server settled, counting its statements and the process's peak memory.
async fn measured<F, T>(server: &Server, database: &str, op: F) -> Res<(Cost, T)>
where
    F: std::future::Future<Output = Res<T>>,
{
    server.settle().await?;
    super::rounds::reset_statements(server).await;
    let peak = reset_peak();
    let began = Instant::now();
    let out = op.await?;
    let wall = began.elapsed();
    let peak_mb = if peak { peak_mb() } else { None };
    let queries = statements(server, database).await;
    if std::env::var("BENCH_STATEMENTS").is_ok() {
        print_top(server, database).await;
    }
    Ok((
        Cost {
            wall,
            queries,
            peak_mb,
        },
        out,
    ))
}

/// Raw DDL for tables `from..to`, each with its partitions named as pg_partman names them, in transactions
/// of ten tables.
async fn build(db: &DatabaseConnection, from: usize, to: usize, first: DateTime<Utc>) -> Res<()> {
    for chunk in (from..to).collect::<Vec<_>>().chunks(10) {
        let mut sql = String::from("BEGIN;");
        for &i in chunk {
            let t = table(i);
            sql.push_str(&format!(
                "CREATE TABLE {t} (id bigint NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);"
            ));
            for d in 0..PARTITIONS {
                let start = first + Duration::days(d);
                let stmt = Partition::create()
                    .table(format!("{t}_p{}", start.format("%Y_%m_%d")))
                    .partition_of(t.clone())
                    .values_from_to([start], [start + Duration::days(1)])
                    .build(PostgresQueryBuilder)?;
                sql.push_str(&stmt);
                sql.push(';');
            }
        }
        sql.push_str("COMMIT;");
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// The tables `from..to` given to pg_partman (finding all its partitions there, it adds no DEFAULT) and
/// adopted by us.
async fn manage(
    db: &DatabaseConnection,
    service: &PartitionService,
    from: usize,
    to: usize,
    first: DateTime<Utc>,
) -> Res<()> {
    for i in from..to {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT partman.create_parent($1, 'created_at', 'native', 'daily', p_premake := 20, p_start_partition := $2, p_jobmon := false)",
            [format!("public.{}", table(i)).into(), first.format("%Y-%m-%d").to_string().into()],
        ))
        .await?;
        let (t, adoption) = service
            .time_range_table(table(i))
            .period(Period::Day)
            .adopt()
            .await?;
        if adoption.adopted.len() < PARTITIONS as usize {
            return Err(format!(
                "{}: adopted {} partitions, misfits {:?}",
                table(i),
                adoption.adopted.len(),
                adoption.misfits
            )
            .into());
        }
        t.update_maintenance(|m| m.premake = 20).await?;
    }
    Ok(())
}

/// The sizes to measure: 10, 100 and 1 000 tables, up to `largest` (which is measured too).
fn sizes(largest: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = [10, 100, 1000]
        .into_iter()
        .filter(|&n| n < largest)
        .collect();
    sizes.push(largest);
    sizes
}

/// Builds the tables size by size and measures each: `pairs` times status, plan, and the no-op run against
/// pg_partman's, alternating; at the largest, `pairs` runs that each create one partition per table against
/// the same creates in raw DDL.
pub async fn run(server: &Server, pairs: usize, today: DateTime<Utc>) -> Res<Figures> {
    let largest = std::env::var("BENCH_SCALE_TABLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let db = server.database("scale").await?;
    let name = super::database_name(&db).await?;
    let first = today - Duration::days(PAST);
    let clock = ManualClock::new(today + Duration::hours(1));
    let service = PartitionService::new(db.clone()).with_clock(clock.clone());
    let mut built = 0;
    let mut figures = Figures {
        sizes: vec![],
        creates: vec![],
    };
    for n in sizes(largest) {
        let began = Instant::now();
        build(&db, built, n, first).await?;
        manage(&db, &service, built, n, first).await?;
        db.execute_unprepared("VACUUM ANALYZE").await?;
        eprintln!(
            "scale: {n} tables × {PARTITIONS} partitions built and adopted in {:.0} s",
            began.elapsed().as_secs_f64()
        );
        built = n;
        let partitions: i64 = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*) FROM pg_inherits",
            ))
            .await?
            .map(|r| r.try_get_by_index(0))
            .transpose()?
            .unwrap_or(0);
        let mut size = Size {
            tables: n,
            partitions,
            status: vec![],
            plan: vec![],
            noop: vec![],
            partman_noop: vec![],
        };
        for p in 0..pairs {
            let (cost, status) =
                measured(server, &name, async { Ok(service.status().await?) }).await?;
            if status.tables.len() != n {
                return Err(format!("status has {} tables", status.tables.len()).into());
            }
            drop(status);
            size.status.push(cost);
            let (cost, plan) = measured(server, &name, async { Ok(service.plan().await?) }).await?;
            if !plan.steps.is_empty() {
                return Err(format!("the plan has {} steps", plan.steps.len()).into());
            }
            size.plan.push(cost);
            let ours = async {
                measured(server, &name, async {
                    let report = service.run_maintenance().await?;
                    if report.created() + report.detached() > 0 || !report.is_ok() {
                        return Err(format!("the no-op run did something: {report:?}").into());
                    }
                    Ok(())
                })
                .await
            };
            let partman = async {
                server.settle().await?;
                let began = Instant::now();
                db.execute_unprepared(super::PARTMAN_MAINTENANCE).await?;
                Res::Ok(began.elapsed())
            };
            let (ours, partman) = if p % 2 == 0 {
                let ours = ours.await?.0;
                (ours, partman.await?)
            } else {
                let partman = partman.await?;
                (ours.await?.0, partman)
            };
            size.noop.push(ours);
            size.partman_noop.push(partman);
        }
        eprintln!(
            "  status {:.0} ms, plan {:.0} ms, no-op {:.0} ms, pg_partman no-op {:.0} ms",
            ms(size.status[0].wall),
            ms(size.plan[0].wall),
            ms(size.noop[0].wall),
            ms(size.partman_noop[0])
        );
        figures.sizes.push(size);
    }
    // One partition due on every table: the clock a day on at a time; raw DDL makes the same partitions
    // first (and drops them again, unmeasured).
    for p in 0..pairs {
        let day = today + Duration::days(PARTITIONS - PAST + p as i64);
        let mut raw_sql = String::from("BEGIN;");
        for i in 0..largest {
            let stmt = Partition::create()
                .table(format!("{}_raw", table(i)))
                .partition_of(table(i))
                .values_from_to([day], [day + Duration::days(1)])
                .build(PostgresQueryBuilder)?;
            raw_sql.push_str(&stmt);
            raw_sql.push(';');
        }
        raw_sql.push_str("COMMIT;");
        let drop_sql: String = (0..largest)
            .map(|i| format!("DROP TABLE {}_raw;", table(i)))
            .collect();
        let (raw, ()) = measured(server, &name, async {
            db.execute_unprepared(&raw_sql).await?;
            Ok(())
        })
        .await?;
        db.execute_unprepared(&drop_sql).await?;
        clock.set(day - Duration::days(20) + Duration::hours(1));
        let (ours, ()) = measured(server, &name, async {
            let report = service.run_maintenance().await?;
            if report.created() != largest || !report.is_ok() {
                return Err(format!(
                    "created {} of {largest}: {:?}",
                    report.created(),
                    report.errors().collect::<Vec<_>>()
                )
                .into());
            }
            Ok(())
        })
        .await?;
        eprintln!(
            "  {largest} creates: raw {:.0} ms, ours {:.0} ms ({} statements)",
            ms(raw.wall),
            ms(ours.wall),
            ours.queries.map_or("?".to_owned(), |q| q.to_string())
        );
        figures.creates.push((raw.wall, ours.wall, ours.queries));
    }
    if std::env::var("BENCH_KEEP").is_ok() {
        eprintln!("scale: database {name} kept (BENCH_KEEP)");
    } else {
        server.drop(db).await?;
    }
    Ok(figures)
}

fn median_of<T: Copy, F: Fn(&T) -> f64>(values: &[T], f: F) -> f64 {
    let mut v: Vec<f64> = values.iter().map(f).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn max_of<T: Copy, F: Fn(&T) -> f64>(values: &[T], f: F) -> f64 {
    values.iter().map(f).fold(f64::NAN, f64::max)
}

fn queries(costs: &[Cost]) -> String {
    let counts: Vec<i64> = costs.iter().filter_map(|c| c.queries).collect();
    match (counts.iter().min(), counts.iter().max()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "n/a".to_owned(),
    }
}

/// Prints the growth table and the ratios at the largest size.
pub fn print(figures: &mut Figures) {
    println!(
        "| scale: tables × 100 partitions | status (median / max) | plan (median / max) | queries status / plan / no-op | peak memory | no-op ours | no-op pg_partman |"
    );
    println!("|---|---|---|---|---|---|---|");
    for size in &figures.sizes {
        let wall = |c: &Cost| ms(c.wall);
        let peak = |c: &Cost| c.peak_mb.unwrap_or(f64::NAN);
        let peak_all = max_of(&size.status, peak).max(max_of(&size.plan, peak));
        println!(
            "| {} ({} partitions) | {:.0} / {:.0} ms | {:.0} / {:.0} ms | {} / {} / {} | {:.0} MB | {:.0} ms | {:.0} ms |",
            size.tables,
            size.partitions,
            median_of(&size.status, wall),
            max_of(&size.status, wall),
            median_of(&size.plan, wall),
            max_of(&size.plan, wall),
            queries(&size.status),
            queries(&size.plan),
            queries(&size.noop),
            peak_all,
            median_of(&size.noop, wall),
            median_of(&size.partman_noop, |d| ms(*d)),
        );
    }
    println!();
    println!("| scale, at the largest size | min | median | max | target |");
    println!("|---|---|---|---|---|");
    if let Some(size) = figures.sizes.last() {
        let mut noop: Vec<f64> = size
            .noop
            .iter()
            .zip(&size.partman_noop)
            .map(|(ours, partman)| ours.wall.as_secs_f64() / partman.as_secs_f64())
            .collect();
        let goal = verdict(&noop, 0.05);
        summary(
            &format!(
                "no-op maintenance, {} tables: ours / pg_partman",
                size.tables
            ),
            &mut noop,
            &goal,
        );
        let worst = max_of(&size.status, |c| c.wall.as_secs_f64())
            .max(max_of(&size.plan, |c| c.wall.as_secs_f64()));
        let peak = max_of(&size.status, |c| c.peak_mb.unwrap_or(f64::NAN))
            .max(max_of(&size.plan, |c| c.peak_mb.unwrap_or(f64::NAN)));
        println!(
            "| status() and plan(), {} tables: slowest of all, seconds | | {worst:.2} s | | < 2 s ({}) |",
            size.tables,
            if worst < 2.0 { "met" } else { "**not met**" }
        );
        println!(
            "| status() and plan(), {} tables: peak memory of the process | | {peak:.0} MB | | < 200 MB ({}) |",
            size.tables,
            if peak < 200.0 { "met" } else { "**not met**" }
        );
    }
    let mut creates: Vec<f64> = figures
        .creates
        .iter()
        .map(|(raw, ours, _)| ours.as_secs_f64() / raw.as_secs_f64())
        .collect();
    if !creates.is_empty() {
        summary(
            "one create per table: ours / raw DDL",
            &mut creates,
            "reported",
        );
    }
}
