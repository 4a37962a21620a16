//! The time-range service against PostgreSQL, at fixed instants: every rule of the original design.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{ColumnDef, PostgresQueryBuilder, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement};
use sea_orm_migration::MigratorTrait;
use sea_orm_pg_partitioning::ConfigProblem;
use sea_orm_pg_partitioning::entity::partition_config;
use sea_orm_pg_partitioning::prelude::*;

use crate::support::{TS_A, TS_B, TestDb, catalog, exec, strings};
use crate::test_name;

pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("instant")
}

/// A test database with the crate's tables.
pub async fn setup(path: &str) -> TestDb {
    let t = TestDb::new(path).await;
    sea_orm_pg_partitioning_migration::Migrator::up(&t.conn, None)
        .await
        .expect("crate migrations");
    t
}

/// `CREATE TABLE name (id, created_at <ty>, payload) PARTITION BY RANGE (created_at)` plus an index.
pub async fn event_table(db: &DatabaseConnection, name: &str, ty: &str) {
    let mut created_at = ColumnDef::new("created_at");
    match ty {
        "timestamp" => created_at.timestamp(),
        _ => created_at.timestamp_with_time_zone(),
    };
    let sql = Table::create()
        .table(name.to_owned())
        .col(
            ColumnDef::new("id")
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(created_at.not_null())
        .col(ColumnDef::new("payload").text())
        .partitioned_by(PartitionKey::range(["created_at"]))
        .primary_key_policy(PrimaryKeyPolicy::IncludeKey)
        .build(PostgresQueryBuilder)
        .expect("builds");
    exec(db, &sql).await;
    exec(
        db,
        &format!(r#"CREATE INDEX "{name}_payload" ON "{name}" (payload)"#),
    )
    .await;
}

pub fn service(db: &DatabaseConnection, now: DateTime<Utc>) -> (PartitionService, ManualClock) {
    let clock = ManualClock::new(now);
    (
        PartitionService::new(db.clone()).with_clock(clock.clone()),
        clock,
    )
}

/// `(name, start, end, attached)` of every logged partition, by start.
pub async fn logged(table: &TimeRangeTable) -> Vec<(String, DateTime<Utc>, DateTime<Utc>, bool)> {
    table
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .map(|p| {
            (
                p.partition_name,
                p.start.expect("start"),
                p.end.expect("end"),
                p.is_attached,
            )
        })
        .collect()
}

/// The log agrees with the catalog, and the partitions are contiguous and non-empty.
pub async fn assert_consistent(db: &DatabaseConnection, table: &TimeRangeTable) {
    let logs = table.partitions().await.expect("partitions");
    for pair in logs.windows(2) {
        assert_eq!(
            pair[0].end, pair[1].start,
            "contiguous: {} then {}",
            pair[0].partition_name, pair[1].partition_name
        );
    }
    assert!(logs.iter().all(|l| l.start < l.end));
    let attached: Vec<String> = catalog::partitions(db, table.schema(), table.table())
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let mut expected: Vec<String> = table
        .all_partitions()
        .await
        .expect("all partitions")
        .into_iter()
        .filter(|l| l.is_attached && l.parent_name.is_none())
        .map(|l| l.partition_name)
        .collect();
    expected.sort();
    assert_eq!(
        attached, expected,
        "attached partitions in the catalog = attached in the log"
    );
    for log in &logs {
        assert!(
            catalog::exists(db, &log.schema_name, &log.partition_name).await,
            "{}",
            log.partition_name
        );
    }
}

/// Inserts a row at `at` and returns the partition PostgreSQL routed it to.
pub async fn route(db: &DatabaseConnection, table: &str, at: DateTime<Utc>) -> String {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(r#"INSERT INTO "{table}" (created_at) VALUES ($1) RETURNING tableoid::regclass::text"#),
            [at.into()],
        ))
        .await
        .expect("insert")
        .expect("row");
    row.try_get_by_index::<String>(0)
        .expect("partition")
        .trim_matches('"')
        .to_owned()
}

/// Rows at the start and one microsecond before the end of each attached partition land in it.
pub async fn assert_routing(db: &DatabaseConnection, table: &TimeRangeTable) {
    for log in table
        .partitions()
        .await
        .expect("partitions")
        .iter()
        .filter(|l| l.is_attached)
    {
        assert_eq!(
            route(db, table.table(), log.start.expect("start")).await,
            log.partition_name,
            "start of {}",
            log.partition_name
        );
        let last = log.end.expect("end") - Duration::microseconds(1);
        assert_eq!(
            route(db, table.table(), last).await,
            log.partition_name,
            "end of {}",
            log.partition_name
        );
    }
}

#[tokio::test]
async fn crate_migrations_go_up_down_and_up() {
    let t = setup(test_name!("crate_migrations_go_up_down_and_up")).await;
    let db = &t.conn;
    assert!(catalog::exists(db, "public", "sopp_partition_config").await);
    assert!(catalog::exists(db, "public", "sopp_partition_log").await);
    sea_orm_pg_partitioning_migration::Migrator::down(db, None)
        .await
        .expect("down");
    assert!(!catalog::exists(db, "public", "sopp_partition_config").await);
    assert!(!catalog::exists(db, "public", "sopp_partition_log").await);
    sea_orm_pg_partitioning_migration::Migrator::up(db, None)
        .await
        .expect("up again");
    // The entities read and write the migrated tables.
    assert!(
        partition_config::Entity::find()
            .all(db)
            .await
            .expect("select")
            .is_empty()
    );
    assert!(
        partition_log::Entity::find()
            .all(db)
            .await
            .expect("select")
            .is_empty()
    );
    t.finish().await;
}

#[tokio::test]
async fn registration_creates_the_first_partition_of_every_period() {
    let t = setup(test_name!(
        "registration_creates_the_first_partition_of_every_period"
    ))
    .await;
    let db = &t.conn;
    let now = utc(2024, 2, 29, 15, 30); // Thursday, leap day
    let (service, _clock) = service(db, now);
    let cases = [
        (
            Period::Hour,
            "h",
            utc(2024, 2, 29, 15, 0),
            utc(2024, 2, 29, 16, 0),
            "h_2024-02-29_15_2024-02-29_16",
        ),
        (
            Period::Day,
            "d",
            utc(2024, 2, 29, 0, 0),
            utc(2024, 3, 1, 0, 0),
            "d_2024-02-29_2024-03-01",
        ),
        (
            Period::Week,
            "w",
            utc(2024, 2, 26, 0, 0),
            utc(2024, 3, 4, 0, 0),
            "w_2024-02-26_2024-03-04",
        ),
        (
            Period::Month,
            "m",
            utc(2024, 2, 1, 0, 0),
            utc(2024, 3, 1, 0, 0),
            "m_2024-02-01_2024-03-01",
        ),
        (
            Period::Quarter,
            "q",
            utc(2024, 1, 1, 0, 0),
            utc(2024, 4, 1, 0, 0),
            "q_2024-01-01_2024-04-01",
        ),
        (
            Period::Year,
            "y",
            utc(2024, 1, 1, 0, 0),
            utc(2025, 1, 1, 0, 0),
            "y_2024-01-01_2025-01-01",
        ),
    ];
    for (period, name, start, end, partition) in cases {
        event_table(db, name, "timestamptz").await;
        let table = service
            .time_range_table(name)
            .period(period)
            .register()
            .await
            .expect("register");
        assert_eq!(
            logged(&table).await,
            [(partition.to_owned(), start, end, true)],
            "{period}"
        );
        let config = table.config().await.expect("config");
        assert_eq!(
            (
                config.key_column.as_str(),
                config.period,
                config.time_zone.as_str()
            ),
            ("created_at", Some(period), "UTC")
        );
        // Registering again is idempotent: same config, no new partition.
        let again = service
            .time_range_table(name)
            .period(Period::Year)
            .register()
            .await
            .expect("again");
        assert_eq!(again.config().await.expect("config"), config);
        assert_eq!(table.partitions().await.expect("partitions").len(), 1);
        assert_consistent(db, &table).await;
        assert_routing(db, &table).await;
    }
    assert_eq!(service.configs().await.expect("configs").len(), 6);
    t.finish().await;
}

#[tokio::test]
async fn registration_from_an_entity_reads_the_key_from_the_catalog() {
    let t = setup(test_name!(
        "registration_from_an_entity_reads_the_key_from_the_catalog"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 5, 5, 0, 0));
    let table = service
        .time_range(crate::entity::event::Entity)
        .key_column(crate::entity::event::Column::CreatedAt)
        .register()
        .await
        .expect("register");
    assert_eq!(
        table.config().await.expect("config").key_column,
        "created_at"
    );
    let same = service.time_range_of("event").await.expect("load");
    assert_eq!(
        same.config().await.expect("config").id,
        table.config().await.expect("config").id
    );
    assert!(matches!(
        service.time_range_of("missing").await,
        Err(Error::NotRegistered { .. })
    ));
    t.finish().await;
}

#[tokio::test]
async fn registration_errors_name_the_problem_and_change_nothing() {
    let t = setup(test_name!(
        "registration_errors_name_the_problem_and_change_nothing"
    ))
    .await;
    let db = &t.conn;
    let (service, _clock) = service(db, utc(2024, 5, 5, 0, 0));
    event_table(db, "event", "timestamptz").await;
    exec(db, "CREATE TABLE plain (created_at timestamptz)").await;
    exec(
        db,
        "CREATE TABLE by_list (k text, created_at timestamptz) PARTITION BY LIST (k)",
    )
    .await;
    exec(
        db,
        "CREATE TABLE by_day (created_at timestamp) PARTITION BY RANGE ((created_at::date))",
    )
    .await;
    exec(
        db,
        "CREATE TABLE by_two (a int, created_at timestamptz) PARTITION BY RANGE (a, created_at)",
    )
    .await;
    exec(
        db,
        "CREATE TABLE by_text (created_at text) PARTITION BY RANGE (created_at)",
    )
    .await;

    let err = service
        .time_range_table("missing")
        .register()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownTable { .. }), "{err}");
    let err = service
        .time_range_table("plain")
        .register()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotPartitioned { .. }), "{err}");
    for table in ["by_list", "by_day", "by_two"] {
        let err = service
            .time_range_table(table)
            .register()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::WrongPartitionKey { .. }),
            "{table}: {err}"
        );
    }
    let err = service
        .time_range_table("event")
        .key_column("payload")
        .register()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(r#"RANGE on column "payload""#),
        "{err}"
    );
    let err = service
        .time_range_table("by_text")
        .register()
        .await
        .unwrap_err();
    // A text key does not say how it encodes time (a date key does, see the encodings tests).
    assert!(
        matches!(err, Error::UnsupportedKeyType { ref data_type, .. } if data_type == "text"),
        "{err}"
    );
    let err = service
        .time_range_table("event")
        .attach_tablespace("nowhere")
        .register()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"tablespace "nowhere" does not exist: create it with CREATE TABLESPACE, or configure another one (None keeps partitions where they are)"#
    );
    let err = service
        .time_range_table("event")
        .time_zone_name("Mars/Olympus")
        .register()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTimeZone { .. }), "{err}");
    let err = service
        .time_range_table("event")
        .interval(0)
        .register()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ZeroInterval), "{err}");

    assert!(service.configs().await.expect("configs").is_empty());
    assert!(
        partition_log::Entity::find()
            .all(db)
            .await
            .expect("logs")
            .is_empty()
    );
    assert!(catalog::partitions(db, "public", "event").await.is_empty());
    t.finish().await;
}

#[tokio::test]
async fn create_partition_follows_max_days_and_catches_up_over_months() {
    let t = setup(test_name!(
        "create_partition_follows_max_days_and_catches_up_over_months"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 1, 15, 12, 0));
    let table = service
        .time_range_table("event")
        .register()
        .await
        .expect("register");
    let names = |logs: Vec<partition_log::Model>| {
        logs.into_iter()
            .map(|l| l.partition_name)
            .collect::<Vec<_>>()
    };

    // 15 January: the January partition ends in more than a day.
    assert!(table.create_partition(1).await.expect("create").is_empty());
    // 31 January 00:00 is exactly a day before its end: the next one is due.
    clock.set(utc(2024, 1, 31, 0, 0));
    assert_eq!(
        names(table.create_partition(1).await.expect("create")),
        ["event_2024-02-01_2024-03-01"]
    );
    assert!(
        table.create_partition(1).await.expect("create").is_empty(),
        "idempotent"
    );
    // max_days <= 0: exactly one more, whatever the date.
    assert_eq!(
        names(table.create_partition(0).await.expect("create")),
        ["event_2024-03-01_2024-04-01"]
    );
    assert_eq!(
        names(table.create_partition(-3).await.expect("create")),
        ["event_2024-04-01_2024-05-01"]
    );
    // After an outage until 10 September, one call catches up month by month.
    clock.set(utc(2024, 9, 10, 8, 0));
    assert_eq!(
        names(table.create_partition(1).await.expect("create")),
        [
            "event_2024-05-01_2024-06-01",
            "event_2024-06-01_2024-07-01",
            "event_2024-07-01_2024-08-01",
            "event_2024-08-01_2024-09-01",
            "event_2024-09-01_2024-10-01",
        ]
    );
    // A 40-day horizon wants October ready now (1 Oct - 40 days < 10 Sep), not November.
    assert_eq!(
        names(table.create_partition(40).await.expect("create")),
        ["event_2024-10-01_2024-11-01"]
    );
    assert_eq!(
        table
            .latest()
            .await
            .expect("latest")
            .map(|l| l.partition_name)
            .as_deref(),
        Some("event_2024-10-01_2024-11-01")
    );
    let err = table.create_partition(100_000).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                problem: ConfigProblem::HorizonTooFar(100_000),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("give at most 36500 days"),
        "{err}"
    );
    assert_eq!(table.partitions().await.expect("partitions").len(), 10);
    assert_consistent(db, &table).await;
    assert_routing(db, &table).await;
    t.finish().await;
}

#[tokio::test]
async fn period_changes_in_every_order_stay_contiguous_and_realign() {
    let t = setup(test_name!(
        "period_changes_in_every_order_stay_contiguous_and_realign"
    ))
    .await;
    let db = &t.conn;
    let now = utc(2022, 1, 1, 10, 0); // a Saturday
    let (service, clock) = service(db, now);
    for first in Period::ALL {
        for then in Period::ALL {
            if first == then {
                continue;
            }
            clock.set(now);
            let name = format!("t_{first}_{then}");
            event_table(db, &name, "timestamptz").await;
            let table = service
                .time_range_table(name.as_str())
                .period(first)
                .register()
                .await
                .expect("register");
            table.create_partition(0).await.expect("create");
            let updated = table
                .update_config(|s| s.period = then)
                .await
                .expect("update");
            assert_eq!(updated.config.period, Some(then));
            let before = table
                .latest()
                .await
                .expect("latest")
                .expect("one")
                .end
                .expect("end");
            let created = table.create_partition(0).await.expect("create");
            let created2 = table.create_partition(0).await.expect("create");
            let tz = chrono_tz::UTC;
            // The first partition under the new period starts at the old end and ends on a boundary of the
            // new period; the next is a whole period.
            let (start, end) = (
                created[0].start.expect("start"),
                created[0].end.expect("end"),
            );
            assert_eq!(start, before, "{first}->{then}");
            assert_eq!(end, then.end(before, tz), "{first}->{then}");
            assert_eq!(then.start(end, tz), end, "{first}->{then}: aligned");
            assert_eq!(created2[0].start, Some(end));
            assert_eq!(created2[0].end, Some(then.end(end, tz)));
            assert_consistent(db, &table).await;
        }
    }
    // The original's example: weekly after monthly, from Saturday 2022-01-01, ends on Monday the 3rd.
    clock.set(utc(2021, 12, 15, 0, 0));
    event_table(db, "original", "timestamptz").await;
    let table = service
        .time_range_table("original")
        .register()
        .await
        .expect("register");
    table
        .update_config(|s| s.period = Period::Week)
        .await
        .expect("update");
    let week = table.create_partition(0).await.expect("create");
    assert_eq!(week[0].partition_name, "original_2022-01-01_2022-01-03");
    assert_routing(db, &table).await;
    t.finish().await;
}

#[tokio::test]
async fn retention_detaches_by_rule_respects_detach_time_and_moves_tablespaces() {
    let t = setup(test_name!(
        "retention_detaches_by_rule_respects_detach_time_and_moves_tablespaces"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 1, 10, 0, 0));
    let table = service
        .time_range_table("event")
        .interval(2)
        .attach_tablespace(TS_A)
        .detach_tablespace(TS_B)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 6, 1, 0, 0));
    table.create_partition(1).await.expect("create"); // January .. June
    let all = table.partitions().await.expect("partitions");
    assert_eq!(all.len(), 6);
    for log in &all {
        assert_placed(db, &log.partition_name, TS_A).await;
        assert_eq!(log.tablespace.as_deref(), Some(TS_A));
    }

    // 15 June, interval 2 months: partitions ending before 15 April go (Jan, Feb, Mar); April stays.
    clock.set(utc(2024, 6, 15, 0, 0));
    let detached = table.detach_partitions(None).await.expect("detach");
    let names: Vec<&str> = detached.iter().map(|l| l.partition_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "event_2024-01-01_2024-02-01",
            "event_2024-02-01_2024-03-01",
            "event_2024-03-01_2024-04-01"
        ]
    );
    for log in &detached {
        assert!(!log.is_attached && log.detached_at == Some(utc(2024, 6, 15, 0, 0)));
        assert_placed(db, &log.partition_name, TS_B).await;
    }
    assert_consistent(db, &table).await;
    assert!(
        table
            .detach_partitions(None)
            .await
            .expect("detach")
            .is_empty(),
        "idempotent"
    );

    // Attach March back, protected until 1 July.
    let march = detached[2].clone();
    let attached = table
        .attach_partitions(
            Some(std::slice::from_ref(&march)),
            Some(utc(2024, 7, 1, 0, 0)),
        )
        .await
        .expect("attach");
    assert_eq!(attached.len(), 1);
    assert!(attached[0].is_attached);
    assert_eq!(attached[0].detach_time, Some(utc(2024, 7, 1, 0, 0)));
    assert_placed(db, &march.partition_name, TS_A).await;
    clock.set(utc(2024, 6, 20, 0, 0));
    assert!(
        table
            .detach_partitions(None)
            .await
            .expect("detach")
            .is_empty(),
        "protected by detach_time"
    );
    clock.set(utc(2024, 7, 2, 0, 0));
    let detached = table.detach_partitions(None).await.expect("detach");
    let names: Vec<&str> = detached.iter().map(|l| l.partition_name.as_str()).collect();
    // March (protection over) and April (ended 1 May, before 2 May) go now.
    assert_eq!(
        names,
        ["event_2024-03-01_2024-04-01", "event_2024-04-01_2024-05-01"]
    );
    assert_eq!(
        detached[0].detach_time, None,
        "detaching clears detach_time"
    );

    // Attach every detached one back (none given), then detach two explicitly.
    let back = table
        .attach_partitions(None, None)
        .await
        .expect("attach all");
    assert_eq!(back.len(), 4);
    assert_consistent(db, &table).await;
    assert_routing(db, &table).await;
    let two: Vec<partition_log::Model> = table
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .skip(4)
        .collect();
    let explicit = table
        .detach_partitions(Some(&two))
        .await
        .expect("detach given");
    assert_eq!(explicit.len(), 2);
    assert!(
        table
            .detach_partitions(Some(&two))
            .await
            .expect("again")
            .is_empty(),
        "already detached"
    );
    assert_consistent(db, &table).await;
    t.finish().await;
}

/// The partition and each of its indexes are in `tablespace`.
pub async fn assert_placed(db: &DatabaseConnection, partition: &str, tablespace: &str) {
    assert_eq!(
        catalog::tablespace(db, "public", partition)
            .await
            .as_deref(),
        Some(tablespace),
        "{partition}"
    );
    let indexes = catalog::index_tablespaces(db, "public", partition).await;
    assert_eq!(
        indexes.len(),
        2,
        "{partition}: primary key and payload index"
    );
    for (index, ts) in indexes {
        assert_eq!(
            ts.as_deref(),
            Some(tablespace),
            "{partition}: index {index}"
        );
    }
}

#[tokio::test]
async fn a_period_or_interval_change_applies_the_rule_at_once() {
    let t = setup(test_name!(
        "a_period_or_interval_change_applies_the_rule_at_once"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 1, 1, 0, 0));
    let table = service
        .time_range_table("event")
        .period(Period::Week)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 3, 1, 0, 0));
    table.create_partition(1).await.expect("create");
    let count = table.partitions().await.expect("partitions").len();
    assert_eq!(count, 9, "weeks from 1 January to March");
    // Interval 4 weeks: weeks ending before 2 February are detached in the same call.
    let updated = table
        .update_config(|s| s.interval = Some(4))
        .await
        .expect("update");
    assert_eq!(updated.config.interval, Some(4));
    assert!(
        updated
            .detached
            .iter()
            .all(|l| l.end < Some(utc(2024, 2, 2, 0, 0)))
    );
    assert_eq!(updated.detached.len(), 4);
    // Weeks -> months with the same interval: 4 months back is before every partition.
    let updated = table
        .update_config(|s| s.period = Period::Month)
        .await
        .expect("update");
    assert!(updated.detached.is_empty());
    // An invalid change is refused and nothing changes.
    let err = table
        .update_config(|s| s.interval = Some(0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ZeroInterval));
    let err = table
        .update_config(|s| s.detach_tablespace = Some("nowhere".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingTablespace { .. }));
    assert_eq!(table.config().await.expect("config").interval, Some(4));
    // A tablespace-only change does not run the rule.
    let updated = table
        .update_config(|s| s.attach_tablespace = Some(TS_A.into()))
        .await
        .expect("update");
    assert!(updated.detached.is_empty());
    assert_consistent(db, &table).await;
    t.finish().await;
}

#[tokio::test]
async fn delete_truncate_set_tablespace_and_listing() {
    let t = setup(test_name!("delete_truncate_set_tablespace_and_listing")).await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 1, 1, 0, 0));
    let table = service
        .time_range_table("event")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    clock.set(utc(2024, 1, 4, 12, 0));
    table.create_partition(1).await.expect("create");
    let logs = table.partitions().await.expect("partitions");
    assert_eq!(logs.len(), 5);
    assert_eq!(table.latest().await.expect("latest").as_ref(), logs.last());

    route(db, "event", utc(2024, 1, 2, 5, 0)).await;
    assert_eq!(
        catalog::count(db, r#""event_2024-01-02_2024-01-03""#).await,
        1
    );
    table.truncate(&logs[1]).await.expect("truncate");
    assert_eq!(
        catalog::count(db, r#""event_2024-01-02_2024-01-03""#).await,
        0
    );

    let moved = table.set_tablespace(&logs[2], TS_B).await.expect("move");
    assert_eq!(moved.tablespace.as_deref(), Some(TS_B));
    assert_placed(db, &logs[2].partition_name, TS_B).await;
    let back = table
        .set_tablespace(&logs[2], "pg_default")
        .await
        .expect("move back");
    assert_eq!(back.tablespace.as_deref(), Some("pg_default"));
    assert_eq!(
        catalog::tablespace(db, "public", &logs[2].partition_name).await,
        None
    );
    let err = table.set_tablespace(&logs[2], "nowhere").await.unwrap_err();
    assert!(matches!(err, Error::MissingTablespace { .. }));

    // Delete an attached and a detached partition: tables and log rows go.
    table
        .detach_partitions(Some(&logs[..1]))
        .await
        .expect("detach");
    table.delete_partitions(&logs[..2]).await.expect("delete");
    for log in &logs[..2] {
        assert!(!catalog::exists(db, "public", &log.partition_name).await);
    }
    assert_eq!(table.partitions().await.expect("partitions").len(), 3);
    assert_consistent(db, &table).await;
    // Deleting them again is a typed error naming the partition; the valid one passed with it is kept.
    let again = [logs[2].clone(), logs[0].clone()];
    let err = table.delete_partitions(&again).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnknownPartition { partition, .. } if *partition == logs[0].partition_name),
        "{err}"
    );
    assert!(err.to_string().contains("is not in the log"), "{err}");
    assert!(catalog::exists(db, "public", &logs[2].partition_name).await);
    let err = table.truncate(&logs[1]).await.unwrap_err();
    assert!(matches!(err, Error::UnknownPartition { .. }), "{err}");

    // Partitions of another table are refused.
    event_table(db, "other", "timestamptz").await;
    let other = service
        .time_range_table("other")
        .register()
        .await
        .expect("register");
    let foreign = other.partitions().await.expect("partitions");
    let err = table.delete_partitions(&foreign).await.unwrap_err();
    assert!(matches!(err, Error::ForeignPartition { .. }), "{err}");
    assert!(catalog::exists(db, "public", &foreign[0].partition_name).await);
    t.finish().await;
}

#[tokio::test]
async fn conflicts_are_typed_errors_and_leave_everything_as_it_was() {
    let t = setup(test_name!(
        "conflicts_are_typed_errors_and_leave_everything_as_it_was"
    ))
    .await;
    let db = &t.conn;
    event_table(db, "event", "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 1, 15, 0, 0));
    let table = service
        .time_range_table("event")
        .register()
        .await
        .expect("register");
    let before = logged(&table).await;

    // A table already holds the next partition's name.
    exec(db, r#"CREATE TABLE "event_2024-02-01_2024-03-01" (x int)"#).await;
    let err = table.create_partition(0).await.unwrap_err();
    assert!(
        matches!(err, Error::PartitionNameTaken { ref partition, .. } if partition == "event_2024-02-01_2024-03-01"),
        "{err}"
    );
    assert_eq!(logged(&table).await, before);
    exec(db, r#"DROP TABLE "event_2024-02-01_2024-03-01""#).await;

    // A partition made by hand overlaps the next range.
    exec(
        db,
        "CREATE TABLE by_hand PARTITION OF event FOR VALUES FROM ('2024-02-10') TO ('2024-02-11')",
    )
    .await;
    let err = table.create_partition(0).await.unwrap_err();
    assert!(matches!(err, Error::Overlap { .. }), "{err}");
    assert!(err.to_string().contains("by_hand"), "{err}");
    assert_eq!(logged(&table).await, before);
    assert_eq!(catalog::partitions(db, "public", "event").await.len(), 2);
    t.finish().await;
}

#[tokio::test]
async fn long_table_names_get_shortened_unique_partition_names() {
    let t = setup(test_name!(
        "long_table_names_get_shortened_unique_partition_names"
    ))
    .await;
    let db = &t.conn;
    let long = format!("events_of_a_rather_verbose_service_{}", "x".repeat(20));
    assert!(long.len() > 50);
    event_table(db, &long, "timestamptz").await;
    let (service, _clock) = service(db, utc(2024, 1, 15, 0, 0));
    let table = service
        .time_range_table(long.as_str())
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    table.create_partition(0).await.expect("create");
    for log in table.partitions().await.expect("partitions") {
        assert!(log.partition_name.len() <= 63, "{}", log.partition_name);
        assert!(
            catalog::exists(db, "public", &log.partition_name).await,
            "the stored name is the real one"
        );
    }
    assert_consistent(db, &table).await;
    t.finish().await;
}

pub async fn bounds_in_utc(db: &DatabaseConnection, table: &str) -> Vec<String> {
    strings(
        db,
        "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = $1::regclass ORDER BY 1",
        vec![table.into()],
    )
    .await
}

pub fn berlin() -> Tz {
    chrono_tz::Europe::Berlin
}
