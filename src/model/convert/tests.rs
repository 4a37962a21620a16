//! Unit tests of the conversion's plan and statements (`#[cfg(test)]`), without a database.

use chrono::{DateTime, TimeZone, Utc};

use super::sql::{self, Names};
use super::*;
use crate::encoding::{EpochUnit, Snowflake};

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

fn column(name: &str, data_type: &str, not_null: bool) -> SourceColumn {
    SourceColumn {
        name: name.into(),
        data_type: data_type.into(),
        not_null,
        generated: false,
        identity: None,
    }
}

fn index(name: &str, columns: &[&str], unique: bool, constraint: Option<char>) -> SourceIndex {
    let list = columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    SourceIndex {
        name: name.into(),
        using: Some(format!("btree ({list})")),
        unique,
        primary: constraint == Some('p'),
        constraint: constraint.map(|k| (name.to_owned(), k)),
        constraint_def: constraint.map(|k| {
            format!(
                "{} ({list})",
                if k == 'p' { "PRIMARY KEY" } else { "UNIQUE" }
            )
        }),
        simple: true,
        columns: Some(columns.iter().map(|c| (*c).to_owned()).collect()),
        partial: false,
    }
}

/// `event (id bigint PK, created_at timestamptz, ext text UNIQUE)`, keys from January to March 2026.
fn events() -> SourceTable {
    SourceTable {
        schema: "public".into(),
        name: "event".into(),
        relkind: Some('r'),
        columns: vec![
            column("id", "bigint", true),
            column("created_at", "timestamp with time zone", true),
            column("ext", "text", false),
        ],
        indexes: vec![
            index("event_pkey", &["id"], true, Some('p')),
            index("event_ext_key", &["ext"], true, Some('u')),
            index("event_created", &["created_at"], false, None),
        ],
        key: Some(KeyStats {
            nulls: 0,
            min: Some("2026-01-15 10:00:00.5".into()),
            max: Some("2026-03-31 23:59:59".into()),
        }),
        ..SourceTable::default()
    }
}

fn monthly(policy: PrimaryKeyPolicy) -> ConversionSettings {
    ConversionSettings {
        key: "created_at".into(),
        kind: ConversionKind::TimeRange {
            period: Period::Month,
            time_zone: chrono_tz::UTC,
            encoding: None,
        },
        policy,
        default_partition: false,
        attach_tablespace: None,
        legacy: false,
    }
}

#[test]
fn a_plain_table_gets_every_month_from_its_oldest_key_to_the_one_after_now() {
    let plan = plan(
        &events(),
        &monthly(PrimaryKeyPolicy::IncludeKey),
        utc(2026, 4, 10, 0),
    );
    assert!(plan.is_possible(), "{plan}");
    let names: Vec<&str> = plan.partitions.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "event_2026-01-01_2026-02-01",
            "event_2026-02-01_2026-03-01",
            "event_2026-03-01_2026-04-01",
            "event_2026-04-01_2026-05-01",
            "event_2026-05-01_2026-06-01",
        ]
    );
    assert_eq!(
        plan.key_range,
        Some((
            Edge::Time(utc(2026, 1, 15, 10) + chrono::Duration::milliseconds(500)),
            Edge::Time(utc(2026, 3, 31, 23) + chrono::Duration::seconds(3599))
        ))
    );
    let how: Vec<(&str, &str)> = plan
        .carried
        .iter()
        .map(|c| (c.name.as_str(), c.how.as_str()))
        .collect();
    assert!(
        how.contains(&("event_pkey", "widened with \"created_at\"")),
        "{how:?}"
    );
    assert!(
        how.contains(&("event_ext_key", "widened with \"created_at\"")),
        "{how:?}"
    );
    assert!(plan.to_string().contains("5 partitions"), "{plan}");
}

#[test]
fn under_suppress_the_primary_key_becomes_an_index_and_a_unique_key_stops_it() {
    let plan = plan(
        &events(),
        &monthly(PrimaryKeyPolicy::Suppress),
        utc(2026, 4, 10, 0),
    );
    assert_eq!(
        plan.problems,
        [ConversionProblem::UniqueWithoutKey {
            name: "event_ext_key".into(),
            why: "widen it with the key (PrimaryKeyPolicy::IncludeKey, --primary-key include-key), or drop it first",
        }]
    );
    assert!(
        plan.carried
            .iter()
            .any(|c| c.name == "event_pkey" && c.how.contains("non-unique"))
    );
}

#[test]
fn every_shape_problem_is_found_before_anything_changes() {
    let mut source = events();
    source.relkind = Some('v');
    assert_eq!(
        plan(
            &source,
            &monthly(PrimaryKeyPolicy::IncludeKey),
            utc(2026, 4, 1, 0)
        )
        .problems,
        [ConversionProblem::NotATable { what: "a view" }]
    );
    source.relkind = Some('p');
    assert_eq!(
        plan(
            &source,
            &monthly(PrimaryKeyPolicy::IncludeKey),
            utc(2026, 4, 1, 0)
        )
        .problems,
        [ConversionProblem::AlreadyPartitioned]
    );
    source.relkind = None;
    assert_eq!(
        plan(
            &source,
            &monthly(PrimaryKeyPolicy::IncludeKey),
            utc(2026, 4, 1, 0)
        )
        .problems,
        [ConversionProblem::Missing]
    );
    let mut source = events();
    source.indexes.clear();
    source.children = vec!["public.event_child".into()];
    source.views = vec!["public.recent".into()];
    source.referenced_by = vec![Referencing {
        table: "public.line".into(),
        constraint: "line_event_fkey".into(),
    }];
    source.row_security = true;
    source.key = Some(KeyStats {
        nulls: 3,
        ..source.key.clone().unwrap()
    });
    let problems = plan(
        &source,
        &monthly(PrimaryKeyPolicy::IncludeKey),
        utc(2026, 4, 1, 0),
    )
    .problems;
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 6, "{text:#?}");
    for (problem, fix) in [
        (0, "NO INHERIT"),
        (1, "add one"),
        (2, "drop it before converting"),
        (3, "drop the view"),
        (4, "row-level security"),
        (5, "--default"),
    ] {
        assert!(text[problem].contains(fix), "{}", text[problem]);
    }
}

#[test]
fn a_key_that_cannot_be_placed_is_a_problem_and_a_default_partition_takes_nulls() {
    let mut source = events();
    source.key = Some(KeyStats {
        nulls: 0,
        min: Some("-infinity".into()),
        max: Some("2026-01-01 00:00:00".into()),
    });
    let problems = plan(
        &source,
        &monthly(PrimaryKeyPolicy::IncludeKey),
        utc(2026, 1, 1, 0),
    )
    .problems;
    assert_eq!(
        problems,
        [ConversionProblem::KeyValue {
            value: "-infinity".into()
        }]
    );
    let mut source = events();
    source.key.as_mut().unwrap().nulls = 2;
    let mut settings = monthly(PrimaryKeyPolicy::IncludeKey);
    settings.default_partition = true;
    let plan = plan(&source, &settings, utc(2026, 4, 1, 0));
    assert!(plan.is_possible(), "{plan}");
    assert_eq!(
        plan.partitions.last().map(|p| p.name.as_str()),
        Some("event_default")
    );
}

#[test]
fn keys_over_too_many_periods_are_refused_with_their_span() {
    let mut source = events();
    source.key.as_mut().unwrap().min = Some("1900-01-01 00:00:00".into());
    let mut settings = monthly(PrimaryKeyPolicy::IncludeKey);
    settings.kind = ConversionKind::TimeRange {
        period: Period::Day,
        time_zone: chrono_tz::UTC,
        encoding: None,
    };
    let problems = plan(&source, &settings, utc(2026, 4, 1, 0)).problems;
    assert!(
        matches!(&problems[..], [ConversionProblem::TooManyPartitions { count, from, max, .. }] if *count > *max && *max == MAX_CONVERSION_PARTITIONS && from.starts_with("1900-01-01")),
        "{problems:?}"
    );
}

#[test]
fn local_periods_follow_the_zone_across_dst_and_leap_days() {
    let tz = chrono_tz::Europe::Berlin;
    let stats = KeyStats {
        nulls: 0,
        min: Some("2024-02-28 23:30:00".into()),
        max: Some("2024-03-31 01:30:00".into()),
    };
    let (_, days) = time_partitions(
        "e",
        &stats,
        TimeEncoding::Timestamptz,
        Period::Day,
        tz,
        None,
    )
    .unwrap();
    // 2024-02-28 23:30 UTC is 29 February 00:30 in Berlin: the leap day is the first partition.
    assert_eq!(
        days.first().map(|p| p.name.as_str()),
        Some("e_2024-02-29_2024-03-01")
    );
    // 31 March 01:30 UTC is 03:30 CEST, after the change: the 23-hour day is the last.
    let last = days.last().unwrap();
    assert_eq!(last.name, "e_2024-03-31_2024-04-01");
    assert_eq!(
        last.bound,
        LoggedBound::Time {
            start: utc(2024, 3, 30, 23),
            end: utc(2024, 3, 31, 22)
        }
    );
}

#[test]
fn every_encoding_reads_its_keys_instant() {
    let tz = chrono_tz::UTC;
    let at = utc(2026, 5, 17, 8);
    let ms = at.timestamp_millis();
    let cases: Vec<(TimeEncoding, String)> = vec![
        (TimeEncoding::Timestamptz, "2026-05-17 08:00:00".into()),
        (TimeEncoding::Timestamp, "2026-05-17 08:00:00".into()),
        (TimeEncoding::Date, "2026-05-17".into()),
        (
            TimeEncoding::Epoch(EpochUnit::Seconds),
            at.timestamp().to_string(),
        ),
        (TimeEncoding::Epoch(EpochUnit::Milliseconds), ms.to_string()),
        (
            TimeEncoding::Epoch(EpochUnit::Nanoseconds),
            (ms * 1_000_000).to_string(),
        ),
        (
            TimeEncoding::UuidV7,
            uuid::Uuid::from_u128(((ms as u128) << 80) | 0x7abc_def0)
                .hyphenated()
                .to_string(),
        ),
        (
            TimeEncoding::UlidText,
            ulid::Ulid::from_parts(ms as u64, 12345).to_string(),
        ),
        (
            TimeEncoding::Snowflake(Snowflake::TWITTER),
            (((ms - Snowflake::TWITTER.epoch_ms) << 22) | 0x3ff).to_string(),
        ),
    ];
    for (encoding, text) in cases {
        let expected = if encoding == TimeEncoding::Date {
            utc(2026, 5, 17, 0)
        } else {
            at
        };
        assert_eq!(
            instant_of(encoding, &text, tz),
            Some(expected),
            "{encoding} {text}"
        );
    }
    assert_eq!(instant_of(TimeEncoding::Timestamptz, "infinity", tz), None);
    assert_eq!(instant_of(TimeEncoding::UuidV7, "not-a-uuid", tz), None);
}

#[test]
fn integer_partitions_hold_every_key_and_the_next_step() {
    let stats = KeyStats {
        nulls: 0,
        min: Some("-5".into()),
        max: Some("2500".into()),
    };
    let (range, parts) = int_partitions("order", &stats, 1000).unwrap();
    assert_eq!(range, Some((Edge::Int(-5), Edge::Int(2500))));
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "order_-1000_0",
            "order_0_1000",
            "order_1000_2000",
            "order_2000_3000",
            "order_3000_4000"
        ]
    );
    let none = int_partitions("order", &KeyStats::default(), 1000).unwrap();
    assert_eq!(none, (None, Vec::new()));
}

#[test]
fn the_row_identity_is_the_primary_key_else_the_smallest_unique_not_null_key() {
    let mut source = events();
    assert_eq!(row_identity(&source), Some(vec!["id".to_owned()]));
    source.indexes.retain(|i| !i.primary);
    // `ext` is nullable: no identity.
    assert_eq!(row_identity(&source), None);
    source.columns[2].not_null = true;
    assert_eq!(row_identity(&source), Some(vec!["ext".to_owned()]));
}

#[test]
fn statements_quote_every_name_and_write_every_value() {
    let names = Names {
        schema: "my \"app\"",
        table: "ev;ent",
        shadow: "ev;ent_sopp_new",
    };
    let columns = vec!["id".to_owned(), "a\"b".to_owned()];
    assert_eq!(
        sql::copy_blocks(names, &columns, 0, 8),
        r#"INSERT INTO "my ""app"""."ev;ent_sopp_new" ("id", "a""b") OVERRIDING SYSTEM VALUE SELECT "id", "a""b" FROM "my ""app"""."ev;ent" WHERE ctid >= '(0,0)'::tid AND ctid < '(8,0)'::tid"#
    );
    let [delete, insert, forget] = sql::apply_changes(names, &columns, &["id".to_owned()], 7, 99);
    assert_eq!(
        delete,
        r#"DELETE FROM "my ""app"""."ev;ent_sopp_new" s WHERE ("s"."id") IN (SELECT r."id" FROM sopp_conversion_change c, jsonb_populate_record(NULL::"my ""app"""."ev;ent", c.ident) r WHERE c.conversion_id = 7 AND c.seq <= 99)"#
    );
    assert!(insert.starts_with(r#"INSERT INTO "my ""app"""."ev;ent_sopp_new" ("id", "a""b") OVERRIDING SYSTEM VALUE SELECT"#));
    assert_eq!(
        forget,
        "DELETE FROM sopp_conversion_change WHERE conversion_id = 7 AND seq <= 99"
    );
    let [capture, _] = sql::create_triggers(names, 7, &["it's".to_owned()]);
    assert!(
        capture.ends_with(r#"EXECUTE FUNCTION sopp_conversion_capture('7', E'it\'s')"#),
        "{capture}"
    );
    assert_eq!(
        sql::set_storage(
            ("s", "p"),
            &[
                "fillfactor=90".into(),
                "toast.autovacuum_enabled=false".into()
            ]
        )
        .as_deref(),
        Some(r#"ALTER TABLE "s"."p" SET (fillfactor = '90', toast.autovacuum_enabled = 'false')"#)
    );
    assert_eq!(
        sql::key_stats(("s", "t"), "k", true),
        r#"SELECT (SELECT (t."k" AT TIME ZONE 'UTC')::text FROM "s"."t" t WHERE t."k" IS NOT NULL ORDER BY t."k" LIMIT 1), (SELECT (t."k" AT TIME ZONE 'UTC')::text FROM "s"."t" t WHERE t."k" IS NOT NULL ORDER BY t."k" DESC LIMIT 1), (SELECT count(*) FROM "s"."t" WHERE "k" IS NULL)"#
    );
    assert_eq!(sql::set_storage(("s", "p"), &["x) ; DROP=1".into()]), None);
    assert_eq!(sql::grant(("s", "t"), "DELETE; DROP", "r", false), None);
    assert_eq!(
        sql::grant(("s", "t"), "SELECT", "Read \"Only\"", true).as_deref(),
        Some(r#"GRANT SELECT ON TABLE "s"."t" TO "Read ""Only""" WITH GRANT OPTION"#)
    );
}

#[test]
fn indexes_are_carried_as_they_are_or_widened_under_their_temporary_names() {
    let source = events();
    let settings = monthly(PrimaryKeyPolicy::IncludeKey);
    let names = Names {
        schema: "public",
        table: "event",
        shadow: "event_sopp_new",
    };
    let carried: Vec<Option<String>> = source
        .indexes
        .iter()
        .map(|i| sql::carry_index(names, i, &settings))
        .collect();
    assert_eq!(
        carried,
        [
            Some(r#"ALTER TABLE "public"."event_sopp_new" ADD CONSTRAINT "event_pkey_sopp_new" PRIMARY KEY ("id", "created_at")"#.to_owned()),
            Some(r#"ALTER TABLE "public"."event_sopp_new" ADD CONSTRAINT "event_ext_key_sopp_new" UNIQUE ("ext", "created_at")"#.to_owned()),
            Some(r#"CREATE INDEX "event_created_sopp_new" ON "public"."event_sopp_new" USING btree ("created_at")"#.to_owned()),
        ]
    );
    let suppress = monthly(PrimaryKeyPolicy::Suppress);
    assert_eq!(
        sql::carry_index(names, &source.indexes[0], &suppress).as_deref(),
        Some(r#"CREATE INDEX "event_pkey_sopp_new" ON "public"."event_sopp_new" ("id")"#)
    );
    assert_eq!(sql::carry_index(names, &source.indexes[1], &suppress), None);
}

#[test]
fn the_settings_survive_the_state_row() {
    let mut settings = monthly(PrimaryKeyPolicy::Suppress);
    settings.kind = ConversionKind::TimeRange {
        period: Period::Week,
        time_zone: chrono_tz::America::Sao_Paulo,
        encoding: Some(TimeEncoding::Snowflake(Snowflake::DISCORD)),
    };
    settings.attach_tablespace = Some("fast".into());
    let registration = Registration {
        detach_tablespace: Some("slow".into()),
        retention: Some(12),
    };
    let json = sql::settings::to_json(&settings, &registration);
    assert_eq!(
        sql::settings::from_json(&json),
        Some((settings, registration.clone()))
    );
    let ints = ConversionSettings {
        kind: ConversionKind::IntRange { step: 1_000_000 },
        ..monthly(PrimaryKeyPolicy::IncludeKey)
    };
    let json = sql::settings::to_json(&ints, &registration);
    assert_eq!(sql::settings::from_json(&json), Some((ints, registration)));
    assert_eq!(
        sql::settings::from_json(&serde_json::json!({"key": 1})),
        None
    );
}

#[test]
fn the_legacy_partition_holds_every_old_key_and_the_next_period_then_two_follow() {
    let mut settings = monthly(PrimaryKeyPolicy::IncludeKey);
    settings.legacy = true;
    let mut source = events();
    source.key.as_mut().unwrap().min = Some("1999-07-04 12:00:00".into());
    let plan = plan(&source, &settings, utc(2026, 4, 10, 0));
    assert!(
        plan.is_possible(),
        "no 5000-partition limit for one legacy partition: {plan}"
    );
    let bounds: Vec<(&str, &LoggedBound)> = plan
        .partitions
        .iter()
        .map(|p| (p.name.as_str(), &p.bound))
        .collect();
    assert_eq!(
        bounds,
        [
            (
                "event_legacy",
                &LoggedBound::Time {
                    start: utc(1999, 7, 1, 0),
                    end: utc(2026, 6, 1, 0)
                }
            ),
            (
                "event_2026-06-01_2026-07-01",
                &LoggedBound::Time {
                    start: utc(2026, 6, 1, 0),
                    end: utc(2026, 7, 1, 0)
                }
            ),
            (
                "event_2026-07-01_2026-08-01",
                &LoggedBound::Time {
                    start: utc(2026, 7, 1, 0),
                    end: utc(2026, 8, 1, 0)
                }
            ),
        ]
    );
    assert!(
        plan.carried
            .iter()
            .any(|c| c.what == "rows" && c.name == "event_legacy")
    );
    source.key.as_mut().unwrap().nulls = 4;
    assert_eq!(
        super::plan(&source, &settings, utc(2026, 4, 10, 0)).problems,
        [ConversionProblem::LegacyNullKeys { count: 4 }]
    );
    let ints = ConversionSettings {
        kind: ConversionKind::IntRange { step: 100 },
        key: "id".into(),
        ..settings
    };
    let stats = KeyStats {
        nulls: 0,
        min: Some("7".into()),
        max: Some("950".into()),
    };
    let mut source = events();
    source.key = Some(stats);
    source.columns[0].data_type = "bigint".into();
    let names: Vec<String> = plan_names(&super::plan(&source, &ints, utc(2026, 4, 10, 0)));
    assert_eq!(
        names,
        ["event_legacy", "event_1100_1200", "event_1200_1300"]
    );
}

fn plan_names(plan: &ConversionPlan) -> Vec<String> {
    plan.partitions.iter().map(|p| p.name.clone()).collect()
}

#[test]
fn the_legacy_partition_gets_only_the_indexes_it_lacks_built_concurrently() {
    let source = events();
    let mut settings = monthly(PrimaryKeyPolicy::IncludeKey);
    settings.legacy = true;
    let names = Names {
        schema: "public",
        table: "event",
        shadow: "event_sopp_new",
    };
    let built: Vec<Option<String>> = source
        .indexes
        .iter()
        .map(|i| sql::legacy_index(names, i, &settings))
        .collect();
    assert_eq!(
        built,
        [
            Some(r#"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "event_pkey_sopp_legacy" ON "public"."event" ("id", "created_at")"#.to_owned()),
            Some(r#"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "event_ext_key_sopp_legacy" ON "public"."event" ("ext", "created_at")"#.to_owned()),
            None,
        ]
    );
    use sea_orm::sea_query::ExprTrait as _;
    let condition =
        sea_orm::sea_query::Expr::col("created_at").lt(sea_orm::sea_query::Expr::val("2026-06-01"));
    assert_eq!(
        sql::add_legacy_check(("public", "event"), "created_at", &condition),
        r#"ALTER TABLE "public"."event" ADD CONSTRAINT "sopp_legacy_bound" CHECK ("created_at" IS NOT NULL AND "created_at" < '2026-06-01') NOT VALID"#
    );
}
