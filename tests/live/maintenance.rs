//! Maintenance: plans, reports, retention actions, online DDL, replicas, and the background task.

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use sea_orm_pg_partitioning::ConfigProblem;
use sea_orm_pg_partitioning::model::plan::Step;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{Clock, Report, StepAction};

use crate::support::{TS_B, catalog, exec, strings};
use crate::test_name;
use crate::time_range::{event_table, service, setup, utc};

fn quick() -> MaintenanceOptions {
    MaintenanceOptions {
        lock_timeout: StdDuration::from_millis(150),
        retries: 2,
        backoff: StdDuration::from_millis(20),
        ..MaintenanceOptions::default()
    }
}

#[tokio::test]
async fn run_maintenance_executes_exactly_the_plan_and_reports_it() {
    let t = setup(test_name!(
        "run_maintenance_executes_exactly_the_plan_and_reports_it"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    exec(
        db,
        r#"CREATE TABLE "order" (id bigint NOT NULL) PARTITION BY RANGE (id)"#,
    )
    .await;
    exec(
        db,
        "CREATE TABLE tag (label text) PARTITION BY LIST (label)",
    )
    .await;
    let (service, clock) = service(db, utc(2024, 3, 10, 12, 0));
    let events = service
        .time_range_table("event")
        .period(Period::Day)
        .interval(2)
        .detach_tablespace(TS_B)
        .register()
        .await
        .expect("register");
    events
        .update_maintenance(|m| {
            m.premake = 3;
            m.retention = RetentionAction::Drop;
            m.drop_after = Some(Duration::days(1));
        })
        .await
        .expect("settings");
    let orders = service
        .id_range_table("order")
        .step(10)
        .premake(1)
        .keep(1)
        .register()
        .await
        .expect("register");
    service
        .list_table("tag")
        .register()
        .await
        .expect("register");

    // The plan: three days ahead of 10 March for events; orders are covered.
    let plan = service.plan().await.expect("plan");
    let described: Vec<(String, &str, String)> = plan
        .steps
        .iter()
        .map(|s| (s.table.clone(), s.action.as_str(), s.partition.clone()))
        .collect();
    assert_eq!(
        described,
        [
            (
                "public.event".to_owned(),
                "create",
                "event_2024-03-11_2024-03-12".to_owned()
            ),
            (
                "public.event".to_owned(),
                "create",
                "event_2024-03-12_2024-03-13".to_owned()
            ),
            (
                "public.event".to_owned(),
                "create",
                "event_2024-03-13_2024-03-14".to_owned()
            ),
        ]
    );
    assert_eq!(plan.steps[0].lock, "ACCESS EXCLUSIVE on the parent");
    assert!(plan.steps[0].recipe.statements()[0].sql().starts_with(
        r#"CREATE TABLE "public"."event_2024-03-11_2024-03-12" PARTITION OF "public"."event""#
    ));
    assert!(
        catalog::partitions(db, "public", "event").await.len() == 1,
        "planning changes nothing"
    );

    let report = service.run_plan(&plan).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.created(), 3);
    let executed: Vec<_> = report
        .tables
        .iter()
        .flat_map(|t| t.steps.iter().map(|s| s.step.clone()))
        .collect();
    assert_eq!(executed, plan.steps, "exactly the plan");
    assert!(
        service.plan().await.expect("plan").is_empty(),
        "nothing left to do"
    );

    // Rows for orders push its premake; five days later events need creates and detaches.
    exec(db, r#"INSERT INTO "order" SELECT generate_series(1, 19)"#).await;
    clock.set(utc(2024, 3, 15, 12, 0));
    let report = service.run_maintenance().await.expect("run");
    assert!(report.is_ok(), "{report:?}");
    let by_table = |name: &str| {
        report
            .tables
            .iter()
            .find(|t| t.table == name)
            .expect("table")
    };
    assert_eq!(by_table("public.event").created(), 5, "14th to 18th");
    // Interval 2 days: partitions ending before 13 March 12:00 go (10th, 11th, 12th).
    assert_eq!(by_table("public.event").detached(), 3);
    assert_eq!(
        by_table("public.order").created(),
        1,
        "19 is in [10, 20): [20, 30) is made ready"
    );
    assert_eq!(
        by_table("public.order").detached(),
        0,
        "keep 1 below [10, 20)"
    );
    assert_eq!(
        catalog::tablespace(db, "public", "event_2024-03-10_2024-03-11")
            .await
            .as_deref(),
        Some(TS_B)
    );

    // A day and a bit later the detached partitions are past the grace: dropped, and only those.
    exec(db, r#"INSERT INTO "order" SELECT generate_series(20, 29)"#).await;
    clock.set(utc(2024, 3, 16, 13, 0));
    let report = service.run_maintenance().await.expect("run");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.dropped(), 3);
    let order_report = report
        .tables
        .iter()
        .find(|t| t.table == "public.order")
        .expect("order");
    assert_eq!(
        order_report.detached(),
        1,
        "[0, 10) is more than 1 below [20, 30)"
    );
    assert!(!catalog::exists(db, "public", "event_2024-03-10_2024-03-11").await);
    assert_eq!(
        orders.partitions().await.expect("partitions").len(),
        4,
        "order keeps its detached partition"
    );
    let still_detached: Vec<String> = events
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .filter(|p| !p.is_attached)
        .map(|p| p.partition_name)
        .collect();
    assert_eq!(
        still_detached,
        ["event_2024-03-13_2024-03-14"],
        "detached by this run, dropped after the grace"
    );
    t.finish().await;
}

#[tokio::test]
async fn low_lock_creation_goes_on_beside_an_open_writer_transaction() {
    let t = setup(test_name!(
        "low_lock_creation_goes_on_beside_an_open_writer_transaction"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "direct", "timestamptz").await;
    event_table(db, "online", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 5, 1, 0, 0));
    let service = service.with_maintenance_options(quick());
    let direct = service
        .time_range_table("direct")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    let online = service
        .time_range_table("online")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    online
        .update_maintenance(|m| m.creation_mode = CreationMode::Attach)
        .await
        .expect("settings");
    direct
        .update_maintenance(|m| m.premake = 1)
        .await
        .expect("settings");

    // A writer's open transaction holds ROW EXCLUSIVE on both parents.
    let writer = t.connect(1).await;
    let open = writer.begin().await.expect("begin");
    exec(&open, "INSERT INTO direct (created_at) VALUES ('2024-05-01 10:00+00'); INSERT INTO online (created_at) VALUES ('2024-05-01 10:00+00')").await;

    clock.set(utc(2024, 5, 1, 12, 0));
    let report = service.run_maintenance().await.expect("run");
    let direct_report = report
        .tables
        .iter()
        .find(|t| t.table == "public.direct")
        .expect("direct");
    let online_report = report
        .tables
        .iter()
        .find(|t| t.table == "public.online")
        .expect("online");
    // CREATE TABLE .. PARTITION OF needs ACCESS EXCLUSIVE: it gives up after its lock timeout and retries.
    assert!(
        matches!(&direct_report.error, Some(e) if e.sqlstate().as_deref() == Some("55P03")),
        "{direct_report:?}"
    );
    // LIKE + CHECK + ATTACH needs SHARE UPDATE EXCLUSIVE only: done while the writer's transaction is open.
    assert!(online_report.error.is_none(), "{online_report:?}");
    assert_eq!(online_report.created(), 1);
    let constraints = strings(
        db,
        "SELECT count(*)::text FROM pg_constraint WHERE conname = 'sopp_bound'",
        vec![],
    )
    .await;
    assert_eq!(constraints, ["0"], "the helper CHECK is gone");
    // The attached table got the parent's indexes.
    assert_eq!(
        catalog::index_tablespaces(db, "public", "online_2024-05-02_2024-05-03")
            .await
            .len(),
        2
    );
    open.commit().await.expect("commit");
    let report = service.run_maintenance().await.expect("run");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(
        report.created(),
        1,
        "the direct one, once the writer committed"
    );
    let _ = writer.close().await;
    t.finish().await;
}

#[tokio::test]
async fn an_interrupted_concurrent_detach_is_finished_by_the_next_run() {
    let t = setup(test_name!(
        "an_interrupted_concurrent_detach_is_finished_by_the_next_run"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 1, 10, 0, 0));
    let service = service.with_maintenance_options(quick());
    let events = service
        .time_range_table("event")
        .interval(1)
        .detach_tablespace(TS_B)
        .register()
        .await
        .expect("register");
    events
        .update_maintenance(|m| {
            m.concurrent_detach = true;
            // A reader will hold ACCESS SHARE: only the attach mode can create beside it.
            m.creation_mode = CreationMode::Attach;
        })
        .await
        .expect("settings");
    clock.set(utc(2024, 3, 5, 0, 0));
    let report = service.run_maintenance().await.expect("run");
    assert!(report.is_ok(), "{report:?}");
    let plan = service.plan().await.expect("plan");
    assert!(plan.is_empty());

    // A reader keeps a snapshot on the table: the concurrent detach's second phase cannot finish.
    let reader = t.connect(1).await;
    let reading = reader.begin().await.expect("begin");
    exec(
        &reading,
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM event",
    )
    .await;
    clock.set(utc(2024, 4, 5, 0, 0));
    let report = service.run_maintenance().await.expect("run");
    let event_report = report
        .tables
        .iter()
        .find(|t| t.table == "public.event")
        .expect("event");
    assert!(
        event_report.error.is_some(),
        "interrupted: {event_report:?}"
    );
    // January went in the first run; February is the one interrupted now.
    let february = "event_2024-02-01_2024-03-01";
    assert!(
        catalog::detach_pending(db, "public", february).await,
        "pending in the catalog"
    );
    let logs = events.partitions().await.expect("partitions");
    assert!(
        logs.iter()
            .any(|l| l.partition_name == february && l.detach_pending),
        "and recorded as pending"
    );

    reading.commit().await.expect("commit");
    let plan = service.plan().await.expect("plan");
    assert_eq!(plan.steps[0].action, StepAction::FinishDetach);
    let report = service.run_plan(&plan).await;
    assert!(report.is_ok(), "{report:?}");
    let february_log = events
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .find(|l| l.partition_name == february)
        .expect("february");
    assert!(!february_log.is_attached && !february_log.detach_pending);
    assert!(
        !catalog::partitions(db, "public", "event")
            .await
            .iter()
            .any(|(n, _)| n == february)
    );
    assert_eq!(
        catalog::tablespace(db, "public", february).await.as_deref(),
        Some(TS_B)
    );

    // With a DEFAULT partition, concurrent detach is refused when configured.
    event_table(db, "with_default", "timestamptz").await;
    let other = service
        .time_range_table("with_default")
        .default_partition(true)
        .register()
        .await
        .expect("register");
    let err = other
        .update_maintenance(|m| m.concurrent_detach = true)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ConcurrentDetachWithDefault { .. }),
        "{err}"
    );
    let _ = reader.close().await;
    t.finish().await;
}

const RUNNER_URL: &str = "SOPP_RUNNER_DATABASE_URL";
const RUNNER_NOW: &str = "SOPP_RUNNER_NOW";

async fn runner(db: &DatabaseConnection, now: DateTime<Utc>) -> Report {
    let (service, _clock) = service(db, now);
    service.run_maintenance().await.expect("run")
}

/// The body of the other OS processes in `eight_runners_in_two_processes_and_tasks`; does nothing when run
/// on its own.
#[tokio::test]
#[ignore = "run by eight_runners_on_twenty_tables as a separate process"]
async fn child_runner() {
    let (Ok(url), Ok(now)) = (std::env::var(RUNNER_URL), std::env::var(RUNNER_NOW)) else {
        return;
    };
    let now: DateTime<Utc> = now.parse().expect("instant");
    let db = sea_orm::Database::connect(url).await.expect("connect");
    let report = runner(&db, now).await;
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test]
async fn eight_runners_on_twenty_tables() {
    let t = setup(test_name!("eight_runners_on_twenty_tables")).await;
    let db = &t.conn;
    let registered = utc(2024, 6, 1, 0, 0);
    let (service, _clock) = service(db, registered);
    for i in 0..20 {
        let name = format!("t{i:02}");
        event_table(db, &name, "timestamptz").await;
        let table = service
            .time_range_table(name.as_str())
            .period(Period::Day)
            .interval(3)
            .register()
            .await
            .expect("register");
        table
            .update_maintenance(|m| m.premake = 5)
            .await
            .expect("settings");
    }
    let now = utc(2024, 6, 10, 6, 0);
    let mut children = Vec::new();
    for _ in 0..2 {
        children.push(
            tokio::process::Command::new(std::env::current_exe().expect("test binary"))
                .args([
                    "maintenance::child_runner",
                    "--exact",
                    "--ignored",
                    "--quiet",
                ])
                .env(RUNNER_URL, &t.url)
                .env(RUNNER_NOW, now.to_rfc3339())
                .kill_on_drop(true)
                .output(),
        );
    }
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let conn = t.connect(2).await;
        tasks.push(tokio::spawn(async move { runner(&conn, now).await }));
    }
    let mut created = 0;
    for task in tasks {
        let report = task.await.expect("task");
        assert!(report.is_ok(), "{report:?}");
        created += report.created();
    }
    for child in children {
        let output = child.await.expect("process");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    // Per table: 1 June .. 15 June (10 June + 5 ahead), 15 partitions, of which those ending before 7 June
    // 06:00 (1st..6th) are detached.
    for i in 0..20 {
        let table = service
            .time_range_of(format!("t{i:02}"))
            .await
            .expect("table");
        let logs = table.partitions().await.expect("partitions");
        assert_eq!(logs.len(), 15, "t{i:02}");
        assert_eq!(logs.iter().filter(|l| !l.is_attached).count(), 6, "t{i:02}");
        crate::time_range::assert_consistent(db, &table).await;
    }
    assert!(created <= 20 * 14, "no partition created twice");
    t.finish().await;
}

#[tokio::test]
async fn a_writer_never_fails_while_maintenance_creates_and_detaches() {
    let t = setup(test_name!(
        "a_writer_never_fails_while_maintenance_creates_and_detaches"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let start = utc(2024, 1, 1, 0, 0);
    let (service, clock) = service(db, start);
    let events = service
        .time_range_table("event")
        .period(Period::Hour)
        .interval(2)
        .register()
        .await
        .expect("register");
    events
        .update_maintenance(|m| {
            m.premake = 2;
            m.creation_mode = CreationMode::Attach;
        })
        .await
        .expect("settings");
    service.run_maintenance().await.expect("run");

    let writer = t.connect(1).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let writer_clock = clock.clone();
    let writing = tokio::spawn(async move {
        let mut latencies = Vec::new();
        let mut failures = Vec::new();
        while !*stop_rx.borrow() {
            let began = Instant::now();
            // Rows for "now", as an application writes them; maintenance keeps partitions ready ahead.
            let result = writer
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO event (created_at) VALUES ($1)",
                    [writer_clock.now().into()],
                ))
                .await;
            latencies.push(began.elapsed());
            if let Err(e) = result {
                failures.push(e.to_string());
            }
        }
        (latencies, failures)
    });
    // Maintenance over 48 simulated hours: 48 creates and 46 detaches, run while the writer inserts.
    for hour in 1..=48 {
        clock.set(start + Duration::hours(hour));
        let report = service.run_maintenance().await.expect("run");
        assert!(report.is_ok(), "{report:?}");
    }
    let _ = stop_tx.send(true);
    let (mut latencies, failures) = writing.await.expect("writer");
    assert!(failures.is_empty(), "the writer failed: {failures:?}");
    assert!(latencies.len() > 10, "the writer ran");
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    eprintln!(
        "writer during maintenance: {} inserts, p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    let detached = events
        .partitions()
        .await
        .expect("partitions")
        .iter()
        .filter(|p| !p.is_attached)
        .count();
    assert!(detached >= 40, "{detached}");
    t.finish().await;
}

#[tokio::test]
async fn the_background_task_runs_at_once_and_shuts_down_cleanly() {
    let t = setup(test_name!(
        "the_background_task_runs_at_once_and_shuts_down_cleanly"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 1, 1, 0, 0));
    let events = service
        .time_range_table("event")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    events
        .update_maintenance(|m| m.premake = 4)
        .await
        .expect("settings");
    let task = service.spawn_maintenance(StdDuration::from_secs(3600));
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while events.partitions().await.expect("partitions").len() < 5 {
        assert!(
            Instant::now() < deadline,
            "the first run happens at start-up"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let stopping = Instant::now();
    task.shutdown().await;
    assert!(
        stopping.elapsed() < StdDuration::from_secs(5),
        "it does not wait for the next interval"
    );
    t.finish().await;
}

#[tokio::test]
async fn a_conflict_inside_a_batch_falls_back_to_steps_with_a_typed_error() {
    let t = setup(test_name!(
        "a_conflict_inside_a_batch_falls_back_to_steps_with_a_typed_error"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 1, 1, 0, 0));
    let events = service
        .time_range_table("event")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    events
        .update_maintenance(|m| m.premake = 3)
        .await
        .expect("settings");
    clock.set(utc(2024, 1, 1, 12, 0));
    // The second of the three planned partitions' name is taken by a table the log does not know.
    exec(db, r#"CREATE TABLE "event_2024-01-03_2024-01-04" (x int)"#).await;
    let plan = service.plan().await.expect("plan");
    assert_eq!(plan.steps.len(), 3);
    let report = service.run_plan(&plan).await;
    let table = &report.tables[0];
    assert!(
        matches!(table.error, Some(Error::PartitionNameTaken { .. })),
        "{table:?}"
    );
    // The batch rolled back whole; one by one, the first step was done before the conflict.
    assert_eq!(table.created(), 1);
    assert_eq!(events.partitions().await.expect("partitions").len(), 2);
    crate::time_range::assert_consistent(db, &events).await;
    t.finish().await;
}

/// Records created partitions; fails when told to.
#[derive(Debug, Clone, Default)]
struct CountCreated {
    fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl PartitionHook for CountCreated {
    async fn after(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        event: &PartitionEvent,
    ) -> Result<(), sea_orm_pg_partitioning::service::HookError> {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO audit VALUES ($1, $2)",
            [
                event.kind.as_str().into(),
                event.partition.partition_name.clone().into(),
            ],
        ))
        .await?;
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("refused".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn batched_steps_fire_hooks_and_a_failing_hook_rolls_the_batch_back() {
    let t = setup(test_name!(
        "batched_steps_fire_hooks_and_a_failing_hook_rolls_the_batch_back"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    exec(db, "CREATE TABLE audit (kind text, partition text)").await;
    let hook = CountCreated::default();
    let (service, clock) = service(db, utc(2024, 1, 1, 0, 0));
    let service = service.with_hook(hook.clone());
    let events = service
        .time_range_table("event")
        .period(Period::Day)
        .interval(1)
        .register()
        .await
        .expect("register");
    events
        .update_maintenance(|m| m.premake = 3)
        .await
        .expect("settings");

    // Three creates in one batch: three hook calls, in the batch's transaction.
    clock.set(utc(2024, 1, 1, 12, 0));
    let report = service.run_maintenance().await.expect("run");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.created(), 3);
    let created = strings(
        db,
        "SELECT count(*)::text FROM audit WHERE kind = 'created'",
        vec![],
    )
    .await;
    assert_eq!(
        created,
        ["4"],
        "registration's partition and the batch's three"
    );

    // A failing hook: the batch (creates, log rows and the hook's writes) is rolled back whole.
    hook.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    clock.set(utc(2024, 1, 4, 12, 0));
    let before = events.partitions().await.expect("partitions");
    let report = service.run_maintenance().await.expect("run");
    assert!(
        matches!(report.tables[0].error, Some(Error::Hook { .. })),
        "{report:?}"
    );
    assert_eq!(events.partitions().await.expect("partitions"), before);
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM audit", vec![]).await,
        ["4"]
    );
    crate::time_range::assert_consistent(db, &events).await;

    // Batched detaches fire their hooks too.
    hook.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let report = service.run_maintenance().await.expect("run");
    assert!(report.is_ok(), "{report:?}");
    let detached = strings(
        db,
        "SELECT count(*)::text FROM audit WHERE kind = 'detached'",
        vec![],
    )
    .await;
    assert_eq!(detached, [report.detached().to_string()]);
    assert!(report.detached() >= 2);
    t.finish().await;
}

/// Several tables at once (`parallel_tables`), paced (`duty_cycle`): the same partitions, the report in plan
/// order, and the run takes at least as long as the pacing asks.
#[tokio::test]
async fn parallel_and_paced_maintenance_does_the_same_work() {
    let t = setup(test_name!(
        "parallel_and_paced_maintenance_does_the_same_work"
    ))
    .await;
    let db = &t.conn;
    let names: Vec<String> = (0..6).map(|i| format!("ev{i}")).collect();
    for name in &names {
        event_table(db, name, "timestamptz").await;
    }
    let (service, _clock) = service(db, utc(2024, 3, 10, 12, 0));
    let service = service.with_maintenance_options(MaintenanceOptions {
        parallel_tables: 3,
        duty_cycle: 0.5,
        ..MaintenanceOptions::default()
    });
    for name in &names {
        let table = service
            .time_range_table(name.as_str())
            .period(Period::Day)
            .register()
            .await
            .expect("register");
        table
            .update_maintenance(|m| m.premake = 5)
            .await
            .expect("premake");
    }
    let plan = service.plan().await.expect("plan");
    assert_eq!(plan.steps.len(), 6 * 5);
    let report = service.run_plan(&plan).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.created(), 30);
    let order: Vec<&str> = report.tables.iter().map(|t| t.table.as_str()).collect();
    let expected: Vec<String> = names.iter().map(|n| format!("public.{n}")).collect();
    assert_eq!(order, expected);
    // Paced at half the time: each table's busy time is matched by as long a pause, three at a time.
    let busy: StdDuration = report.tables.iter().map(|t| t.duration).sum();
    assert!(
        report.duration >= busy / 3,
        "run {:?}, busy {busy:?}",
        report.duration
    );
    for name in &names {
        assert_eq!(catalog::partitions(db, "public", name).await.len(), 6);
    }
    assert!(service.plan().await.expect("plan").is_empty());
    t.finish().await;
}

/// A shutdown does not wait for pacing: a background task paused for minutes by `duty_cycle` stops at once.
#[tokio::test]
async fn shutdown_interrupts_a_paced_pause() {
    let t = setup(test_name!("shutdown_interrupts_a_paced_pause")).await;
    let db = &t.conn;
    event_table(db, "ev", "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 3, 10, 12, 0));
    let ev = service
        .time_range_table("ev")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    ev.update_maintenance(|m| m.premake = 3)
        .await
        .expect("premake");
    let service = service.with_maintenance_options(MaintenanceOptions {
        duty_cycle: 0.0001, // a pause of 10 000 times the work
        ..MaintenanceOptions::default()
    });
    let task = service.spawn_maintenance(StdDuration::from_secs(3600));
    let began = Instant::now();
    while catalog::partitions(db, "public", "ev").await.len() < 4 {
        assert!(
            began.elapsed() < StdDuration::from_secs(20),
            "maintenance ran"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let stopping = Instant::now();
    task.shutdown().await;
    assert!(
        stopping.elapsed() < StdDuration::from_secs(2),
        "stopped in {:?}",
        stopping.elapsed()
    );
    t.finish().await;
}

#[tokio::test]
async fn the_background_task_reports_its_health_and_its_failures() {
    let t = setup(test_name!(
        "the_background_task_reports_its_health_and_its_failures"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    event_table(db, "doomed", "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 1, 1, 0, 0));
    for table in ["event", "doomed"] {
        service
            .time_range_table(table)
            .period(Period::Day)
            .register()
            .await
            .expect("register")
            .update_maintenance(|m| m.premake = 2)
            .await
            .expect("settings");
    }
    let task = service.spawn_maintenance(StdDuration::from_millis(200));
    assert!(!task.health().is_healthy(), "no run yet");
    let first = wait_for(&task, "a first run", |h| h.runs >= 1).await;
    assert!(first.is_healthy(), "{first:#?}");
    assert!(first.last_success_at.is_some());
    let report = first.last_report.as_ref().expect("its report");
    assert_eq!(report.created(), 4, "two tables, two partitions each");

    // A managed table dropped by hand: every run now fails on it, and says so.
    exec(db, "DROP TABLE doomed").await;
    let failing = wait_for(&task, "two failures in a row", |h| {
        h.consecutive_failures >= 2
    })
    .await;
    assert!(!failing.is_healthy());
    let error = failing.last_error.as_deref().expect("the error");
    assert!(error.contains("public.doomed"), "{error}");
    assert!(failing.last_error_at.is_some() && failing.last_success_at == first.last_success_at);
    task.shutdown().await;
    t.finish().await;
}

/// The task's health once `done` holds (at most 20 s).
async fn wait_for(
    task: &sea_orm_pg_partitioning::service::MaintenanceTask,
    what: &str,
    done: impl Fn(&sea_orm_pg_partitioning::service::MaintenanceHealth) -> bool,
) -> sea_orm_pg_partitioning::service::MaintenanceHealth {
    let deadline = Instant::now() + StdDuration::from_secs(20);
    loop {
        let health = task.health();
        if done(&health) {
            return health;
        }
        assert!(Instant::now() < deadline, "{what}: {health:#?}");
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
}

/// The parent's row estimate and when it was last analyzed.
async fn parent_stats(db: &DatabaseConnection, table: &str) -> (f64, Option<String>) {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT c.reltuples::float8, s.last_analyze::text FROM pg_class c \
             LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = to_regclass($1)",
            [table.into()],
        ))
        .await
        .expect("stats")
        .expect("row");
    (
        row.try_get_by_index(0).expect("reltuples"),
        row.try_get_by_index(1).expect("last_analyze"),
    )
}

#[tokio::test]
async fn maintenance_that_takes_rows_away_analyzes_the_parent() {
    let t = setup(test_name!(
        "maintenance_that_takes_rows_away_analyzes_the_parent"
    ))
    .await;
    let db = &t.conn;
    for name in ["analyzed", "quiet", "unknown"] {
        event_table(db, name, "timestamptz").await;
    }
    let (service, clock) = service(db, utc(2024, 3, 10, 12, 0));
    for name in ["analyzed", "quiet", "unknown"] {
        service
            .time_range_table(name)
            .period(Period::Day)
            .interval(2)
            .register()
            .await
            .expect("register");
        exec(
            db,
            &format!("INSERT INTO {name} (created_at) SELECT '2024-03-10 13:00+00'::timestamptz FROM generate_series(1, 2000)"),
        )
        .await;
    }
    // Autovacuum never analyzes a partitioned parent: it has no estimate yet.
    assert_eq!(parent_stats(db, "analyzed").await, (-1.0, None));
    // Creating partitions leaves the table's rows as they were: no ANALYZE for that.
    clock.set(utc(2024, 3, 11, 12, 0));
    let report = service.run_maintenance_for("analyzed").await.expect("run");
    assert!(report.is_ok() && report.created() > 0, "{report:?}");
    assert_eq!(parent_stats(db, "analyzed").await, (-1.0, None));
    service.run_maintenance_for("quiet").await.expect("run");
    service.run_maintenance_for("unknown").await.expect("run");
    for name in ["analyzed", "quiet", "unknown"] {
        exec(
            db,
            &format!("INSERT INTO {name} (created_at) SELECT '2024-03-12 13:00+00'::timestamptz FROM generate_series(1, 500)"),
        )
        .await;
    }

    // Two days on, retention detaches the partition of 10 March and its 2 000 rows: the parent is analyzed.
    clock.set(utc(2024, 3, 13, 12, 0));
    let quiet = service
        .clone()
        .with_maintenance_options(MaintenanceOptions {
            analyze_parent: false,
            ..MaintenanceOptions::default()
        });
    let report = quiet.run_maintenance_for("quiet").await.expect("run");
    assert_eq!(report.detached(), 1, "{report:?}");
    assert_eq!(
        parent_stats(db, "quiet").await,
        (-1.0, None),
        "analyze_parent: false"
    );
    // A parent never analyzed has no estimate that the detach could make wrong: left to the staleness check,
    // which waits for its partitions' statistics.
    let report = service.run_maintenance_for("unknown").await.expect("run");
    assert_eq!(report.detached(), 1, "{report:?}");
    assert_eq!(parent_stats(db, "unknown").await, (-1.0, None));
    // With an estimate, the 2 000 rows leaving are a reason to analyze it again.
    exec(db, "ANALYZE analyzed").await;
    assert_eq!(parent_stats(db, "analyzed").await.0, 2500.0);
    let report = service.run_maintenance_for("analyzed").await.expect("run");
    assert_eq!(report.detached(), 1, "{report:?}");
    // `last_analyze` of a partitioned table is kept from PostgreSQL 15 on; its `reltuples` on every version.
    let (rows, _) = parent_stats(db, "analyzed").await;
    assert_eq!(rows, 500.0);
    // Nothing to do: no ANALYZE either.
    exec(db, "INSERT INTO analyzed (created_at) SELECT '2024-03-13 14:00+00'::timestamptz FROM generate_series(1, 100)").await;
    let report = service.run_maintenance_for("analyzed").await.expect("run");
    assert_eq!(report.created() + report.detached(), 0, "{report:?}");
    assert_eq!(parent_stats(db, "analyzed").await.0, 500.0);
    // A day on, the empty partition of 11 March is detached: the rows are as they were, no ANALYZE.
    clock.set(utc(2024, 3, 14, 12, 0));
    let report = service.run_maintenance_for("analyzed").await.expect("run");
    assert_eq!(report.detached(), 1, "{report:?}");
    assert_eq!(parent_stats(db, "analyzed").await.0, 500.0);

    // Rows change with nothing to do: once autovacuum (here by hand) has analyzed the partitions, a run
    // that has nothing to do analyzes the parent whose estimate is off by more than a tenth.
    let leaves = strings(
        db,
        "SELECT relid::regclass::text FROM pg_partition_tree('analyzed') WHERE isleaf",
        vec![],
    )
    .await;
    exec(db, "INSERT INTO analyzed (created_at) SELECT '2024-03-14 14:00+00'::timestamptz FROM generate_series(1, 1000)").await;
    for leaf in &leaves {
        exec(db, &format!("ANALYZE {leaf}")).await;
    }
    let report = service.run_maintenance().await.expect("run");
    assert!(
        report.tables.iter().all(|t| t.table != "public.analyzed"),
        "nothing to do for it: {report:?}"
    );
    assert_eq!(parent_stats(db, "analyzed").await.0, 1600.0);
    // Within a tenth: left alone.
    exec(db, "INSERT INTO analyzed (created_at) SELECT '2024-03-14 15:00+00'::timestamptz FROM generate_series(1, 100)").await;
    for leaf in &leaves {
        exec(db, &format!("ANALYZE {leaf}")).await;
    }
    service.run_maintenance().await.expect("run");
    assert_eq!(parent_stats(db, "analyzed").await.0, 1600.0);
    t.finish().await;
}

#[tokio::test]
async fn retention_leaves_a_referenced_partition_attached_until_its_referencing_rows_are_gone() {
    let t = setup(test_name!(
        "retention_leaves_a_referenced_partition_attached_until_its_referencing_rows_are_gone"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "orders", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 3, 1, 12, 0));
    let orders = service
        .time_range_table("orders")
        .period(Period::Day)
        .interval(2)
        .register()
        .await
        .expect("register");
    orders
        .update_maintenance(|m| m.premake = 4)
        .await
        .expect("premake");
    service.run_maintenance().await.expect("premake");
    exec(
        db,
        "INSERT INTO orders (id, created_at) VALUES (1, '2024-03-01 10:00+00'), (2, '2024-03-02 10:00+00'), \
                                                   (3, '2024-03-03 10:00+00'); \
         CREATE TABLE line_cascade (order_id bigint, order_at timestamptz, \
             FOREIGN KEY (order_id, order_at) REFERENCES orders (id, created_at) ON DELETE CASCADE); \
         CREATE TABLE line_restrict (order_id bigint, order_at timestamptz, \
             FOREIGN KEY (order_id, order_at) REFERENCES orders (id, created_at) ON DELETE RESTRICT); \
         CREATE TABLE line_no_action (order_id bigint, order_at timestamptz, \
             FOREIGN KEY (order_id, order_at) REFERENCES orders (id, created_at)); \
         INSERT INTO line_cascade VALUES (1, '2024-03-01 10:00+00'), (1, '2024-03-01 10:00+00'); \
         INSERT INTO line_restrict VALUES (2, '2024-03-02 10:00+00'); \
         INSERT INTO line_no_action VALUES (3, '2024-03-03 10:00+00')",
    )
    .await;
    // A week on: the three old days are due, and each is still referenced.
    clock.set(utc(2024, 3, 8, 12, 0));
    let plan = service.plan().await.expect("plan");
    let refused: Vec<String> = plan.blocked.iter().map(ToString::to_string).collect();
    assert_eq!(refused.len(), 3, "{refused:#?}");
    for (day, table, rows) in [
        ("03-01", "line_cascade", 2),
        ("03-02", "line_restrict", 1),
        ("03-03", "line_no_action", 1),
    ] {
        let line = refused
            .iter()
            .find(|r| r.contains(&format!("orders_2024-{day}")))
            .unwrap_or_else(|| panic!("{day} refused: {refused:#?}"));
        assert!(
            line.contains(&format!(
                "{rows} row(s) of public.{table} still reference it"
            )),
            "{line}"
        );
    }
    let due = [
        "orders_2024-03-01_2024-03-02",
        "orders_2024-03-02_2024-03-03",
        "orders_2024-03-03_2024-03-04",
    ];
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| s.action == StepAction::Detach && due.contains(&s.partition.as_str())),
        "{:?}",
        plan.steps
    );
    let report = service.run_maintenance().await.expect("run");
    assert!(!report.is_ok(), "refused steps make the run not ok");
    assert!(
        report.errors().next().is_none(),
        "and nothing failed: {report:?}"
    );
    let attached = catalog::partitions(db, "public", "orders").await;
    assert!(
        attached
            .iter()
            .any(|(name, _)| name == "orders_2024-03-01_2024-03-02"),
        "{attached:?}"
    );
    // Detached by hand, the same partition is a typed error, and nothing changes.
    let logs = orders.partitions().await.expect("partitions");
    let first = logs
        .iter()
        .find(|l| l.partition_name == "orders_2024-03-01_2024-03-02")
        .expect("logged");
    let handle = service.table_of("orders").await.expect("handle");
    let err = handle
        .detach(std::slice::from_ref(first))
        .await
        .expect_err("referenced");
    assert!(matches!(err, Error::StillReferenced { .. }), "{err}");
    assert_eq!(err.sqlstate().as_deref(), Some("23503"));
    assert!(err.to_string().contains("line_cascade"), "{err}");
    // Once the referencing rows are gone, retention detaches them.
    exec(
        db,
        "DELETE FROM line_cascade; DELETE FROM line_restrict; DELETE FROM line_no_action",
    )
    .await;
    let report = service.run_maintenance().await.expect("run");
    assert!(report.is_ok(), "{report:?}");
    assert!(report.detached() >= 3, "{report:?}");
    let attached = catalog::partitions(db, "public", "orders").await;
    assert!(
        attached
            .iter()
            .all(|(name, _)| name != "orders_2024-03-01_2024-03-02"),
        "{attached:?}"
    );
    t.finish().await;
}

#[tokio::test]
async fn a_retirement_group_detaches_an_order_and_its_lines_together_in_one_step() {
    let t = setup(test_name!(
        "a_retirement_group_detaches_an_order_and_its_lines_together_in_one_step"
    ))
    .await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE orders (id bigint, created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at)) \
             PARTITION BY RANGE (created_at); \
         CREATE TABLE order_line (id bigint, created_at timestamptz NOT NULL, order_id bigint NOT NULL, \
             PRIMARY KEY (id, created_at), \
             FOREIGN KEY (order_id, created_at) REFERENCES orders (id, created_at) ON DELETE CASCADE) \
             PARTITION BY RANGE (created_at); \
         CREATE TABLE weekly (created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);",
    )
    .await;
    let (service, clock) = service(db, utc(2024, 3, 1, 12, 0));
    for table in ["orders", "order_line"] {
        service
            .time_range_table(table)
            .period(Period::Day)
            .interval(2)
            .register()
            .await
            .expect("register");
    }
    service
        .time_range_table("weekly")
        .period(Period::Week)
        .interval(2)
        .register()
        .await
        .expect("register");
    // Bad groups: nothing changes.
    let problem = |e: Error| match e {
        Error::InvalidConfig { problem, .. } => problem,
        other => panic!("{other:?}"),
    };
    let err = service
        .retire_together("orders", ["orders", "weekly"])
        .await
        .expect_err("not alike");
    assert!(
        matches!(&err, Error::InvalidConfig { table, problem: ConfigProblem::GroupNotAlike { other, why } }
            if table == "public.weekly" && other == "public.orders" && why.contains("same period")),
        "{err}"
    );
    assert_eq!(
        problem(
            service
                .retire_together("orders", ["orders"])
                .await
                .expect_err("one")
        ),
        ConfigProblem::GroupTooSmall
    );
    assert!(
        service
            .configs()
            .await
            .expect("configs")
            .iter()
            .all(|c| c.retire_group.is_none())
    );
    service
        .retire_together("orders", ["orders", "order_line"])
        .await
        .expect("group");
    for table in ["orders", "order_line"] {
        service
            .table_of(table)
            .await
            .expect("handle")
            .update_maintenance(|m| m.premake = 4)
            .await
            .expect("premake");
    }
    service.run_maintenance().await.expect("premake");
    exec(
        db,
        "INSERT INTO orders VALUES (1, '2024-03-01 10:00+00'), (2, '2024-03-02 10:00+00'), (3, '2024-03-03 10:00+00'); \
         INSERT INTO order_line VALUES (10, '2024-03-01 10:00+00', 1), (11, '2024-03-01 10:00+00', 1), \
                                       (20, '2024-03-02 10:00+00', 2), (30, '2024-03-03 10:00+00', 3); \
         CREATE TABLE refund (order_id bigint, order_at timestamptz, \
             FOREIGN KEY (order_id, order_at) REFERENCES orders (id, created_at) ON DELETE RESTRICT); \
         INSERT INTO refund VALUES (2, '2024-03-02 10:00+00');",
    )
    .await;
    let lines = || async {
        strings(db, "SELECT count(*)::text FROM order_line", vec![]).await[0]
            .parse::<i64>()
            .expect("count")
    };
    let before = lines().await;

    // Five days on: 03-01 to 03-03 are due for both tables.
    clock.set(utc(2024, 3, 6, 12, 0));
    let plan = service.plan().await.expect("plan");
    let grouped: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| !s.together.is_empty())
        .collect();
    // 03-01 and 03-03: one step each for both tables. 03-02: left out, a refund (outside the group)
    // references its order.
    assert_eq!(grouped.len(), 2, "{:#?}", plan.steps);
    let step = grouped
        .iter()
        .find(|s| s.partition.contains("2024-03-01_"))
        .expect("03-01");
    assert_eq!(step.action, StepAction::Detach);
    assert_eq!(step.together.len(), 1);
    let (order_day, line_day) = if step.table_name == "orders" {
        (step.partition.clone(), step.together[0].partition.clone())
    } else {
        (step.together[0].partition.clone(), step.partition.clone())
    };
    assert_eq!(order_day, "orders_2024-03-01_2024-03-02");
    assert_eq!(line_day, "order_line_2024-03-01_2024-03-02");
    // The lines go first, then the foreign key their detached partition keeps, then the order.
    let sql: Vec<&str> = step.recipe.sql().collect();
    assert_eq!(sql.len(), 3, "{sql:#?}");
    assert!(
        sql[0].contains("DETACH PARTITION") && sql[0].contains(&line_day),
        "{}",
        sql[0]
    );
    assert!(sql[1].contains("DROP CONSTRAINT"), "{}", sql[1]);
    assert!(
        sql[2].contains("DETACH PARTITION") && sql[2].contains(&order_day),
        "{}",
        sql[2]
    );
    assert!(
        plan.blocked
            .iter()
            .any(|b| b.partition.contains("2024-03-02_") && b.blocked_by == "public.refund"),
        "{:#?}",
        plan.blocked
    );
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| s.partition.contains("2024-03-02_") && s.action == StepAction::Detach),
        "{:#?}",
        plan.steps
    );

    let report = service.run_plan(&plan).await;
    assert!(report.errors().next().is_none(), "{report:?}");
    for (table, partition) in [("orders", &order_day), ("order_line", &line_day)] {
        let attached = catalog::partitions(db, "public", table).await;
        assert!(
            !attached.iter().any(|(n, _)| n == partition),
            "{attached:?}"
        );
        assert!(catalog::exists(db, "public", partition).await);
    }
    let logs = service
        .table_of("order_line")
        .await
        .expect("handle")
        .all_partitions()
        .await
        .expect("logs");
    assert!(
        logs.iter()
            .any(|l| l.partition_name == line_day && !l.is_attached)
    );
    // Nothing lost: the detached lines are all there, and no longer tied to the orders table.
    let kept = catalog::count(db, &format!("\"{line_day}\"")).await;
    let attached_lines = lines().await;
    let third = catalog::count(db, "\"order_line_2024-03-03_2024-03-04\"").await;
    assert_eq!((kept, third, attached_lines), (2, 1, 1));
    assert_eq!(kept + third + attached_lines, before);
    assert!(
        strings(
            db,
            "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass(format('%I', $1::text)) AND contype = 'f'",
            vec![line_day.as_str().into()],
        )
        .await
        .is_empty()
    );
    // Once the refund is gone, the next run retires 03-02 of both, together.
    exec(db, "DELETE FROM refund").await;
    let report = service.run_maintenance().await.expect("run");
    assert!(report.is_ok(), "{report:?}");
    let retired: Vec<&Step> = report
        .tables
        .iter()
        .flat_map(|t| t.steps.iter())
        .map(|s| &s.step)
        .filter(|s| !s.together.is_empty())
        .collect();
    assert_eq!(retired.len(), 1, "{report:?}");
    assert!(retired[0].partition.contains("2024-03-02_"));
    for table in ["orders", "order_line"] {
        let attached = catalog::partitions(db, "public", table).await;
        assert!(
            !attached.iter().any(|(n, _)| n.contains("2024-03-02_")),
            "{attached:?}"
        );
    }
    // Out of the group, a table is retired on its own again.
    service.retire_apart("order_line").await.expect("apart");
    assert!(
        service
            .config_of("order_line")
            .await
            .expect("config")
            .retire_group
            .is_none()
    );
    t.finish().await;
}
