//! Unit tests of the recipes, compiled as `#[cfg(test)] mod tests` of the module: each change's statements
//! for tables configured by hand, exactly as PostgreSQL receives them.

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::calendar::Period;
use crate::model::plan::fixtures;

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn table(edit: impl FnOnce(&mut crate::entity::partition_config::Model)) -> Table {
    let mut config = fixtures::config(Some(Period::Month), None);
    edit(&mut config);
    Table {
        config,
        key_type: Some("timestamp with time zone".into()),
    }
}

fn january(table: &Table) -> NewPartition {
    table
        .time_partition(utc(2024, 1, 1), utc(2024, 2, 1), "event_2024_01".into())
        .unwrap()
}

fn kinds(recipe: &Recipe) -> Vec<StatementKind> {
    recipe.statements().iter().map(|s| s.kind()).collect()
}

const BOUND: &str = "FOR VALUES FROM ('2024-01-01 00:00:00.000000 +00:00') TO ('2024-02-01 00:00:00.000000 +00:00')";

#[test]
fn a_direct_create_is_one_statement() {
    let table = table(|_| {});
    let recipe = create(&table, &january(&table), None).unwrap();
    assert_eq!(
        recipe.sql().collect::<Vec<_>>(),
        [format!(
            r#"CREATE TABLE "public"."event_2024_01" PARTITION OF "public"."event" {BOUND}"#
        )]
    );
    assert!(recipe.is_ddl_only());
}

#[test]
fn the_low_lock_mode_proves_the_bound_attaches_and_drops_the_proof() {
    let table = table(|c| c.creation_mode = CreationMode::Attach);
    let recipe = create(&table, &january(&table), None).unwrap();
    let sql: Vec<_> = recipe.sql().collect();
    assert_eq!(sql.len(), 3, "{recipe}");
    assert!(sql[0].starts_with(r#"CREATE TABLE "public"."event_2024_01" ( LIKE "public"."event""#));
    assert!(sql[0].contains(r#"CONSTRAINT "sopp_bound" CHECK"#));
    assert_eq!(
        sql[1],
        format!(
            r#"ALTER TABLE "public"."event" ATTACH PARTITION "public"."event_2024_01" {BOUND}"#
        )
    );
    assert_eq!(
        sql[2],
        r#"ALTER TABLE "public"."event_2024_01" DROP CONSTRAINT "sopp_bound""#
    );
}

#[test]
fn a_tablespace_holds_the_partition_and_every_index_it_gets() {
    let table = table(|c| c.attach_tablespace = Some("fast".into()));
    let recipe = create(&table, &january(&table), None).unwrap();
    let sql: Vec<_> = recipe.sql().collect();
    assert_eq!(sql[0], r#"SET LOCAL default_tablespace = "fast""#);
    assert!(sql[1].ends_with(r#"TABLESPACE "fast""#), "{}", sql[1]);
    assert_eq!(sql[2], "SET LOCAL default_tablespace TO DEFAULT");
    assert_eq!(sql.len(), 3);
}

#[test]
fn sub_partitions_follow_their_partition_in_its_tablespace() {
    let table = table(|c| {
        c.sub_partition_column = Some("tenant".into());
        c.sub_partition_modulus = Some(2);
        c.attach_tablespace = Some("fast".into());
        // The low-lock mode cannot attach a partitioned table with its proof: sub-partitions go directly.
        c.creation_mode = CreationMode::Attach;
    });
    let recipe = create(&table, &january(&table), None).unwrap();
    let sql: Vec<_> = recipe.sql().collect();
    assert_eq!(sql.len(), 5, "{recipe}");
    assert!(
        sql[1].contains(r#"PARTITION BY HASH ("tenant") TABLESPACE "fast""#),
        "{}",
        sql[1]
    );
    assert_eq!(
        sql[2],
        r#"CREATE TABLE "public"."event_2024_01_h0" PARTITION OF "public"."event_2024_01" FOR VALUES WITH (MODULUS 2, REMAINDER 0) TABLESPACE "fast""#
    );
    assert!(sql[3].contains("REMAINDER 1"));
    assert_eq!(recipe.statements()[3].target(), "event_2024_01_h1");
}

#[test]
fn rows_in_default_move_into_the_new_partition_and_default_comes_back() {
    let table = table(|_| {});
    let default = DefaultRows {
        partition: ("public".into(), "event_default".into()),
        columns: vec!["id".into(), "created_at".into()],
    };
    let recipe = create(&table, &january(&table), Some(&default)).unwrap();
    assert_eq!(
        kinds(&recipe),
        [
            StatementKind::Ddl,
            StatementKind::Ddl,
            StatementKind::CopyRows,
            StatementKind::RemoveRows,
            StatementKind::Ddl
        ]
    );
    let sql: Vec<_> = recipe.sql().collect();
    assert_eq!(
        sql[0],
        r#"ALTER TABLE "public"."event" DETACH PARTITION "public"."event_default""#
    );
    let range = r#""created_at" >= '2024-01-01 00:00:00.000000 +00:00' AND "created_at" < '2024-02-01 00:00:00.000000 +00:00'"#;
    assert_eq!(
        sql[2],
        format!(
            r#"INSERT INTO "public"."event_2024_01" ("id", "created_at") SELECT "id", "created_at" FROM "public"."event_default" WHERE {range}"#
        )
    );
    assert_eq!(
        sql[3],
        format!(r#"DELETE FROM "public"."event_default" WHERE {range}"#)
    );
    assert_eq!(
        sql[4],
        r#"ALTER TABLE "public"."event" ATTACH PARTITION "public"."event_default" DEFAULT"#
    );
}

#[test]
fn the_default_partition_itself_moves_nothing() {
    let table = table(|_| {});
    let new = NewPartition {
        name: "event_default".into(),
        bound: PartitionBound::Default,
        condition: None,
        tablespace: None,
        logged: crate::model::LoggedBound::Default,
        sub_partition: None,
    };
    let default = DefaultRows {
        partition: ("public".into(), "event_default".into()),
        columns: vec!["id".into()],
    };
    let recipe = create(&table, &new, Some(&default)).unwrap();
    assert_eq!(
        recipe.sql().collect::<Vec<_>>(),
        [r#"CREATE TABLE "public"."event_default" PARTITION OF "public"."event" DEFAULT"#]
    );
}

#[test]
fn attaching_back_uses_the_logged_bound_and_the_sub_partitions_parent() {
    let table = table(|_| {});
    let mut log = fixtures::range_log(7, "event_2024_01", utc(2024, 1, 1), utc(2024, 2, 1), false);
    let default = DefaultRows {
        partition: ("public".into(), "event_default".into()),
        columns: vec!["id".into()],
    };
    let recipe = attach(&table, &log, Some(&default)).unwrap();
    assert_eq!(recipe.len(), 5);
    assert_eq!(
        recipe.statements()[1].sql(),
        format!(
            r#"ALTER TABLE "public"."event" ATTACH PARTITION "public"."event_2024_01" {BOUND}"#
        )
    );
    log.parent_name = Some("event_2023".into());
    let recipe = attach(&table, &log, None).unwrap();
    assert!(
        recipe.statements()[0]
            .sql()
            .starts_with(r#"ALTER TABLE "public"."event_2023" ATTACH"#)
    );
}

#[test]
fn concurrent_detaches_run_outside_the_transaction() {
    let parent = ("public".to_owned(), "event".to_owned());
    let partition = ("public".to_owned(), "event_2024_01".to_owned());
    let plain = detach(parent.clone(), partition.clone(), DetachMode::Blocking).unwrap();
    assert!(plain.is_ddl_only());
    let concurrent = detach(parent.clone(), partition.clone(), DetachMode::Concurrently).unwrap();
    let moved = concurrent.then(
        relocate(
            &[Placed {
                schema: "public".into(),
                table: Placement {
                    name: "event_2024_01".into(),
                    tablespace: "pg_default".into(),
                },
                indexes: vec![],
            }],
            "archive",
        )
        .unwrap(),
    );
    assert_eq!(
        moved.sql().collect::<Vec<_>>(),
        [
            r#"ALTER TABLE "public"."event" DETACH PARTITION "public"."event_2024_01" CONCURRENTLY"#,
            r#"ALTER TABLE "public"."event_2024_01" SET TABLESPACE "archive""#
        ]
    );
    assert_eq!(
        kinds(&moved),
        [StatementKind::OutsideTransaction, StatementKind::Ddl]
    );
    let finalize = detach(parent, partition, DetachMode::Finalize).unwrap();
    assert_eq!(kinds(&finalize), [StatementKind::OutsideTransaction]);
}

#[test]
fn a_move_skips_what_is_already_there() {
    let at = |name: &str, tablespace: &str| Placement {
        name: name.into(),
        tablespace: tablespace.into(),
    };
    let placed = [
        Placed {
            schema: "app".into(),
            table: at("event_h0", "archive"),
            indexes: vec![
                at("event_h0_pkey", "pg_default"),
                at("event_h0_v_idx", "archive"),
            ],
        },
        Placed {
            schema: "app".into(),
            table: at("event_h1", "pg_default"),
            indexes: vec![],
        },
    ];
    let recipe = relocate(&placed, "archive").unwrap();
    assert_eq!(
        recipe.sql().collect::<Vec<_>>(),
        [
            r#"ALTER INDEX "app"."event_h0_pkey" SET TABLESPACE "archive""#,
            r#"ALTER TABLE "app"."event_h1" SET TABLESPACE "archive""#,
        ]
    );
    assert!(relocate(&placed[..1], "pg_default").unwrap().len() == 2);
}

#[test]
fn hostile_names_are_quoted_and_too_long_ones_refused() {
    let table = table(|c| {
        c.schema_name = r#"a"; DROP TABLE x; --"#.into();
        c.attach_tablespace = Some(r#"t"s"#.into());
    });
    let recipe = create(&table, &january(&table), None).unwrap();
    let sql: Vec<_> = recipe.sql().collect();
    assert_eq!(sql[0], r#"SET LOCAL default_tablespace = "t""s""#);
    assert!(sql[1].starts_with(r#"CREATE TABLE "a""; DROP TABLE x; --"."event_2024_01""#));
    let mut long = january(&table);
    long.name = "x".repeat(64);
    assert!(matches!(
        create(&table, &long, None),
        Err(Error::Statement(_))
    ));
    let drop = drop(("s".into(), r#"p"q"#.into())).unwrap();
    assert_eq!(drop.to_string(), "DROP TABLE IF EXISTS \"s\".\"p\"\"q\";\n");
}

#[test]
fn referencing_rows_are_counted_by_every_column_of_the_foreign_key() {
    let key = ForeignKeyTo {
        constraint: "line_order_fkey".into(),
        table: ("app".into(), "line \"x\"".into()),
        columns: vec!["order_id".into(), "order_at".into()],
        referenced: vec!["id".into(), "created_at".into()],
    };
    assert_eq!(
        referencing_rows(("app", "orders_2024-03-01"), &key, &[]),
        r#"SELECT count(*) FROM "app"."line ""x""" r WHERE EXISTS (SELECT 1 FROM "app"."orders_2024-03-01" p WHERE p."id" = r."order_id" AND p."created_at" = r."order_at")"#
    );
    // Rows of a partition retired in the same step (a retirement group) do not count.
    let retired = [("app".to_owned(), "line_o'2024".to_owned())];
    assert!(
        referencing_rows(("app", "orders_2024-03-01"), &key, &retired).ends_with(
            r#" AND r.tableoid NOT IN (SELECT relid FROM pg_partition_tree(to_regclass(format('%I.%I', 'app'::text, E'line_o\'2024'::text))))"#
        )
    );
    assert_eq!(analyze(("s", "t"), true), r#"ANALYZE ONLY "s"."t""#);
    assert_eq!(analyze(("s", "t"), false), r#"ANALYZE "s"."t""#);
}
