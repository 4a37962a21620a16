//! The `pg-partition` binary against PostgreSQL: output and exit codes.

use std::process::Output;

use chrono::Utc;
use sea_orm_pg_partitioning::prelude::*;

use crate::support::{catalog, exec};
use crate::test_name;
use crate::time_range::{event_table, setup};

/// Runs the binary with `DATABASE_URL` set to `url` (or unset when `None`).
async fn cli(url: Option<&str>, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"));
    command.args(args).env_remove("DATABASE_URL");
    if let Some(url) = url {
        command.env("DATABASE_URL", url);
    }
    command.output().await.expect("runs pg-partition")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[tokio::test]
async fn status_plan_maintain_and_reconcile_from_the_command_line() {
    let t = setup(test_name!(
        "status_plan_maintain_and_reconcile_from_the_command_line"
    ))
    .await;
    let db = &t.conn;
    let url = t.url.as_str();
    event_table(db, "ev", "timestamptz").await;
    // The binary reads the system clock: register with it too.
    let service = PartitionService::new(db.clone());
    let ev = service
        .time_range_table("ev")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    ev.update_maintenance(|m| m.premake = 3)
        .await
        .expect("premake");
    let before = catalog::partitions(db, "public", "ev").await.len();

    // The horizon is short: status says so, exit 1.
    let out = cli(Some(url), &["status"]).await;
    assert_code(&out, 1);
    assert!(stdout(&out).contains("public.ev"), "{}", stdout(&out));
    assert!(stdout(&out).contains("horizon-short"), "{}", stdout(&out));

    // plan and maintain --dry-run print the steps with their SQL and change nothing.
    let out = cli(Some(url), &["plan"]).await;
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out).matches("\ncreate ").count()
            + usize::from(stdout(&out).starts_with("create ")),
        3
    );
    assert!(stdout(&out).contains("CREATE TABLE"), "{}", stdout(&out));
    let out = cli(Some(url), &["--json", "plan", "ev"]).await;
    assert_code(&out, 0);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["steps"].as_array().expect("steps").len(), 3);
    for step in plan["steps"].as_array().expect("steps") {
        // The bound as data, not one string: `{"kind": "range", "start": instant, "end": instant}`.
        assert_eq!(step["action"], "create", "{step:#}");
        assert_eq!(step["bound"]["kind"], "range", "{step:#}");
        let instant = |v: &serde_json::Value| {
            chrono::DateTime::parse_from_rfc3339(v.as_str().expect("an RFC 3339 string"))
                .expect("an instant")
        };
        assert!(instant(&step["bound"]["start"]) < instant(&step["bound"]["end"]));
        let first = &step["recipe"]["statements"][0];
        assert_eq!(first["kind"], "ddl");
        assert!(
            first["sql"]
                .as_str()
                .expect("sql")
                .starts_with("CREATE TABLE")
        );
    }
    let out = cli(Some(url), &["maintain", "--dry-run"]).await;
    assert_code(&out, 0);
    assert!(stdout(&out).contains("CREATE TABLE"));
    assert_eq!(catalog::partitions(db, "public", "ev").await.len(), before);

    // maintain (not on a terminal: a line per step), then status is healthy.
    let out = cli(Some(url), &["maintain"]).await;
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains(
            "3 step(s) done, 0 skipped, 0 not run; 0 table(s) failed, 0 create(s) blocked"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        stdout(&out).matches(": done").count(),
        3,
        "{}",
        stdout(&out)
    );
    assert_eq!(
        catalog::partitions(db, "public", "ev").await.len(),
        before + 3
    );
    let out = cli(Some(url), &["status", "public.ev"]).await;
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("PARTITION"),
        "per-partition table: {}",
        stdout(&out)
    );
    let out = cli(Some(url), &["--json", "status"]).await;
    assert_code(&out, 0);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["healthy"], true);
    assert_eq!(
        status["tables"][0]["partitions"]
            .as_array()
            .expect("partitions")
            .len(),
        before + 3
    );

    // A partition detached by hand: status and reconcile report it (exit 1); repair fixes the log (exit 0).
    let newest = ev.latest().await.expect("latest").expect("a partition");
    exec(
        db,
        &format!(
            r#"ALTER TABLE ev DETACH PARTITION "{}""#,
            newest.partition_name
        ),
    )
    .await;
    let out = cli(Some(url), &["status"]).await;
    assert_code(&out, 1);
    assert!(
        stdout(&out).contains("detached-by-hand"),
        "{}",
        stdout(&out)
    );
    let out = cli(Some(url), &["reconcile"]).await;
    assert_code(&out, 1);
    assert!(stdout(&out).contains("detached-by-hand"));
    let out = cli(Some(url), &["--json", "reconcile"]).await;
    assert_code(&out, 1);
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let anomaly = &found["before"]["tables"][0]["anomalies"][0];
    assert_eq!(anomaly["kind"], "detached-by-hand", "{found:#}");
    assert_eq!(anomaly["partition"], newest.partition_name.as_str());
    assert!(
        anomaly["message"]
            .as_str()
            .expect("message")
            .contains("detached by hand")
    );
    assert_eq!(found["after"]["healthy"], false);
    let detached = found["before"]["tables"][0]["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .find(|p| p["name"] == newest.partition_name.as_str())
        .expect("the detached partition is listed");
    assert_eq!(detached["state"], "detached");
    assert_eq!(
        detached["bound"]["kind"], "range",
        "its logged bound: {detached:#}"
    );
    assert_eq!(
        catalog::partitions(db, "public", "ev").await.len(),
        before + 2
    );
    let out = cli(
        Some(url),
        &[
            "reconcile",
            "--repair",
            "--direction",
            "detached-by-hand=catalog",
        ],
    )
    .await;
    assert_code(&out, 0);
    assert!(stdout(&out).contains("healthy"), "{}", stdout(&out));
    assert_eq!(
        catalog::partitions(db, "public", "ev").await.len(),
        before + 3
    );

    // One-partition commands.
    let out = cli(Some(url), &["detach", "ev", &newest.partition_name]).await;
    assert_code(&out, 0);
    assert_eq!(
        catalog::partitions(db, "public", "ev").await.len(),
        before + 2
    );
    let out = cli(Some(url), &["attach", "ev", &newest.partition_name]).await;
    assert_code(&out, 0);
    assert_eq!(
        catalog::partitions(db, "public", "ev").await.len(),
        before + 3
    );
    let out = cli(
        Some(url),
        &[
            "move",
            "ev",
            &newest.partition_name,
            "--tablespace",
            crate::support::TS_A,
        ],
    )
    .await;
    assert_code(&out, 0);
    assert_eq!(
        catalog::tablespace(db, "public", &newest.partition_name)
            .await
            .as_deref(),
        Some(crate::support::TS_A)
    );

    // maintain --json: the counts and each step's report.
    let out = cli(Some(url), &["config", "ev", "--set", "premake=6"]).await;
    assert_code(&out, 0);
    let out = cli(Some(url), &["--json", "maintain"]).await;
    assert_code(&out, 0);
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let steps = done["tables"][0]["steps"].as_array().expect("steps");
    assert!(!steps.is_empty(), "{done:#}");
    assert_eq!(done["done"], steps.len(), "{done:#}");
    assert_eq!(done["failed_tables"], 0);
    for step in steps {
        assert_eq!(step["outcome"]["outcome"], "done", "{step:#}");
        assert_eq!(step["step"]["action"], "create");
        assert!(step["duration_secs"].as_f64().expect("seconds") >= 0.0);
    }
    assert!(done["tables"][0]["error"].is_null());
    t.finish().await;
}

#[tokio::test]
async fn usage_and_connection_errors_exit_2_with_one_line() {
    let t = setup(test_name!(
        "usage_and_connection_errors_exit_2_with_one_line"
    ))
    .await;
    let url = t.url.as_str();
    let no_panic = |out: &Output| {
        let err = stderr(out);
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    };

    let out = cli(Some(url), &["status", "--no-such-flag"]).await;
    assert_code(&out, 2);
    no_panic(&out);
    let out = cli(None, &["status"]).await;
    assert_code(&out, 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("DATABASE_URL"));
    // The password never shows, whatever goes wrong; TLS asked of a build without it names the feature.
    for url in [
        "postgres://nobody:s3cret@127.0.0.1:99999/none",
        "postgres://nobody:s3cret@127.0.0.1:1/none",
    ] {
        let out = cli(Some(url), &["status"]).await;
        assert_code(&out, 2);
        assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot connect to the database at 127.0.0.1:"),
            "{}",
            stderr(&out)
        );
    }
    let out = cli(
        Some("postgres://nobody:s3cret@127.0.0.1:1/none?sslmode=require"),
        &["status"],
    )
    .await;
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("--features cli,runtime-tokio-rustls"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
    let out = cli(Some("postgres://nobody@127.0.0.1:1/none"), &["status"]).await;
    assert_code(&out, 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
    no_panic(&out);
    let out = cli(Some(url), &["status", "not_registered"]).await;
    assert_code(&out, 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = cli(
        Some(url),
        &["reconcile", "--repair", "--direction", "gap=sideways"],
    )
    .await;
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("KIND=log|catalog|skip"),
        "{}",
        stderr(&out)
    );

    // Without the crate's tables: the fix is named.
    let bare = setup(test_name!(
        "usage_and_connection_errors_exit_2_with_one_line_bare"
    ))
    .await;
    exec(
        &bare.conn,
        "DROP TABLE sopp_partition_log; DROP TABLE sopp_partition_config",
    )
    .await;
    let out = cli(Some(bare.url.as_str()), &["status"]).await;
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("create them with pg-partition migrate up"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(r#"search path ("$user", public)"#),
        "{}",
        stderr(&out)
    );
    let err = PartitionService::new(bare.conn.clone())
        .check_installed()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotInstalled { .. }), "{err}");
    PartitionService::new(t.conn.clone())
        .check_installed()
        .await
        .expect("installed");
    bare.finish().await;

    // A plan that drops partitions asks first; off a terminal it needs --yes.
    let db = &t.conn;
    event_table(db, "ev", "timestamptz").await;
    let service = PartitionService::new(db.clone());
    let ev = service
        .time_range_table("ev")
        .period(Period::Day)
        .interval(1)
        .register()
        .await
        .expect("register");
    ev.update_maintenance(|m| {
        m.retention = RetentionAction::Drop;
        m.drop_after = Some(chrono::Duration::zero());
    })
    .await
    .expect("drop");
    let old = ev.latest().await.expect("latest").expect("one");
    exec(
        db,
        &format!(
            r#"UPDATE sopp_partition_log SET is_attached = false, detached_at = '{}' WHERE id = {}"#,
            (Utc::now() - chrono::Duration::days(2)).to_rfc3339(),
            old.id
        ),
    )
    .await;
    exec(
        db,
        &format!(
            r#"ALTER TABLE ev DETACH PARTITION "{}""#,
            old.partition_name
        ),
    )
    .await;
    let out = cli(Some(url), &["maintain"]).await;
    assert_code(&out, 2);
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(catalog::exists(db, "public", &old.partition_name).await);
    let out = cli(Some(url), &["maintain", "--yes"]).await;
    assert_code(&out, 0);
    assert!(!catalog::exists(db, "public", &old.partition_name).await);
    t.finish().await;
}

/// `pg-partition status | head -1`: once the reader closes the pipe, the command ends quietly with its own
/// exit code instead of panicking.
#[tokio::test]
async fn a_closed_pipe_ends_the_command_quietly() {
    let t = setup(test_name!("a_closed_pipe_ends_the_command_quietly")).await;
    event_table(&t.conn, "ev", "timestamptz").await;
    PartitionService::new(t.conn.clone())
        .time_range_table("ev")
        .register()
        .await
        .expect("register");
    for args in [["status", "--html", "-"], ["status", "ev", "--json"]] {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
            .args(args)
            .env("DATABASE_URL", &t.url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        drop(child.stdout.take()); // the reader goes away before the first line
        let out = child.wait_with_output().await.expect("exits");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
    t.finish().await;
}

/// `config` shows a table's settings and changes them through the library, with its validation; bad keys
/// and values are told in the command's own words, and nothing changes.
#[tokio::test]
async fn config_shows_and_changes_settings() {
    let t = setup(test_name!("config_shows_and_changes_settings")).await;
    let url = t.url.as_str();
    event_table(&t.conn, "ev", "timestamptz").await;
    exec(
        &t.conn,
        r#"CREATE TABLE "ord" (region text) PARTITION BY LIST (region)"#,
    )
    .await;
    let service = PartitionService::new(t.conn.clone());
    service
        .time_range_table("ev")
        .register()
        .await
        .expect("register");
    service
        .list_table("ord")
        .register()
        .await
        .expect("register");

    let out = cli(Some(url), &["config", "ev"]).await;
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("period             month"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("premake            1"),
        "{}",
        stdout(&out)
    );

    let out = cli(
        Some(url),
        &[
            "config",
            "ev",
            "--set",
            "period=week",
            "--set",
            "interval=2",
            "--set",
            "premake=4",
            "--set",
            "retention=drop",
            "--set",
            "drop_after=7d",
        ],
    )
    .await;
    assert_code(&out, 0);
    for line in [
        "period             week",
        "interval           2",
        "premake            4",
        "retention          drop",
        "drop_after         604800s",
    ] {
        assert!(stdout(&out).contains(line), "{line}: {}", stdout(&out));
    }
    let ev = service.time_range_of("ev").await.expect("handle");
    assert_eq!(
        ev.maintenance_settings().await.expect("settings").premake,
        4
    );

    // Bad input: the command's words, exit 2, nothing changed.
    for (args, says) in [
        (
            vec!["config", "ev", "--set", "colour=red"],
            "unknown setting",
        ),
        (
            vec!["config", "ev", "--set", "premake=many"],
            "--set premake=many: not a whole number",
        ),
        (
            vec!["config", "ev", "--set", "premake=5000"],
            "premake = 5000 is out of range",
        ),
        (
            vec!["config", "ev", "--set", "time_zone=Mars/Olympus"],
            "not an IANA time zone",
        ),
        (
            vec!["config", "ord", "--set", "period=day"],
            "partitioned by LIST",
        ),
    ] {
        let out = cli(Some(url), &args).await;
        assert_code(&out, 2);
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        ev.maintenance_settings().await.expect("settings").premake,
        4
    );

    // Advice in the command's own words.
    exec(&t.conn, "CREATE TABLE plain (id bigint)").await;
    for (args, says) in [
        (
            vec!["status", "nosuch"],
            "pg-partition adopt public.nosuch --period",
        ),
        (
            vec!["adopt", "plain", "--list"],
            "create it with PARTITION BY LIST",
        ),
    ] {
        let out = cli(Some(url), &args).await;
        assert_code(&out, 2);
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    // A stored configuration broken by hand: the fix in the command's words, not the library's.
    exec(
        &t.conn,
        "UPDATE sopp_partition_config SET time_zone = 'Mars/Base' WHERE table_name = 'ev'",
    )
    .await;
    let out = cli(Some(url), &["config", "ev", "--set", "interval=3"]).await;
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("pg-partition config public.ev --set time_zone=Europe/Berlin")
            && !stderr(&out).contains("update_config"),
        "{}",
        stderr(&out)
    );
    t.finish().await;
}

#[tokio::test]
async fn migrate_creates_updates_and_rolls_back_the_crates_tables_beside_the_users_migrations() {
    let t = crate::support::TestDb::new(test_name!(
        "migrate_creates_updates_and_rolls_back_the_crates_tables_beside_the_users_migrations"
    ))
    .await;
    let url = Some(t.url.as_str());
    use sea_orm_migration::MigratorTrait as _;
    let names: Vec<String> = sea_orm_pg_partitioning::migrations::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    // A fresh database: every command but migrate says how to create the tables.
    let out = cli(url, &["status"]).await;
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("pg-partition migrate up"),
        "{}",
        stderr(&out)
    );
    // The application's own migrations share seaql_migrations (one applied before ours).
    exec(
        &t.conn,
        "CREATE TABLE seaql_migrations (version varchar PRIMARY KEY, applied_at bigint NOT NULL); \
         INSERT INTO seaql_migrations VALUES ('m20250101_000001_create_event', 1735689600); \
         CREATE TABLE event (id bigint)",
    )
    .await;
    let out = cli(url, &["migrate", "status"]).await;
    assert_code(&out, 1);
    assert_eq!(
        stdout(&out).matches("pending").count(),
        names.len(),
        "{}",
        stdout(&out)
    );
    let out = cli(url, &["migrate", "up"]).await;
    assert_code(&out, 0);
    for name in &names {
        assert!(
            stdout(&out).contains(&format!("applied {name}")),
            "{}",
            stdout(&out)
        );
    }
    assert_code(&cli(url, &["status"]).await, 0);
    assert_code(&cli(url, &["migrate", "status"]).await, 0);
    assert!(stdout(&cli(url, &["migrate", "up"]).await).contains("0 migration(s) applied"));

    // down rolls back the crate's newest migration, never the application's.
    let out = cli(url, &["migrate", "down"]).await;
    assert_code(&out, 0);
    let last = names.last().expect("migrations");
    assert!(
        stdout(&out).contains(&format!("rolled back {last}")),
        "{}",
        stdout(&out)
    );
    let versions = crate::support::strings(
        &t.conn,
        "SELECT version::text FROM seaql_migrations ORDER BY version",
        vec![],
    )
    .await;
    assert!(versions.contains(&"m20250101_000001_create_event".to_owned()));
    assert!(!versions.contains(last));
    assert_eq!(versions.len(), names.len(), "{versions:?}");
    // Rolling back everything drops the tables: off a terminal, only with --yes.
    let out = cli(url, &["migrate", "down", "--all"]).await;
    assert_code(&out, 2);
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(catalog::exists(&t.conn, "public", "sopp_partition_config").await);
    let out = cli(url, &["migrate", "down", "--all", "--yes"]).await;
    assert_code(&out, 0);
    assert!(!catalog::exists(&t.conn, "public", "sopp_partition_config").await);
    let versions = crate::support::strings(
        &t.conn,
        "SELECT version::text FROM seaql_migrations",
        vec![],
    )
    .await;
    assert_eq!(versions, ["m20250101_000001_create_event"]);
    assert!(
        catalog::exists(&t.conn, "public", "event").await,
        "the application's table stays"
    );
    // The library's functions see what the command did, and the reverse.
    let status = sea_orm_pg_partitioning::migrations::status(&t.conn)
        .await
        .expect("status");
    assert!(status.iter().all(|(_, applied)| !applied));
    sea_orm_pg_partitioning::migrations::up(&t.conn)
        .await
        .expect("up");
    assert_code(&cli(url, &["migrate", "status"]).await, 0);
    t.finish().await;
}

#[tokio::test]
async fn the_crates_tables_in_another_schema_are_found_with_crate_schema() {
    let t = crate::support::TestDb::new(test_name!(
        "the_crates_tables_in_another_schema_are_found_with_crate_schema"
    ))
    .await;
    let url = Some(t.url.as_str());
    // A hostile name is exactly that schema.
    let schema = r#"app "ops"; --"#;
    exec(
        &t.conn,
        r#"CREATE SCHEMA "app ""ops""; --"; CREATE TABLE ev (id bigint NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)"#,
    )
    .await;
    // The crate's tables go to that schema: the command creates them there.
    let out = cli(url, &["--crate-schema", schema, "migrate", "up"]).await;
    assert_code(&out, 0);
    assert!(catalog::exists(&t.conn, schema, "sopp_partition_config").await);
    assert!(!catalog::exists(&t.conn, "public", "sopp_partition_config").await);
    let out = cli(url, &["status"]).await;
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("--crate-schema SCHEMA"),
        "{}",
        stderr(&out)
    );
    let out = cli(
        url,
        &["--crate-schema", schema, "adopt", "ev", "--period", "day"],
    )
    .await;
    assert_code(&out, 0);
    assert_code(
        &cli(url, &["--crate-schema", schema, "status", "ev"]).await,
        1,
    );
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"));
    command
        .args(["plan", "ev"])
        .env("DATABASE_URL", &t.url)
        .env("PG_PARTITION_CRATE_SCHEMA", schema);
    let out = command.output().await.expect("runs pg-partition");
    assert_code(&out, 0);
    assert!(stdout(&out).contains("create"), "{}", stdout(&out));
    let out = cli(url, &["--crate-schema", "", "status"]).await;
    assert_code(&out, 2);
    assert!(stderr(&out).contains("--crate-schema"), "{}", stderr(&out));
    t.finish().await;
}
