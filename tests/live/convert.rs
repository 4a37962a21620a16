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
