//! Time-range tables keyed by values that encode time: `date`, epoch integers, UUIDv7, ULIDs (as `uuid` and
//! as text) and snowflake IDs. Each: registration, premake across the DST change in Berlin, rows at the first
//! and last key of a period in the right partition, status clean, drift repaired, and a table partitioned by
//! hand adopted through the CLI. The key values are computed here independently of the crate's encoders.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{AnomalyKind, Direction, ReconcileMode, RepairPolicy};

use crate::support::{exec, strings};
use crate::test_name;
use crate::time_range::{service, setup, utc};

/// One kind of key: its column type and how to write an instant's key values by hand.
#[derive(Clone, Copy)]
struct Case {
    column: &'static str,
    /// `None`: the column type says it.
    encoding: Option<&'static str>,
    /// Sub-partition each partition by hash of the key into two.
    sub: bool,
}

const TWITTER_EPOCH_MS: i64 = 1_288_834_974_657;
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;
const SONYFLAKE_EPOCH_MS: i64 = 1_409_529_600_000;
const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn crockford_ms(ms: i64) -> String {
    (0..10)
        .rev()
        .map(|i| CROCKFORD[((ms >> (5 * i)) & 31) as usize] as char)
        .collect()
}

fn uuid_of(ms: i64, rest: &str) -> String {
    let hex = format!("{ms:012x}");
    format!("{}-{}-{rest}", &hex[..8], &hex[8..])
}

impl Case {
    /// The smallest key of the instant `at` (a boundary), as an SQL literal.
    fn first(self, at: DateTime<Utc>) -> String {
        let ms = at.timestamp_millis();
        match self.encoding {
            None => format!(
                "'{}'",
                at.with_timezone(&chrono_tz::Europe::Berlin).date_naive()
            ),
            Some("epoch-s") => at.timestamp().to_string(),
            Some("epoch-ms") => ms.to_string(),
            Some("uuidv7" | "ulid") if self.column == "uuid" => {
                format!("'{}'", uuid_of(ms, "0000-0000-000000000000"))
            }
            Some("ulid") => format!("'{}{}'", crockford_ms(ms), "0".repeat(16)),
            Some("epoch-us") => at.timestamp_micros().to_string(),
            Some("epoch-ns") => at.timestamp_nanos_opt().expect("ns").to_string(),
            Some("snowflake") => ((ms - TWITTER_EPOCH_MS) << 22).to_string(),
            Some("snowflake:discord") => ((ms - DISCORD_EPOCH_MS) << 22).to_string(),
            Some("snowflake:sonyflake") => (((ms - SONYFLAKE_EPOCH_MS) / 10) << 24).to_string(),
            Some(other) => panic!("no case for {other}"),
        }
    }

    /// The largest key before the boundary `end`, as an SQL literal.
    fn last_before(self, end: DateTime<Utc>) -> String {
        let ms = end.timestamp_millis() - 1;
        match self.encoding {
            None => {
                let day = end.with_timezone(&chrono_tz::Europe::Berlin).date_naive();
                format!("'{}'", day.pred_opt().expect("a day before"))
            }
            Some("epoch-s") => (end.timestamp() - 1).to_string(),
            Some("epoch-ms") => ms.to_string(),
            Some("uuidv7" | "ulid") if self.column == "uuid" => {
                format!("'{}'", uuid_of(ms, "ffff-ffff-ffffffffffff"))
            }
            Some("ulid") => format!("'{}{}'", crockford_ms(ms), "Z".repeat(16)),
            Some("epoch-us") => (end.timestamp_micros() - 1).to_string(),
            Some("epoch-ns") => (end.timestamp_nanos_opt().expect("ns") - 1).to_string(),
            Some("snowflake") => {
                (((end.timestamp_millis() - TWITTER_EPOCH_MS) << 22) - 1).to_string()
            }
            Some("snowflake:discord") => {
                (((end.timestamp_millis() - DISCORD_EPOCH_MS) << 22) - 1).to_string()
            }
            Some("snowflake:sonyflake") => {
                ((((end.timestamp_millis() - SONYFLAKE_EPOCH_MS) / 10) << 24) - 1).to_string()
            }
            Some(other) => panic!("no case for {other}"),
        }
    }
}

/// The partition holding the row whose key is `key` (for a sub-partition: its partition).
async fn holder(db: &DatabaseConnection, table: &str, key: &str) -> String {
    strings(
        db,
        &format!(
            "SELECT COALESCE((SELECT i.inhparent::regclass::text FROM pg_inherits i \
                              WHERE i.inhrelid = t.tableoid AND i.inhparent <> '{table}'::regclass), \
                             t.tableoid::regclass::text) \
             FROM {table} t WHERE k = {key}"
        ),
        vec![],
    )
    .await
    .pop()
    .unwrap_or_else(|| panic!("no row {key} in {table}"))
}

async fn round_trip(path: &str, case: Case) {
    let t = setup(path).await;
    let db = &t.conn;
    for table in ["event", "legacy"] {
        exec(
            db,
            &format!(
                "CREATE TABLE {table} (k {} NOT NULL, note text, PRIMARY KEY (k)) PARTITION BY RANGE (k)",
                case.column
            ),
        )
        .await;
    }
    let berlin = chrono_tz::Europe::Berlin;
    // Noon on 30 March 2024: the night after, Berlin moves its clocks forward (31 March has 23 hours).
    let (service, clock) = service(db, utc(2024, 3, 30, 12, 0));
    let mut registration = service
        .time_range_table("event")
        .period(Period::Day)
        .time_zone(berlin)
        .default_partition(true);
    if let Some(encoding) = case.encoding {
        registration = registration.encoding(encoding.parse().expect("an encoding"));
    }
    if case.sub {
        registration = registration.sub_partition_by_hash("k", 2);
    }
    let events = registration.register().await.expect("register");
    events
        .update_maintenance(|m| m.premake = 2)
        .await
        .expect("premake");
    // The first key of 1 April waits in DEFAULT until maintenance creates its partition.
    let (start, end) = (utc(2024, 3, 30, 23, 0), utc(2024, 3, 31, 22, 0));
    let after = case.first(end);
    exec(
        db,
        &format!("INSERT INTO event (k, note) VALUES ({after}, 'early')"),
    )
    .await;
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{:?}", report.errors().collect::<Vec<_>>());
    assert_eq!(report.created(), 2);
    let moved: i64 = report.tables.iter().map(|t| t.moved_rows()).sum();
    assert_eq!(moved, 1, "the early row moved out of DEFAULT");

    // The partition of 31 March (local) runs from 23:00 UTC the day before to 22:00 UTC.
    let logs = events.partitions().await.expect("partitions");
    let dst_day = logs
        .iter()
        .find(|l| l.start == Some(start))
        .unwrap_or_else(|| panic!("no partition from {start}: {logs:#?}"));
    assert_eq!(dst_day.end, Some(end));
    let next = logs
        .iter()
        .find(|l| l.start == Some(end))
        .expect("the partition of 1 April");
    let (first, last) = (case.first(start), case.last_before(end));
    // A date key has one value a day: its first and last key are the same.
    let mut keys = vec![&first, &last];
    keys.dedup();
    for key in keys {
        exec(
            db,
            &format!("INSERT INTO event (k, note) VALUES ({key}, 'row')"),
        )
        .await;
    }
    let quoted = |name: &str| format!("\"{name}\"");
    assert_eq!(
        holder(db, "event", &first).await,
        quoted(&dst_day.partition_name)
    );
    assert_eq!(
        holder(db, "event", &last).await,
        quoted(&dst_day.partition_name)
    );
    assert_eq!(
        holder(db, "event", &after).await,
        quoted(&next.partition_name)
    );

    // Status reads the catalog's bounds back as instants: nothing to report.
    let status = service.status().await.expect("status");
    assert!(status.is_healthy(), "{:#?}", status.tables[0].anomalies);

    // `status TABLE` prints each partition's instants and, for an encoded key, the values behind them.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(["status", "event"])
        .env("DATABASE_URL", &t.url)
        .output()
        .await
        .expect("runs pg-partition");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&dst_day.partition_name))
        .unwrap_or_else(|| panic!("no line for {}: {text}", dst_day.partition_name));
    assert!(
        line.contains("[2024-03-30 23:00:00 UTC, 2024-03-31 22:00:00 UTC)"),
        "{line}"
    );
    if case.encoding.is_some() {
        assert!(line.contains(first.trim_matches('\'')), "{line}");
    }
    // Drift: the 1 April partition detached by hand is found, and attached back with its encoded bound.
    exec(
        db,
        &format!(
            r#"ALTER TABLE event DETACH PARTITION "{}""#,
            next.partition_name
        ),
    )
    .await;
    let drifted = service.status().await.expect("status");
    assert!(
        drifted
            .anomalies()
            .any(|(_, a)| a.kind() == AnomalyKind::DetachedByHand),
        "{:#?}",
        drifted.tables[0].anomalies
    );
    let policy =
        RepairPolicy::default().set(AnomalyKind::DetachedByHand, Direction::CatalogFollowsLog);
    let repaired = service
        .reconcile(ReconcileMode::Repair(policy))
        .await
        .expect("repair");
    assert!(repaired.after.is_healthy(), "{:#?}", repaired.repairs);
    assert_eq!(
        holder(db, "event", &after).await,
        quoted(&next.partition_name)
    );

    // Retention two days on: the partitions that ended more than a day ago are detached.
    events
        .update_config(|c| c.interval = Some(1))
        .await
        .expect("retention");
    clock.set(utc(2024, 4, 2, 12, 0));
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{:?}", report.errors().collect::<Vec<_>>());
    assert!(report.detached() >= 1, "{report:#?}");
    assert!(service.status().await.expect("status").is_healthy());

    // A table partitioned by hand on the same key is adopted through the CLI.
    for (name, from, to) in [
        ("legacy_a", utc(2024, 3, 28, 23, 0), utc(2024, 3, 29, 23, 0)),
        ("legacy_b", utc(2024, 3, 29, 23, 0), utc(2024, 3, 30, 23, 0)),
    ] {
        exec(
            db,
            &format!(
                "CREATE TABLE {name} PARTITION OF legacy FOR VALUES FROM ({}) TO ({})",
                case.first(from),
                case.first(to)
            ),
        )
        .await;
    }
    let mut args = vec![
        "adopt",
        "legacy",
        "--period",
        "day",
        "--time-zone",
        "Europe/Berlin",
    ];
    if let Some(encoding) = case.encoding {
        args.extend(["--encoding", encoding]);
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(&args)
        .env("DATABASE_URL", &t.url)
        .output()
        .await
        .expect("runs pg-partition");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("adopted legacy_a") && text.contains("adopted legacy_b"),
        "{text}"
    );
    // Adopted, its bounds read back as the days they are; maintenance then continues after them.
    let legacy = service.status_of("legacy").await.expect("status");
    let kinds: Vec<_> = legacy.anomalies.iter().map(|a| a.kind()).collect();
    assert_eq!(
        kinds,
        [AnomalyKind::HorizonShort],
        "{:#?}",
        legacy.anomalies
    );
    let report = service
        .run_maintenance_for("legacy")
        .await
        .expect("maintenance");
    assert!(report.is_ok(), "{:?}", report.errors().collect::<Vec<_>>());
    let legacy = service.status_of("legacy").await.expect("status");
    assert!(legacy.is_healthy(), "{:#?}", legacy.anomalies);
    t.finish().await;
}

#[tokio::test]
async fn date_keys() {
    round_trip(
        test_name!("date_keys"),
        Case {
            column: "date",
            encoding: None,
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn epoch_seconds_in_bigint() {
    round_trip(
        test_name!("epoch_seconds_in_bigint"),
        Case {
            column: "bigint",
            encoding: Some("epoch-s"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn epoch_milliseconds_in_numeric() {
    round_trip(
        test_name!("epoch_milliseconds_in_numeric"),
        Case {
            column: "numeric",
            encoding: Some("epoch-ms"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn uuidv7() {
    round_trip(
        test_name!("uuidv7"),
        Case {
            column: "uuid",
            encoding: Some("uuidv7"),
            sub: true,
        },
    )
    .await;
}

#[tokio::test]
async fn ulid_as_uuid() {
    round_trip(
        test_name!("ulid_as_uuid"),
        Case {
            column: "uuid",
            encoding: Some("ulid"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn ulid_as_text() {
    round_trip(
        test_name!("ulid_as_text"),
        Case {
            column: r#"text COLLATE "C""#,
            encoding: Some("ulid"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn twitter_snowflakes() {
    round_trip(
        test_name!("twitter_snowflakes"),
        Case {
            column: "bigint",
            encoding: Some("snowflake"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn epoch_microseconds_in_bigint() {
    round_trip(
        test_name!("epoch_microseconds_in_bigint"),
        Case {
            column: "bigint",
            encoding: Some("epoch-us"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn epoch_nanoseconds_in_bigint() {
    round_trip(
        test_name!("epoch_nanoseconds_in_bigint"),
        Case {
            column: "bigint",
            encoding: Some("epoch-ns"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn discord_snowflakes() {
    round_trip(
        test_name!("discord_snowflakes"),
        Case {
            column: "bigint",
            encoding: Some("snowflake:discord"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn sonyflakes() {
    round_trip(
        test_name!("sonyflakes"),
        Case {
            column: "bigint",
            encoding: Some("snowflake:sonyflake"),
            sub: false,
        },
    )
    .await;
}

#[tokio::test]
async fn encodings_that_cannot_work_are_refused_before_any_sql() {
    let t = setup(test_name!(
        "encodings_that_cannot_work_are_refused_before_any_sql"
    ))
    .await;
    let db = &t.conn;
    for (table, column) in [
        ("by_uuid", "uuid"),
        ("by_int", "integer"),
        ("by_text", "text"),
        ("by_bigint", "bigint"),
    ] {
        exec(
            db,
            &format!("CREATE TABLE {table} (k {column} NOT NULL) PARTITION BY RANGE (k)"),
        )
        .await;
    }
    let (service, _clock) = service(db, utc(2024, 3, 30, 12, 0));
    let register = |table: &'static str, encoding: Option<&str>| {
        let mut registration = service.time_range_table(table).period(Period::Day);
        if let Some(encoding) = encoding {
            registration = registration.encoding(encoding.parse().expect("an encoding"));
        }
        registration.register()
    };
    let cases: [(&str, Option<&str>, &str); 5] = [
        ("by_uuid", Some("epoch-s"), "needs an integer column"),
        ("by_bigint", Some("uuidv7"), "needs a uuid column"),
        ("by_text", Some("ulid"), "COLLATE \"C\""),
        ("by_int", Some("epoch-ms"), "does not fit"),
        ("by_bigint", None, "give the encoding"),
    ];
    for (table, encoding, says) in cases {
        let err = register(table, encoding).await.expect_err(table);
        assert!(
            err.to_string().contains(says),
            "{table} {encoding:?}: {err}"
        );
    }
    // A date key cannot have hourly partitions, at registration or later.
    exec(
        db,
        "CREATE TABLE by_date (k date NOT NULL) PARTITION BY RANGE (k)",
    )
    .await;
    let err = service
        .time_range_table("by_date")
        .period(Period::Hour)
        .register()
        .await
        .expect_err("hours of a date");
    assert!(
        err.to_string().contains("choose a period of at least that"),
        "{err}"
    );
    let by_date = service
        .time_range_table("by_date")
        .period(Period::Day)
        .register()
        .await
        .expect("days of a date");
    let err = by_date
        .update_config(|s| s.period = Period::Hour)
        .await
        .expect_err("hours of a date");
    assert!(matches!(err, Error::KeyEncoding { .. }), "{err}");
    // An integer column in seconds works until January 2038, and says so as the end comes near.
    let (near_the_end, clock) = crate::time_range::service(db, utc(2038, 1, 17, 0, 0));
    near_the_end
        .time_range_table("by_int")
        .period(Period::Day)
        .encoding(TimeEncoding::Epoch(
            sea_orm_pg_partitioning::encoding::EpochUnit::Seconds,
        ))
        .register()
        .await
        .expect("seconds fit an integer in January 2038");
    clock.set(utc(2038, 1, 18, 12, 0));
    let plan = near_the_end.plan().await.expect("a plan");
    assert!(
        plan.unplannable
            .iter()
            .any(|(table, why)| table == "public.by_int"
                && why.contains("until 2038-01-19 03:14:07 UTC")),
        "{:?}",
        plan.unplannable
    );
    assert!(
        strings(
            db,
            "SELECT relname::text FROM pg_class WHERE relname LIKE 'by_uuid_%'",
            vec![]
        )
        .await
        .is_empty()
    );
    t.finish().await;
}

#[tokio::test]
async fn misaligned_and_undecodable_bounds_are_left_alone_at_adoption() {
    let t = setup(test_name!(
        "misaligned_and_undecodable_bounds_are_left_alone_at_adoption"
    ))
    .await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE event (k uuid NOT NULL, PRIMARY KEY (k)) PARTITION BY RANGE (k)",
    )
    .await;
    let case = Case {
        column: "uuid",
        encoding: Some("uuidv7"),
        sub: false,
    };
    let day = |d| utc(2024, 3, d, 0, 0);
    let noon = |d| utc(2024, 3, d, 12, 0);
    let undecodable = format!(
        "'{}'",
        uuid_of(day(5).timestamp_millis(), "7abc-8def-0123456789ab")
    );
    for (name, from, to) in [
        ("event_day", case.first(day(1)), case.first(day(2))),
        ("event_noon", case.first(noon(2)), case.first(noon(3))),
        ("event_random", case.first(day(4)), undecodable.clone()),
    ] {
        exec(
            db,
            &format!("CREATE TABLE {name} PARTITION OF event FOR VALUES FROM ({from}) TO ({to})"),
        )
        .await;
    }
    let (service, _clock) = service(db, utc(2024, 3, 5, 12, 0));
    let (_, adoption) = service
        .time_range_table("event")
        .period(Period::Day)
        .encoding(TimeEncoding::UuidV7)
        .adopt()
        .await
        .expect("adopt");
    let adopted: Vec<_> = adoption
        .adopted
        .iter()
        .map(|l| l.partition_name.as_str())
        .collect();
    assert_eq!(adopted, ["event_day"]);
    assert_eq!(adoption.misfits.len(), 2, "{:?}", adoption.misfits);
    let status = service.status_of("event").await.expect("status");
    let unlogged = status
        .anomalies
        .iter()
        .filter(|a| a.kind() == AnomalyKind::Unlogged)
        .count();
    assert_eq!(unlogged, 2, "{:#?}", status.anomalies);
    t.finish().await;
}

/// PostgreSQL 18 generates UUIDv7 itself: its `uuidv7()` values land in the partition of the day they were
/// made (run on 18 by CI's `scripts/postgres-version 18`; older servers have no `uuidv7()`).
#[tokio::test]
async fn postgres_18_uuidv7_values_land_in_todays_partition() {
    let t = setup(test_name!(
        "postgres_18_uuidv7_values_land_in_todays_partition"
    ))
    .await;
    let db = &t.conn;
    let version: i32 = strings(db, "SELECT current_setting('server_version_num')", vec![])
        .await
        .pop()
        .and_then(|v| v.parse().ok())
        .expect("a version");
    if version < 180_000 {
        eprintln!("PostgreSQL {version} has no uuidv7(): run with scripts/postgres-version 18");
        t.finish().await;
        return;
    }
    exec(
        db,
        "CREATE TABLE event (id uuid NOT NULL DEFAULT uuidv7(), note text, PRIMARY KEY (id)) \
         PARTITION BY RANGE (id)",
    )
    .await;
    let service = PartitionService::new(db.clone());
    let events = service
        .time_range_table("event")
        .period(Period::Day)
        .encoding(TimeEncoding::UuidV7)
        .register()
        .await
        .expect("register");
    exec(
        db,
        "INSERT INTO event (note) SELECT 'row' FROM generate_series(1, 100)",
    )
    .await;
    let today = events.latest().await.expect("latest").expect("a partition");
    let holders = strings(
        db,
        "SELECT DISTINCT tableoid::regclass::text FROM event",
        vec![],
    )
    .await;
    assert_eq!(holders, [format!("\"{}\"", today.partition_name)]);
    t.finish().await;
}
