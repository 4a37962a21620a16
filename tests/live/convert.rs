//! Converting a plain table into a partitioned one while the application writes and reads it: every row kept
//! (checked against a ledger the writer keeps in the same transactions), every object carried over, resumed
//! after kill -9, rolled back, and refused with the fix when it cannot be done.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{ConversionPhase, ConversionProblem};

use crate::support::{TestDb, catalog, exec, strings};
use crate::test_name;
use crate::time_range::setup;

/// A plain `event` table with rows over five months of 2026 (and a few this month), and the ledger the
/// writer keeps beside it: the same rows, changed in the same transactions.
pub async fn plain_events(db: &DatabaseConnection, rows: i64) {
    exec(
        db,
        "CREATE TABLE event (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, \
         payload text NOT NULL DEFAULT 'x' CHECK (length(payload) < 200), ext_id bigint UNIQUE, \
         payload_len int GENERATED ALWAYS AS (length(payload)) STORED); \
         CREATE INDEX event_payload ON event (payload); \
         CREATE INDEX event_recent ON event (created_at DESC) WHERE ext_id IS NOT NULL; \
         COMMENT ON TABLE event IS 'the events'; \
         ALTER TABLE event SET (fillfactor = 90); \
         CREATE TABLE ledger (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, payload text NOT NULL)",
    )
    .await;
    exec(
        db,
        &format!(
            "INSERT INTO event (created_at, payload, ext_id) \
             SELECT timestamptz '2026-01-01' + (g * interval '1 second') * (14000000 / {rows}), 'p' || g, g \
             FROM generate_series(1, {rows}) g; \
             INSERT INTO ledger SELECT id, created_at, payload FROM event"
        ),
    )
    .await;
}

/// The rows of `table` as one checksum: count and a sum of row hashes.
pub async fn checksum(db: &DatabaseConnection, table: &str) -> String {
    strings(
        db,
        &format!(
            "SELECT count(*) || '/' || coalesce(sum(hashtextextended(id || '|' || created_at || '|' || payload, 0)), 0) \
             FROM {table}"
        ),
        vec![],
    )
    .await
    .remove(0)
}

/// What the writer and the reader did, and whether either failed.
#[derive(Default)]
pub struct Traffic {
    stop: AtomicBool,
    pub writes: AtomicU64,
    pub reads: AtomicU64,
    pub failures: std::sync::Mutex<Vec<String>>,
}

/// A writer (inserts now and in the past, updates of payloads and of keys, deletes), each change in one
/// transaction with the ledger's, and a reader, until `traffic.stop`.
pub fn start_traffic(t: &TestDb, traffic: Arc<Traffic>) -> Vec<tokio::task::JoinHandle<()>> {
    let url = t.url.clone();
    let mut tasks = Vec::new();
    for worker in 0..2_u64 {
        let traffic = traffic.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let db = sea_orm::Database::connect(url).await.expect("connect");
            let mut i = worker;
            while !traffic.stop.load(Ordering::Relaxed) {
                i += 2;
                let change = match i % 5 {
                    0 | 1 => "WITH n AS (INSERT INTO event (created_at, payload) VALUES (now() - (random() * interval '200 days'), 'new') \
                              RETURNING id, created_at, payload) INSERT INTO ledger SELECT * FROM n".to_owned(),
                    2 => format!(
                        "WITH u AS (UPDATE event SET payload = payload || '+' WHERE id = {} RETURNING id, payload) \
                         UPDATE ledger l SET payload = u.payload FROM u WHERE l.id = u.id",
                        1 + (i * 7919) % 1000
                    ),
                    3 => format!(
                        "WITH u AS (UPDATE event SET created_at = created_at + interval '40 days' WHERE id = {} \
                         RETURNING id, created_at) UPDATE ledger l SET created_at = u.created_at FROM u WHERE l.id = u.id",
                        1 + (i * 104_729) % 1000
                    ),
                    _ => format!(
                        "WITH d AS (DELETE FROM event WHERE id = {} RETURNING id) DELETE FROM ledger l USING d WHERE l.id = d.id",
                        1 + (i * 15_485_863) % 5000
                    ),
                };
                let result = async {
                    let txn = db.begin().await?;
                    txn.execute_unprepared(&change).await?;
                    txn.commit().await
                }
                .await;
                match result {
                    Ok(()) => {
                        traffic.writes.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(err) => traffic.failures.lock().expect("lock").push(format!("write: {err}")),
                }
            }
        }));
    }
    let traffic_r = traffic.clone();
    tasks.push(tokio::spawn(async move {
        let db = sea_orm::Database::connect(url).await.expect("connect");
        while !traffic_r.stop.load(Ordering::Relaxed) {
            let read = db
                .execute_unprepared(
                    "SELECT count(*) FROM event WHERE created_at >= now() - interval '30 days'; \
                     SELECT * FROM event WHERE id = 17",
                )
                .await;
            match read {
                Ok(_) => {
                    traffic_r.reads.fetch_add(1, Ordering::Relaxed);
                }
                Err(err) => traffic_r
                    .failures
                    .lock()
                    .expect("lock")
                    .push(format!("read: {err}")),
            }
        }
    }));
    tasks
}

/// Stops the traffic and checks that nothing failed and that some happened.
pub async fn stop_traffic(traffic: &Traffic, tasks: Vec<tokio::task::JoinHandle<()>>) {
    traffic.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("traffic task");
    }
    let failures = traffic.failures.lock().expect("lock").clone();
    assert!(
        failures.is_empty(),
        "the application saw failures: {failures:#?}"
    );
    assert!(
        traffic.writes.load(Ordering::Relaxed) > 0,
        "no write happened"
    );
    assert!(
        traffic.reads.load(Ordering::Relaxed) > 0,
        "no read happened"
    );
}

#[tokio::test]
async fn a_table_is_converted_while_the_application_writes_and_reads_it() {
    let t = setup(test_name!(
        "a_table_is_converted_while_the_application_writes_and_reads_it"
    ))
    .await;
    let db = &t.conn;
    plain_events(db, 20_000).await;
    let service = PartitionService::new(db.clone());
    let plan = service
        .convert("event")
        .key("created_at")
        .plan()
        .await
        .expect("plan");
    assert!(plan.is_possible(), "{plan}");
    assert!(plan.partitions.len() >= 12, "January to this month: {plan}");
    let traffic = Arc::new(Traffic::default());
    let tasks = start_traffic(&t, traffic.clone());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let phases = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = phases.clone();
    let report = service
        .convert("event")
        .key("created_at")
        .period(Period::Month)
        .batch_blocks(8)
        .on_progress(move |p| seen.lock().expect("lock").push(p.phase))
        .run()
        .await
        .expect("converted");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop_traffic(&traffic, tasks).await;
    assert_eq!(report.progress.phase, ConversionPhase::Finished);
    assert!(
        phases
            .lock()
            .expect("lock")
            .contains(&ConversionPhase::CatchingUp)
    );
    assert_eq!(checksum(db, "event").await, checksum(db, "ledger").await);
    // Partitioned by month on created_at, registered, healthy.
    assert_eq!(
        catalog::partition_key(db, "public", "event")
            .await
            .as_deref(),
        Some("RANGE (created_at)")
    );
    let status = service.status_of("event").await.expect("status");
    assert!(status.is_healthy(), "{:?}", status.anomalies);
    assert_eq!(report.partitions, status.partitions.len());
    assert!(!catalog::exists(db, "public", "event_sopp_old").await);
    assert!(!catalog::exists(db, "public", "event_sopp_new").await);
    // Every object carried over, under its name.
    let indexes = strings(
        db,
        "SELECT indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) FROM pg_index \
         WHERE indrelid = 'event'::regclass ORDER BY 1",
        vec![],
    )
    .await;
    assert_eq!(
        indexes,
        [
            "event_ext_id_key CREATE UNIQUE INDEX event_ext_id_key ON ONLY public.event USING btree (ext_id, created_at)",
            "event_payload CREATE INDEX event_payload ON ONLY public.event USING btree (payload)",
            "event_pkey CREATE UNIQUE INDEX event_pkey ON ONLY public.event USING btree (id, created_at)",
            "event_recent CREATE INDEX event_recent ON ONLY public.event USING btree (created_at DESC) WHERE (ext_id IS NOT NULL)",
        ]
    );
    let comment = strings(
        db,
        "SELECT obj_description('event'::regclass, 'pg_class')",
        vec![],
    )
    .await;
    assert_eq!(comment, ["the events"]);
    let options = strings(
        db,
        "SELECT DISTINCT array_to_string(c.reloptions, ',') FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'event'::regclass",
        vec![],
    )
    .await;
    assert_eq!(options, ["fillfactor=90"]);
    let generated = strings(
        db,
        "INSERT INTO event (created_at, payload) VALUES (now(), 'abc') RETURNING payload_len::text",
        vec![],
    )
    .await;
    assert_eq!(generated, ["3"]);
    crate::support::exec_err(
        db,
        "INSERT INTO event (created_at, payload) VALUES (now(), repeat('x', 300))",
    )
    .await;
    println!(
        "writes {} reads {} during the conversion; {:?}",
        traffic.writes.load(Ordering::Relaxed),
        traffic.reads.load(Ordering::Relaxed),
        report
    );
    // The sequence goes on, owned by the new table.
    exec(db, "INSERT INTO event (created_at) VALUES (now())").await;
    let owner = strings(db, "SELECT pg_get_serial_sequence('event', 'id')", vec![]).await;
    assert_eq!(owner, ["public.event_id_seq"]);
    t.finish().await;
}

#[tokio::test]
async fn what_stops_a_conversion_is_reported_before_anything_changes() {
    let t = setup(test_name!(
        "what_stops_a_conversion_is_reported_before_anything_changes"
    ))
    .await;
    let db = &t.conn;
    plain_events(db, 100).await;
    exec(
        db,
        "INSERT INTO ledger VALUES (0, now(), 'x'); CREATE VIEW recent AS SELECT * FROM event",
    )
    .await;
    exec(db, "CREATE TABLE nokey (a int, ts timestamptz); CREATE TABLE line (event_id bigint REFERENCES event (id))").await;
    let service = PartitionService::new(db.clone());
    let err = service
        .convert("event")
        .key("created_at")
        .run()
        .await
        .expect_err("a view");
    assert!(
        matches!(&err, Error::CannotConvert { problems, .. } if problems.iter().any(|p| matches!(p, ConversionProblem::View { .. }))),
        "{err}"
    );
    assert!(err.to_string().contains("drop the view"), "{err}");
    let plan = service
        .convert("nokey")
        .key("ts")
        .plan()
        .await
        .expect("plan");
    assert!(
        plan.problems.contains(&ConversionProblem::NoRowIdentity),
        "{plan}"
    );
    let plan = service
        .convert("event")
        .key("nope")
        .plan()
        .await
        .expect("plan");
    assert!(
        plan.problems
            .iter()
            .any(|p| matches!(p, ConversionProblem::NoKeyColumn { .. })),
        "{plan}"
    );
    let plan = service
        .convert("event")
        .key("payload")
        .plan()
        .await
        .expect("plan");
    assert!(
        plan.problems
            .iter()
            .any(|p| matches!(p, ConversionProblem::KeyType { .. })),
        "{plan}"
    );
    let plan = service
        .convert("ledger")
        .key("created_at")
        .step(10)
        .plan()
        .await
        .expect("plan");
    assert!(
        plan.problems
            .iter()
            .any(|p| matches!(p, ConversionProblem::KeyType { .. })),
        "{plan}"
    );
    let plan = service
        .convert("recent")
        .key("created_at")
        .plan()
        .await
        .expect("plan");
    assert_eq!(
        plan.problems,
        [ConversionProblem::NotATable { what: "a view" }]
    );
    exec(db, "CREATE TABLE ledger_child () INHERITS (ledger)").await;
    let plan = service
        .convert("ledger")
        .key("created_at")
        .plan()
        .await
        .expect("plan");
    assert!(plan.problems.iter().any(|p| matches!(p, ConversionProblem::Inheritance { tables } if tables == &["public.ledger_child"])), "{plan}");
    exec(db, "INSERT INTO event (created_at) VALUES ('infinity')").await;
    let plan = service
        .convert("nokey")
        .key("ts")
        .plan()
        .await
        .expect("plan");
    assert!(plan.problems.contains(&ConversionProblem::NoRowIdentity));
    exec(db, "DROP VIEW recent; DROP TABLE line").await;
    let plan = service
        .convert("event")
        .key("created_at")
        .plan()
        .await
        .expect("plan");
    assert_eq!(
        plan.problems,
        [ConversionProblem::KeyValue {
            value: "infinity".into()
        }],
        "{plan}"
    );
    exec(db, "DELETE FROM event WHERE created_at = 'infinity'; ALTER TABLE event ALTER created_at DROP NOT NULL; \
              UPDATE event SET created_at = NULL WHERE id <= 3").await;
    let plan = service
        .convert("event")
        .key("created_at")
        .plan()
        .await
        .expect("plan");
    assert_eq!(
        plan.problems,
        [ConversionProblem::NullKeys { count: 3 }],
        "{plan}"
    );
    let plan = service
        .convert("event")
        .key("created_at")
        .default_partition(true)
        .plan()
        .await
        .expect("plan");
    assert!(plan.is_possible(), "a DEFAULT partition takes them: {plan}");
    // A table another session keeps locked: the prepare gives up after its retries, and nothing changed.
    let holder = t.connect(1).await;
    let holding = holder.begin().await.expect("begin");
    holding
        .execute_unprepared("LOCK TABLE event IN SHARE MODE")
        .await
        .expect("lock");
    let impatient =
        PartitionService::new(db.clone()).with_maintenance_options(MaintenanceOptions {
            lock_timeout: std::time::Duration::from_millis(50),
            retries: 1,
            ..MaintenanceOptions::default()
        });
    let err = impatient
        .convert("event")
        .key("created_at")
        .default_partition(true)
        .run()
        .await
        .expect_err("locked");
    assert!(
        matches!(
            &err,
            Error::TableBusy {
                what: "the conversion's prepare",
                timeout_ms: 50,
                attempts: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("pg_locks"), "{err}");
    holding.rollback().await.expect("rollback");
    // Nothing changed.
    assert!(!catalog::exists(db, "public", "event_sopp_new").await);
    // A database whose crate tables predate conversions is told to run the migrations.
    exec(
        db,
        "ALTER TABLE sopp_conversion RENAME TO sopp_conversion_later",
    )
    .await;
    let err = service
        .convert("event")
        .key("created_at")
        .run()
        .await
        .expect_err("not installed");
    assert!(matches!(err, Error::NotInstalled { .. }), "{err}");
    exec(
        db,
        "ALTER TABLE sopp_conversion_later RENAME TO sopp_conversion",
    )
    .await;
    assert!(service.conversion("event").await.expect("state").is_none());
    t.finish().await;
}

/// `pg-partition ARGS` against the test's database.
async fn cli(t: &TestDb, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(args)
        .env("DATABASE_URL", &t.url)
        .output()
        .await
        .expect("runs pg-partition")
}

/// When to kill a conversion.
enum Kill {
    /// After this long.
    After(std::time::Duration),
    /// Once this query (on the state row) returns a row.
    When(&'static str),
}

impl Kill {
    async fn wait(&self, t: &TestDb) {
        match self {
            Kill::After(after) => tokio::time::sleep(*after).await,
            Kill::When(condition) => {
                while strings(&t.conn, condition, vec![]).await.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
    }
}

/// `pg-partition ARGS`, killed with SIGKILL at `kill`, unless it ended first: the phase it was killed in,
/// or `None` when it ended by itself (then it must have succeeded).
async fn killed_after(t: &TestDb, args: &[&str], kill: Kill) -> Option<String> {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(args)
        .env("DATABASE_URL", &t.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("runs pg-partition");
    tokio::select! {
        status = child.wait() => {
            let status = status.expect("waits");
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = e.read_to_string(&mut err).await;
                }
                panic!("{args:?} failed: {err}");
            }
            None
        }
        () = kill.wait(t) => {
            let phase = strings(&t.conn, "SELECT phase FROM sopp_conversion", vec![]).await;
            if std::env::var("SOPP_DEBUG_KILL").is_ok() {
                let waits = strings(&t.conn, "SELECT pid || ' ' || coalesce(wait_event_type, '-') || ' ' || coalesce(wait_event, '-') || ' ' || coalesce(state, '-') || ' ' || left(coalesce(query, ''), 60) || ' ' || coalesce((now() - xact_start)::text, '-') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", vec![]).await;
                println!("{phase:?} {waits:#?}");
            }
            child.start_kill().expect("SIGKILL");
            let _ = child.wait().await;
            Some(phase.into_iter().next().unwrap_or_else(|| "before prepare".to_owned()))
        }
    }
}

#[tokio::test]
async fn a_conversion_killed_again_and_again_is_resumed_and_loses_nothing() {
    let t = setup(test_name!(
        "a_conversion_killed_again_and_again_is_resumed_and_loses_nothing"
    ))
    .await;
    let db = &t.conn;
    plain_events(db, 30_000).await;
    let traffic = Arc::new(Traffic::default());
    let tasks = start_traffic(&t, traffic.clone());
    let start = [
        "convert",
        "event",
        "--key",
        "created_at",
        "--yes",
        "--batch-blocks",
        "2",
    ];
    let resume = ["convert", "event", "--resume"];
    let mut killed = Vec::new();
    // Kills at points of every phase: early (the plan, or the prepare transaction), twice in the copy, in the
    // catch-up, after the swap. A process that gets past its point before it is seen there finishes, or is
    // killed at a later one.
    let points = [
        Kill::After(std::time::Duration::from_millis(30)),
        Kill::When(
            "SELECT phase FROM sopp_conversion WHERE phase = 'copying' AND copied_blocks > 20",
        ),
        Kill::When(
            "SELECT phase FROM sopp_conversion WHERE phase = 'copying' AND copied_blocks > 100",
        ),
        Kill::When("SELECT phase FROM sopp_conversion WHERE phase = 'catching-up'"),
        Kill::When("SELECT phase FROM sopp_conversion WHERE phase = 'swapped'"),
    ];
    let phase = || async {
        strings(db, "SELECT phase FROM sopp_conversion", vec![])
            .await
            .pop()
    };
    for point in points {
        let args: &[&str] = match phase().await.as_deref() {
            Some("finished") => break,
            Some(_) => &resume,
            // Killed before its state row was written, a conversion has not started: it starts again.
            None => &start,
        };
        if let Some(phase) = killed_after(&t, args, point).await {
            killed.push(phase);
        }
    }
    let finished = match phase().await.as_deref() {
        Some("finished") => true,
        Some(_) => cli(&t, &resume).await.status.success(),
        None => cli(&t, &start).await.status.success(),
    };
    assert!(finished, "never finished; killed in {killed:?}");
    stop_traffic(&traffic, tasks).await;
    println!("killed in {killed:?}");
    assert!(killed.len() >= 3, "killed in {killed:?}");
    assert_eq!(
        killed.iter().filter(|p| *p == "copying").count(),
        2,
        "{killed:?}"
    );
    assert_eq!(checksum(db, "event").await, checksum(db, "ledger").await);
    let status = PartitionService::new(db.clone())
        .status_of("event")
        .await
        .expect("status");
    assert!(status.is_healthy(), "{:?}", status.anomalies);
    // Done is done: the same command again does nothing (and says it is converted), and there is nothing to
    // resume.
    let partitions = catalog::partitions(db, "public", "event").await;
    let again = cli(&t, &start).await;
    assert!(again.status.success(), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("converted public.event"),
        "{again:?}"
    );
    assert_eq!(catalog::partitions(db, "public", "event").await, partitions);
    assert_eq!(checksum(db, "event").await, checksum(db, "ledger").await);
    let nothing = cli(&t, &resume).await;
    assert_eq!(nothing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("no conversion"),
        "{nothing:?}"
    );
    t.finish().await;
}

#[tokio::test]
async fn a_conversion_rolled_back_before_the_swap_leaves_the_table_as_it_was() {
    let t = setup(test_name!(
        "a_conversion_rolled_back_before_the_swap_leaves_the_table_as_it_was"
    ))
    .await;
    let db = &t.conn;
    plain_events(db, 20_000).await;
    let before = strings(db, "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'event'::regclass ORDER BY 1", vec![]).await;
    let traffic = Arc::new(Traffic::default());
    let tasks = start_traffic(&t, traffic.clone());
    let start = [
        "convert",
        "event",
        "--key",
        "created_at",
        "--yes",
        "--batch-blocks",
        "1",
    ];
    let copying =
        "SELECT phase FROM sopp_conversion WHERE phase = 'copying' AND copied_blocks > 10";
    let phase = killed_after(&t, &start, Kill::When(copying)).await;
    assert_eq!(phase.as_deref(), Some("copying"));
    let err = PartitionService::new(db.clone())
        .convert("event")
        .key("created_at")
        .run()
        .await
        .expect_err("one is under way");
    assert!(matches!(err, Error::ConversionUnderWay { .. }), "{err}");
    let out = cli(&t, &["convert", "event", "--rollback"]).await;
    if !out.status.success() {
        let who = strings(db, "SELECT a.pid || ' ' || a.state || ' ' || coalesce(a.query, '') || ' ' || l.mode || ' ' || l.granted FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.relation = 'event'::regclass", vec![]).await;
        panic!("{out:?} {who:#?}");
    }
    stop_traffic(&traffic, tasks).await;
    assert_eq!(checksum(db, "event").await, checksum(db, "ledger").await);
    assert_eq!(catalog::partition_key(db, "public", "event").await, None);
    assert!(!catalog::exists(db, "public", "event_sopp_new").await);
    let triggers = strings(
        db,
        "SELECT tgname::text FROM pg_trigger WHERE tgrelid = 'event'::regclass",
        vec![],
    )
    .await;
    assert!(triggers.is_empty(), "{triggers:?}");
    let after = strings(db, "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'event'::regclass ORDER BY 1", vec![]).await;
    assert_eq!(before, after);
    let left = strings(
        db,
        "SELECT count(*)::text FROM sopp_conversion_change",
        vec![],
    )
    .await;
    assert_eq!(left, ["0"]);
    // It can be converted afterwards, and after the swap there is no rolling back.
    let out = cli(
        &t,
        &[
            "convert",
            "event",
            "--key",
            "created_at",
            "--yes",
            "--keep-old",
        ],
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("the old table is kept as event_sopp_old")
    );
    assert_eq!(
        checksum(db, "event").await,
        checksum(db, "event_sopp_old").await
    );
    let service = PartitionService::new(db.clone());
    let state = service
        .conversion("event")
        .await
        .expect("state")
        .expect("kept");
    assert_eq!(state.phase, "finished");
    assert!(state.swap_lock_ms.is_some());
    t.finish().await;
}

#[tokio::test]
async fn every_object_is_carried_over() {
    let t = setup(test_name!("every_object_is_carried_over")).await;
    let db = &t.conn;
    let role = format!("{}_r", &t.name[..t.name.len().min(50)]);
    let owner = format!("{}_o", &t.name[..t.name.len().min(50)]);
    for r in [&role, &owner] {
        exec(
            db,
            &format!(r#"DROP ROLE IF EXISTS "{r}"; CREATE ROLE "{r}""#),
        )
        .await;
    }
    exec(
        db,
        &format!(
            r#"CREATE TABLE users (id int PRIMARY KEY);
            INSERT INTO users SELECT generate_series(1, 50);
            CREATE TABLE audit (event_id bigint, at timestamptz);
            CREATE FUNCTION audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO audit VALUES (NEW.id, NEW.created_at); RETURN NULL; END $$;
            CREATE TABLE event (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                created_at timestamptz NOT NULL,
                user_id int NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                code text NOT NULL,
                payload text);
            CREATE UNIQUE INDEX event_code ON event (code);
            CREATE INDEX event_lower ON event (lower(payload));
            COMMENT ON COLUMN event.payload IS 'what happened';
            INSERT INTO event (created_at, user_id, code, payload)
                SELECT timestamptz '2026-06-01' + g * interval '1 hour', 1 + g % 50, 'c' || g, 'P' || g
                FROM generate_series(1, 3000) g;
            CREATE TRIGGER event_audit AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION audit_event();
            GRANT SELECT, INSERT ON event TO "{role}";
            ALTER TABLE event OWNER TO "{owner}";"#
        ),
    )
    .await;
    let service = PartitionService::new(db.clone());
    let plan = service
        .convert("event")
        .key("created_at")
        .plan()
        .await
        .expect("plan");
    assert!(plan.is_possible(), "{plan}");
    let before = checksum_of(db, "event").await;
    let report = service
        .convert("event")
        .key("created_at")
        .period(Period::Day)
        .run()
        .await
        .expect("converted");
    assert!(report.partitions > 100, "{report:?}");
    assert_eq!(checksum_of(db, "event").await, before);
    // The copy fired no trigger; the new table's does.
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM audit", vec![]).await,
        ["0"]
    );
    let id = strings(
        db,
        "INSERT INTO event (created_at, user_id, code) VALUES (now(), 1, 'new') RETURNING id::text",
        vec![],
    )
    .await;
    assert_eq!(id, ["3001"], "the identity goes on");
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM audit", vec![]).await,
        ["1"]
    );
    crate::support::exec_err(
        db,
        "INSERT INTO event (id, created_at, user_id, code) VALUES (1, now(), 1, 'x')",
    )
    .await;
    // The foreign key: enforced, on every partition, cascading.
    crate::support::exec_err(
        db,
        "INSERT INTO event (created_at, user_id, code) VALUES (now(), 999, 'y')",
    )
    .await;
    exec(db, "DELETE FROM users WHERE id = 2").await;
    assert_eq!(
        strings(
            db,
            "SELECT count(*)::text FROM event WHERE user_id = 2",
            vec![]
        )
        .await,
        ["0"]
    );
    let fk = strings(
        db,
        "SELECT conname::text || ' ' || convalidated FROM pg_constraint WHERE conrelid = 'event'::regclass AND contype = 'f'",
        vec![],
    )
    .await;
    assert_eq!(fk, ["event_user_id_fkey true"]);
    // Unique on (code, created_at), the expression index, the column comment, owner and grants.
    let indexes = strings(
        db,
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'event'::regclass ORDER BY 1",
        vec![],
    )
    .await;
    assert_eq!(
        indexes,
        [
            "CREATE INDEX event_lower ON ONLY public.event USING btree (lower(payload))",
            "CREATE UNIQUE INDEX event_code ON ONLY public.event USING btree (code, created_at)",
            "CREATE UNIQUE INDEX event_pkey ON ONLY public.event USING btree (id, created_at)",
        ]
    );
    assert_eq!(
        strings(db, "SELECT col_description('event'::regclass, 5)", vec![]).await,
        ["what happened"]
    );
    assert_eq!(
        strings(
            db,
            "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'event'::regclass",
            vec![]
        )
        .await,
        [owner.as_str()]
    );
    let grants = strings(
        db,
        "SELECT privilege_type::text FROM information_schema.role_table_grants WHERE table_name = 'event' AND grantee = $1 ORDER BY 1",
        vec![role.clone().into()],
    )
    .await;
    assert_eq!(grants, ["INSERT", "SELECT"]);
    // Every partition follows the table: its owner, and the role may use a partition directly.
    let differing = strings(
        db,
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'event'::regclass AND (pg_get_userbyid(c.relowner) <> $1 \
               OR NOT has_table_privilege($2, c.oid, 'SELECT') OR NOT has_table_privilege($2, c.oid, 'INSERT'))",
        vec![owner.clone().into(), role.clone().into()],
    )
    .await;
    assert!(differing.is_empty(), "{differing:?}");
    let status = service.status_of("event").await.expect("status");
    assert!(
        !status
            .anomalies
            .iter()
            .any(|a| a.kind()
                == sea_orm_pg_partitioning::model::status::AnomalyKind::PropertiesDiffer),
        "{:#?}",
        status.anomalies
    );
    exec(
        db,
        &format!(r#"DROP TABLE event, audit, users; DROP ROLE "{role}"; DROP ROLE "{owner}""#),
    )
    .await;
    t.finish().await;
}

/// Count and hash of every row of a table with `id`, `created_at` and `code`.
async fn checksum_of(db: &DatabaseConnection, table: &str) -> String {
    strings(
        db,
        &format!("SELECT count(*) || '/' || sum(hashtextextended(id || created_at::text || code, 0)) FROM {table}"),
        vec![],
    )
    .await
    .remove(0)
}

#[tokio::test]
async fn integer_and_uuidv7_keys_are_converted_then_maintained() {
    let t = setup(test_name!(
        "integer_and_uuidv7_keys_are_converted_then_maintained"
    ))
    .await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE orders (id bigserial PRIMARY KEY, total int NOT NULL);
         INSERT INTO orders (total) SELECT g FROM generate_series(1, 4500) g;
         CREATE TABLE visit (id uuid PRIMARY KEY, page text NOT NULL);
         INSERT INTO visit SELECT (lpad(to_hex((extract(epoch FROM now() - g * interval '1 day') * 1000)::bigint), 12, '0')
             || '7000' || '8000' || lpad(to_hex(g), 12, '0'))::uuid, 'page ' || g FROM generate_series(1, 90) g;",
    )
    .await;
    let service = PartitionService::new(db.clone());
    let report = service
        .convert("orders")
        .key("id")
        .step(1000)
        .retention(2)
        .run()
        .await
        .expect("orders");
    // 0..1000 .. 4000..5000, and the next step.
    assert_eq!(report.partitions, 6, "{report:?}");
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM orders", vec![]).await,
        ["4500"]
    );
    let report = service
        .convert("visit")
        .key("id")
        .period(Period::Month)
        .encoding(TimeEncoding::UuidV7)
        .retention(1)
        .run()
        .await
        .expect("visit");
    assert!((4..=6).contains(&report.partitions), "{report:?}");
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM visit", vec![]).await,
        ["90"]
    );
    assert!(service.status().await.expect("status").is_healthy());
    // Maintenance goes on from there: retention detaches the oldest, and nothing is lost.
    let run = service.run_maintenance().await.expect("maintenance");
    assert!(run.is_ok(), "{run:?}");
    assert!(run.detached() >= 3, "{run:?}");
    let attached = strings(db, "SELECT count(*)::text FROM orders", vec![]).await;
    let detached = strings(
        db,
        "SELECT relname::text FROM pg_class WHERE relname LIKE 'orders\\_%' AND relkind = 'r' AND NOT relispartition",
        vec![],
    )
    .await;
    let mut all: i64 = attached[0].parse().expect("count");
    for table in &detached {
        let n = strings(
            db,
            &format!(r#"SELECT count(*)::text FROM "{table}""#),
            vec![],
        )
        .await;
        all += n[0].parse::<i64>().expect("count");
    }
    assert_ne!(attached, ["4500"], "some were detached");
    assert_eq!(
        detached,
        ["orders_0_1000", "orders_1000_2000"],
        "keep 2 below the one holding 4500"
    );
    assert_eq!(all, 4500);
    t.finish().await;
}

#[tokio::test]
async fn the_command_shows_the_plan_and_speaks_its_flags() {
    let t = setup(test_name!(
        "the_command_shows_the_plan_and_speaks_its_flags"
    ))
    .await;
    let db = &t.conn;
    plain_events(db, 500).await;
    let out = cli(
        &t,
        &[
            "convert",
            "event",
            "--key",
            "created_at",
            "--period",
            "week",
            "--dry-run",
        ],
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("range by week (UTC)") && text.contains("nothing stops it"),
        "{text}"
    );
    let out = cli(
        &t,
        &[
            "--json",
            "convert",
            "event",
            "--key",
            "created_at",
            "--dry-run",
        ],
    )
    .await;
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["kind"]["period"], "month");
    assert_eq!(plan["problems"], serde_json::json!([]));
    for (args, says) in [
        (
            &[
                "convert",
                "event",
                "--key",
                "created_at",
                "--primary-key",
                "maybe",
            ][..],
            "unknown --primary-key \"maybe\"",
        ),
        (
            &[
                "convert",
                "event",
                "--key",
                "created_at",
                "--period",
                "fortnight",
            ][..],
            "unknown --period \"fortnight\"",
        ),
        (
            &[
                "convert",
                "event",
                "--key",
                "created_at",
                "--time-zone",
                "Mars/Olympus",
            ][..],
            "Mars/Olympus",
        ),
        (
            &[
                "convert",
                "event",
                "--key",
                "created_at",
                "--encoding",
                "base64",
            ][..],
            "--encoding",
        ),
        (&["convert", "event"][..], "--key"),
        (
            &["convert", "event", "--key", "created_at"][..],
            "pass --yes",
        ),
        (
            &["convert", "event", "--key", "payload", "--yes"][..],
            "cannot be converted",
        ),
    ] {
        let out = cli(&t, args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        // clap's own usage errors (a missing --key) come with their usage lines.
        if args.len() > 2 {
            assert_eq!(
                stderr.trim().lines().count(),
                1,
                "{args:?}: one line: {stderr}"
            );
        }
    }
    assert!(!catalog::exists(db, "public", "event_sopp_new").await);
    t.finish().await;
}

#[tokio::test]
async fn the_old_rows_can_stay_in_place_as_one_legacy_partition() {
    let t = setup(test_name!(
        "the_old_rows_can_stay_in_place_as_one_legacy_partition"
    ))
    .await;
    let db = &t.conn;
    plain_events(db, 20_000).await;
    exec(
        db,
        "CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users VALUES (1); \
              ALTER TABLE event ADD COLUMN user_id int REFERENCES users (id)",
    )
    .await;
    let service = PartitionService::new(db.clone());
    let plan = service
        .convert("event")
        .key("created_at")
        .legacy_partition(true)
        .plan()
        .await
        .expect("plan");
    assert!(plan.is_possible(), "{plan}");
    assert_eq!(plan.partitions.len(), 3, "{plan}");
    assert_eq!(plan.partitions[0].name, "event_legacy");
    let traffic = Arc::new(Traffic::default());
    let tasks = start_traffic(&t, traffic.clone());
    // Killed while building its indexes, it resumes; the old rows are never copied.
    let start = [
        "convert",
        "event",
        "--key",
        "created_at",
        "--legacy",
        "--yes",
    ];
    let kill =
        Kill::When("SELECT phase FROM sopp_conversion WHERE phase IN ('indexing', 'swapped')");
    let _ = killed_after(&t, &start, kill).await;
    let out = cli(&t, &["convert", "event", "--resume"]).await;
    assert!(out.status.success(), "{out:?}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop_traffic(&traffic, tasks).await;
    assert_eq!(checksum(db, "event").await, checksum(db, "ledger").await);
    let state = service
        .conversion("event")
        .await
        .expect("state")
        .expect("row");
    assert_eq!((state.phase.as_str(), state.rows_copied), ("finished", 0));
    let parts = catalog::partitions(db, "public", "event").await;
    assert_eq!(parts.len(), 3, "{parts:?}");
    let legacy = parts
        .iter()
        .find(|(name, _)| name == "event_legacy")
        .expect("attached");
    assert!(
        legacy.1.starts_with("FOR VALUES FROM ('2026-01-01"),
        "{parts:?}"
    );
    let status = service.status_of("event").await.expect("status");
    assert!(status.is_healthy(), "{:?}", status.anomalies);
    let legacy = status.partition("event_legacy").expect("logged");
    assert!(
        legacy
            .log
            .as_ref()
            .is_some_and(|l| l.legacy && !l.created_by_crate)
    );
    // The widened primary key is the parent's; the foreign key holds on every partition.
    let pk = strings(db, "SELECT pg_get_indexdef('event_pkey'::regclass)", vec![]).await;
    assert_eq!(
        pk,
        ["CREATE UNIQUE INDEX event_pkey ON ONLY public.event USING btree (id, created_at)"]
    );
    crate::support::exec_err(
        db,
        "INSERT INTO event (created_at, user_id) VALUES (now(), 42)",
    )
    .await;
    // Retention detaches the legacy partition whole once it has passed, and never drops it.
    let later = chrono::Utc::now() + chrono::Duration::days(400);
    let (service, _clock) = crate::time_range::service(db, later);
    let events = service.time_range_of("event").await.expect("registered");
    events
        .update_config(|c| c.interval = Some(2))
        .await
        .expect("retention");
    let run = service.run_maintenance().await.expect("maintenance");
    assert!(run.is_ok(), "{run:?}");
    assert!(catalog::exists(db, "public", "event_legacy").await);
    let attached = catalog::partitions(db, "public", "event").await;
    assert!(
        attached.iter().all(|(name, _)| name != "event_legacy"),
        "{attached:?}"
    );
    t.finish().await;
}
