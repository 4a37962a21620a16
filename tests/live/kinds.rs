//! List, hash, integer-range, DEFAULT and sub-partitioned tables through the service.

use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement};
use sea_orm_pg_partitioning::entity::partition_log::PartitionKind;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::HookError;

use crate::support::{TS_A, TS_B, catalog, exec, strings};
use crate::test_name;
use crate::time_range::{assert_consistent, event_table, route, service, setup, utc};

/// The partition (relname) holding the rows of `table` where `condition`.
async fn holders(db: &DatabaseConnection, table: &str, condition: &str) -> Vec<String> {
    strings(
        db,
        &format!(r#"SELECT DISTINCT c.relname::text FROM "{table}" t JOIN pg_class c ON c.oid = t.tableoid WHERE {condition} ORDER BY 1"#),
        vec![],
    )
    .await
}

/// The tablespace of a partition and of each of its indexes.
async fn placed(db: &DatabaseConnection, name: &str) -> (Option<String>, Vec<Option<String>>) {
    let table = catalog::tablespace(db, "public", name).await;
    let indexes = catalog::index_tablespaces(db, "public", name)
        .await
        .into_iter()
        .map(|(_, ts)| ts)
        .collect();
    (table, indexes)
}

#[tokio::test]
async fn list_partitions_of_the_original_cases_are_logged_with_their_values() {
    let t = setup(test_name!(
        "list_partitions_of_the_original_cases_are_logged_with_their_values"
    ))
    .await;
    let db = &t.conn;
    for (table, ty) in [
        ("by_text", "text"),
        ("by_int", "integer"),
        ("by_bool", "boolean"),
    ] {
        exec(db, &format!("CREATE TABLE {table} (k {ty}, note text) PARTITION BY LIST (k); CREATE INDEX ON {table} (note)")).await;
    }
    let (service, _clock) = service(db, utc(2024, 1, 1, 0, 0));
    let text = service
        .list_table("by_text")
        .detach_tablespace(TS_B)
        .register()
        .await
        .expect("register");
    text.create_partition("by_text_a", ["A"], Some(TS_A))
        .await
        .expect("A");
    text.create_partition("by_text_b", ["B"], None)
        .await
        .expect("B");
    text.create_partition("by_text_empty", [""], None)
        .await
        .expect("''");
    text.create_partition("by_text_null", [None::<&str>], None)
        .await
        .expect("NULL");
    let int = service
        .list_table("by_int")
        .register()
        .await
        .expect("register");
    int.create_partition("by_int_1", [1], Some(TS_A))
        .await
        .expect("1");
    int.create_partition("by_int_2", [2], None)
        .await
        .expect("2");
    int.create_partition("by_int_null", [None::<i32>], None)
        .await
        .expect("NULL");
    let boolean = service
        .list_table("by_bool")
        .register()
        .await
        .expect("register");
    boolean
        .create_partition("by_bool_true", [true], None)
        .await
        .expect("true");
    boolean
        .create_partition("by_bool_false", [false], Some(TS_B))
        .await
        .expect("false");
    boolean
        .create_partition("by_bool_null", [None::<bool>], None)
        .await
        .expect("NULL");

    assert_eq!(
        catalog::partitions(db, "public", "by_text").await,
        [
            ("by_text_a".to_owned(), "FOR VALUES IN ('A')".to_owned()),
            ("by_text_b".to_owned(), "FOR VALUES IN ('B')".to_owned()),
            ("by_text_empty".to_owned(), "FOR VALUES IN ('')".to_owned()),
            ("by_text_null".to_owned(), "FOR VALUES IN (NULL)".to_owned()),
        ]
    );
    let logged: Vec<(String, String)> = text
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .map(|l| (l.partition_name, l.list_values.expect("values").to_string()))
        .collect();
    assert_eq!(
        logged,
        [
            ("by_text_a".to_owned(), r#"["A"]"#.to_owned()),
            ("by_text_b".to_owned(), r#"["B"]"#.to_owned()),
            ("by_text_empty".to_owned(), r#"[""]"#.to_owned()),
            ("by_text_null".to_owned(), "[null]".to_owned()),
        ]
    );
    assert_eq!(
        placed(db, "by_text_a").await,
        (Some(TS_A.into()), vec![Some(TS_A.into())])
    );
    assert_eq!(
        placed(db, "by_int_1").await,
        (Some(TS_A.into()), vec![Some(TS_A.into())])
    );
    assert_eq!(
        placed(db, "by_bool_false").await,
        (Some(TS_B.into()), vec![Some(TS_B.into())])
    );
    assert_eq!(placed(db, "by_text_b").await, (None, vec![None]));

    exec(db, "INSERT INTO by_text (k) VALUES ('A'), ('B'), (''), (NULL); INSERT INTO by_int (k) VALUES (1), (2), (NULL); INSERT INTO by_bool (k) VALUES (true), (false), (NULL)").await;
    assert_eq!(holders(db, "by_text", "k = ''").await, ["by_text_empty"]);
    assert_eq!(holders(db, "by_text", "k IS NULL").await, ["by_text_null"]);
    assert_eq!(holders(db, "by_int", "k IS NULL").await, ["by_int_null"]);
    assert_eq!(holders(db, "by_bool", "k = false").await, ["by_bool_false"]);

    // Detach to a tablespace (table and index follow), attach back to another.
    let detached = text
        .detach_partition("by_text_a", None)
        .await
        .expect("detach");
    assert!(!detached.is_attached);
    assert_eq!(
        placed(db, "by_text_a").await,
        (Some(TS_B.into()), vec![Some(TS_B.into())])
    );
    assert_eq!(
        holders(db, "by_text", "k = 'A'").await,
        Vec::<String>::new()
    );
    let attached = text
        .attach_partition("by_text_a", ["A"], Some(TS_A))
        .await
        .expect("attach");
    assert!(attached.is_attached);
    assert_eq!(
        placed(db, "by_text_a").await,
        (Some(TS_A.into()), vec![Some(TS_A.into())])
    );
    assert_eq!(holders(db, "by_text", "k = 'A'").await, ["by_text_a"]);

    // A table made by hand is attached and recorded, with several values.
    exec(db, "CREATE TABLE by_text_cd (LIKE by_text INCLUDING ALL); INSERT INTO by_text_cd (k) VALUES ('C'), ('D')").await;
    let cd = text
        .attach_partition("by_text_cd", ["C", "D"], None)
        .await
        .expect("attach by hand");
    assert_eq!(
        cd.list_values.as_ref().map(|v| v.to_string()).as_deref(),
        Some(r#"["C","D"]"#)
    );
    assert_eq!(
        holders(db, "by_text", "k IN ('C', 'D')").await,
        ["by_text_cd"]
    );
    let err = text
        .attach_partition("no_such_table", ["E"], None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownTable { .. }), "{err}");

    // Truncate, move and delete list partitions like any others.
    text.truncate(&cd).await.expect("truncate");
    assert_eq!(catalog::count(db, "by_text_cd").await, 0);
    let b = text
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .find(|l| l.partition_name == "by_text_b")
        .expect("b");
    text.set_tablespace(&b, TS_B).await.expect("move");
    assert_eq!(
        placed(db, "by_text_b").await,
        (Some(TS_B.into()), vec![Some(TS_B.into())])
    );
    text.delete_partitions(&[b]).await.expect("delete");
    assert!(!catalog::exists(db, "public", "by_text_b").await);
    assert_eq!(text.partitions().await.expect("partitions").len(), 4);

    let err = service
        .list_table("by_text_a")
        .register()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotPartitioned { .. }), "{err}");
    t.finish().await;
}

#[tokio::test]
async fn hash_tables_get_all_partitions_in_one_call() {
    let t = setup(test_name!("hash_tables_get_all_partitions_in_one_call")).await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE account (id bigint PRIMARY KEY, name text) PARTITION BY HASH (id)",
    )
    .await;
    let (service, _clock) = service(db, utc(2024, 1, 1, 0, 0));
    let accounts = service
        .hash_table("account")
        .modulus(4)
        .attach_tablespace(TS_A)
        .detach_tablespace(TS_B)
        .register()
        .await
        .expect("register");
    let parts = accounts.partitions().await.expect("partitions");
    assert_eq!(
        parts
            .iter()
            .map(|p| p.partition_name.as_str())
            .collect::<Vec<_>>(),
        ["account_h0", "account_h1", "account_h2", "account_h3"]
    );
    assert_eq!(
        catalog::partitions(db, "public", "account")
            .await
            .into_iter()
            .map(|(_, b)| b)
            .collect::<Vec<_>>(),
        (0..4)
            .map(|r| format!("FOR VALUES WITH (modulus 4, remainder {r})"))
            .collect::<Vec<_>>()
    );
    for p in &parts {
        assert_eq!(
            placed(db, &p.partition_name).await,
            (Some(TS_A.into()), vec![Some(TS_A.into())])
        );
    }
    exec(
        db,
        "INSERT INTO account SELECT g, 'n' FROM generate_series(1, 100) g",
    )
    .await;
    let again = service
        .hash_table("account")
        .modulus(8)
        .register()
        .await
        .expect("idempotent");
    assert_eq!(again.partitions().await.expect("partitions").len(), 4);

    let detached = accounts.detach(&parts[1..2]).await.expect("detach");
    assert_eq!(detached.len(), 1);
    assert_eq!(
        placed(db, "account_h1").await,
        (Some(TS_B.into()), vec![Some(TS_B.into())])
    );
    assert_eq!(catalog::partitions(db, "public", "account").await.len(), 3);
    accounts.attach(&parts[1..2], None).await.expect("attach");
    assert_eq!(
        placed(db, "account_h1").await,
        (Some(TS_A.into()), vec![Some(TS_A.into())])
    );
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM account", vec![]).await,
        ["100"]
    );
    t.finish().await;
}

#[tokio::test]
async fn integer_ranges_follow_the_largest_key_and_keep_a_count() {
    let t = setup(test_name!(
        "integer_ranges_follow_the_largest_key_and_keep_a_count"
    ))
    .await;
    let db = &t.conn;
    exec(
        db,
        r#"CREATE TABLE "order" (id bigint NOT NULL, total int) PARTITION BY RANGE (id)"#,
    )
    .await;
    let (service, _clock) = service(db, utc(2024, 1, 1, 0, 0));
    let orders = service
        .id_range_table("order")
        .step(100)
        .premake(2)
        .keep(1)
        .register()
        .await
        .expect("register");
    let names = |logs: &[partition_log::Model]| {
        logs.iter()
            .map(|l| l.partition_name.clone())
            .collect::<Vec<_>>()
    };
    // Empty: the partition holding 0 and two beyond it.
    assert_eq!(
        names(&orders.partitions().await.expect("partitions")),
        ["order_0_100", "order_100_200", "order_200_300"]
    );
    assert!(
        orders.create_partition().await.expect("create").is_empty(),
        "idempotent"
    );
    exec(
        db,
        r#"INSERT INTO "order" SELECT g, 1 FROM generate_series(1, 250) g"#,
    )
    .await;
    // 250 lives in [200, 300): two more beyond it.
    assert_eq!(
        names(&orders.create_partition().await.expect("create")),
        ["order_300_400", "order_400_500"]
    );
    assert_eq!(holders(db, "order", "id = 99").await, ["order_0_100"]);
    assert_eq!(holders(db, "order", "id = 100").await, ["order_100_200"]);
    // Keep 1 below the holding partition ([100, 200)): [0, 100) goes.
    let detached = orders.detach_partitions(None).await.expect("detach");
    assert_eq!(names(&detached), ["order_0_100"]);
    assert!(
        orders
            .detach_partitions(None)
            .await
            .expect("detach")
            .is_empty()
    );
    orders.attach_partitions(None, None).await.expect("attach");
    assert_eq!(
        strings(db, r#"SELECT count(*)::text FROM "order""#, vec![]).await,
        ["250"]
    );
    exec(
        db,
        "CREATE TABLE by_time (ts timestamptz) PARTITION BY RANGE (ts)",
    )
    .await;
    let err = service
        .id_range_table("by_time")
        .register()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedKeyType { .. }), "{err}");
    t.finish().await;
}

/// `count:md5` over every row of a table, in id order.
async fn checksum(db: &DatabaseConnection, table: &str) -> String {
    strings(
        db,
        &format!(
            r#"SELECT count(*)::text || ':' || coalesce(md5(string_agg(id::text || '|' || created_at::text || '|' || coalesce(payload, ''), ',' ORDER BY id)), '')
               FROM "{table}""#
        ),
        vec![],
    )
    .await
    .remove(0)
}

async fn insert_rows(db: &DatabaseConnection, table: &str, month: u32, count: i32) {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            r#"INSERT INTO "{table}" (created_at, payload)
               SELECT make_timestamptz(2024, $1, 1, 0, 0, 0, 'UTC') + (g * interval '7 hours'), 'row ' || g
               FROM generate_series(0, $2 - 1) g"#
        ),
        [(month as i32).into(), count.into()],
    ))
    .await
    .expect("insert");
}

/// Fails a creation that moved rows out of DEFAULT, after the move.
#[derive(Debug, Default, Clone)]
struct FailAfterMove {
    armed: Arc<Mutex<bool>>,
}

#[async_trait::async_trait]
impl PartitionHook for FailAfterMove {
    async fn after(
        &self,
        _txn: &DatabaseTransaction,
        event: &PartitionEvent,
    ) -> Result<(), HookError> {
        if *self.armed.lock().expect("lock") && event.partition.moved_rows.unwrap_or(0) > 0 {
            return Err("injected failure after the move".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn rows_leave_default_for_new_partitions_without_loss() {
    let t = setup(test_name!(
        "rows_leave_default_for_new_partitions_without_loss"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let hook = FailAfterMove::default();
    let (service, clock) = service(db, utc(2024, 1, 15, 0, 0));
    let service = service.with_hook(hook.clone());
    let events = service
        .time_range_table("event")
        .default_partition(true)
        .register()
        .await
        .expect("register");
    let default = events
        .default_partition()
        .await
        .expect("default")
        .expect("exists");
    assert_eq!(default.partition_name, "event_default");
    assert_eq!(catalog::partitions(db, "public", "event").await.len(), 2);

    // Rows for February, March and April (and some for 2030) sit in DEFAULT.
    for month in [2, 3, 4] {
        insert_rows(db, "event", month, 40).await;
    }
    route(db, "event", utc(2030, 6, 1, 0, 0)).await;
    route(db, "event", utc(2030, 7, 1, 0, 0)).await;
    assert_eq!(catalog::count(db, "event_default").await, 122);
    let before = checksum(db, "event").await;
    exec(db, "ANALYZE event_default").await;
    let rows = events
        .default_rows(true)
        .await
        .expect("status")
        .expect("default");
    assert_eq!((rows.estimated, rows.exact), (Some(122), Some(122)));

    // A failure after the first move: nothing changed.
    *hook.armed.lock().expect("lock") = true;
    clock.set(utc(2024, 3, 31, 0, 0));
    let err = events.create_partition(1).await.unwrap_err();
    assert!(matches!(err, Error::Hook { .. }), "{err}");
    assert_eq!(checksum(db, "event").await, before);
    assert_eq!(catalog::count(db, "event_default").await, 122);
    assert_eq!(events.partitions().await.expect("partitions").len(), 1);
    assert_eq!(catalog::partitions(db, "public", "event").await.len(), 2);

    // Now for real: February, March, April each take exactly their rows.
    *hook.armed.lock().expect("lock") = false;
    let created = events.create_partition(1).await.expect("create");
    assert_eq!(
        created
            .iter()
            .map(|l| (l.partition_name.as_str(), l.moved_rows))
            .collect::<Vec<_>>(),
        [
            ("event_2024-02-01_2024-03-01", Some(40)),
            ("event_2024-03-01_2024-04-01", Some(40)),
            ("event_2024-04-01_2024-05-01", Some(40)),
        ]
    );
    assert_eq!(
        checksum(db, "event").await,
        before,
        "no row lost or duplicated"
    );
    for log in &created {
        let (start, end) = (log.start.expect("start"), log.end.expect("end"));
        let misplaced = strings(
            db,
            r#"SELECT count(*)::text FROM event e JOIN pg_class c ON c.oid = e.tableoid
               WHERE e.created_at >= $1 AND e.created_at < $2 AND c.relname <> $3"#,
            vec![start.into(), end.into(), log.partition_name.clone().into()],
        )
        .await;
        assert_eq!(misplaced, ["0"], "{}", log.partition_name);
        assert_eq!(
            catalog::count(db, &format!(r#""{}""#, log.partition_name)).await,
            40
        );
    }
    assert_eq!(
        catalog::count(db, "event_default").await,
        2,
        "unrelated rows stay in DEFAULT"
    );
    assert_eq!(
        events
            .default_rows(true)
            .await
            .expect("status")
            .expect("default")
            .exact,
        Some(2)
    );
    assert_consistent(db, &events).await;

    // Detach April, put a row for it in DEFAULT, attach April back: the row moves in.
    let april = created[2].clone();
    events
        .detach_partitions(Some(std::slice::from_ref(&april)))
        .await
        .expect("detach");
    route(db, "event", utc(2024, 4, 20, 0, 0)).await;
    assert_eq!(catalog::count(db, "event_default").await, 3);
    let back = events
        .attach_partitions(Some(std::slice::from_ref(&april)), None)
        .await
        .expect("attach");
    assert_eq!(back[0].moved_rows, Some(1));
    assert_eq!(
        catalog::count(db, r#""event_2024-04-01_2024-05-01""#).await,
        41
    );
    assert_eq!(catalog::count(db, "event_default").await, 2);
    t.finish().await;
}

#[tokio::test]
async fn list_and_integer_defaults_release_exactly_the_matching_rows() {
    let t = setup(test_name!(
        "list_and_integer_defaults_release_exactly_the_matching_rows"
    ))
    .await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE tag (label text, n int) PARTITION BY LIST (label)",
    )
    .await;
    let (service, _clock) = service(db, utc(2024, 1, 1, 0, 0));
    let tags = service
        .list_table("tag")
        .default_partition(true)
        .register()
        .await
        .expect("register");
    exec(db, "INSERT INTO tag SELECT l, g FROM unnest(ARRAY['x', 'y', 'z']) l, generate_series(1, 5) g; INSERT INTO tag VALUES (NULL, 0)").await;
    let xy = tags
        .create_partition("tag_xy", ["x", "y"], None)
        .await
        .expect("create");
    assert_eq!(xy.moved_rows, Some(10));
    let null = tags
        .create_partition("tag_null", [None::<&str>], None)
        .await
        .expect("create");
    assert_eq!(null.moved_rows, Some(1));
    assert_eq!(
        holders(db, "tag", "true").await,
        ["tag_default", "tag_null", "tag_xy"]
    );
    assert_eq!(
        strings(
            db,
            "SELECT string_agg(DISTINCT label, ',') FROM tag_default",
            vec![]
        )
        .await,
        ["z"]
    );
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM tag", vec![]).await,
        ["16"]
    );

    exec(
        db,
        "CREATE TABLE item (id int NOT NULL, v text) PARTITION BY RANGE (id)",
    )
    .await;
    let items = service
        .id_range_table("item")
        .step(100)
        .premake(0)
        .default_partition(true)
        .register()
        .await
        .expect("register");
    assert_eq!(items.partitions().await.expect("partitions").len(), 1);
    exec(
        db,
        "INSERT INTO item SELECT g, 'v' FROM generate_series(1000, 1049) g",
    )
    .await;
    assert_eq!(catalog::count(db, "item_default").await, 50);
    let created = items.create_partition().await.expect("create");
    assert_eq!(created.len(), 10, "[100, 200) .. [1000, 1100)");
    assert_eq!(created.last().and_then(|l| l.moved_rows), Some(50));
    assert_eq!(catalog::count(db, "item_default").await, 0);
    assert_eq!(catalog::count(db, "item_1000_1100").await, 50);
    t.finish().await;
}

#[tokio::test]
async fn sub_partitions_are_created_recorded_and_moved_with_their_partition() {
    let t = setup(test_name!(
        "sub_partitions_are_created_recorded_and_moved_with_their_partition"
    ))
    .await;
    let db = &t.conn;
    exec(db, "CREATE TABLE metric (tenant int NOT NULL, created_at timestamptz NOT NULL, v float8) PARTITION BY RANGE (created_at); CREATE INDEX ON metric (tenant)").await;
    let (service, _clock) = service(db, utc(2024, 1, 15, 0, 0));
    let metrics = service
        .time_range_table("metric")
        .sub_partition_by_hash("tenant", 2)
        .attach_tablespace(TS_A)
        .detach_tablespace(TS_B)
        .register()
        .await
        .expect("register");
    let january = metrics.latest().await.expect("latest").expect("january");
    assert_eq!(
        catalog::partition_key(db, "public", &january.partition_name)
            .await
            .as_deref(),
        Some("HASH (tenant)")
    );
    let leaves = metrics.sub_partitions(&january).await.expect("leaves");
    assert_eq!(
        leaves
            .iter()
            .map(|l| (l.partition_name.as_str(), l.kind, l.hash_remainder))
            .collect::<Vec<_>>(),
        [
            (
                "metric_2024-01-01_2024-02-01_h0",
                PartitionKind::Hash,
                Some(0)
            ),
            (
                "metric_2024-01-01_2024-02-01_h1",
                PartitionKind::Hash,
                Some(1)
            ),
        ]
    );
    for leaf in &leaves {
        assert_eq!(
            placed(db, &leaf.partition_name).await,
            (Some(TS_A.into()), vec![Some(TS_A.into())])
        );
    }
    exec(
        db,
        "INSERT INTO metric SELECT g, '2024-01-20', 1 FROM generate_series(1, 20) g",
    )
    .await;
    assert_eq!(
        holders(db, "metric", "true").await,
        [
            "metric_2024-01-01_2024-02-01_h0",
            "metric_2024-01-01_2024-02-01_h1"
        ]
    );

    metrics
        .detach_partitions(Some(std::slice::from_ref(&january)))
        .await
        .expect("detach");
    for leaf in &leaves {
        assert_eq!(
            placed(db, &leaf.partition_name).await,
            (Some(TS_B.into()), vec![Some(TS_B.into())])
        );
    }
    metrics.attach_partitions(None, None).await.expect("attach");
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM metric", vec![]).await,
        ["20"]
    );
    metrics.delete_partitions(&[january]).await.expect("delete");
    assert!(metrics.all_partitions().await.expect("all").is_empty());
    assert!(!catalog::exists(db, "public", "metric_2024-01-01_2024-02-01_h0").await);
    t.finish().await;
}
