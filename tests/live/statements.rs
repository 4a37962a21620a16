//! Every statement form, executed on PostgreSQL and checked in the catalog; rows at each bound are routed to
//! the expected partition.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use sea_orm::sea_query::{ColumnDef, Expr, ExprTrait, Func, PostgresQueryBuilder, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait, Value};
use sea_orm_pg_partitioning::StatementError;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::schema::PartitionCreateStatement;

use crate::support::{TS_A, TS_B, TestDb, catalog, exec, exec_err, sqlstate, strings};
use crate::test_name;

async fn run(conn: &DatabaseConnection, sql: Result<String, StatementError>) {
    exec(conn, &sql.expect("statement builds")).await;
}

/// The partition (relname) that holds the row(s) of `table` matching `column = value`.
async fn partitions_holding(
    conn: &DatabaseConnection,
    table: &str,
    column: &str,
    value: Value,
) -> Vec<String> {
    strings(
        conn,
        &format!(
            r#"SELECT c.relname::text FROM "{table}" t JOIN pg_class c ON c.oid = t.tableoid
               WHERE t."{column}" IS NOT DISTINCT FROM $1 ORDER BY 1"#
        ),
        vec![value],
    )
    .await
}

fn shanghai(y: i32, m: u32, d: u32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .expect("offset")
        .with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("instant")
}

#[tokio::test]
async fn range_partitions_route_rows_at_every_bound() {
    let t = TestDb::new(test_name!("range_partitions_route_rows_at_every_bound")).await;
    let db = &t.conn;
    let parent = Table::create()
        .table("event")
        .col(
            ColumnDef::new("id")
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(ColumnDef::new("ts").timestamp_with_time_zone().not_null())
        .col(ColumnDef::new("payload").text())
        .partitioned_by(PartitionKey::range(["ts"]))
        .build(PostgresQueryBuilder);
    run(db, parent).await;
    assert_eq!(
        catalog::partition_key(db, "public", "event")
            .await
            .as_deref(),
        Some("RANGE (ts)")
    );

    let jan = Partition::create()
        .if_not_exists()
        .table("event_2024_01")
        .partition_of("event")
        .values_from_to([shanghai(2024, 1, 1)], [shanghai(2024, 2, 1)])
        .tablespace(TS_A)
        .to_owned();
    run(db, jan.build(PostgresQueryBuilder)).await;
    // IF NOT EXISTS: a second run is harmless.
    run(db, jan.build(PostgresQueryBuilder)).await;
    let old = Partition::create()
        .table("event_old")
        .partition_of("event")
        .values_from_to([RangeValue::MinValue], [shanghai(2024, 1, 1)])
        .build(PostgresQueryBuilder);
    run(db, old).await;
    let future = Partition::create()
        .table("event_future")
        .partition_of("event")
        .values_from_to([shanghai(2024, 2, 1)], [RangeValue::MaxValue])
        .build(PostgresQueryBuilder);
    run(db, future).await;

    assert_eq!(
        catalog::partitions(db, "public", "event").await,
        [
            (
                "event_2024_01".to_owned(),
                "FOR VALUES FROM ('2023-12-31 16:00:00+00') TO ('2024-01-31 16:00:00+00')"
                    .to_owned()
            ),
            (
                "event_future".to_owned(),
                "FOR VALUES FROM ('2024-01-31 16:00:00+00') TO (MAXVALUE)".to_owned()
            ),
            (
                "event_old".to_owned(),
                "FOR VALUES FROM (MINVALUE) TO ('2023-12-31 16:00:00+00')".to_owned()
            ),
        ]
    );
    assert_eq!(
        catalog::tablespace(db, "public", "event_2024_01")
            .await
            .as_deref(),
        Some(TS_A)
    );
    assert_eq!(catalog::tablespace(db, "public", "event_old").await, None);

    let one_micro = Duration::microseconds(1);
    let cases = [
        (shanghai(1900, 1, 1), "event_old"),
        (shanghai(2024, 1, 1) - one_micro, "event_old"),
        (shanghai(2024, 1, 1), "event_2024_01"),
        (shanghai(2024, 2, 1) - one_micro, "event_2024_01"),
        (shanghai(2024, 2, 1), "event_future"),
        (shanghai(9999, 1, 1), "event_future"),
    ];
    for (ts, _) in &cases {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "INSERT INTO event (ts) VALUES ($1)",
            [(*ts).into()],
        ))
        .await
        .expect("insert");
    }
    for (ts, expected) in cases {
        assert_eq!(
            partitions_holding(db, "event", "ts", ts.into()).await,
            [expected],
            "{ts}"
        );
    }
    t.finish().await;
}

#[tokio::test]
async fn multi_column_range_keys() {
    let t = TestDb::new(test_name!("multi_column_range_keys")).await;
    let db = &t.conn;
    let parent = Table::create()
        .table("reading")
        .col(ColumnDef::new("site").integer().not_null())
        .col(ColumnDef::new("day").date().not_null())
        .partitioned_by(PartitionKey::range(["site", "day"]))
        .build(PostgresQueryBuilder);
    run(db, parent).await;
    let site1 = Partition::create()
        .table("reading_site1")
        .partition_of("reading")
        .values_from_to(
            [1.into(), RangeValue::MinValue],
            [1.into(), RangeValue::MaxValue],
        )
        .build(PostgresQueryBuilder);
    run(db, site1).await;
    let site2_2024 = Partition::create()
        .table("reading_site2_2024")
        .partition_of("reading")
        .values_from_to(
            [
                Value::from(2),
                NaiveDate::from_ymd_opt(2024, 1, 1).expect("date").into(),
            ],
            [
                Value::from(2),
                NaiveDate::from_ymd_opt(2025, 1, 1).expect("date").into(),
            ],
        )
        .build(PostgresQueryBuilder);
    run(db, site2_2024).await;
    assert_eq!(
        catalog::partitions(db, "public", "reading").await,
        [
            (
                "reading_site1".to_owned(),
                "FOR VALUES FROM (1, MINVALUE) TO (1, MAXVALUE)".to_owned()
            ),
            (
                "reading_site2_2024".to_owned(),
                "FOR VALUES FROM (2, '2024-01-01') TO (2, '2025-01-01')".to_owned()
            ),
        ]
    );
    exec(
        db,
        "INSERT INTO reading VALUES (1, '1970-01-01'), (2, '2024-01-01'), (2, '2024-12-31')",
    )
    .await;
    let err = exec_err(db, "INSERT INTO reading VALUES (2, '2025-01-01')").await;
    assert_eq!(
        sqlstate(&err).as_deref(),
        Some("23514"),
        "no partition for the row: {err}"
    );
    assert_eq!(catalog::count(db, "reading_site2_2024").await, 2);
    t.finish().await;
}

#[tokio::test]
async fn list_partitions_of_text_integer_and_boolean_with_null_and_empty() {
    let t = TestDb::new(test_name!(
        "list_partitions_of_text_integer_and_boolean_with_null_and_empty"
    ))
    .await;
    let db = &t.conn;
    for (table, ty) in [
        ("by_text", "text"),
        ("by_int", "integer"),
        ("by_bool", "boolean"),
    ] {
        let mut column = ColumnDef::new("k");
        match ty {
            "text" => column.text(),
            "integer" => column.integer(),
            _ => column.boolean(),
        };
        let parent = Table::create()
            .table(table)
            .col(column)
            .col(ColumnDef::new("note").text())
            .partitioned_by(PartitionKey::list(["k"]))
            .build(PostgresQueryBuilder);
        run(db, parent).await;
    }

    let create = |table: &str, name: &str, values: Vec<Value>, ts: Option<&str>| {
        let mut stmt = Partition::create();
        stmt.table(name.to_owned())
            .partition_of(table.to_owned())
            .values_in(values);
        if let Some(ts) = ts {
            stmt.tablespace(ts.to_owned());
        }
        stmt.to_owned()
    };
    let none_text: Option<String> = None;
    let none_int: Option<i32> = None;
    let none_bool: Option<bool> = None;
    let partitions: Vec<PartitionCreateStatement> = vec![
        create("by_text", "by_text_a", vec!["A".into()], Some(TS_A)),
        create("by_text", "by_text_b", vec!["B".into()], None),
        create(
            "by_text",
            "by_text_cd",
            vec!["C".into(), "D".into()],
            Some(TS_B),
        ),
        create("by_text", "by_text_empty", vec!["".into()], None),
        create(
            "by_text",
            "by_text_null",
            vec![none_text.clone().into()],
            None,
        ),
        create("by_int", "by_int_1", vec![1.into()], Some(TS_A)),
        create("by_int", "by_int_2", vec![2.into()], None),
        create("by_int", "by_int_null", vec![none_int.into()], None),
        create("by_bool", "by_bool_true", vec![true.into()], None),
        create("by_bool", "by_bool_false", vec![false.into()], Some(TS_B)),
        create("by_bool", "by_bool_null", vec![none_bool.into()], None),
    ];
    for partition in &partitions {
        run(db, partition.build(PostgresQueryBuilder)).await;
    }

    assert_eq!(
        catalog::partitions(db, "public", "by_text").await,
        [
            ("by_text_a".to_owned(), "FOR VALUES IN ('A')".to_owned()),
            ("by_text_b".to_owned(), "FOR VALUES IN ('B')".to_owned()),
            (
                "by_text_cd".to_owned(),
                "FOR VALUES IN ('C', 'D')".to_owned()
            ),
            ("by_text_empty".to_owned(), "FOR VALUES IN ('')".to_owned()),
            ("by_text_null".to_owned(), "FOR VALUES IN (NULL)".to_owned()),
        ]
    );
    assert_eq!(
        catalog::partitions(db, "public", "by_bool").await,
        [
            (
                "by_bool_false".to_owned(),
                "FOR VALUES IN (false)".to_owned()
            ),
            ("by_bool_null".to_owned(), "FOR VALUES IN (NULL)".to_owned()),
            ("by_bool_true".to_owned(), "FOR VALUES IN (true)".to_owned()),
        ]
    );
    for (name, ts) in [
        ("by_text_a", Some(TS_A)),
        ("by_text_b", None),
        ("by_text_cd", Some(TS_B)),
        ("by_int_1", Some(TS_A)),
        ("by_bool_false", Some(TS_B)),
    ] {
        assert_eq!(
            catalog::tablespace(db, "public", name).await.as_deref(),
            ts,
            "{name}"
        );
    }

    exec(
        db,
        "INSERT INTO by_text (k) VALUES ('A'), ('B'), ('C'), ('D'), (''), (NULL)",
    )
    .await;
    exec(db, "INSERT INTO by_int (k) VALUES (1), (2), (NULL)").await;
    exec(db, "INSERT INTO by_bool (k) VALUES (true), (false), (NULL)").await;
    let text_cases: [(Value, &str); 6] = [
        ("A".into(), "by_text_a"),
        ("B".into(), "by_text_b"),
        ("C".into(), "by_text_cd"),
        ("D".into(), "by_text_cd"),
        ("".into(), "by_text_empty"),
        (none_text.into(), "by_text_null"),
    ];
    for (value, expected) in text_cases {
        assert_eq!(
            partitions_holding(db, "by_text", "k", value.clone()).await,
            [expected],
            "{value:?}"
        );
    }
    for (value, expected) in [
        (Some(1), "by_int_1"),
        (Some(2), "by_int_2"),
        (None, "by_int_null"),
    ] {
        assert_eq!(
            partitions_holding(db, "by_int", "k", value.into()).await,
            [expected]
        );
    }
    for (value, expected) in [
        (Some(true), "by_bool_true"),
        (Some(false), "by_bool_false"),
        (None, "by_bool_null"),
    ] {
        assert_eq!(
            partitions_holding(db, "by_bool", "k", value.into()).await,
            [expected]
        );
    }
    t.finish().await;
}

#[tokio::test]
async fn hash_partitions_take_every_row_once() {
    let t = TestDb::new(test_name!("hash_partitions_take_every_row_once")).await;
    let db = &t.conn;
    let parent = Table::create()
        .table("user")
        .col(ColumnDef::new("id").big_integer().not_null().primary_key())
        .col(ColumnDef::new("name").text())
        .partitioned_by(PartitionKey::hash(["id"]))
        .build(PostgresQueryBuilder);
    run(db, parent).await;
    // The primary key contains the key, so it is kept.
    let pk = strings(
        db,
        "SELECT conname::text FROM pg_constraint WHERE conrelid = 'public.user'::regclass AND contype = 'p'",
        vec![],
    )
    .await;
    assert_eq!(pk, ["user_pkey"]);

    let invalid = Partition::create()
        .table("user_h4")
        .partition_of("user")
        .values_with(4, 4)
        .build(PostgresQueryBuilder);
    assert!(matches!(
        invalid,
        Err(StatementError::InvalidHashBound {
            modulus: 4,
            remainder: 4
        })
    ));
    for remainder in 0..4 {
        let partition = Partition::create()
            .table(format!("user_h{remainder}"))
            .partition_of("user")
            .values_with(4, remainder)
            .build(PostgresQueryBuilder);
        run(db, partition).await;
    }
    let bounds: Vec<String> = catalog::partitions(db, "public", "user")
        .await
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        bounds,
        (0..4)
            .map(|r| format!("FOR VALUES WITH (modulus 4, remainder {r})"))
            .collect::<Vec<_>>()
    );
    exec(
        db,
        r#"INSERT INTO "user" (id) SELECT generate_series(1, 200)"#,
    )
    .await;
    let mut total = 0;
    for remainder in 0..4 {
        let name = format!("user_h{remainder}");
        let count = catalog::count(db, &format!(r#""{name}""#)).await;
        assert!(count > 0, "{name} is empty");
        // Every row in the partition hashes to its remainder.
        let misplaced = strings(
            db,
            &format!(
                r#"SELECT id::text FROM "{name}" WHERE NOT satisfies_hash_partition('public.user'::regclass, 4, {remainder}, id)"#
            ),
            vec![],
        )
        .await;
        assert!(misplaced.is_empty(), "{name}: {misplaced:?}");
        total += count;
    }
    assert_eq!(total, 200);
    t.finish().await;
}

#[tokio::test]
async fn expression_keys_collations_and_operator_classes() {
    let t = TestDb::new(test_name!(
        "expression_keys_collations_and_operator_classes"
    ))
    .await;
    let db = &t.conn;
    let by_day = Table::create()
        .table("metric")
        .col(ColumnDef::new("ts").timestamp().not_null())
        .col(ColumnDef::new("v").double())
        .partitioned_by(PartitionKey::range([KeyPart::expr(
            Expr::col("ts").cast_as("date"),
        )]))
        .build(PostgresQueryBuilder);
    run(db, by_day).await;
    assert_eq!(
        catalog::partition_key(db, "public", "metric")
            .await
            .as_deref(),
        Some("RANGE (((ts)::date))")
    );
    let day = |d: u32| NaiveDate::from_ymd_opt(2024, 2, d).expect("date");
    let feb29 = Partition::create()
        .table("metric_2024_02_29")
        .partition_of("metric")
        .values_from_to(
            [day(29)],
            [NaiveDate::from_ymd_opt(2024, 3, 1).expect("date")],
        )
        .build(PostgresQueryBuilder);
    run(db, feb29).await;
    exec(
        db,
        "INSERT INTO metric VALUES ('2024-02-29 00:00:00', 1), ('2024-02-29 23:59:59.999999', 2)",
    )
    .await;
    let err = exec_err(db, "INSERT INTO metric VALUES ('2024-03-01 00:00:00', 3)").await;
    assert_eq!(sqlstate(&err).as_deref(), Some("23514"));
    assert_eq!(catalog::count(db, "metric_2024_02_29").await, 2);

    let truncated = Table::create()
        .table("tick")
        // date_trunc over timestamptz is only STABLE; PostgreSQL wants IMMUTABLE key expressions.
        .col(ColumnDef::new("ts").timestamp().not_null())
        .partitioned_by(PartitionKey::range([KeyPart::expr(
            Func::cust("date_trunc").arg("hour").arg(Expr::col("ts")),
        )]))
        .build(PostgresQueryBuilder);
    run(db, truncated).await;
    assert_eq!(
        catalog::partition_key(db, "public", "tick")
            .await
            .as_deref(),
        Some("RANGE (date_trunc('hour'::text, ts))")
    );

    let by_code = Table::create()
        .table("product")
        .col(ColumnDef::new("code").text().not_null())
        .partitioned_by(PartitionKey::list([KeyPart::column("code")
            .collate("C")
            .opclass("text_pattern_ops")]))
        .build(PostgresQueryBuilder);
    run(db, by_code).await;
    assert_eq!(
        catalog::partition_key(db, "public", "product")
            .await
            .as_deref(),
        Some(r#"LIST (code COLLATE "C" text_pattern_ops)"#)
    );
    t.finish().await;
}

#[tokio::test]
async fn sub_partitions_and_default_partitions() {
    let t = TestDb::new(test_name!("sub_partitions_and_default_partitions")).await;
    let db = &t.conn;
    let parent = Table::create()
        .table("order")
        .col(ColumnDef::new("tenant").integer().not_null())
        .col(
            ColumnDef::new("placed")
                .timestamp_with_time_zone()
                .not_null(),
        )
        .partitioned_by(PartitionKey::range(["placed"]))
        .build(PostgresQueryBuilder);
    run(db, parent).await;
    let utc = |y, m| {
        Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
            .single()
            .expect("instant")
    };
    let march = Partition::create()
        .table("order_2024_03")
        .partition_of("order")
        .values_from_to([utc(2024, 3)], [utc(2024, 4)])
        .partition_by(PartitionKey::hash(["tenant"]))
        .build(PostgresQueryBuilder);
    run(db, march).await;
    for remainder in 0..2 {
        let leaf = Partition::create()
            .table(format!("order_2024_03_h{remainder}"))
            .partition_of("order_2024_03")
            .values_with(2, remainder)
            .tablespace(TS_B)
            .build(PostgresQueryBuilder);
        run(db, leaf).await;
    }
    let default = Partition::create()
        .table("order_default")
        .partition_of("order")
        .default_partition()
        .build(PostgresQueryBuilder);
    run(db, default).await;

    assert_eq!(
        catalog::partition_key(db, "public", "order_2024_03")
            .await
            .as_deref(),
        Some("HASH (tenant)")
    );
    assert_eq!(
        catalog::partitions(db, "public", "order").await,
        [
            (
                "order_2024_03".to_owned(),
                "FOR VALUES FROM ('2024-03-01 00:00:00+00') TO ('2024-04-01 00:00:00+00')"
                    .to_owned()
            ),
            ("order_default".to_owned(), "DEFAULT".to_owned()),
        ]
    );
    exec(
        db,
        r#"INSERT INTO "order" SELECT g, '2024-03-15' FROM generate_series(1, 20) g;
           INSERT INTO "order" VALUES (1, '2024-04-01'), (2, '2023-01-01')"#,
    )
    .await;
    let leaves = strings(
        db,
        r#"SELECT DISTINCT c.relname::text FROM "order" o JOIN pg_class c ON c.oid = o.tableoid ORDER BY 1"#,
        vec![],
    )
    .await;
    assert_eq!(
        leaves,
        ["order_2024_03_h0", "order_2024_03_h1", "order_default"]
    );
    assert_eq!(catalog::count(db, "order_default").await, 2);
    assert_eq!(
        catalog::tablespace(db, "public", "order_2024_03_h0")
            .await
            .as_deref(),
        Some(TS_B)
    );
    t.finish().await;
}

async fn event_table(db: &DatabaseConnection, name: &str) {
    let parent = Table::create()
        .table(name.to_owned())
        .col(ColumnDef::new("id").integer().not_null())
        .col(ColumnDef::new("ts").timestamp_with_time_zone().not_null())
        .partitioned_by(PartitionKey::range(["ts"]))
        .build(PostgresQueryBuilder);
    run(db, parent).await;
    exec(db, &format!(r#"CREATE INDEX "{name}_id" ON "{name}" (id)"#)).await;
}

#[tokio::test]
async fn attach_detach_tablespaces_drop_and_truncate() {
    let t = TestDb::new(test_name!("attach_detach_tablespaces_drop_and_truncate")).await;
    let db = &t.conn;
    event_table(db, "event").await;
    let utc = |y, m| {
        Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
            .single()
            .expect("instant")
    };

    // ATTACH a standalone table holding a row inside the bound.
    exec(
        db,
        "CREATE TABLE event_2024_05 (LIKE event INCLUDING ALL); INSERT INTO event_2024_05 VALUES (1, '2024-05-10')",
    )
    .await;
    let attach = Partition::attach()
        .table("event")
        .partition("event_2024_05")
        .values_from_to([utc(2024, 5)], [utc(2024, 6)])
        .build(PostgresQueryBuilder);
    run(db, attach).await;
    assert_eq!(catalog::partitions(db, "public", "event").await.len(), 1);
    assert_eq!(
        strings(
            db,
            "SELECT id::text FROM event WHERE ts = '2024-05-10'",
            vec![]
        )
        .await,
        ["1"]
    );

    // A row outside the bound: PostgreSQL refuses (23514) and nothing is attached.
    exec(
        db,
        "CREATE TABLE event_2024_06 (LIKE event INCLUDING ALL); INSERT INTO event_2024_06 VALUES (2, '2024-07-02')",
    )
    .await;
    let attach = Partition::attach()
        .table("event")
        .partition("event_2024_06")
        .values_from_to([utc(2024, 6)], [utc(2024, 7)])
        .build(PostgresQueryBuilder)
        .expect("builds");
    assert_eq!(
        sqlstate(&exec_err(db, &attach).await).as_deref(),
        Some("23514")
    );
    assert_eq!(catalog::partitions(db, "public", "event").await.len(), 1);

    // ATTACH .. DEFAULT.
    exec(db, "CREATE TABLE event_rest (LIKE event INCLUDING ALL)").await;
    let attach = Partition::attach()
        .table("event")
        .partition("event_rest")
        .default_partition()
        .build(PostgresQueryBuilder);
    run(db, attach).await;
    assert!(
        catalog::partitions(db, "public", "event")
            .await
            .contains(&("event_rest".to_owned(), "DEFAULT".to_owned()))
    );

    // DETACH: the table and its rows stay.
    let detach = Partition::detach()
        .table("event")
        .partition("event_2024_05")
        .build(PostgresQueryBuilder);
    run(db, detach).await;
    assert_eq!(catalog::partitions(db, "public", "event").await.len(), 1);
    assert_eq!(catalog::count(db, "event_2024_05").await, 1);

    // CONCURRENTLY is refused while a DEFAULT partition exists, and inside a transaction block.
    let concurrently = Partition::detach()
        .table("event")
        .partition("event_rest")
        .concurrently()
        .build(PostgresQueryBuilder)
        .expect("builds");
    assert_eq!(
        sqlstate(&exec_err(db, &concurrently).await).as_deref(),
        Some("55000")
    );
    event_table(db, "log").await;
    let part = Partition::create()
        .table("log_2024")
        .partition_of("log")
        .values_from_to([utc(2024, 1)], [utc(2025, 1)])
        .build(PostgresQueryBuilder);
    run(db, part).await;
    let concurrently = Partition::detach()
        .table("log")
        .partition("log_2024")
        .concurrently()
        .build(PostgresQueryBuilder)
        .expect("builds");
    let txn = db.begin().await.expect("begin");
    assert_eq!(
        sqlstate(&exec_err(&txn, &concurrently).await).as_deref(),
        Some("25001")
    );
    txn.rollback().await.expect("rollback");
    exec(db, &concurrently).await;
    assert!(catalog::partitions(db, "public", "log").await.is_empty());
    assert!(catalog::exists(db, "public", "log_2024").await);

    // SET TABLESPACE of a table and of its index.
    let move_table = Partition::set_tablespace()
        .table("event_2024_05")
        .tablespace(TS_A)
        .build(PostgresQueryBuilder);
    run(db, move_table).await;
    let index = catalog::index_tablespaces(db, "public", "event_2024_05").await;
    assert_eq!(index.len(), 1);
    assert_eq!(index[0].1, None, "moving a table leaves its indexes");
    let move_index = Partition::set_tablespace()
        .index(index[0].0.clone())
        .tablespace(TS_B)
        .build(PostgresQueryBuilder);
    run(db, move_index).await;
    assert_eq!(
        catalog::tablespace(db, "public", "event_2024_05")
            .await
            .as_deref(),
        Some(TS_A)
    );
    assert_eq!(
        catalog::index_tablespaces(db, "public", "event_2024_05").await[0]
            .1
            .as_deref(),
        Some(TS_B)
    );

    // TRUNCATE and DROP of partitions.
    exec(db, "INSERT INTO event VALUES (3, '2030-01-01')").await;
    assert_eq!(catalog::count(db, "event_rest").await, 1);
    run(
        db,
        Partition::truncate()
            .table("event_rest")
            .build(PostgresQueryBuilder),
    )
    .await;
    assert_eq!(catalog::count(db, "event_rest").await, 0);
    run(
        db,
        Partition::drop()
            .table("event_rest")
            .build(PostgresQueryBuilder),
    )
    .await;
    assert!(!catalog::exists(db, "public", "event_rest").await);
    run(
        db,
        Partition::drop()
            .table("event_rest")
            .if_exists()
            .build(PostgresQueryBuilder),
    )
    .await;
    t.finish().await;
}

/// An interrupted `DETACH .. CONCURRENTLY` leaves the partition pending; `FINALIZE` completes it.
#[tokio::test]
async fn finalize_completes_an_interrupted_concurrent_detach() {
    let t = TestDb::new(test_name!(
        "finalize_completes_an_interrupted_concurrent_detach"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event").await;
    let part = Partition::create()
        .table("event_2024")
        .partition_of("event")
        .values_from_to(
            [Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
                .single()
                .expect("instant")],
            [Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
                .single()
                .expect("instant")],
        )
        .build(PostgresQueryBuilder);
    run(db, part).await;

    // A reader holding a snapshot on the parent makes the detach's second phase wait; the detaching session
    // gives up after its statement_timeout, leaving the detach pending.
    let reader = t.connect(1).await;
    let reading = reader.begin().await.expect("begin");
    exec(
        &reading,
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM event",
    )
    .await;
    let detacher = t.connect(1).await;
    exec(&detacher, "SET statement_timeout = '300ms'").await;
    let concurrently = Partition::detach()
        .table("event")
        .partition("event_2024")
        .concurrently()
        .build(PostgresQueryBuilder)
        .expect("builds");
    let err = exec_err(&detacher, &concurrently).await;
    assert_eq!(
        sqlstate(&err).as_deref(),
        Some("57014"),
        "cancelled by statement_timeout: {err}"
    );
    assert!(catalog::detach_pending(db, "public", "event_2024").await);
    reading.commit().await.expect("commit");

    let finalize = Partition::detach()
        .table("event")
        .partition("event_2024")
        .finalize()
        .build(PostgresQueryBuilder);
    run(db, finalize).await;
    assert!(catalog::partitions(db, "public", "event").await.is_empty());
    assert!(catalog::exists(db, "public", "event_2024").await);
    let _ = reader.close().await;
    let _ = detacher.close().await;
    t.finish().await;
}
