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
}

const TWITTER_EPOCH_MS: i64 = 1_288_834_974_657;
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
            Some("snowflake") => ((ms - TWITTER_EPOCH_MS) << 22).to_string(),
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
            Some("snowflake") => {
                (((end.timestamp_millis() - TWITTER_EPOCH_MS) << 22) - 1).to_string()
            }
            Some(other) => panic!("no case for {other}"),
        }
    }
}

/// The partition holding the row whose key is `key`.
async fn holder(db: &DatabaseConnection, table: &str, key: &str) -> String {
    strings(
        db,
        &format!("SELECT tableoid::regclass::text FROM {table} WHERE k = {key}"),
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
    let events = registration.register().await.expect("register");
    events
        .update_maintenance(|m| m.premake = 2)
        .await
        .expect("premake");
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{:?}", report.errors().collect::<Vec<_>>());
    assert_eq!(report.created(), 2);

    // The partition of 31 March (local) runs from 23:00 UTC the day before to 22:00 UTC.
    let (start, end) = (utc(2024, 3, 30, 23, 0), utc(2024, 3, 31, 22, 0));
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
    let (first, last, after) = (case.first(start), case.last_before(end), case.first(end));
    // A date key has one value a day: its first and last key are the same.
    let mut keys = vec![&first, &last, &after];
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
