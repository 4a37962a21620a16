//! Indexes on partitioned tables built without blocking writes: a writer keeps inserting while one is built,
//! an interrupted build is finished, sub-partitioned partitions get theirs, and a migration builds one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::Index;
use sea_orm_pg_partitioning::prelude::*;

use crate::support::{exec, strings};
use crate::test_name;
use crate::time_range::setup;

/// `ev`, partitioned by day over `days` days, with `per_day` rows each; one day sub-partitioned by hash.
async fn many_partitions(db: &sea_orm::DatabaseConnection, days: i64, per_day: i64) {
    let mut sql = String::from(
        "CREATE TABLE ev (id bigserial, created_at timestamptz NOT NULL, payload text, PRIMARY KEY (id, created_at)) \
         PARTITION BY RANGE (created_at);",
    );
    for d in 0..days {
        let sub = if d == 0 {
            " PARTITION BY HASH (id)"
        } else {
            ""
        };
        sql.push_str(&format!(
            "CREATE TABLE ev_{d} PARTITION OF ev FOR VALUES FROM ('2026-01-01'::date + {d}) TO ('2026-01-01'::date + {next}){sub};",
            next = d + 1
        ));
    }
    for h in 0..2 {
        sql.push_str(&format!(
            "CREATE TABLE ev_0_h{h} PARTITION OF ev_0 FOR VALUES WITH (MODULUS 2, REMAINDER {h});"
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO ev (created_at, payload) SELECT '2026-01-01'::timestamptz + (g * interval '1 day' / {per_day}), 'p' || g \
         FROM generate_series(0, {} - 1) g;",
        days * per_day
    ));
    exec(db, &sql).await;
}

#[tokio::test]
async fn an_index_is_built_while_a_writer_keeps_inserting_and_an_interrupted_build_is_finished() {
    let t = setup(test_name!(
        "an_index_is_built_while_a_writer_keeps_inserting_and_an_interrupted_build_is_finished"
    ))
    .await;
    let db = &t.conn;
    many_partitions(db, 12, 5000).await;
    // An interrupted build: the parent's index, one partition's built and attached, another's left invalid.
    exec(
        db,
        "CREATE INDEX ev_payload ON ONLY ev (payload); \
         CREATE INDEX ev_1_ev_payload ON ev_1 (payload); ALTER INDEX ev_payload ATTACH PARTITION ev_1_ev_payload; \
         CREATE INDEX ev_2_ev_payload ON ev_2 (payload); UPDATE pg_index SET indisvalid = false \
         WHERE indexrelid = 'ev_2_ev_payload'::regclass",
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let (writes, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (stop, writes, failures) = (stop.clone(), writes.clone(), failures.clone());
        let url = t.url.clone();
        tokio::spawn(async move {
            let db = sea_orm::Database::connect(url).await.expect("connect");
            let mut i = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let day = i % 12;
                let sql = format!(
                    "INSERT INTO ev (created_at, payload) VALUES ('2026-01-01'::timestamptz + interval '{day} days 1 hour', 'w{i}')"
                );
                match db.execute_unprepared(&sql).await {
                    Ok(_) => writes.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failures.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let service = PartitionService::new(db.clone());
    // Status, once the table is registered, names the unfinished index and what it lacks.
    exec(db, "CREATE TABLE small (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)").await;
    service
        .time_range_table("small")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    exec(db, "CREATE INDEX small_id ON ONLY small (id)").await;
    let incomplete = |status: &sea_orm_pg_partitioning::service::TableStatus| {
        status.anomalies.iter().find_map(|a| match a {
            sea_orm_pg_partitioning::service::Anomaly::IndexIncomplete { index, missing } => {
                Some((index.clone(), missing.len(), a.to_string()))
            }
            _ => None,
        })
    };
    let status = service.status_of("small").await.expect("status");
    let (index, missing, text) = incomplete(&status).expect("reported");
    assert_eq!((index.as_str(), missing), ("small_id", 1), "{text}");
    assert!(text.contains("create_index"), "{text}");
    service
        .create_index(
            "small",
            Index::create().name("small_id").col("id").to_owned(),
        )
        .await
        .expect("finished");
    assert_eq!(
        incomplete(&service.status_of("small").await.expect("status")),
        None
    );
    let index = Index::create().name("ev_payload").col("payload").to_owned();
    let build = service
        .create_index("ev", index.clone())
        .await
        .expect("built");
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("writer");
    assert_eq!(failures.load(Ordering::Relaxed), 0, "no write failed");
    assert!(writes.load(Ordering::Relaxed) > 0);
    assert!(build.valid, "{build:?}");
    assert_eq!(build.kept, 1, "ev_1's was there: {build:?}");
    assert_eq!(build.rebuilt, ["ev_2_ev_payload"], "{build:?}");
    // Built: the 10 daily leaves besides ev_1, and ev_0's 2 hash leaves; ev_0 itself gets an ON ONLY index.
    assert_eq!(build.built.len(), 10 + 2, "{build:?}");
    assert_eq!(build.attached.len(), 10 + 1 + 2, "{build:?}");
    let invalid = strings(
        db,
        "SELECT count(*)::text FROM pg_index WHERE NOT indisvalid",
        vec![],
    )
    .await;
    assert_eq!(invalid, ["0"]);
    let leaves = strings(
        db,
        "SELECT count(*)::text FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid \
         WHERE i.inhparent IN (SELECT 'ev_payload'::regclass UNION SELECT 'ev_0_ev_payload'::regclass)",
        vec![],
    )
    .await;
    assert_eq!(
        leaves,
        ["14"],
        "the 12 partitions' indexes, and ev_0's 2 leaves'"
    );
    // Again: nothing to do.
    let again = service.create_index("ev", index).await.expect("again");
    assert!(
        again.valid && again.built.is_empty() && again.attached.is_empty(),
        "{again:?}"
    );
    // A new partition gets the index from PostgreSQL; dropping takes them all.
    exec(
        db,
        "CREATE TABLE ev_99 PARTITION OF ev FOR VALUES FROM ('2027-01-01') TO ('2027-01-02')",
    )
    .await;
    assert!(
        service
            .drop_index("ev", "ev_payload")
            .await
            .expect("dropped")
    );
    assert!(!service.drop_index("ev", "ev_payload").await.expect("gone"));
    let left = strings(
        db,
        "SELECT count(*)::text FROM pg_class WHERE relname LIKE '%ev_payload%'",
        vec![],
    )
    .await;
    assert_eq!(left, ["0"]);
    t.finish().await;
}

#[tokio::test]
async fn a_migration_builds_an_index_concurrently_and_refuses_inside_a_transaction() {
    let t = setup(test_name!(
        "a_migration_builds_an_index_concurrently_and_refuses_inside_a_transaction"
    ))
    .await;
    let db = &t.conn;
    many_partitions(db, 3, 10).await;
    let manager = sea_orm_migration::SchemaManager::new(db);
    let build = manager
        .create_partitioned_index(
            "ev",
            Index::create()
                .name("ev_created")
                .col("created_at")
                .to_owned(),
        )
        .await
        .expect("built");
    assert!(build.valid, "{build:?}");
    let txn = sea_orm::TransactionTrait::begin(db).await.expect("begin");
    let inside = sea_orm_migration::SchemaManager::new(&txn);
    let err = inside
        .create_partitioned_index(
            "ev",
            Index::create().name("ev_payload").col("payload").to_owned(),
        )
        .await
        .expect_err("in a transaction");
    assert!(err.to_string().contains("use_transaction"), "{err}");
    drop(txn);
    let err = manager
        .create_partitioned_index("ev", Index::create().col("payload").to_owned())
        .await
        .expect_err("no name");
    assert!(err.to_string().contains(".name("), "{err}");
    // A column the table does not have: a typed error before anything is built.
    let service = PartitionService::new(db.clone());
    let err = service
        .create_index(
            "ev",
            Index::create()
                .name("ev_nope")
                .col("no_such_column")
                .to_owned(),
        )
        .await
        .expect_err("unknown column");
    assert!(
        matches!(&err, Error::InvalidConfig { problem: sea_orm_pg_partitioning::ConfigProblem::UnknownColumn { column, .. }, .. } if column == "no_such_column"),
        "{err}"
    );
    assert!(
        strings(
            db,
            "SELECT relname::text FROM pg_class WHERE relname = 'ev_nope'",
            vec![]
        )
        .await
        .is_empty()
    );
    t.finish().await;
}
