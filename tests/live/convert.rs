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
    exec(db, "CREATE TABLE nokey (a int, ts timestamptz)").await;
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
    // Nothing changed.
    assert!(!catalog::exists(db, "public", "event_sopp_new").await);
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
    let mut finished = false;
    for round in 0..30_u64 {
        // Killed before its state row was written, a conversion has not started: it is started again.
        let started = !strings(db, "SELECT phase FROM sopp_conversion", vec![])
            .await
            .is_empty();
        let args: &[&str] = if started { &resume } else { &start };
        // Kills spread over the run: early in a batch, late, during the swap and the finish.
        let after = std::time::Duration::from_millis(120 + (round * 37) % 260);
        match killed_after(&t, args, Kill::After(after)).await {
            // Killed after it had finished, while it printed its report.
            Some(phase) if phase == "finished" => {
                finished = true;
                break;
            }
            Some(phase) => killed.push(phase),
            None => {
                finished = true;
                break;
            }
        }
    }
    assert!(finished, "never finished; killed in {killed:?}");
    stop_traffic(&traffic, tasks).await;
    println!("killed in {killed:?}");
    assert!(killed.len() >= 3, "killed in {killed:?}");
    assert!(killed.iter().any(|p| p == "copying"), "{killed:?}");
    assert_eq!(checksum(db, "event").await, checksum(db, "ledger").await);
    let status = PartitionService::new(db.clone())
        .status_of("event")
        .await
        .expect("status");
    assert!(status.is_healthy(), "{:?}", status.anomalies);
    // Done is done: a second conversion is refused, and there is nothing to resume.
    let again = cli(&t, &start).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already partitioned"));
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
