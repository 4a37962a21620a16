//! On a real three-node Citus cluster (a coordinator and two workers): run with
//! `scripts/with-citus cargo test --test live citus`, which builds Citus when it is not installed and starts the
//! cluster. Without a cluster each test says it was skipped and why; with `SOPP_REQUIRE_CITUS=1` (CI) it fails.
//!
//! Each test gets a database of its own on all three nodes, with the extension and the workers added.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{ManualClock, StepAction};

use crate::support::{connect, database_name, exec, strings, url_with_database};
use crate::test_name;
use crate::time_range::utc;

/// The cluster the harness started.
struct Cluster {
    coordinator: String,
    workers: Vec<String>,
}

/// The cluster, or `None` after saying why the test is skipped (a panic when Citus is required).
fn cluster(test: &str) -> Option<Cluster> {
    match std::env::var("CITUS_DATABASE_URL") {
        Ok(coordinator) => Some(Cluster {
            coordinator,
            workers: std::env::var("CITUS_WORKER_URLS")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        }),
        Err(_) => {
            let why = std::env::var("CITUS_UNAVAILABLE").unwrap_or_else(|_| {
                "CITUS_DATABASE_URL is not set: run them with scripts/with-citus cargo test --test live citus"
                    .to_owned()
            });
            if std::env::var("SOPP_REQUIRE_CITUS").as_deref() == Ok("1") {
                panic!("{test}: the Citus tests must run here (SOPP_REQUIRE_CITUS=1), but {why}");
            }
            eprintln!("skipped {test}: it needs a Citus cluster, and {why}");
            None
        }
    }
}

/// The port of a `postgres://user@host:port/db` URL.
fn port(url: &str) -> u16 {
    url.rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// A test's database on every node of the cluster.
pub struct CitusDb {
    /// The coordinator's.
    pub conn: DatabaseConnection,
    /// Each worker's.
    pub workers: Vec<DatabaseConnection>,
    name: String,
    cluster: Cluster,
}

impl CitusDb {
    /// The coordinator's URL of this database.
    fn url(&self) -> String {
        url_with_database(&self.cluster.coordinator, &self.name)
    }

    /// The first worker's URL of this database.
    fn worker_url(&self) -> String {
        url_with_database(&self.cluster.workers[0], &self.name)
    }
}

impl CitusDb {
    async fn new(path: &str) -> Option<Self> {
        let cluster = cluster(path)?;
        let name = database_name(path);
        let mut nodes = Vec::new();
        for server in std::iter::once(&cluster.coordinator).chain(&cluster.workers) {
            let admin = connect(server, 1).await;
            exec(
                &admin,
                &format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
            )
            .await;
            exec(
                &admin,
                &format!(r#"CREATE DATABASE "{name}" TEMPLATE template0"#),
            )
            .await;
            exec(
                &admin,
                &format!(r#"ALTER DATABASE "{name}" SET timezone TO 'UTC'"#),
            )
            .await;
            let _ = admin.close().await;
            let node = connect(&url_with_database(server, &name), 4).await;
            exec(&node, "CREATE EXTENSION citus").await;
            nodes.push(node);
        }
        let conn = nodes.remove(0);
        exec(
            &conn,
            &format!(
                "SELECT citus_set_coordinator_host('127.0.0.1', {})",
                port(&cluster.coordinator)
            ),
        )
        .await;
        for worker in &cluster.workers {
            exec(
                &conn,
                &format!("SELECT citus_add_node('127.0.0.1', {})", port(worker)),
            )
            .await;
        }
        sea_orm_pg_partitioning_migration::Migrator::up(&conn, None)
            .await
            .expect("crate migrations");
        Some(Self {
            conn,
            workers: nodes,
            name,
            cluster,
        })
    }

    /// Drops the database on every node.
    async fn finish(self) {
        let _ = self.conn.close().await;
        for worker in self.workers {
            let _ = worker.close().await;
        }
        for server in std::iter::once(&self.cluster.coordinator).chain(&self.cluster.workers) {
            let admin = connect(server, 1).await;
            exec(
                &admin,
                &format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name),
            )
            .await;
            let _ = admin.close().await;
        }
    }
}

/// The nodes (ports) holding shards of `table`.
async fn shard_nodes<C: ConnectionTrait>(db: &C, table: &str) -> Vec<String> {
    strings(
        db,
        "SELECT DISTINCT nodeport::text FROM citus_shards WHERE table_name = to_regclass(format('%I', $1::text)) ORDER BY 1",
        vec![table.into()],
    )
    .await
}

async fn count<C: ConnectionTrait>(db: &C, table: &str) -> i64 {
    strings(
        db,
        &format!(r#"SELECT count(*)::text FROM "{table}""#),
        vec![],
    )
    .await[0]
        .parse()
        .expect("count")
}

#[tokio::test]
async fn a_distributed_table_is_premade_retired_attached_back_and_counted_on_its_shards() {
    let Some(t) = CitusDb::new(test_name!(
        "a_distributed_table_is_premade_retired_attached_back_and_counted_on_its_shards"
    ))
    .await
    else {
        return;
    };
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE event (tenant int NOT NULL, created_at timestamptz NOT NULL, payload text) \
             PARTITION BY RANGE (created_at); \
         SELECT create_distributed_table('event', 'tenant');",
    )
    .await;
    let clock = ManualClock::new(utc(2026, 3, 10, 12, 0));
    let service = PartitionService::new(db.clone()).with_clock(clock.clone());
    let events = service
        .time_range_table("event")
        .period(Period::Day)
        .interval(2)
        .default_partition(true)
        .register()
        .await
        .expect("register");
    // Two replicas at once, each on its own pool: the work is done once.
    let other_pool = connect(&t.url(), 4).await;
    let replica = PartitionService::new(other_pool.clone()).with_clock(clock.clone());
    let (a, b) = tokio::join!(service.run_maintenance(), replica.run_maintenance());
    for report in [a.expect("premake"), b.expect("premake")] {
        assert!(report.errors().next().is_none(), "{report:?}");
    }
    let _ = other_pool.close().await;
    let today = "event_2026-03-10_2026-03-11";
    let logged = events.partitions().await.expect("logs");
    let mut names: Vec<&str> = logged.iter().map(|l| l.partition_name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), logged.len());
    assert!(names.contains(&today), "{names:?}");
    // Rows through the coordinator: today's, and two days past the horizon (into DEFAULT).
    exec(
        db,
        "INSERT INTO event SELECT g % 50, '2026-03-10 00:00+00'::timestamptz + g * interval '1 second', 'p' \
             FROM generate_series(1, 20000) g; \
         INSERT INTO event SELECT g % 50, '2026-03-14 06:00+00', 'late' FROM generate_series(1, 300) g;",
    )
    .await;
    assert_eq!(shard_nodes(db, today).await.len(), 2, "on both workers");
    assert_eq!(count(db, "event_default").await, 300);

    // Status counts what the shards hold, not the coordinator's empty shell.
    exec(db, "ANALYZE event").await;
    let status = service.status_of("event").await.expect("status");
    let p = status
        .partitions
        .iter()
        .find(|p| p.name == today)
        .expect("today");
    let catalog = p.catalog.as_ref().expect("in the catalog");
    assert!(
        catalog.size_bytes > 100_000,
        "the shards' size: {}",
        catalog.size_bytes
    );
    assert!(
        catalog.estimated_rows.is_some_and(|n| n > 10_000),
        "the shards' rows: {:?}",
        catalog.estimated_rows
    );

    // Two days on, in the low-lock mode and three days ahead: the partition for 03-14 is made, and the rows
    // leave DEFAULT for it.
    events
        .update_maintenance(|m| {
            m.creation_mode = CreationMode::Attach;
            m.premake = 3;
        })
        .await
        .expect("settings");
    clock.set(utc(2026, 3, 12, 12, 0));
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(count(db, "event_default").await, 0);
    assert_eq!(count(db, "event_2026-03-14_2026-03-15").await, 300);
    assert_eq!(
        shard_nodes(db, "event_2026-03-14_2026-03-15").await.len(),
        2
    );

    // Retention: 03-10 is detached (03-12 12:00 minus 2 days), its rows kept, then attached back.
    clock.set(utc(2026, 3, 13, 12, 0));
    let report = service.run_maintenance().await.expect("retention");
    assert!(report.is_ok(), "{report:?}");
    assert!(
        !crate::support::catalog::partitions(db, "public", "event")
            .await
            .iter()
            .any(|(n, _)| n == today)
    );
    assert_eq!(count(db, today).await, 20_000);
    let logs = events.partitions().await.expect("logs");
    let detached: Vec<_> = logs
        .iter()
        .filter(|l| l.partition_name == today)
        .cloned()
        .collect();
    events
        .attach_partitions(Some(&detached), None)
        .await
        .expect("attach back");
    assert_eq!(
        strings(
            db,
            "SELECT count(*)::text FROM event WHERE created_at < '2026-03-11'",
            vec![]
        )
        .await,
        ["20000"]
    );
    t.finish().await;
}

#[tokio::test]
async fn what_citus_refuses_is_a_typed_error_and_drift_adoption_and_the_cli_work() {
    let Some(t) = CitusDb::new(test_name!(
        "what_citus_refuses_is_a_typed_error_and_drift_adoption_and_the_cli_work"
    ))
    .await
    else {
        return;
    };
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE metric (device int NOT NULL, at timestamptz NOT NULL, value float8) PARTITION BY RANGE (at); \
         SELECT create_distributed_table('metric', 'device'); \
         CREATE TABLE metric_old PARTITION OF metric FOR VALUES FROM ('2026-03-09 00:00+00') TO ('2026-03-10 00:00+00'); \
         INSERT INTO metric SELECT g % 10, '2026-03-09 00:00+00'::timestamptz + g * interval '1 second', g \
             FROM generate_series(1, 5000) g;",
    )
    .await;
    let clock = ManualClock::new(utc(2026, 3, 10, 12, 0));
    let service = PartitionService::new(db.clone()).with_clock(clock.clone());
    // Tablespaces: refused at registration, nothing registered.
    let err = service
        .time_range_table("metric")
        .period(Period::Day)
        .detach_tablespace(crate::support::TS_A)
        .register()
        .await
        .expect_err("tablespace");
    assert!(
        matches!(&err, Error::UnsupportedOnCitus { table, .. } if table == "public.metric"),
        "{err}"
    );
    assert!(err.to_string().contains("SET TABLESPACE"), "{err}");
    assert!(service.configs().await.expect("configs").is_empty());
    // Adoption of a partition made by hand.
    let (metrics, adoption) = service
        .time_range_table("metric")
        .period(Period::Day)
        .adopt()
        .await
        .expect("adopt");
    assert_eq!(adoption.adopted.len(), 1);
    // Concurrent detaches: refused at configuration.
    let err = metrics
        .update_maintenance(|m| m.concurrent_detach = true)
        .await
        .expect_err("concurrent");
    assert!(
        matches!(
            err,
            Error::UnsupportedOnCitus {
                what: "concurrent_detach",
                ..
            }
        ),
        "{err}"
    );
    assert!(!metrics.config().await.expect("config").concurrent_detach);
    // A tablespace set later is refused as at registration.
    let err = metrics
        .update_config(|s| s.detach_tablespace = Some(crate::support::TS_A.to_owned()))
        .await
        .expect_err("tablespace");
    assert!(matches!(err, Error::UnsupportedOnCitus { .. }), "{err}");
    assert!(
        metrics
            .config()
            .await
            .expect("config")
            .detach_tablespace
            .is_none()
    );
    service.run_maintenance().await.expect("premake");

    // Drift: a partition detached by hand is found and attached back (catalog follows log).
    exec(db, "ALTER TABLE metric DETACH PARTITION metric_old").await;
    let status = service.status_of("metric").await.expect("status");
    assert!(
        status.anomalies.iter().any(
            |a| a.kind() == sea_orm_pg_partitioning::model::status::AnomalyKind::DetachedByHand
        ),
        "{:#?}",
        status.anomalies
    );
    let policy = sea_orm_pg_partitioning::service::RepairPolicy::default().set(
        sea_orm_pg_partitioning::model::status::AnomalyKind::DetachedByHand,
        sea_orm_pg_partitioning::service::Direction::CatalogFollowsLog,
    );
    let done = service
        .reconcile(sea_orm_pg_partitioning::service::ReconcileMode::Repair(
            policy,
        ))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    assert_eq!(
        strings(
            db,
            "SELECT count(*)::text FROM metric WHERE at < '2026-03-10'",
            vec![]
        )
        .await,
        ["5000"]
    );
    assert_eq!(shard_nodes(db, "metric_old").await.len(), 2);

    // The operator command shows the shards' rows.
    exec(db, "ANALYZE metric").await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(["status", "metric", "--json"])
        .env("DATABASE_URL", t.url())
        .output()
        .await
        .expect("runs");
    // 0: healthy, 1: an anomaly found; 2 would be an error.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let text = json.to_string();
    assert!(text.contains("metric_old"), "{text}");
    let old = json["tables"][0]["partitions"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "metric_old"))
        .unwrap_or_else(|| panic!("{json:#}"))
        .clone();
    let rows = old["catalog"]["estimated_rows"].as_i64().unwrap_or(0);
    assert!(rows > 4000, "{old:#}");

    // On a worker: every write path says to use the coordinator.
    let worker = connect(&t.worker_url(), 2).await;
    let on_worker = PartitionService::new(worker.clone());
    let err = on_worker.run_maintenance().await.expect_err("worker");
    assert!(matches!(err, Error::CitusWorker), "{err}");
    let err = on_worker
        .time_range_table("metric")
        .period(Period::Day)
        .register()
        .await
        .expect_err("worker");
    assert!(matches!(err, Error::CitusWorker), "{err}");
    let _ = worker.close().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(["maintain"])
        .env("DATABASE_URL", t.worker_url())
        .output()
        .await
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("coordinator"), "{stderr}");
    t.finish().await;
}

#[tokio::test]
async fn a_migration_creates_a_distributed_partitioned_table_and_a_reference_table() {
    use sea_orm::sea_query::{ColumnDef, Table};
    use sea_orm_migration::SchemaManager;
    use sea_orm_pg_partitioning::schema::Distribute;
    let Some(t) = CitusDb::new(test_name!(
        "a_migration_creates_a_distributed_partitioned_table_and_a_reference_table"
    ))
    .await
    else {
        return;
    };
    let db = &t.conn;
    let manager = SchemaManager::new(db);
    // A unique constraint without the distribution column: refused before any SQL.
    let err = manager
        .create_partitioned_table(
            Table::create()
                .table("bad")
                .col(ColumnDef::new("Tenant").integer().not_null())
                .col(
                    ColumnDef::new("created_at")
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new("code").text().not_null())
                .index(
                    sea_orm::sea_query::Index::create()
                        .unique()
                        .name("bad_code")
                        .col("code")
                        .col("created_at"),
                )
                .partitioned_by(PartitionKey::range(["created_at"]))
                .distributed_by("Tenant")
                .to_owned(),
        )
        .await
        .expect_err("illegal");
    assert!(
        matches!(
            err,
            Error::Statement(
                sea_orm_pg_partitioning::StatementError::UniqueWithoutDistributionColumn { .. }
            )
        ),
        "{err}"
    );
    assert!(!crate::support::catalog::exists(db, "public", "bad").await);

    manager
        .distribute(Distribute::reference("country"))
        .await
        .expect_err("no such table yet");
    exec(db, "CREATE TABLE country (code text PRIMARY KEY)").await;
    manager
        .distribute(Distribute::reference("country"))
        .await
        .expect("reference table");
    // Mixed case: the names reach Citus exactly; the primary key is widened with the key and the
    // distribution column.
    manager
        .create_partitioned_table(
            Table::create()
                .table("Event")
                .col(ColumnDef::new("id").big_integer().not_null().primary_key())
                .col(ColumnDef::new("Tenant").integer().not_null())
                .col(
                    ColumnDef::new("created_at")
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .partitioned_by(PartitionKey::range(["created_at"]))
                .primary_key_policy(PrimaryKeyPolicy::IncludeKey)
                .distributed_by("Tenant")
                .to_owned(),
        )
        .await
        .expect("distributed");
    let dist = strings(
        db,
        "SELECT logicalrelid::text || ' ' || partmethod::text || ' ' || COALESCE(column_to_column_name(logicalrelid, partkey), '-') \
         FROM pg_dist_partition ORDER BY 1",
        vec![],
    )
    .await;
    assert_eq!(dist, [r#""Event" h Tenant"#, "country n -"], "{dist:?}");
    let pk = strings(
        db,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '\"Event\"'::regclass AND contype = 'p'",
        vec![],
    )
    .await;
    assert_eq!(pk, [r#"PRIMARY KEY (id, created_at, "Tenant")"#]);
    // Partitions the service makes are distributed too.
    let clock = ManualClock::new(utc(2026, 3, 10, 12, 0));
    let service = PartitionService::new(db.clone()).with_clock(clock);
    service
        .time_range_table("Event")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    service.run_maintenance().await.expect("premake");
    exec(
        db,
        r#"INSERT INTO "Event" SELECT g, g % 7, '2026-03-10 01:00+00' FROM generate_series(1, 100) g"#,
    )
    .await;
    assert_eq!(
        shard_nodes(db, "Event_2026-03-10_2026-03-11").await.len(),
        2
    );
    t.finish().await;
}

/// A database of its own on the coordinator's server without the Citus extension: a single PostgreSQL
/// server, where `citus_columnar` works on its own.
async fn plain_db(path: &str) -> Option<(DatabaseConnection, String, String)> {
    let cluster = cluster(path)?;
    let name = database_name(path);
    let admin = connect(&cluster.coordinator, 1).await;
    exec(
        &admin,
        &format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
    )
    .await;
    exec(
        &admin,
        &format!(r#"CREATE DATABASE "{name}" TEMPLATE template0"#),
    )
    .await;
    let _ = admin.close().await;
    let conn = connect(&url_with_database(&cluster.coordinator, &name), 4).await;
    sea_orm_pg_partitioning_migration::Migrator::up(&conn, None)
        .await
        .expect("crate migrations");
    Some((conn, cluster.coordinator, name))
}

/// Whether `table` uses the columnar access method.
async fn access_method<C: ConnectionTrait>(db: &C, table: &str) -> String {
    strings(
        db,
        "SELECT COALESCE(a.amname::text, '-') FROM pg_class c LEFT JOIN pg_am a ON a.oid = c.relam WHERE c.relname = $1",
        vec![table.into()],
    )
    .await[0]
        .clone()
}

/// Rows of `ev` for one day: 2026-03-10, 20 000 of them.
const ONE_DAY: &str = "INSERT INTO ev SELECT g % 20, '2026-03-10 00:00+00'::timestamptz + g * interval '4 seconds', \
                       repeat('payload ', 8) || (g % 100) FROM generate_series(1, 20000) g";

#[tokio::test]
async fn columnar_retention_on_a_single_server_compresses_old_partitions_and_keeps_their_rows() {
    let path = test_name!(
        "columnar_retention_on_a_single_server_compresses_old_partitions_and_keeps_their_rows"
    );
    let Some((db, server, name)) = plain_db(path).await else {
        return;
    };
    exec(
        &db,
        "CREATE TABLE ev (tenant int NOT NULL, created_at timestamptz NOT NULL, payload text) PARTITION BY RANGE (created_at)",
    )
    .await;
    let clock = ManualClock::new(utc(2026, 3, 10, 12, 0));
    let service = PartitionService::new(db.clone()).with_clock(clock.clone());
    let events = service
        .time_range_table("ev")
        .period(Period::Day)
        .interval(1)
        .register()
        .await
        .expect("register");
    // Without the extension: refused, nothing changed.
    let err = events
        .update_maintenance(|m| m.retention = RetentionAction::Columnar)
        .await
        .expect_err("no columnar");
    assert!(
        matches!(&err, Error::InvalidConfig { problem: sea_orm_pg_partitioning::ConfigProblem::ColumnarUnavailable(why), .. } if why.contains("citus_columnar")),
        "{err}"
    );
    assert_eq!(
        events
            .maintenance_settings()
            .await
            .expect("settings")
            .retention,
        RetentionAction::Detach
    );
    exec(&db, "CREATE EXTENSION citus_columnar").await;
    events
        .update_maintenance(|m| m.retention = RetentionAction::Columnar)
        .await
        .expect("columnar");
    service.run_maintenance().await.expect("premake");
    exec(&db, ONE_DAY).await;
    let day = "ev_2026-03-10_2026-03-11";
    let before = count(&db, day).await;

    // Two days on: 03-10 is past retention, converted, still attached; run again: nothing more to do.
    clock.set(utc(2026, 3, 12, 12, 0));
    let plan = service.plan().await.expect("plan");
    let step = plan
        .steps
        .iter()
        .find(|s| s.partition == day)
        .expect("planned");
    assert_eq!(step.action, StepAction::Columnar);
    let report = service.run_plan(&plan).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(access_method(&db, day).await, "columnar");
    assert_eq!(count(&db, day).await, before);
    assert!(
        crate::support::catalog::partitions(&db, "public", "ev")
            .await
            .iter()
            .any(|(n, _)| n == day)
    );
    let log = events
        .partitions()
        .await
        .expect("logs")
        .into_iter()
        .find(|l| l.partition_name == day)
        .expect("logged");
    let (size_before, size_after) = (
        log.size_before.expect("before"),
        log.size_after.expect("after"),
    );
    assert!(log.columnar_at.is_some());
    assert!(
        size_after * 3 < size_before,
        "{size_before} -> {size_after}"
    );
    let again = service.plan().await.expect("plan");
    assert!(!again.steps.iter().any(|s| s.partition == day), "{again:?}");
    // Rows can still be read and written.
    exec(
        &db,
        "INSERT INTO ev VALUES (1, '2026-03-10 23:00+00', 'late')",
    )
    .await;
    assert_eq!(count(&db, day).await, before + 1);
    let _ = db.close().await;
    let admin = connect(&server, 1).await;
    exec(
        &admin,
        &format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
    )
    .await;
    let _ = admin.close().await;
}

#[tokio::test]
async fn columnar_retention_converts_every_shard_of_a_distributed_partition() {
    let Some(t) = CitusDb::new(test_name!(
        "columnar_retention_converts_every_shard_of_a_distributed_partition"
    ))
    .await
    else {
        return;
    };
    let db = &t.conn;
    exec(
        db,
        "CREATE TABLE ev (tenant int NOT NULL, created_at timestamptz NOT NULL, payload text) PARTITION BY RANGE (created_at); \
         SELECT create_distributed_table('ev', 'tenant');",
    )
    .await;
    exec(db, "CREATE EXTENSION citus_columnar").await;
    let clock = ManualClock::new(utc(2026, 3, 10, 12, 0));
    let service = PartitionService::new(db.clone()).with_clock(clock.clone());
    let events = service
        .time_range_table("ev")
        .period(Period::Day)
        .interval(1)
        .register()
        .await
        .expect("register");
    events
        .update_maintenance(|m| m.retention = RetentionAction::Columnar)
        .await
        .expect("columnar");
    service.run_maintenance().await.expect("premake");
    exec(db, ONE_DAY).await;
    let day = "ev_2026-03-10_2026-03-11";
    clock.set(utc(2026, 3, 12, 12, 0));
    let report = service.run_maintenance().await.expect("columnar");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(count(db, day).await, 20_000);
    assert_eq!(access_method(db, day).await, "columnar");
    // Every shard, on both workers.
    assert_eq!(shard_nodes(db, day).await.len(), 2);
    let methods = strings(
        db,
        "SELECT DISTINCT result FROM run_command_on_shards(to_regclass(format('%I', $1::text)), \
         $$SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = '%s'::regclass$$)",
        vec![day.into()],
    )
    .await;
    assert_eq!(methods, ["columnar"]);
    let log = events
        .partitions()
        .await
        .expect("logs")
        .into_iter()
        .find(|l| l.partition_name == day)
        .expect("logged");
    assert!(
        log.size_after.expect("after") < log.size_before.expect("before"),
        "{log:?}"
    );
    t.finish().await;
}
