//! Status, drift and repair: anomalies injected by raw SQL, reported by `status`, repaired in each direction
//! with no row lost; adoption of tables partitioned by hand and by pg_partman.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use sea_orm_pg_partitioning::entity::partition_log::PartitionKind;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{
    Anomaly, AnomalyKind, CatalogBound, Direction, Edge, ReconcileMode, RepairOutcome,
    RepairPolicy, StepAction,
};

use crate::support::{TS_A, TS_B, catalog, exec, leave_detach_pending, strings};
use crate::test_name;
use crate::time_range::{event_table, service, setup, utc};

/// How many anomalies of each kind.
fn kinds(anomalies: &[Anomaly]) -> BTreeMap<AnomalyKind, usize> {
    let mut count = BTreeMap::new();
    for a in anomalies {
        *count.entry(a.kind()).or_insert(0) += 1;
    }
    count
}

/// Rows of a partitioned table, its partitions included.
async fn rows_of(db: &DatabaseConnection, table: &str) -> i64 {
    strings(db, &format!("SELECT count(*)::text FROM {table}"), vec![]).await[0]
        .parse()
        .expect("count")
}

async fn total_rows(db: &DatabaseConnection) -> i64 {
    rows_of(db, "ev").await
}

/// The logged name of the daily partition starting at `start`.
async fn name_at(table: &TimeRangeTable, start: DateTime<Utc>) -> String {
    table
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .find(|p| p.start == Some(start))
        .map(|p| p.partition_name)
        .expect("a partition with that start")
}

/// `ev`: daily partitions from 2024-03-01 to 2024-03-12 in TS_A, a DEFAULT partition, one row per day.
async fn daily_table(db: &DatabaseConnection) -> (PartitionService, ManualClock, TimeRangeTable) {
    event_table(db, "ev", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 3, 1, 0, 0));
    let ev = service
        .time_range_table("ev")
        .period(Period::Day)
        .attach_tablespace(TS_A)
        .default_partition(true)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 3, 10, 12, 0));
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{report:?}");
    exec(
        db,
        "INSERT INTO ev (created_at) SELECT g FROM generate_series('2024-03-01 03:00+00'::timestamptz, '2024-03-11 03:00+00', '1 day') g",
    )
    .await;
    (service, clock, ev)
}

#[tokio::test]
async fn status_reports_each_anomaly_made_by_hand_and_the_default_repair_follows_the_catalog() {
    let t = setup(test_name!(
        "status_reports_each_anomaly_made_by_hand_and_the_default_repair_follows_the_catalog"
    ))
    .await;
    let db = &t.conn;
    let (service, _clock, ev) = daily_table(db).await;

    // Healthy after maintenance: every partition logged, in TS_A with its indexes, up to the horizon.
    let status = service.status_of("ev").await.expect("status");
    assert!(status.is_healthy(), "{:#?}", status.anomalies);
    assert_eq!(status.horizon, Some(Edge::Time(utc(2024, 3, 12, 0, 0))));
    assert_eq!(status.wanted_horizon, status.horizon);
    assert_eq!(status.default_has_rows, Some(false));
    let first = status
        .partition(&name_at(&ev, utc(2024, 3, 1, 0, 0)).await)
        .expect("listed");
    let cat = first.catalog.as_ref().expect("in the catalog");
    assert!(cat.attached);
    assert_eq!(cat.tablespace, TS_A);
    assert!(!cat.indexes.is_empty() && cat.indexes.iter().all(|i| i.tablespace == TS_A));
    assert_eq!(
        cat.bound,
        Some(CatalogBound::Range {
            start: Edge::Time(utc(2024, 3, 1, 0, 0)),
            end: Edge::Time(utc(2024, 3, 2, 0, 0)),
        })
    );
    let rows = total_rows(db).await;
    assert_eq!(rows, 11);

    let d2 = name_at(&ev, utc(2024, 3, 2, 0, 0)).await;
    let d3 = name_at(&ev, utc(2024, 3, 3, 0, 0)).await;
    let d4 = name_at(&ev, utc(2024, 3, 4, 0, 0)).await;
    let d5 = name_at(&ev, utc(2024, 3, 5, 0, 0)).await;
    let d6 = name_at(&ev, utc(2024, 3, 6, 0, 0)).await;
    let d7 = name_at(&ev, utc(2024, 3, 7, 0, 0)).await;
    let d8 = name_at(&ev, utc(2024, 3, 8, 0, 0)).await;
    // 03-04 detached through the service first, so that attaching it by hand contradicts the log.
    let log4 = ev.partitions().await.expect("partitions");
    let log4: Vec<_> = log4
        .into_iter()
        .filter(|l| l.partition_name == d4)
        .collect();
    ev.detach_partitions(Some(&log4)).await.expect("detach");
    let index8 = catalog::index_tablespaces(db, "public", &d8).await[0]
        .0
        .clone();

    // Drift, by hand.
    exec(db, &format!(r#"DROP TABLE "{d2}""#)).await; // log row without table; 1 row lost by hand
    exec(db, &format!(r#"ALTER TABLE ev DETACH PARTITION "{d3}""#)).await;
    exec(
        db,
        &format!(r#"ALTER TABLE ev ATTACH PARTITION "{d4}" FOR VALUES FROM ('2024-03-04 00:00+00') TO ('2024-03-05 00:00+00')"#),
    )
    .await;
    exec(db, &format!(r#"ALTER TABLE "{d5}" RENAME TO ev_renamed"#)).await;
    exec(
        db,
        "CREATE TABLE ev_extra PARTITION OF ev FOR VALUES FROM ('2024-03-12 00:00+00') TO ('2024-03-12 06:00+00')",
    )
    .await;
    exec(
        db,
        &format!(r#"ALTER TABLE ev DETACH PARTITION "{d6}"; ALTER TABLE ev ATTACH PARTITION "{d6}" FOR VALUES FROM ('2024-03-06 00:00+00') TO ('2024-03-06 12:00+00')"#),
    )
    .await;
    exec(
        db,
        &format!(r#"ALTER TABLE "{d7}" SET TABLESPACE pg_default"#),
    )
    .await;
    exec(
        db,
        &format!(r#"ALTER INDEX "{index8}" SET TABLESPACE {TS_B}"#),
    )
    .await;
    exec(
        db,
        "INSERT INTO ev (created_at) VALUES ('2024-04-15 10:00+00')",
    )
    .await;
    let rows = total_rows(db).await;

    let status = service.status_of("ev").await.expect("status");
    let found = kinds(&status.anomalies);
    let expected: BTreeMap<AnomalyKind, usize> = [
        (AnomalyKind::LogWithoutTable, 1),
        (AnomalyKind::DetachedByHand, 1),
        (AnomalyKind::AttachedByHand, 1),
        (AnomalyKind::Unlogged, 1),
        (AnomalyKind::RenamedByHand, 1),
        (AnomalyKind::BoundMismatch, 1),
        (AnomalyKind::TablespaceMismatch, 2),
        (AnomalyKind::Gap, 2),
        (AnomalyKind::Misaligned, 2),
        (AnomalyKind::RowsInDefault, 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, expected, "{:#?}", status.anomalies);
    let log5 = ev
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .find(|l| l.partition_name == d5)
        .expect("logged");
    assert!(status.anomalies.contains(&Anomaly::RenamedByHand {
        partition: "ev_renamed".to_owned(),
        logged_as: d5.clone(),
        log_id: log5.id,
    }));
    let renamed = status.partition("ev_renamed").expect("listed once");
    assert_eq!(renamed.log.as_ref().map(|l| l.id), Some(log5.id));
    assert!(status.partition(&d5).is_none());
    assert!(status.anomalies.contains(&Anomaly::Gap {
        from: Edge::Time(utc(2024, 3, 2, 0, 0)),
        to: Edge::Time(utc(2024, 3, 4, 0, 0)),
    }));
    assert!(
        status.anomalies.contains(&Anomaly::TablespaceMismatch {
            partition: d8.clone(),
            log_id: ev
                .partitions()
                .await
                .expect("partitions")
                .iter()
                .find(|l| l.partition_name == d8)
                .expect("logged")
                .id,
            relation: index8.clone(),
            index: true,
            expected: TS_A.to_owned(),
            actual: TS_B.to_owned(),
        })
    );
    assert_eq!(status.default_has_rows, Some(true));
    // The whole-service view agrees, and report mode changes nothing.
    let all = service.status().await.expect("status");
    assert_eq!(all.anomalies().count(), status.anomalies.len());
    let report = service
        .reconcile(ReconcileMode::Report)
        .await
        .expect("report");
    assert!(report.repairs.is_empty());
    assert_eq!(report.after.anomalies().count(), status.anomalies.len());

    // Default policy: the log follows the hand-made changes; tablespaces and DEFAULT follow the configuration.
    let done = service
        .reconcile(ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    let after = kinds(&done.after.tables[0].anomalies);
    // What remains is what only a person can decide: the misaligned partitions and the gaps.
    let remaining: BTreeMap<AnomalyKind, usize> = [
        (AnomalyKind::Unlogged, 1), // ev_extra: misaligned, reported, not logged
        (AnomalyKind::BoundMismatch, 1), // 03-06's catalog bound is misaligned: not recorded
        (AnomalyKind::Gap, 3),      // plus the hole before the partition made for 2024-04-15
        (AnomalyKind::Misaligned, 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(after, remaining, "{:#?}", done.after.tables[0].anomalies);
    assert_eq!(total_rows(db).await, rows, "no row lost");
    assert_eq!(catalog::count(db, "ev_default").await, 0, "DEFAULT emptied");
    assert_eq!(
        catalog::tablespace(db, "public", &d7).await.as_deref(),
        Some(TS_A)
    );
    assert!(
        catalog::index_tablespaces(db, "public", &d8)
            .await
            .iter()
            .all(|(_, ts)| ts.as_deref() == Some(TS_A))
    );
    let logs = ev.all_partitions().await.expect("logs");
    assert!(
        logs.iter()
            .all(|l| l.partition_name != d2 && l.partition_name != d5)
    );
    // The renamed partition keeps its log row (same id, created by the crate), under its new name.
    let renamed = logs
        .iter()
        .find(|l| l.partition_name == "ev_renamed")
        .expect("recorded");
    assert_eq!(renamed.id, log5.id);
    assert!(renamed.is_attached && renamed.created_by_crate);
    assert_eq!(renamed.start, Some(utc(2024, 3, 5, 0, 0)));
    assert!(
        !logs
            .iter()
            .find(|l| l.partition_name == d3)
            .expect("d3")
            .is_attached
    );
    assert!(
        logs.iter()
            .find(|l| l.partition_name == d4)
            .expect("d4")
            .is_attached
    );
    assert!(
        done.repairs
            .iter()
            .any(|r| r.anomaly.kind() == AnomalyKind::Misaligned
                && matches!(r.outcome, RepairOutcome::Skipped(_)))
    );

    // Maintenance still works on the repaired table.
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{report:?}");
    t.finish().await;
}

#[tokio::test]
async fn repairs_can_make_the_catalog_follow_the_log() {
    let t = setup(test_name!("repairs_can_make_the_catalog_follow_the_log")).await;
    let db = &t.conn;
    let (service, _clock, ev) = daily_table(db).await;
    let d2 = name_at(&ev, utc(2024, 3, 2, 0, 0)).await;
    let d3 = name_at(&ev, utc(2024, 3, 3, 0, 0)).await;
    let d4 = name_at(&ev, utc(2024, 3, 4, 0, 0)).await;
    let d6 = name_at(&ev, utc(2024, 3, 6, 0, 0)).await;
    let d7 = name_at(&ev, utc(2024, 3, 7, 0, 0)).await;
    let log4: Vec<_> = ev
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .filter(|l| l.partition_name == d4)
        .collect();
    ev.detach_partitions(Some(&log4)).await.expect("detach");
    // 03-02's single row is moved out first: the repair recreates the table empty.
    exec(db, &format!(r#"DELETE FROM "{d2}"; DROP TABLE "{d2}""#)).await;
    exec(db, &format!(r#"ALTER TABLE ev DETACH PARTITION "{d3}""#)).await;
    exec(
        db,
        &format!(r#"ALTER TABLE ev ATTACH PARTITION "{d4}" FOR VALUES FROM ('2024-03-04 00:00+00') TO ('2024-03-05 00:00+00')"#),
    )
    .await;
    exec(
        db,
        "CREATE TABLE ev_extra PARTITION OF ev FOR VALUES FROM ('2024-03-12 00:00+00') TO ('2024-03-12 06:00+00')",
    )
    .await;
    exec(
        db,
        &format!(r#"ALTER TABLE ev DETACH PARTITION "{d6}"; ALTER TABLE ev ATTACH PARTITION "{d6}" FOR VALUES FROM ('2024-03-06 00:00+00') TO ('2024-03-06 12:00+00')"#),
    )
    .await;
    exec(db, "DROP TABLE ev_default").await;
    // d7 and its indexes moved by hand.
    exec(db, &format!(r#"ALTER TABLE "{d7}" SET TABLESPACE {TS_B}"#)).await;
    for (index, _) in catalog::index_tablespaces(db, "public", &d7).await {
        exec(
            db,
            &format!(r#"ALTER INDEX "{index}" SET TABLESPACE {TS_B}"#),
        )
        .await;
    }
    // d5 renamed by hand, with its row.
    let d5 = name_at(&ev, utc(2024, 3, 5, 0, 0)).await;
    exec(db, &format!(r#"ALTER TABLE "{d5}" RENAME TO ev_renamed"#)).await;
    // Every row: those reachable through ev, and those of the table detached by hand.
    let rows = total_rows(db).await + catalog::count(db, &format!(r#""{d3}""#)).await;

    let policy = [
        AnomalyKind::LogWithoutTable,
        AnomalyKind::DetachedByHand,
        AnomalyKind::AttachedByHand,
        AnomalyKind::Unlogged,
        AnomalyKind::RenamedByHand,
        AnomalyKind::BoundMismatch,
        AnomalyKind::Gap,
    ]
    .into_iter()
    .fold(RepairPolicy::default(), |p, k| {
        p.set(k, Direction::CatalogFollowsLog)
    })
    .set(
        AnomalyKind::TablespaceMismatch,
        Direction::LogFollowsCatalog,
    );
    let done = service
        .reconcile_table("ev", ReconcileMode::Repair(policy))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    // The log says 03-04 is detached: detaching it again leaves the hole the log describes, and only that.
    assert_eq!(
        done.after.tables[0].anomalies,
        [Anomaly::Gap {
            from: Edge::Time(utc(2024, 3, 4, 0, 0)),
            to: Edge::Time(utc(2024, 3, 5, 0, 0)),
        }]
    );
    // 03-04 (attached by hand) was detached again; d3 attached back; d2 recreated; ev_extra detached; d6
    // attached with its logged day; d7 recorded in TS_B. The detached tables keep their rows.
    let attached: Vec<String> = catalog::partitions(db, "public", "ev")
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(attached.contains(&d2) && attached.contains(&d3) && attached.contains(&d6));
    // The renamed partition got its name back in the same pass, its row never leaving the parent.
    assert!(attached.contains(&d5) && !catalog::exists(db, "public", "ev_renamed").await);
    assert_eq!(catalog::count(db, &format!(r#""{d5}""#)).await, 1);
    assert!(!attached.contains(&d4) && !attached.contains(&"ev_extra".to_owned()));
    assert!(
        catalog::exists(db, "public", &d4).await && catalog::exists(db, "public", "ev_extra").await
    );
    let detached_rows = catalog::count(db, &format!(r#""{d4}""#)).await;
    assert_eq!(total_rows(db).await + detached_rows, rows, "no row lost");
    assert!(
        strings(
            db,
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'ev_default'",
            vec![]
        )
        .await
            == ["DEFAULT"],
        "the DEFAULT partition was recreated"
    );
    let log7 = ev
        .all_partitions()
        .await
        .expect("logs")
        .into_iter()
        .find(|l| l.partition_name == d7)
        .expect("d7");
    assert_eq!(log7.tablespace.as_deref(), Some(TS_B));
    t.finish().await;
}

#[tokio::test]
async fn a_pending_detach_and_a_short_horizon_are_reported_and_completed() {
    let t = setup(test_name!(
        "a_pending_detach_and_a_short_horizon_are_reported_and_completed"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "ev", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 3, 1, 0, 0));
    let ev = service
        .time_range_table("ev")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    service.run_maintenance().await.expect("maintenance");
    let d1 = name_at(&ev, utc(2024, 3, 1, 0, 0)).await;
    exec(
        db,
        "INSERT INTO ev (created_at) VALUES ('2024-03-01 05:00+00')",
    )
    .await;

    leave_detach_pending(&t, "ev", &d1).await;

    // Three days later with no maintenance: the horizon is short too.
    clock.set(utc(2024, 3, 4, 12, 0));
    let status = service.status_of("ev").await.expect("status");
    let found = kinds(&status.anomalies);
    assert_eq!(
        found.get(&AnomalyKind::PendingDetach),
        Some(&1),
        "{:#?}",
        status.anomalies
    );
    assert_eq!(
        found.get(&AnomalyKind::HorizonShort),
        Some(&1),
        "{:#?}",
        status.anomalies
    );
    assert!(status.anomalies.contains(&Anomaly::HorizonShort {
        horizon: Some(Edge::Time(utc(2024, 3, 3, 0, 0))),
        wanted: Edge::Time(utc(2024, 3, 6, 0, 0)),
    }));

    let done = service
        .reconcile(ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    // The detached partition is recorded as such (the log now follows); nothing else remains.
    let left = kinds(&done.after.tables[0].anomalies);
    assert!(left.is_empty(), "{:#?}", done.after.tables[0].anomalies);
    assert!(!catalog::detach_pending(db, "public", &d1).await);
    assert_eq!(catalog::count(db, &format!(r#""{d1}""#)).await, 1);
    let log1 = ev
        .all_partitions()
        .await
        .expect("logs")
        .into_iter()
        .find(|l| l.partition_name == d1)
        .expect("d1");
    assert!(!log1.is_attached && !log1.detach_pending);
    t.finish().await;
}

#[tokio::test]
async fn adopt_logs_partitions_made_by_hand_and_reports_misfits() {
    let t = setup(test_name!(
        "adopt_logs_partitions_made_by_hand_and_reports_misfits"
    ))
    .await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE hand (id bigint NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at); \
         CREATE TABLE hand_2024_01 PARTITION OF hand FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2024-02-01 00:00+00'); \
         CREATE TABLE hand_2024_02 PARTITION OF hand FOR VALUES FROM ('2024-02-01 00:00+00') TO ('2024-03-01 00:00+00'); \
         CREATE TABLE hand_odd PARTITION OF hand FOR VALUES FROM ('2024-03-01 00:00+00') TO ('2024-03-15 00:00+00'); \
         CREATE TABLE hand_rest PARTITION OF hand DEFAULT; \
         INSERT INTO hand VALUES (1, '2024-01-05'), (2, '2024-02-05'), (3, '2024-03-05')",
    )
    .await;
    let (service, clock) = service(db, utc(2024, 2, 10, 0, 0));
    let (hand, adoption) = service
        .time_range_table("hand")
        .period(Period::Month)
        .adopt()
        .await
        .expect("adopt");
    let mut adopted: Vec<String> = adoption
        .adopted
        .iter()
        .map(|l| l.partition_name.clone())
        .collect();
    adopted.sort();
    assert_eq!(adopted, ["hand_2024_01", "hand_2024_02", "hand_rest"]);
    assert_eq!(adoption.misfits.len(), 1);
    assert_eq!(adoption.misfits[0].partition(), Some("hand_odd"));
    assert!(adoption.adopted.iter().all(|l| !l.created_by_crate));
    // Nothing in the catalog changed.
    assert_eq!(catalog::partitions(db, "public", "hand").await.len(), 4);
    // Status shows the misfit (unlogged, misaligned), and maintenance goes on after the newest adopted one
    // only where nothing overlaps: the odd partition blocks March, which is reported, not forced.
    let status = service.status_of("hand").await.expect("status");
    let found = kinds(&status.anomalies);
    assert_eq!(found.get(&AnomalyKind::Unlogged), Some(&1));
    assert_eq!(found.get(&AnomalyKind::Misaligned), Some(&1));
    // Adopting again finds nothing new.
    let (_, again) = service
        .time_range_table("hand")
        .period(Period::Month)
        .adopt()
        .await
        .expect("adopt again");
    assert!(again.adopted.is_empty() && again.misfits.len() == 1);
    // The plan leaves out March, which hand_odd blocks, and says so: no step is planned to fail.
    let plan = service.plan().await.expect("plan");
    assert!(
        plan.steps
            .iter()
            .all(|s| !matches!(s.action, StepAction::Create(_))),
        "{:#?}",
        plan.steps
    );
    assert_eq!(plan.blocked.len(), 1, "{:#?}", plan.blocked);
    assert_eq!(plan.blocked[0].blocked_by, "hand_odd");
    assert_eq!(plan.blocked[0].partition, "hand_2024-03-01_2024-04-01");
    assert!(plan.blocked[0].to_string().contains("blocked by hand_odd"));
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.errors().next().is_none(), "{report:?}");
    assert!(!report.is_ok(), "a blocked create is not a healthy run");
    assert_eq!(report.blocked.len(), 1);
    // Once the odd partition is dealt with by hand, maintenance continues from February.
    exec(db, "ALTER TABLE hand DETACH PARTITION hand_odd").await;
    clock.set(utc(2024, 2, 10, 0, 0));
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.created(), 1, "March");
    assert_eq!(hand.partitions().await.expect("partitions").len(), 3);
    t.finish().await;
}

#[tokio::test]
async fn adopt_takes_over_a_table_made_by_pg_partman() {
    let t = setup(test_name!("adopt_takes_over_a_table_made_by_pg_partman")).await;
    let db = &t.conn;
    let available = strings(
        db,
        "SELECT name::text FROM pg_available_extensions WHERE name = 'pg_partman'",
        vec![],
    )
    .await;
    // Only scripts/postgres-version, whose servers ship no pg_partman, lets this test stop here.
    if available.is_empty() && std::env::var_os("SOPP_TEST_WITHOUT_PARTMAN").is_some() {
        eprintln!(
            "pg_partman is not available on this server (SOPP_TEST_WITHOUT_PARTMAN): not adopting"
        );
        t.finish().await;
        return;
    }
    assert_eq!(
        available,
        ["pg_partman"],
        "pg_partman is not installed on this server: install Debian's postgresql-15-partman (scripts/with-postgres does when it runs as root)"
    );
    exec(
        db,
        "CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman; \
         CREATE TABLE pm (id bigint NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)",
    )
    .await;
    exec(
        db,
        &format!(
            "SELECT partman.create_parent('public.pm', 'created_at', 'native', 'daily', p_premake := 3, p_start_partition := '{}', p_jobmon := false)",
            (Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d")
        ),
    )
    .await;
    let made = catalog::partitions(db, "public", "pm").await;
    assert!(made.len() >= 4, "{made:?}");
    exec(
        db,
        "INSERT INTO pm VALUES (1, now() - interval '1 day'), (2, now())",
    )
    .await;

    let (service, _clock) = service(db, Utc::now());
    let (pm, adoption) = service
        .time_range_table("pm")
        .period(Period::Day)
        .adopt()
        .await
        .expect("adopt");
    assert!(adoption.misfits.is_empty(), "{:?}", adoption.misfits);
    assert_eq!(
        adoption.adopted.len(),
        made.len(),
        "every pg_partman partition, DEFAULT included"
    );
    assert!(
        adoption
            .adopted
            .iter()
            .any(|l| l.kind == PartitionKind::Default)
    );
    let status = service.status_of("pm").await.expect("status");
    assert!(status.is_healthy(), "{:#?}", status.anomalies);
    // Maintenance continues after pg_partman's newest partition with our names.
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{report:?}");
    let ranges = pm.partitions().await.expect("partitions");
    for pair in ranges.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "contiguous");
    }
    assert_eq!(rows_of(db, "pm").await, 2, "no row lost");
    t.finish().await;
}

/// Every kind of table, made by the service, is healthy: list values, hash moduli, integer ranges and
/// sub-partitions read back from the catalog agree with the log.
#[tokio::test]
async fn status_is_healthy_for_every_kind_of_table() {
    let t = setup(test_name!("status_is_healthy_for_every_kind_of_table")).await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE tagged (label text, n int) PARTITION BY LIST (label); \
         CREATE TABLE counted (n int) PARTITION BY LIST (n); \
         CREATE TABLE spread (id bigint NOT NULL) PARTITION BY HASH (id); \
         CREATE TABLE ordered (id bigint NOT NULL) PARTITION BY RANGE (id); \
         CREATE TABLE split (id bigint NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at); \
         CREATE INDEX ON split (id)",
    )
    .await;
    let (service, _clock) = service(db, utc(2024, 3, 10, 12, 0));
    let tagged = service
        .list_table("tagged")
        .default_partition(true)
        .register()
        .await
        .expect("list");
    tagged
        .create_partition("tagged_a", ["a", "it's"], Some(TS_A))
        .await
        .expect("a");
    tagged
        .create_partition("tagged_null", [None::<&str>], None)
        .await
        .expect("null");
    let counted = service
        .list_table("counted")
        .register()
        .await
        .expect("list");
    counted
        .create_partition("counted_small", [1, 2, -3], None)
        .await
        .expect("ints");
    service
        .hash_table("spread")
        .modulus(4)
        .register()
        .await
        .expect("hash");
    service
        .id_range_table("ordered")
        .step(100)
        .premake(2)
        .register()
        .await
        .expect("ids");
    service
        .time_range_table("split")
        .period(Period::Month)
        .attach_tablespace(TS_B)
        .sub_partition_by_hash("id", 2)
        .register()
        .await
        .expect("sub-partitioned");
    service.run_maintenance().await.expect("maintenance");
    exec(db, "INSERT INTO tagged VALUES ('a', 1), ('zzz', 2)").await;

    let status = service.status().await.expect("status");
    let unhealthy: Vec<(&str, &Anomaly)> = status
        .anomalies()
        .filter(|(_, a)| a.kind() != AnomalyKind::RowsInDefault)
        .collect();
    assert!(unhealthy.is_empty(), "{unhealthy:#?}");
    // 'zzz' went to DEFAULT: reported, and a list table's DEFAULT rows are left for a person to place.
    assert_eq!(status.anomalies().count(), 1);
    let tagged_status = status
        .tables
        .iter()
        .find(|t| t.table == "public.tagged")
        .expect("tagged");
    let a = tagged_status.partition("tagged_a").expect("listed");
    assert_eq!(
        a.catalog.as_ref().and_then(|c| c.bound.clone()),
        Some(CatalogBound::List(vec![
            Some("a".to_owned()),
            Some("it's".to_owned())
        ]))
    );
    let done = service
        .reconcile(ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    assert!(
        done.repairs
            .iter()
            .all(|r| matches!(r.outcome, RepairOutcome::Skipped(_))),
        "{:#?}",
        done.repairs
    );
    t.finish().await;
}

/// Gaps are filled when asked, rows in an integer-range DEFAULT move into partitions made for them, and a
/// table that is gone is reported.
#[tokio::test]
async fn gaps_are_filled_rows_leave_default_and_a_missing_table_is_reported() {
    let t = setup(test_name!(
        "gaps_are_filled_rows_leave_default_and_a_missing_table_is_reported"
    ))
    .await;
    let db = &t.conn;
    let (service, _clock, ev) = daily_table(db).await;
    let d5 = name_at(&ev, utc(2024, 3, 5, 0, 0)).await;
    exec(db, &format!(r#"DELETE FROM "{d5}"; DROP TABLE "{d5}""#)).await;
    // The default policy forgets the log row; the hole stays, reported.
    let done = service
        .reconcile_table("ev", ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    let gap = Anomaly::Gap {
        from: Edge::Time(utc(2024, 3, 5, 0, 0)),
        to: Edge::Time(utc(2024, 3, 6, 0, 0)),
    };
    assert_eq!(done.after.tables[0].anomalies, std::slice::from_ref(&gap));
    // Filled on request, with the period's partition (and its usual name).
    let done = service
        .reconcile_table(
            "ev",
            ReconcileMode::Repair(
                RepairPolicy::default().set(AnomalyKind::Gap, Direction::CatalogFollowsLog),
            ),
        )
        .await
        .expect("fill");
    assert!(done.is_healthy(), "{:#?}", done.repairs);
    assert!(matches!(
        &done.repairs[0].outcome,
        RepairOutcome::Repaired(what) if what.contains("created 1 partition")
    ));
    assert!(catalog::exists(db, "public", &d5).await);

    // An integer-range table's DEFAULT rows move into the partitions they belong in.
    exec(
        db,
        "CREATE TABLE ids (id bigint NOT NULL) PARTITION BY RANGE (id)",
    )
    .await;
    service
        .id_range_table("ids")
        .step(10)
        .premake(1)
        .default_partition(true)
        .register()
        .await
        .expect("register");
    exec(db, "INSERT INTO ids VALUES (1), (5), (55), (57), (123)").await;
    let status = service.status_of("ids").await.expect("status");
    assert!(
        status
            .anomalies
            .iter()
            .any(|a| a.kind() == AnomalyKind::RowsInDefault)
    );
    let done = service
        .reconcile_table("ids", ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    let left = kinds(&done.after.tables[0].anomalies);
    assert_eq!(left.get(&AnomalyKind::RowsInDefault), None, "{left:?}");
    assert_eq!(rows_of(db, "ids").await, 5, "no row lost");
    let default = service
        .table_of("ids")
        .await
        .expect("handle")
        .default_partition()
        .await
        .expect("default")
        .expect("logged");
    assert_eq!(
        catalog::count(db, &format!(r#""{}""#, default.partition_name)).await,
        0
    );

    // An empty partition attached by hand at another (aligned) range: the log records the catalog's bound.
    let ids = service.id_range_of("ids").await.expect("ids");
    let ten = ids
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .find(|l| l.int_start == Some(10))
        .expect("[10, 20)");
    exec(
        db,
        &format!(
            r#"ALTER TABLE ids DETACH PARTITION "{0}"; ALTER TABLE ids ATTACH PARTITION "{0}" FOR VALUES FROM (300) TO (310)"#,
            ten.partition_name
        ),
    )
    .await;
    let done = service
        .reconcile_table("ids", ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    let repaired = done
        .repairs
        .iter()
        .find(|r| r.anomaly.kind() == AnomalyKind::BoundMismatch)
        .expect("found");
    assert!(
        matches!(&repaired.outcome, RepairOutcome::Repaired(_)),
        "{repaired:?}"
    );
    let moved = ids
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .find(|l| l.partition_name == ten.partition_name)
        .expect("logged");
    assert_eq!((moved.int_start, moved.int_end), (Some(300), Some(310)));
    assert_eq!(rows_of(db, "ids").await, 5, "no row lost");

    // The managed table itself dropped: reported, nothing else, and not repaired.
    exec(db, "DROP TABLE ev").await;
    let status = service.status_of("ev").await.expect("status");
    assert_eq!(status.anomalies, [Anomaly::TableMissing]);
    assert!(!status.exists);
    t.finish().await;
}

/// List and hash partitions made by hand are adopted with their values, modulus and remainder, and the
/// adopted list partitions work like the service's own (rows move out of DEFAULT when one is attached back).
#[tokio::test]
async fn adopt_logs_list_and_hash_partitions() {
    let t = setup(test_name!("adopt_logs_list_and_hash_partitions")).await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE region (code int, name text) PARTITION BY LIST (code); \
         CREATE TABLE region_low PARTITION OF region FOR VALUES IN (1, 2, -3); \
         CREATE TABLE region_other PARTITION OF region DEFAULT; \
         CREATE TABLE member (id bigint NOT NULL) PARTITION BY HASH (id); \
         CREATE TABLE member_0 PARTITION OF member FOR VALUES WITH (MODULUS 2, REMAINDER 0); \
         CREATE TABLE member_1 PARTITION OF member FOR VALUES WITH (MODULUS 2, REMAINDER 1); \
         INSERT INTO region VALUES (1, 'a'), (-3, 'b'), (9, 'c'); INSERT INTO member SELECT generate_series(1, 10)",
    )
    .await;
    let (service, _clock) = service(db, utc(2024, 3, 1, 0, 0));
    let (region, adoption) = service.list_table("region").adopt().await.expect("list");
    assert_eq!(adoption.adopted.len(), 2);
    assert!(adoption.misfits.is_empty());
    let low = adoption
        .adopted
        .iter()
        .find(|l| l.partition_name == "region_low")
        .expect("low");
    assert_eq!(low.list_values, Some(serde_json::json!([1, 2, -3])));
    let (_, adoption) = service.hash_table("member").adopt().await.expect("hash");
    let mut bounds: Vec<(Option<i32>, Option<i32>)> = adoption
        .adopted
        .iter()
        .map(|l| (l.hash_modulus, l.hash_remainder))
        .collect();
    bounds.sort();
    assert_eq!(bounds, [(Some(2), Some(0)), (Some(2), Some(1))]);
    let status = service.status().await.expect("status");
    // 9 sits in DEFAULT: the only anomaly.
    let found: Vec<AnomalyKind> = status.anomalies().map(|(_, a)| a.kind()).collect();
    assert_eq!(found, [AnomalyKind::RowsInDefault]);
    // The adopted list partition detaches and attaches back through the service, with its values.
    let logs = region.partitions().await.expect("partitions");
    let low: Vec<_> = logs
        .into_iter()
        .filter(|l| l.partition_name == "region_low")
        .collect();
    region.detach(&low).await.expect("detach");
    assert_eq!(rows_of(db, "region").await, 1);
    region.attach(&low, None).await.expect("attach");
    assert_eq!(rows_of(db, "region").await, 3);
    t.finish().await;
}

/// A sub-partitioned partition dropped by hand is recreated with its sub-partitions, or forgotten with them.
#[tokio::test]
async fn a_dropped_sub_partitioned_partition_is_recreated_or_forgotten_whole() {
    let t = setup(test_name!(
        "a_dropped_sub_partitioned_partition_is_recreated_or_forgotten_whole"
    ))
    .await;
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE split (id bigint NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)",
    )
    .await;
    let (service, _clock) = service(db, utc(2024, 3, 10, 12, 0));
    let split = service
        .time_range_table("split")
        .period(Period::Day)
        .sub_partition_by_hash("id", 2)
        .register()
        .await
        .expect("register");
    service.run_maintenance().await.expect("maintenance");
    let today = split
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .find(|l| l.start == Some(utc(2024, 3, 10, 0, 0)))
        .expect("today");
    exec(db, &format!(r#"DROP TABLE "{}""#, today.partition_name)).await;
    let status = service.status_of("split").await.expect("status");
    assert_eq!(
        kinds(&status.anomalies).get(&AnomalyKind::LogWithoutTable),
        Some(&3),
        "the partition and its two sub-partitions: {:#?}",
        status.anomalies
    );
    let recreate =
        RepairPolicy::default().set(AnomalyKind::LogWithoutTable, Direction::CatalogFollowsLog);
    let done = service
        .reconcile_table("split", ReconcileMode::Repair(recreate))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    assert!(done.is_healthy(), "{:#?}", done.after.tables[0].anomalies);
    assert_eq!(
        catalog::partitions(db, "public", &today.partition_name)
            .await
            .len(),
        2
    );
    // Forgotten whole: no sub-partition row is left behind.
    exec(db, &format!(r#"DROP TABLE "{}""#, today.partition_name)).await;
    let done = service
        .reconcile_table("split", ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    let left: Vec<AnomalyKind> = done.after.tables[0]
        .anomalies
        .iter()
        .map(Anomaly::kind)
        .collect();
    assert_eq!(
        left,
        [AnomalyKind::Gap],
        "{:#?}",
        done.after.tables[0].anomalies
    );
    let logged = split.all_partitions().await.expect("logs");
    assert!(
        logged
            .iter()
            .all(|l| l.partition_name != today.partition_name
                && l.parent_name.as_deref() != Some(today.partition_name.as_str()))
    );
    t.finish().await;
}

/// Where each partition was created is recorded, so a move by hand is drift even when neither the log nor the
/// configuration names a tablespace: partitions made by maintenance (one batch), by the handle, DEFAULT and
/// sub-partitions alike.
#[tokio::test]
async fn a_move_by_hand_is_drift_without_any_tablespace_configured() {
    let t = setup(test_name!(
        "a_move_by_hand_is_drift_without_any_tablespace_configured"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "ev", "timestamptz").await;
    exec(db, "CREATE TABLE metric (tenant int NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)").await;
    let (service, clock) = service(db, utc(2024, 3, 1, 0, 0));
    let ev = service
        .time_range_table("ev")
        .period(Period::Day)
        .default_partition(true)
        .register()
        .await
        .expect("register");
    service
        .time_range_table("metric")
        .sub_partition_by_hash("tenant", 2)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 3, 5, 0, 0));
    assert!(
        service
            .run_maintenance()
            .await
            .expect("maintenance")
            .is_ok()
    );
    let logs = ev.all_partitions().await.expect("logs");
    assert!(logs.len() > 3);
    assert!(
        logs.iter()
            .all(|l| l.created_tablespace.as_deref() == Some("pg_default")),
        "{logs:#?}"
    );
    assert!(service.status().await.expect("status").is_healthy());

    let d3 = name_at(&ev, utc(2024, 3, 3, 0, 0)).await;
    let leaf = strings(
        db,
        "SELECT partition_name FROM sopp_partition_log WHERE parent_name IS NOT NULL ORDER BY 1 LIMIT 1",
        vec![],
    )
    .await
    .remove(0);
    for table in [d3.as_str(), "ev_default", leaf.as_str()] {
        exec(
            db,
            &format!(r#"ALTER TABLE "{table}" SET TABLESPACE {TS_B}"#),
        )
        .await;
    }
    let status = service.status().await.expect("status");
    let moved: BTreeMap<&str, (&str, &str)> = status
        .anomalies()
        .filter_map(|(_, a)| match a {
            Anomaly::TablespaceMismatch {
                relation,
                index: false,
                expected,
                actual,
                ..
            } => Some((relation.as_str(), (expected.as_str(), actual.as_str()))),
            _ => None,
        })
        .collect();
    let expected: BTreeMap<&str, (&str, &str)> = [d3.as_str(), "ev_default", leaf.as_str()]
        .into_iter()
        .map(|t| (t, ("pg_default", TS_B)))
        .collect();
    assert_eq!(moved, expected, "{:#?}", status.tables);

    // The default repair puts them back where they were created.
    let done = service
        .reconcile(ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    assert!(done.after.is_healthy(), "{:#?}", done.after.tables);
    assert_eq!(catalog::tablespace(db, "public", &d3).await, None);
    t.finish().await;
}

/// Adopting (or registering) a table as another kind than it is registered as is a typed error, from the
/// library and from the command line, and changes nothing.
#[tokio::test]
async fn adopting_a_table_registered_as_another_kind_is_refused() {
    let t = setup(test_name!(
        "adopting_a_table_registered_as_another_kind_is_refused"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "ev", "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 3, 1, 0, 0));
    service
        .time_range_table("ev")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    let err = service.list_table("ev").adopt().await.unwrap_err();
    assert!(
        matches!(&err, Error::RegisteredAsAnotherKind { asked: "list", registered, .. } if registered == "range by day (UTC)"),
        "{err}"
    );
    let err = service
        .id_range_table("ev")
        .step(10)
        .register()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "registered-as-another-kind");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(["adopt", "ev", "--hash"])
        .env("DATABASE_URL", &t.url)
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is registered as range by day (UTC), not as a hash table"),
        "{stderr}"
    );
    // The same kind again is still fine (registration is idempotent).
    service
        .time_range_table("ev")
        .period(Period::Day)
        .adopt()
        .await
        .expect("adopt as what it is");
    assert_eq!(service.configs().await.expect("configs").len(), 1);
    t.finish().await;
}

/// Over many tables, status is read by several readers at once, each with its share of the tables in a
/// snapshot of its own: the result is the one a single reader gives, table for table, anomalies included.
#[tokio::test]
async fn status_read_by_several_readers_is_what_one_reader_reads() {
    let t = setup(test_name!(
        "status_read_by_several_readers_is_what_one_reader_reads"
    ))
    .await;
    let db = &t.conn;
    let tables = 120;
    let ddl: String = (0..tables)
        .map(|i| {
            format!(
                "CREATE TABLE r{i:03} (id bigint NOT NULL, created_at timestamptz NOT NULL) \
                 PARTITION BY RANGE (created_at);"
            )
        })
        .collect();
    exec(db, &ddl).await;
    let (service, _clock) = service(db, utc(2024, 3, 10, 12, 0));
    for i in 0..tables {
        service
            .time_range_table(format!("r{i:03}"))
            .period(Period::Day)
            .register()
            .await
            .expect("register");
    }
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{report:?}");
    // Anomalies in both readers' shares: a partition detached by hand (read from the log's names), one
    // dropped, one made by hand.
    exec(
        db,
        r#"ALTER TABLE r000 DETACH PARTITION "r000_2024-03-10_2024-03-11";
           DROP TABLE "r001_2024-03-11_2024-03-12";
           CREATE TABLE r002_extra PARTITION OF r002 FOR VALUES FROM ('2024-03-20') TO ('2024-03-21');
           ALTER TABLE r117 DETACH PARTITION "r117_2024-03-11_2024-03-12""#,
    )
    .await;
    let one = service
        .clone()
        .with_maintenance_options(MaintenanceOptions {
            parallel_tables: 1,
            ..MaintenanceOptions::default()
        });
    assert_eq!(one.maintenance_options().parallel_tables, 1);
    let by_one = one.status().await.expect("status by one reader");
    let by_several = service.status().await.expect("status by several readers");
    assert_eq!(by_several.tables.len(), tables);
    let names: Vec<String> = by_several.tables.iter().map(|t| t.table.clone()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        names, sorted,
        "the tables in the order of the configurations"
    );
    let troubled: Vec<&str> = by_several
        .tables
        .iter()
        .filter(|t| !t.anomalies.is_empty())
        .map(|t| t.table.as_str())
        .collect();
    assert_eq!(
        troubled,
        ["public.r000", "public.r001", "public.r002", "public.r117"]
    );
    assert_eq!(format!("{by_several:?}"), format!("{by_one:?}"));
}
