//! Hostile identifiers and values: each produces exactly the named object, or a typed error and nothing at all.

use sea_orm::sea_query::{ColumnDef, PostgresQueryBuilder, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use sea_orm_pg_partitioning::StatementError;
use sea_orm_pg_partitioning::prelude::*;

use crate::support::{TestDb, catalog, exec, rows, strings};
use crate::test_name;

fn names() -> Vec<String> {
    let mut names: Vec<String> = [
        r#"we"ird"#,
        r#"drop"; DROP TABLE victim; --"#,
        "semi;colon",
        "with space",
        "ünïcödé ✓ 表",
        "MixedCase",
        "lower",
        "UPPER",
    ]
    .map(String::from)
    .to_vec();
    // Exactly PostgreSQL's limit, in bytes; the multi-byte one ends in a 3-byte character.
    names.push(format!("63_bytes_{}", "x".repeat(54)));
    names.push(format!("{}✓", "ü".repeat(30)));
    names
}

async fn relations(db: &DatabaseConnection, schema: &str) -> Vec<String> {
    strings(
        db,
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 ORDER BY 1",
        vec![schema.into()],
    )
    .await
}

#[tokio::test]
async fn hostile_names_create_exactly_the_named_objects() {
    let t = TestDb::new(test_name!("hostile_names_create_exactly_the_named_objects")).await;
    let db = &t.conn;
    let names = names();
    assert!(names[names.len() - 2..].iter().all(|n| n.len() == 63));
    exec(db, "CREATE TABLE victim (x int)").await;
    let schema = r#"Sch"ema; x"#;
    exec(db, r#"CREATE SCHEMA "Sch""ema; x""#).await;

    for (i, name) in names.iter().enumerate() {
        let column = format!("{name} col");
        let column = if column.len() > 63 {
            name.to_string()
        } else {
            column
        };
        let parent = Table::create()
            .table((schema.to_owned(), name.to_string()))
            .col(ColumnDef::new(column.clone()).integer().not_null())
            .partitioned_by(PartitionKey::list([column.clone()]))
            .build(PostgresQueryBuilder)
            .expect("builds");
        exec(db, &parent).await;
        let partition_name = format!("p{i} {name}");
        let partition_name: String = if partition_name.len() > 63 {
            format!("{i}{}", "p".repeat(62))
        } else {
            partition_name
        };
        let partition = Partition::create()
            .table((schema.to_owned(), partition_name.clone()))
            .partition_of((schema.to_owned(), name.to_string()))
            .values_in([1, 2])
            .build(PostgresQueryBuilder)
            .expect("builds");
        exec(db, &partition).await;
        assert_eq!(
            catalog::partitions(db, schema, name).await,
            [(partition_name.clone(), "FOR VALUES IN (1, 2)".to_owned())],
            "{name}"
        );
        let detach = Partition::detach()
            .table((schema.to_owned(), name.to_string()))
            .partition((schema.to_owned(), partition_name.clone()))
            .build(PostgresQueryBuilder)
            .expect("builds");
        exec(db, &detach).await;
        assert!(catalog::partitions(db, schema, name).await.is_empty());
        assert!(catalog::exists(db, schema, &partition_name).await);
    }
    assert!(
        catalog::exists(db, "public", "victim").await,
        "nothing but the named objects was touched"
    );
    assert_eq!(relations(db, "public").await, ["victim"]);
    t.finish().await;
}

#[tokio::test]
async fn names_postgres_would_truncate_are_refused_before_reaching_it() {
    let t = TestDb::new(test_name!(
        "names_postgres_would_truncate_are_refused_before_reaching_it"
    ))
    .await;
    let db = &t.conn;
    let before = relations(db, "public").await;
    let too_long = "x".repeat(64);
    let multibyte = "é".repeat(32);
    for name in [too_long.as_str(), multibyte.as_str(), "", "nul\0byte"] {
        let parent = Table::create()
            .table(name.to_owned())
            .col(ColumnDef::new("k").integer())
            .partitioned_by(PartitionKey::list(["k"]))
            .build(PostgresQueryBuilder);
        assert!(
            matches!(
                parent,
                Err(StatementError::IdentifierTooLong { .. }
                    | StatementError::EmptyIdentifier { .. }
                    | StatementError::NulInIdentifier { .. })
            ),
            "{name:?}: {parent:?}"
        );
        let partition = Partition::create()
            .table("p")
            .partition_of("parent")
            .values_in([1])
            .tablespace(name.to_owned())
            .build(PostgresQueryBuilder);
        assert!(partition.is_err(), "{name:?}");
        let set = Partition::set_tablespace()
            .index(name.to_owned())
            .tablespace("pg_default")
            .build(PostgresQueryBuilder);
        assert!(set.is_err(), "{name:?}");
    }
    // The error names the problem and the fix.
    let err = Partition::detach()
        .table("parent")
        .partition(too_long.clone())
        .build(PostgresQueryBuilder)
        .unwrap_err();
    assert!(err.to_string().contains("at most 63 bytes"), "{err}");
    assert_eq!(relations(db, "public").await, before);
    t.finish().await;
}

#[tokio::test]
async fn hostile_tablespace_names_and_list_values() {
    let t = TestDb::new(test_name!("hostile_tablespace_names_and_list_values")).await;
    let db = &t.conn;
    // Cluster-wide: this test alone uses this name. A single connection keeps the session setting.
    let admin = t.connect(1).await;
    let tablespace = r#"sopp_test "ts"; DROP x"#;
    exec(
        &admin,
        r#"DROP TABLESPACE IF EXISTS "sopp_test ""ts""; DROP x""#,
    )
    .await;
    exec(&admin, "SET allow_in_place_tablespaces = on").await;
    exec(
        &admin,
        r#"CREATE TABLESPACE "sopp_test ""ts""; DROP x" LOCATION ''"#,
    )
    .await;

    let parent = Table::create()
        .table("tag")
        .col(ColumnDef::new("label").text())
        .partitioned_by(PartitionKey::list(["label"]))
        .build(PostgresQueryBuilder)
        .expect("builds");
    exec(db, &parent).await;
    let values = [
        "it's",
        r"back\slash",
        "new\nline",
        "'; DROP TABLE tag; --",
        "ünï ✓",
        "$1",
        "E'x'",
    ];
    let partition = Partition::create()
        .table("tag_odd")
        .partition_of("tag")
        .values_in(values)
        .tablespace(tablespace)
        .build(PostgresQueryBuilder)
        .expect("builds");
    exec(db, &partition).await;
    assert_eq!(
        catalog::tablespace(db, "public", "tag_odd")
            .await
            .as_deref(),
        Some(tablespace)
    );
    for value in values {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "INSERT INTO tag VALUES ($1)",
            [value.into()],
        ))
        .await
        .expect("insert");
    }
    let stored = rows(
        db,
        "SELECT label FROM tag_odd WHERE label = ANY($1)",
        vec![Value::from(
            values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        )],
    )
    .await;
    assert_eq!(
        stored.len(),
        values.len(),
        "each value matches the partition's list exactly"
    );

    let nul = Partition::create()
        .table("tag_nul")
        .partition_of("tag")
        .values_in(["a\0b"])
        .build(PostgresQueryBuilder);
    assert!(matches!(nul, Err(StatementError::NulInValue { .. })));

    exec(db, "DROP TABLE tag").await;
    exec(&admin, r#"DROP TABLESPACE "sopp_test ""ts""; DROP x""#).await;
    let _ = admin.close().await;
    t.finish().await;
}

/// Status, repair and the DEFAULT row check under hostile schema, table and partition names.
#[tokio::test]
async fn status_and_repair_under_hostile_names() {
    let t = crate::time_range::setup(test_name!("status_and_repair_under_hostile_names")).await;
    let db = &t.conn;
    let schema = r#"sch"ema; --"#;
    let table = r#"ev"nt; DROP TABLE victim; --"#;
    exec(
        db,
        r#"CREATE SCHEMA "sch""ema; --"; CREATE TABLE victim (x int)"#,
    )
    .await;
    let parent = Table::create()
        .table((schema.to_owned(), table.to_owned()))
        .col(ColumnDef::new("id").big_integer().not_null())
        .partitioned_by(PartitionKey::range(["id"]))
        .build(PostgresQueryBuilder)
        .expect("builds");
    exec(db, &parent).await;
    let service = PartitionService::new(db.clone());
    service
        .id_range_table((schema, table))
        .step(10)
        .premake(1)
        .default_partition(true)
        .register()
        .await
        .expect("register");
    let quoted = r#""sch""ema; --"."ev""nt; DROP TABLE victim; --""#;
    exec(db, &format!("INSERT INTO {quoted} VALUES (1), (35)")).await;
    // A hand-made partition with a hostile name too.
    exec(
        db,
        &format!(r#"CREATE TABLE "sch""ema; --"."p'); --" PARTITION OF {quoted} FOR VALUES FROM (40) TO (50)"#),
    )
    .await;
    let status = service.status_of((schema, table)).await.expect("status");
    let found: Vec<sea_orm_pg_partitioning::service::AnomalyKind> =
        status.anomalies.iter().map(|a| a.kind()).collect();
    use sea_orm_pg_partitioning::service::AnomalyKind as K;
    assert!(found.contains(&K::RowsInDefault), "{:#?}", status.anomalies);
    assert!(found.contains(&K::Unlogged), "{:#?}", status.anomalies);
    let done = service
        .reconcile_table(
            (schema, table),
            sea_orm_pg_partitioning::service::ReconcileMode::Repair(Default::default()),
        )
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    let after: Vec<K> = done.after.tables[0]
        .anomalies
        .iter()
        .map(|a| a.kind())
        .collect();
    assert!(
        !after.contains(&K::RowsInDefault) && !after.contains(&K::Unlogged),
        "{after:?}"
    );
    assert!(
        catalog::exists(db, "public", "victim").await,
        "nothing was injected"
    );
    assert_eq!(
        strings(db, &format!("SELECT count(*)::text FROM {quoted}"), vec![]).await,
        ["2"]
    );
    t.finish().await;
}
