//! What a plan shows is what runs: for every kind of step, the statements of the plan are, one for one, the
//! statements the server logged while the plan ran (`log_statement = 'all'` for the test's database, read back
//! from the server's CSV log with `pg_read_file`), leaving out only reads, transaction control and the crate's
//! own bookkeeping tables.

use chrono::Duration;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{Plan, StepAction, StepOutcome};

use crate::support::{TS_A, TS_B, TestDb, catalog, exec, leave_detach_pending, strings};
use crate::test_name;
use crate::time_range::{event_table, service, setup, utc};

/// The server's statement log for one test database.
struct ServerLog {
    /// A connection that is not logged (opened before logging was turned on), to read the log with.
    reader: DatabaseConnection,
    database: String,
    path: String,
    marks: u32,
}

impl ServerLog {
    /// Turns on `log_statement = 'all'` for the test's database; connections opened from now on are logged.
    async fn new(t: &TestDb) -> Self {
        exec(
            &t.conn,
            &format!(r#"ALTER DATABASE "{}" SET log_statement = 'all'"#, t.name),
        )
        .await;
        let path = strings(&t.conn, "SELECT pg_current_logfile('csvlog')", vec![]).await;
        let Some(path) = path.into_iter().next().filter(|p| !p.is_empty()) else {
            panic!(
                "the server does not write a CSV log: start it with logging_collector = on and log_destination \
                 including csvlog, or let scripts/with-postgres start one"
            );
        };
        Self {
            reader: t.conn.clone(),
            database: t.name.clone(),
            path,
            marks: 0,
        }
    }

    /// Runs `work`, and returns the statements the server logged for this database meanwhile, as `conn`
    /// (a logged connection) marks the start and the end.
    async fn during<F: std::future::Future<Output = T>, T>(
        &mut self,
        conn: &DatabaseConnection,
        work: F,
    ) -> (T, Vec<String>) {
        self.marks += 1;
        // Unique across runs too: a rerun recreates the database under the same name in the same log.
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let start = format!(
            "sopp-log-mark-{}-{run}-{}-start",
            std::process::id(),
            self.marks
        );
        let end = format!(
            "sopp-log-mark-{}-{run}-{}-end",
            std::process::id(),
            self.marks
        );
        exec(conn, &format!("SELECT '{start}'")).await;
        let result = work.await;
        exec(conn, &format!("SELECT '{end}'")).await;
        for _ in 0..200 {
            let statements = self.statements().await;
            let position = |mark: &str| statements.iter().position(|s| s.contains(mark));
            if let (Some(from), Some(to)) = (position(&start), position(&end)) {
                let changes = statements[from + 1..to]
                    .iter()
                    .flat_map(|s| s.split(";\n"))
                    .map(str::trim)
                    .filter(|s| is_change(s))
                    .map(str::to_owned)
                    .collect();
                return (result, changes);
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!(
            "the marks {start} and {end} did not reach the server log {}",
            self.path
        );
    }

    /// Every statement the server logged for this database, in order.
    async fn statements(&self) -> Vec<String> {
        let row = self
            .reader
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_read_file($1)",
                [self.path.clone().into()],
            ))
            .await
            .expect("read the server log")
            .expect("a row");
        let text: String = row.try_get_by_index(0).expect("text");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut statements = Vec::new();
        for record in reader.records() {
            // A record the collector is still writing ends the file: read again later.
            let Ok(record) = record else { break };
            // csvlog: database_name is the 3rd column, message the 14th.
            if record.get(2) != Some(self.database.as_str()) {
                continue;
            }
            let message = record.get(13).unwrap_or_default();
            let statement = message.strip_prefix("statement: ").or_else(|| {
                message
                    .strip_prefix("execute ")
                    .and_then(|rest| rest.split_once(": "))
                    .map(|(_, sql)| sql)
            });
            if let Some(statement) = statement {
                statements.push(statement.to_owned());
            }
        }
        statements
    }
}

/// Whether a logged statement changes the user's tables (what a recipe is made of): not a read, not
/// transaction control, not the crate's log and configuration.
fn is_change(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let control = [
        "SELECT",
        "WITH",
        "BEGIN",
        "START",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "SHOW",
    ];
    !sql.is_empty()
        && !control.iter().any(|c| upper.starts_with(c))
        && !sql.contains("sopp_partition_")
}

/// The statements of the plan, step by step, then the `ANALYZE` of each parent in `analyzed` (schema
/// `public`), the tables the run took rows from by detaching partitions that hold some, which maintenance
/// analyzes after all steps (`MaintenanceOptions::analyze_parent`; `ANALYZE ONLY` on PostgreSQL 18).
fn planned(plan: &Plan, only: bool, analyzed: &[&str]) -> Vec<String> {
    let mut sql: Vec<String> = plan
        .steps
        .iter()
        .flat_map(|s| s.recipe.sql().map(str::to_owned))
        .collect();
    let only = if only { "ONLY " } else { "" };
    for table in analyzed {
        sql.push(format!(r#"ANALYZE {only}"public"."{table}""#));
    }
    sql
}

/// Runs `plan` one table at a time (so that the statements come in the plan's order) and checks that every
/// step was done and that the server ran exactly its statements, then the `ANALYZE` of the `analyzed` tables.
async fn runs_as_planned(
    log: &mut ServerLog,
    pool: &DatabaseConnection,
    service: &PartitionService,
    plan: &Plan,
    analyzed: &[&str],
) -> sea_orm_pg_partitioning::service::Report {
    let service = service
        .clone()
        .with_maintenance_options(MaintenanceOptions {
            parallel_tables: 1,
            ..MaintenanceOptions::default()
        });
    let (report, ran) = log.during(pool, service.run_plan(plan)).await;
    assert!(report.is_ok(), "{:?}", report.errors().collect::<Vec<_>>());
    for table in &report.tables {
        for step in &table.steps {
            assert!(
                matches!(step.outcome, StepOutcome::Done { .. }),
                "{} {}: {:?}",
                step.step.action.as_str(),
                step.step.partition,
                step.outcome
            );
        }
    }
    let version = strings(pool, "SELECT current_setting('server_version_num')", vec![]).await;
    let only = version[0].parse::<i32>().unwrap_or(0) >= 180_000;
    let planned = planned(plan, only, analyzed);
    assert_eq!(
        ran,
        planned,
        "the server ran other statements than the plan showed:\n{}",
        plan.steps
            .iter()
            .map(|s| format!("{} {}\n{}", s.action.as_str(), s.partition, s.recipe))
            .collect::<String>()
    );
    report
}

fn actions(plan: &Plan) -> Vec<(&str, &'static str)> {
    plan.steps
        .iter()
        .map(|s| (s.table_name.as_str(), s.action.as_str()))
        .collect()
}

#[tokio::test]
async fn creates_run_as_planned_direct_low_lock_sub_partitioned_with_default_rows() {
    let t = setup(test_name!(
        "creates_run_as_planned_direct_low_lock_sub_partitioned_with_default_rows"
    ))
    .await;
    let mut log = ServerLog::new(&t).await;
    let pool = t.connect(4).await;
    for table in ["direct", "low_lock", "sub", "with_default"] {
        event_table(&t.conn, table, "timestamptz").await;
    }
    exec(
        &t.conn,
        r#"CREATE TABLE "order" (id bigint NOT NULL, note text) PARTITION BY RANGE (id)"#,
    )
    .await;
    exec(&t.conn, r#"CREATE INDEX order_note ON "order" (note)"#).await;
    let (service, _clock) = service(&pool, utc(2024, 3, 10, 12, 0));
    let register = |name: &'static str| service.time_range_table(name).period(Period::Day);
    let direct = register("direct").register().await.expect("direct");
    let low_lock = register("low_lock")
        .default_partition(true)
        .register()
        .await
        .expect("low lock");
    let sub = register("sub")
        .sub_partition_by_hash("id", 2)
        .attach_tablespace(TS_A)
        .register()
        .await
        .expect("sub");
    let with_default = register("with_default")
        .default_partition(true)
        .attach_tablespace(TS_A)
        .register()
        .await
        .expect("with default");
    for table in [&direct, &low_lock, &sub, &with_default] {
        table
            .update_maintenance(|m| m.premake = 3)
            .await
            .expect("premake");
    }
    low_lock
        .update_maintenance(|m| m.creation_mode = CreationMode::Attach)
        .await
        .expect("low-lock mode");
    service
        .id_range_table("order")
        .step(10)
        .premake(2)
        .default_partition(true)
        .register()
        .await
        .expect("order");
    // Rows waiting in DEFAULT for partitions maintenance will create: 13 March and keys 30 and 31.
    exec(
        &t.conn,
        "INSERT INTO with_default (created_at, payload) VALUES ('2024-03-13 08:00+00', 'early'), \
         ('2024-03-13 09:00+00', 'early')",
    )
    .await;
    exec(
        &t.conn,
        "INSERT INTO low_lock (created_at) VALUES ('2024-03-13 10:00+00')",
    )
    .await;
    exec(
        &t.conn,
        r#"INSERT INTO "order" VALUES (5, 'now'), (30, 'ahead'), (31, 'ahead')"#,
    )
    .await;

    let plan = service.plan().await.expect("plan");
    let creates = |table: &str| {
        plan.steps
            .iter()
            .filter(|s| s.table_name == table && matches!(s.action, StepAction::Create(_)))
            .count()
    };
    for table in ["direct", "low_lock", "sub", "with_default"] {
        assert_eq!(creates(table), 3, "{table}: {:?}", actions(&plan));
    }
    assert!(creates("order") >= 2, "{:?}", actions(&plan));
    // The plan already shows the rows that move, and the low-lock mode's three statements.
    let moves: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.recipe.sql().any(|sql| sql.starts_with("INSERT INTO")))
        .map(|s| s.partition.as_str())
        .collect();
    assert_eq!(
        moves,
        [
            "low_lock_2024-03-13_2024-03-14",
            "order_30_40",
            "with_default_2024-03-13_2024-03-14"
        ]
    );
    // The low-lock mode: three statements, unless DEFAULT must be detached for rows to move.
    let low: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.table_name == "low_lock")
        .collect();
    assert_eq!(low[0].recipe.len(), 3);
    assert_eq!(low[0].lock, "SHARE UPDATE EXCLUSIVE on the parent");
    assert_eq!(low[2].recipe.len(), 1 + 3 + 3, "{}", low[2].recipe);
    assert_eq!(low[2].lock, "ACCESS EXCLUSIVE on the parent");

    let sub_leaf = plan
        .steps
        .iter()
        .find(|s| s.table_name == "sub")
        .map(|s| format!("{}_h1", s.partition))
        .expect("a sub-partitioned create");
    let report = runs_as_planned(&mut log, &pool, &service, &plan, &[]).await;
    assert_eq!(
        catalog::count(&t.conn, r#""public"."with_default_2024-03-13_2024-03-14""#).await,
        2
    );
    assert_eq!(
        catalog::count(&t.conn, r#""public"."order_30_40""#).await,
        2
    );
    assert_eq!(
        catalog::count(&t.conn, r#""public"."low_lock_2024-03-13_2024-03-14""#).await,
        1
    );
    let moved: i64 = report.tables.iter().map(|t| t.moved_rows()).sum();
    assert_eq!(moved, 5);
    // Every index of a partition created in a tablespace is there too, sub-partitions included.
    for table in ["with_default_2024-03-13_2024-03-14", sub_leaf.as_str()] {
        assert_eq!(
            catalog::tablespace(&t.conn, "public", table).await,
            Some(TS_A.to_owned())
        );
        for (index, tablespace) in catalog::index_tablespaces(&t.conn, "public", table).await {
            assert_eq!(tablespace.as_deref(), Some(TS_A), "{index}");
        }
    }
    let status = service.status().await.expect("status");
    assert!(status.is_healthy(), "{status:#?}");
    let _ = pool.close().await;
    t.finish().await;
}

#[tokio::test]
async fn detaches_moves_and_drops_run_as_planned() {
    let t = setup(test_name!("detaches_moves_and_drops_run_as_planned")).await;
    let mut log = ServerLog::new(&t).await;
    let pool = t.connect(4).await;
    for table in ["plain", "concurrent", "dropped"] {
        event_table(&t.conn, table, "timestamptz").await;
    }
    let (service, clock) = service(&pool, utc(2024, 3, 10, 12, 0));
    let register = |name: &'static str| {
        service
            .time_range_table(name)
            .period(Period::Day)
            .interval(2)
    };
    let plain = register("plain")
        .detach_tablespace(TS_B)
        .sub_partition_by_hash("id", 2)
        .register()
        .await
        .expect("plain");
    let concurrent = register("concurrent")
        .detach_tablespace(TS_B)
        .register()
        .await
        .expect("concurrent");
    concurrent
        .update_maintenance(|m| m.concurrent_detach = true)
        .await
        .expect("concurrent detach");
    let dropped = register("dropped").register().await.expect("dropped");
    dropped
        .update_maintenance(|m| {
            m.retention = RetentionAction::Drop;
            m.drop_after = Some(Duration::days(1));
        })
        .await
        .expect("drop after a day");
    // Partitions a week ahead, so that retention later detaches partitions that exist when it is planned
    // (the index moves of one created by the same run cannot be listed before it exists).
    for table in [&plain, &concurrent, &dropped] {
        table
            .update_maintenance(|m| m.premake = 7)
            .await
            .expect("premake");
    }
    service.run_maintenance().await.expect("premake a week");
    exec(
        &t.conn,
        "INSERT INTO plain (created_at) VALUES ('2024-03-10 13:00+00'); \
         INSERT INTO concurrent (created_at) VALUES ('2024-03-10 13:00+00'); \
         ANALYZE plain; ANALYZE concurrent",
    )
    .await;

    // Four days on, the partitions of 10 and 11 March are past retention.
    clock.set(utc(2024, 3, 14, 12, 0));
    let plan = service.plan().await.expect("plan");
    let detaches: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.action == StepAction::Detach)
        .map(|s| (s.table_name.as_str(), s.recipe.len()))
        .collect();
    // plain: detach, then each of 2 sub-partitions and its 2 indexes moved; concurrent: detach, table, 2
    // indexes; dropped: the detach alone.
    assert_eq!(
        detaches,
        [
            ("concurrent", 4),
            ("concurrent", 4),
            ("dropped", 1),
            ("dropped", 1),
            ("plain", 7),
            ("plain", 7)
        ],
        "{:?}",
        actions(&plan)
    );
    // The partitions of 10 March of plain and concurrent hold a row, and their parents have an estimate:
    // they are analyzed again.
    runs_as_planned(&mut log, &pool, &service, &plan, &["concurrent", "plain"]).await;
    assert_eq!(
        catalog::tablespace(&t.conn, "public", "concurrent_2024-03-10_2024-03-11").await,
        Some(TS_B.to_owned())
    );
    for (index, tablespace) in
        catalog::index_tablespaces(&t.conn, "public", "plain_2024-03-10_2024-03-11_h0").await
    {
        assert_eq!(tablespace.as_deref(), Some(TS_B), "{index}");
    }

    // Two days later the detached partitions of `dropped` are dropped.
    clock.set(utc(2024, 3, 16, 12, 0));
    let plan = service.plan().await.expect("plan");
    let drops = plan
        .steps
        .iter()
        .filter(|s| s.action == StepAction::Drop)
        .count();
    assert_eq!(drops, 2, "{:?}", actions(&plan));
    runs_as_planned(&mut log, &pool, &service, &plan, &[]).await;
    assert!(!catalog::exists(&t.conn, "public", "dropped_2024-03-10_2024-03-11").await);
    let _ = pool.close().await;
    t.finish().await;
}

#[tokio::test]
async fn an_interrupted_concurrent_detach_finishes_as_planned() {
    let t = setup(test_name!(
        "an_interrupted_concurrent_detach_finishes_as_planned"
    ))
    .await;
    let mut log = ServerLog::new(&t).await;
    let pool = t.connect(4).await;
    event_table(&t.conn, "event", "timestamptz").await;
    let (service, _clock) = service(&pool, utc(2024, 3, 10, 12, 0));
    service
        .time_range_table("event")
        .period(Period::Day)
        .detach_tablespace(TS_B)
        .register()
        .await
        .expect("register");
    leave_detach_pending(&t, "event", "event_2024-03-10_2024-03-11").await;
    // The log learns of it as maintenance would have recorded it, had it been the one interrupted.
    exec(
        &t.conn,
        "UPDATE sopp_partition_log SET detach_pending = true \
         WHERE partition_name = 'event_2024-03-10_2024-03-11'",
    )
    .await;
    let plan = service.plan().await.expect("plan");
    let finish = &plan.steps[0];
    assert_eq!(
        finish.action,
        StepAction::FinishDetach,
        "{:?}",
        actions(&plan)
    );
    assert!(finish.recipe.statements()[0].sql().ends_with("FINALIZE"));
    assert_eq!(finish.recipe.len(), 1 + 1 + 2, "{}", finish.recipe);
    runs_as_planned(&mut log, &pool, &service, &plan, &[]).await;
    assert!(!catalog::detach_pending(&t.conn, "public", "event_2024-03-10_2024-03-11").await);
    let _ = pool.close().await;
    t.finish().await;
}
