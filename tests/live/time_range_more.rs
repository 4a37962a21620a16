//! Time zones across DST, concurrent callers, and hooks.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use sea_orm_pg_partitioning::ConfigProblem;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{HookError, KeepPartitions};

use crate::support::{TestDb, catalog, exec, sqlstate, strings};
use crate::test_name;
use crate::time_range::{
    assert_consistent, assert_routing, berlin, bounds_in_utc, event_table, logged, service, setup,
    utc,
};

#[tokio::test]
async fn berlin_days_across_both_dst_changes() {
    let t = setup(test_name!("berlin_days_across_both_dst_changes")).await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 3, 30, 12, 0));
    let table = service
        .time_range_table("event")
        .period(Period::Day)
        .time_zone(berlin())
        .register()
        .await
        .expect("register");
    table.create_partition(0).await.expect("create");
    table.create_partition(0).await.expect("create");
    let logs = logged(&table).await;
    assert_eq!(
        logs.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        [
            "event_2024-03-30_2024-03-31",
            "event_2024-03-31_2024-04-01",
            "event_2024-04-01_2024-04-02"
        ]
    );
    assert_eq!(
        logs[1].2 - logs[1].1,
        Duration::hours(23),
        "the day clocks spring forward"
    );
    // The catalog holds the instants of local midnights, whatever the session's zone.
    assert_eq!(
        bounds_in_utc(db, "event").await,
        [
            "FOR VALUES FROM ('2024-03-29 23:00:00+00') TO ('2024-03-30 23:00:00+00')",
            "FOR VALUES FROM ('2024-03-30 23:00:00+00') TO ('2024-03-31 22:00:00+00')",
            "FOR VALUES FROM ('2024-03-31 22:00:00+00') TO ('2024-04-01 22:00:00+00')",
        ]
    );
    assert_routing(db, &table).await;

    clock.set(utc(2024, 10, 26, 12, 0));
    event_table(db, "autumn", "timestamptz").await;
    let autumn = service
        .time_range_table("autumn")
        .period(Period::Day)
        .time_zone(berlin())
        .register()
        .await
        .expect("register");
    autumn.create_partition(0).await.expect("create");
    let logs = logged(&autumn).await;
    assert_eq!(logs[1].0, "autumn_2024-10-27_2024-10-28");
    assert_eq!(
        logs[1].2 - logs[1].1,
        Duration::hours(25),
        "the day clocks fall back"
    );
    assert_routing(db, &autumn).await;
    t.finish().await;
}

#[tokio::test]
async fn berlin_hours_and_a_local_timestamp_key() {
    let t = setup(test_name!("berlin_hours_and_a_local_timestamp_key")).await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    event_table(db, "local", "timestamp").await;
    let (service, _clock) = service(db, utc(2024, 3, 31, 0, 30)); // 01:30 CET, before the gap at 02:00
    let table = service
        .time_range_table("event")
        .period(Period::Hour)
        .time_zone(berlin())
        .register()
        .await
        .expect("register");
    table.create_partition(0).await.expect("create");
    table.create_partition(0).await.expect("create");
    let logs = logged(&table).await;
    // 02:00 does not exist: the hour from 01:00 ends at 03:00 CEST, an hour later.
    assert_eq!(
        logs.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        [
            "event_2024-03-31_01_2024-03-31_03",
            "event_2024-03-31_03_2024-03-31_04",
            "event_2024-03-31_04_2024-03-31_05"
        ]
    );
    assert!(logs.iter().all(|l| l.2 - l.1 == Duration::hours(1)));
    assert_routing(db, &table).await;

    // A `timestamp without time zone` key gets local wall-clock bounds.
    let local = service
        .time_range_table("local")
        .period(Period::Day)
        .time_zone(berlin())
        .register()
        .await
        .expect("register");
    local.create_partition(0).await.expect("create");
    assert_eq!(
        bounds_in_utc(db, "local").await,
        [
            "FOR VALUES FROM ('2024-03-31 00:00:00') TO ('2024-04-01 00:00:00')",
            "FOR VALUES FROM ('2024-04-01 00:00:00') TO ('2024-04-02 00:00:00')",
        ]
    );
    t.finish().await;
}

#[tokio::test]
async fn sao_paulo_midnight_that_did_not_exist_and_shanghai_months() {
    let t = setup(test_name!(
        "sao_paulo_midnight_that_did_not_exist_and_shanghai_months"
    ))
    .await;
    let db = &t.conn;
    // Bounds must not depend on the session's zone: the service's connections use another one.
    exec(
        db,
        &format!(
            r#"ALTER DATABASE "{}" SET timezone TO 'Pacific/Kiritimati'"#,
            t.name
        ),
    )
    .await;
    let other_zone = t.connect(2).await;
    event_table(db, "sp", "timestamptz").await;
    event_table(db, "sh", "timestamptz").await;
    let (service, clock) = service(&other_zone, utc(2018, 11, 3, 12, 0));
    let sp = service
        .time_range_table("sp")
        .period(Period::Day)
        .time_zone_name("America/Sao_Paulo")
        .register()
        .await
        .expect("register");
    sp.create_partition(0).await.expect("create");
    sp.create_partition(0).await.expect("create");
    // 2018-11-04 00:00 did not exist there (clocks went to 01:00 -02): the boundary is 01:00 -02 = 03:00 UTC.
    assert_eq!(
        bounds_in_utc(db, "sp").await,
        [
            "FOR VALUES FROM ('2018-11-03 03:00:00+00') TO ('2018-11-04 03:00:00+00')",
            "FOR VALUES FROM ('2018-11-04 03:00:00+00') TO ('2018-11-05 02:00:00+00')",
            "FOR VALUES FROM ('2018-11-05 02:00:00+00') TO ('2018-11-06 02:00:00+00')",
        ]
    );
    assert_routing(db, &sp).await;

    clock.set(utc(2024, 1, 31, 17, 0)); // already 1 February in Shanghai
    let sh = service
        .time_range_table("sh")
        .time_zone(chrono_tz::Asia::Shanghai)
        .register()
        .await
        .expect("register");
    sh.create_partition(0).await.expect("create");
    assert_eq!(
        logged(&sh)
            .await
            .iter()
            .map(|l| l.0.as_str())
            .collect::<Vec<_>>(),
        ["sh_2024-02-01_2024-03-01", "sh_2024-03-01_2024-04-01"]
    );
    assert_eq!(
        bounds_in_utc(db, "sh").await,
        [
            "FOR VALUES FROM ('2024-01-31 16:00:00+00') TO ('2024-02-29 16:00:00+00')",
            "FOR VALUES FROM ('2024-02-29 16:00:00+00') TO ('2024-03-31 16:00:00+00')",
        ]
    );
    assert_routing(db, &sh).await;
    let _ = other_zone.close().await;
    t.finish().await;
}

#[tokio::test]
async fn eight_concurrent_callers_create_each_partition_once() {
    let t = setup(test_name!(
        "eight_concurrent_callers_create_each_partition_once"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let now = utc(2024, 1, 1, 12, 0);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let conn = t.connect(1).await;
        tasks.push(tokio::spawn(async move {
            let (service, _clock) = service(&conn, now);
            let table = service
                .time_range_table("event")
                .period(Period::Day)
                .register()
                .await?;
            let created = table.create_partition(30).await?;
            let _ = conn.close().await;
            Ok::<_, Error>(created.len())
        }));
    }
    let mut created = 0;
    for task in tasks {
        created += task.await.expect("task").expect("no caller fails");
    }
    let (service, _clock) = service(db, now);
    let table = service
        .time_range_of("event")
        .await
        .expect("registered once");
    assert_eq!(service.configs().await.expect("configs").len(), 1);
    let logs = table.partitions().await.expect("partitions");
    // 1 January, then every day until the latest ends more than 30 days after now: 1 + 30 partitions.
    assert_eq!(logs.len(), 31);
    assert_eq!(
        created, 30,
        "the first partition came with registration; each other one was created once"
    );
    assert_eq!(logs.last().and_then(|l| l.end), Some(utc(2024, 2, 1, 0, 0)));
    assert_consistent(db, &table).await;
    t.finish().await;
}

/// Records events in a table of the application, in the change's transaction; fails on demand.
#[derive(Debug, Default, Clone)]
struct Recorder {
    fail_on: Arc<Mutex<Option<PartitionEventKind>>>,
}

#[async_trait::async_trait]
impl PartitionHook for Recorder {
    async fn after(
        &self,
        txn: &DatabaseTransaction,
        event: &PartitionEvent,
    ) -> Result<(), HookError> {
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "INSERT INTO audit (partition, kind) VALUES ($1, $2)",
            [
                event.partition.partition_name.clone().into(),
                event.kind.as_str().into(),
            ],
        ))
        .await?;
        if *self.fail_on.lock().expect("lock") == Some(event.kind) {
            return Err(format!("refusing {}", event.kind.as_str()).into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn hooks_run_in_the_transaction_and_a_failing_hook_rolls_back() {
    let t: TestDb = setup(test_name!(
        "hooks_run_in_the_transaction_and_a_failing_hook_rolls_back"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    exec(db, "CREATE TABLE audit (partition text, kind text)").await;
    let recorder = Recorder::default();
    let (service, clock) = service(db, utc(2024, 1, 1, 0, 0));
    let service = service.with_hook(recorder.clone());
    let table = service
        .time_range_table("event")
        .interval(1)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 3, 15, 0, 0));
    table.create_partition(1).await.expect("create");
    table.detach_partitions(None).await.expect("detach");
    table
        .attach_partitions(None, Some(utc(2024, 12, 1, 0, 0)))
        .await
        .expect("attach");
    let audit = strings(
        db,
        "SELECT kind || ' ' || partition FROM audit ORDER BY 1",
        vec![],
    )
    .await;
    assert_eq!(
        audit,
        [
            "attached event_2024-01-01_2024-02-01",
            "created event_2024-01-01_2024-02-01",
            "created event_2024-02-01_2024-03-01",
            "created event_2024-03-01_2024-04-01",
            "detached event_2024-01-01_2024-02-01",
        ]
    );

    // A failing hook: the change, its log row and the hook's own writes are rolled back.
    let before = logged(&table).await;
    *recorder.fail_on.lock().expect("lock") = Some(PartitionEventKind::Created);
    let err = table.create_partition(0).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Hook {
                event: "created",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("refusing created"), "{err}");
    assert_eq!(logged(&table).await, before);
    assert!(!catalog::exists(db, "public", "event_2024-04-01_2024-05-01").await);
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM audit", vec![]).await,
        ["5"]
    );

    *recorder.fail_on.lock().expect("lock") = Some(PartitionEventKind::Detached);
    clock.set(utc(2025, 1, 1, 0, 0));
    let err = table.detach_partitions(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Hook {
                event: "detached",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        logged(&table).await,
        before,
        "no partition detached, none half-way"
    );
    assert_consistent(db, &table).await;
    t.finish().await;
}

/// The original keeps a protected partition attached until `detach_time < now`: at `detach_time` itself it
/// stays, in `detach_partitions(None)` and in maintenance alike.
#[tokio::test]
async fn detach_time_protects_a_partition_until_it_has_passed() {
    let t: TestDb = setup(test_name!(
        "detach_time_protects_a_partition_until_it_has_passed"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 1, 1, 0, 0));
    let table = service
        .time_range_table("event")
        .interval(1)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 3, 15, 0, 0));
    table.create_partition(1).await.expect("create");
    let january = table.detach_partitions(None).await.expect("detach");
    assert_eq!(january.len(), 1);
    let until = utc(2024, 3, 20, 0, 0);
    table
        .attach_partitions(Some(&january), Some(until))
        .await
        .expect("attach");
    // Protection is also set (and lifted) on its own, without attaching.
    let protected = table
        .set_detach_time(&january[0], Some(until))
        .await
        .expect("protect");
    assert_eq!(protected.detach_time, Some(until));

    clock.set(until);
    assert!(
        table
            .detach_partitions(None)
            .await
            .expect("detach")
            .is_empty()
    );
    let report = service.run_maintenance().await.expect("maintenance");
    assert_eq!(report.detached(), 0, "{report:?}");
    assert!(
        logged(&table)
            .await
            .iter()
            .all(|(_, _, _, attached)| *attached)
    );

    clock.set(until + Duration::microseconds(1));
    let detached = table.detach_partitions(None).await.expect("detach");
    assert_eq!(detached.len(), 1);
    assert_eq!(detached[0].partition_name, january[0].partition_name);
    assert_eq!(detached[0].detach_time, None, "detaching clears it");
    // A protection lifted with None: the rule takes the partition at once.
    table
        .attach_partitions(Some(&detached), Some(until + Duration::days(365)))
        .await
        .expect("attach");
    assert!(
        table
            .detach_partitions(None)
            .await
            .expect("detach")
            .is_empty()
    );
    table
        .set_detach_time(&detached[0], None)
        .await
        .expect("unprotect");
    assert_eq!(
        table.detach_partitions(None).await.expect("detach").len(),
        1
    );
    t.finish().await;
}

/// Settings outside what the service accepts are refused with the allowed range, at registration and in
/// updates, and nothing changes.
#[tokio::test]
async fn out_of_range_settings_are_refused_with_the_allowed_range() {
    let t: TestDb = setup(test_name!(
        "out_of_range_settings_are_refused_with_the_allowed_range"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    exec(db, "CREATE TABLE ids (id bigint NOT NULL) PARTITION BY RANGE (id); CREATE TABLE usr (id bigint) PARTITION BY HASH (id)").await;
    let (service, _clock) = service(db, utc(2024, 1, 1, 0, 0));
    let table = service
        .time_range_table("event")
        .register()
        .await
        .expect("register");

    let err = table
        .update_maintenance(|m| m.premake = 1_000_000)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "premake = 1000000 is out of range: give a value from 0 to 1000 (one maintenance run creates at most 1000 partitions)"
    );
    assert_eq!(
        table
            .maintenance_settings()
            .await
            .expect("settings")
            .premake,
        1
    );
    let err = table
        .update_config(|s| s.interval = Some(u32::MAX))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::OutOfRange { setting: "interval", max, .. } if max == i64::from(i32::MAX)),
        "{err}"
    );

    let err = service
        .id_range_table("ids")
        .step(100)
        .premake(1001)
        .register()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfRange {
                setting: "premake",
                value: 1001,
                ..
            }
        ),
        "{err}"
    );
    let err = service
        .id_range_table("ids")
        .step(0)
        .register()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfRange {
                setting: "step",
                value: 0,
                min: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = service
        .hash_table("usr")
        .modulus(5000)
        .register()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfRange {
                setting: "modulus",
                max: 1024,
                ..
            }
        ),
        "{err}"
    );
    let err = service
        .id_range_table("ids")
        .step(100)
        .sub_partition_by_hash("id", 0)
        .register()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfRange {
                setting: "modulus",
                value: 0,
                ..
            }
        ),
        "{err}"
    );
    // Nothing was registered or created.
    assert_eq!(service.configs().await.expect("configs").len(), 1);
    assert!(catalog::partitions(db, "public", "ids").await.is_empty());
    assert!(catalog::partitions(db, "public", "usr").await.is_empty());
    t.finish().await;
}

/// A detached partition whose rows no longer fit its bound is not attached: a typed error names the
/// partition and the bound, and everything stays as it was.
#[tokio::test]
async fn attaching_rows_outside_the_bound_is_a_typed_error_that_changes_nothing() {
    let t: TestDb = setup(test_name!(
        "attaching_rows_outside_the_bound_is_a_typed_error_that_changes_nothing"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 1, 10, 0, 0));
    let table = service
        .time_range_table("event")
        .register()
        .await
        .expect("register");
    let january = table.partitions().await.expect("partitions");
    table
        .detach_partitions(Some(&january))
        .await
        .expect("detach");
    let name = &january[0].partition_name;
    exec(
        db,
        &format!(r#"INSERT INTO "{name}" (id, created_at) VALUES (1, '2024-03-05 00:00+00')"#),
    )
    .await;

    let err = table
        .attach_partitions(Some(&january), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::RowsOutsideBound { partition, bound, .. }
            if partition == name && bound.starts_with("FOR VALUES FROM ('2024-01-01 00:00:00.000000 +00:00')")),
        "{err:?}"
    );
    assert_eq!(err.code(), "rows-outside-bound");
    assert_eq!(err.sqlstate().as_deref(), Some(sqlstate::CHECK_VIOLATION));
    assert!(std::error::Error::source(&err).is_some());
    assert!(err.to_string().contains("move those rows"), "{err}");
    assert!(!logged(&table).await[0].3, "still logged as detached");
    assert!(catalog::partitions(db, "public", "event").await.is_empty());
    assert_eq!(catalog::count(db, &format!(r#""{name}""#)).await, 1);
    t.finish().await;
}

/// Configuration problems are typed, each with its own fix: a retention that drops without a grace period,
/// and a stored time zone edited by hand.
#[tokio::test]
async fn configuration_problems_say_what_to_fix() {
    let t: TestDb = setup(test_name!("configuration_problems_say_what_to_fix")).await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 1, 1, 0, 0));
    let table = service
        .time_range_table("event")
        .register()
        .await
        .expect("register");
    let err = table
        .update_maintenance(|m| m.retention = RetentionAction::Drop)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidConfig {
                problem: ConfigProblem::DropWithoutGrace,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("set drop_after in update_maintenance"),
        "{err}"
    );
    assert_eq!(err.code(), "invalid-config");

    exec(
        db,
        "UPDATE sopp_partition_config SET time_zone = 'Mars/Olympus'",
    )
    .await;
    let err = table.create_partition(1).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig { problem: ConfigProblem::UnknownTimeZone(zone), .. } if zone == "Mars/Olympus"),
        "{err}"
    );
    assert!(
        err.to_string().contains("is not an IANA time zone name"),
        "{err}"
    );
    t.finish().await;
}

/// Unregistering removes the configuration and the log and keeps every table, or drops the detached
/// partitions the crate created when asked; a table dropped by hand is unregistered too. The CLI asks
/// before dropping.
#[tokio::test]
async fn unregistering_keeps_or_drops_what_it_says() {
    let t: TestDb = setup(test_name!("unregistering_keeps_or_drops_what_it_says")).await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    event_table(db, "other", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 1, 1, 0, 0));
    let table = service
        .time_range_table("event")
        .interval(1)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 3, 15, 0, 0));
    table.create_partition(1).await.expect("create");
    let january = table.detach_partitions(None).await.expect("detach");
    assert_eq!(january.len(), 1);
    let attached = catalog::partitions(db, "public", "event").await.len();

    // Keep everything.
    let done = table
        .unregister(KeepPartitions::All)
        .await
        .expect("unregister");
    assert_eq!((done.attached_kept, done.detached_kept), (attached, 1));
    assert!(done.dropped.is_empty());
    assert!(service.configs().await.expect("configs").is_empty());
    assert_eq!(
        strings(db, "SELECT count(*)::text FROM sopp_partition_log", vec![]).await,
        ["0"]
    );
    assert_eq!(
        catalog::partitions(db, "public", "event").await.len(),
        attached
    );
    assert!(catalog::exists(db, "public", &january[0].partition_name).await);
    assert!(matches!(
        table.config().await.unwrap_err(),
        Error::NotRegistered { .. }
    ));

    // Registered again: maintenance starts anew; then unregistered dropping what it detached.
    let again = service
        .time_range_table("event")
        .interval(1)
        .adopt()
        .await
        .expect("adopt")
        .0;
    let detached = again.detach_partitions(None).await.expect("detach");
    let done = again
        .unregister(KeepPartitions::Attached)
        .await
        .expect("unregister");
    // Adopted partitions were not created by the crate: they are kept even when detached.
    assert_eq!(done.dropped.len(), 0);
    assert_eq!(done.detached_kept, detached.len());

    // Partitions the crate created and detached are dropped when asked; attached ones stay.
    event_table(db, "third", "timestamptz").await;
    clock.set(utc(2024, 1, 1, 0, 0));
    let third = service
        .time_range_table("third")
        .interval(1)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 3, 15, 0, 0));
    third.create_partition(1).await.expect("create");
    let old = third.detach_partitions(None).await.expect("detach");
    let kept = catalog::partitions(db, "public", "third").await.len();
    let done = third
        .unregister(KeepPartitions::Attached)
        .await
        .expect("unregister");
    assert_eq!(done.dropped, [old[0].partition_name.clone()]);
    assert!(!catalog::exists(db, "public", &old[0].partition_name).await);
    assert_eq!(catalog::partitions(db, "public", "third").await.len(), kept);

    // A table dropped by hand: the anomaly says to unregister it, and the CLI does.
    service
        .time_range_table("other")
        .register()
        .await
        .expect("register");
    exec(db, "DROP TABLE other").await;
    let cli = |args: &'static [&'static str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
            .args(args)
            .env("DATABASE_URL", &t.url)
            .output()
    };
    let out = cli(&["unregister", "other", "--drop-detached"])
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "asks first");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    let out = cli(&["unregister", "other"]).await.expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("unregistered public.other: configuration and 1 log row(s) removed")
    );
    assert!(service.configs().await.expect("configs").is_empty());
    t.finish().await;
}

#[tokio::test]
async fn registration_logs_a_default_partition_made_in_a_migration() {
    let t = setup(test_name!(
        "registration_logs_a_default_partition_made_in_a_migration"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    exec(
        db,
        "CREATE TABLE event_default PARTITION OF event DEFAULT; \
         INSERT INTO event (created_at, payload) VALUES ('2024-03-10 08:00+00', 'early'); \
         CREATE TABLE region (code text) PARTITION BY LIST (code); \
         CREATE TABLE region_other PARTITION OF region DEFAULT",
    )
    .await;
    let (service, _clock) = service(db, utc(2024, 3, 10, 12, 0));
    service
        .time_range_table("event")
        .period(Period::Day)
        .default_partition(true)
        .attach_tablespace(crate::support::TS_A)
        .register()
        .await
        .expect("register beside the DEFAULT the migration made");
    service
        .list_table("region")
        .default_partition(true)
        .register()
        .await
        .expect("a list table too");
    // Logged as it is named, moved with its indexes to the attach tablespace: after the first maintenance
    // run (premake), healthy, with no repair pass.
    assert!(
        service
            .run_maintenance()
            .await
            .expect("maintenance")
            .is_ok()
    );
    let status = service.status().await.expect("status");
    assert!(
        status.is_healthy(),
        "{:#?}",
        status.anomalies().collect::<Vec<_>>()
    );
    assert_eq!(
        catalog::tablespace(db, "public", "event_default")
            .await
            .as_deref(),
        Some(crate::support::TS_A)
    );
    for (index, tablespace) in catalog::index_tablespaces(db, "public", "event_default").await {
        assert_eq!(tablespace.as_deref(), Some(crate::support::TS_A), "{index}");
    }
    // The row that was in DEFAULT moved into the day's partition the registration created.
    assert_eq!(catalog::count(db, "\"public\".\"event_default\"").await, 0);
    t.finish().await;
}
