//! Live-test harness: a database of its own for each test, on the server at `DATABASE_URL`
//! (`scripts/with-postgres` starts a throwaway one when it is not set).
//!
//! A test calls `TestDb::new(test_name!("..")).await`, works on `db.conn`, and ends with `db.finish().await`,
//! which drops the database. A failing test never reaches `finish`, so its database stays for inspection; the
//! next run drops it first.

#![allow(dead_code)]

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, QueryResult,
    Statement, Value,
};

/// Tablespaces the tests use; cluster-wide, created once per cluster (by the harness script or here).
pub const TS_A: &str = "sopp_test_a";
/// Second test tablespace.
pub const TS_B: &str = "sopp_test_b";

/// `concat!(module_path!(), "::", name)`: the deterministic name a test's database is derived from.
#[macro_export]
macro_rules! test_name {
    ($name:literal) => {
        concat!(module_path!(), "::", $name)
    };
}

/// The server to test against.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set: run the live tests with `scripts/with-postgres cargo test --workspace`, \
             which starts a throwaway PostgreSQL"
        )
    })
}

/// `url` with its database replaced by `database`.
pub fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A database name from a test path: `sopp_` + the path in `[a-z0-9_]`, cut to 63 bytes with a hash suffix
/// when longer, so two tests never share a database and reruns reuse the same name.
pub fn database_name(path: &str) -> String {
    let clean: String = path
        .trim_start_matches("live::")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("sopp_{clean}");
    if name.len() <= 63 {
        return name;
    }
    // FNV-1a: stable across runs and platforms.
    let hash = path.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}_{:08x}", &name[..54], hash as u32)
}

pub async fn connect(url: &str, max: u32) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max)
        .min_connections(0)
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// A test's own database.
pub struct TestDb {
    /// A small pool on the test's database.
    pub conn: DatabaseConnection,
    /// The database's name.
    pub name: String,
    /// Its URL, for tests that open more connections.
    pub url: String,
    server: String,
}

impl TestDb {
    /// Creates (after dropping a leftover of an earlier failed run) the database for the test `path`.
    pub async fn new(path: &str) -> Self {
        let server = server_url();
        let name = database_name(path);
        let admin = connect(&server, 1).await;
        ensure_tablespaces(&admin).await;
        // `name` is [a-z0-9_] only (see database_name), so writing it between quotes is exact.
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
        // Catalog text (pg_get_expr of timestamptz bounds) is then read in UTC, whatever the server's default.
        exec(
            &admin,
            &format!(r#"ALTER DATABASE "{name}" SET timezone TO 'UTC'"#),
        )
        .await;
        let _ = admin.close().await;
        let url = url_with_database(&server, &name);
        let conn = connect(&url, 4).await;
        Self {
            conn,
            name,
            url,
            server,
        }
    }

    /// Drops the database: call it last, so that a failing test leaves its database for inspection.
    pub async fn finish(self) {
        let _ = self.conn.close().await;
        let admin = connect(&self.server, 1).await;
        exec(
            &admin,
            &format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name),
        )
        .await;
        let _ = admin.close().await;
    }

    /// A new connection pool on this test's database.
    pub async fn connect(&self, max: u32) -> DatabaseConnection {
        connect(&self.url, max).await
    }
}

/// Leaves a `DETACH .. CONCURRENTLY` of `partition` (of `table`, in `public`) pending: a reader's snapshot makes
/// it wait, and its statement timeout interrupts it.
pub async fn leave_detach_pending(t: &TestDb, table: &str, partition: &str) {
    let reader = t.connect(1).await;
    let reading = sea_orm::TransactionTrait::begin(&reader)
        .await
        .expect("begin");
    exec(
        &reading,
        &format!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM {table}"),
    )
    .await;
    let detacher = t.connect(1).await;
    exec(&detacher, "SET statement_timeout = '300ms'").await;
    let err = detacher
        .execute_unprepared(&format!(
            r#"ALTER TABLE {table} DETACH PARTITION "{partition}" CONCURRENTLY"#
        ))
        .await
        .expect_err("interrupted");
    assert!(err.to_string().contains("statement timeout"), "{err}");
    reading.commit().await.expect("commit");
    assert!(catalog::detach_pending(&t.conn, "public", partition).await);
}

/// Creates the shared test tablespaces when the server lacks them (a server given by DATABASE_URL): in-place
/// tablespaces inside the data directory, which need no directory on the server's machine.
async fn ensure_tablespaces(admin: &DatabaseConnection) {
    for ts in [TS_A, TS_B] {
        let exists = admin
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT 1 FROM pg_tablespace WHERE spcname = $1",
                [ts.into()],
            ))
            .await
            .expect("read pg_tablespace")
            .is_some();
        if exists {
            continue;
        }
        exec(admin, "SET allow_in_place_tablespaces = on").await;
        let created = admin
            .execute_unprepared(&format!("CREATE TABLESPACE {ts} LOCATION ''"))
            .await;
        if let Err(e) = created {
            // Another test created it at the same moment (42710, or 23505 when the catalog inserts raced).
            let exists = admin
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT 1 FROM pg_tablespace WHERE spcname = $1",
                    [ts.into()],
                ))
                .await
                .expect("read pg_tablespace")
                .is_some();
            assert!(exists, "cannot create test tablespace {ts}: {e}");
        }
    }
}

/// Runs SQL, panicking with the statement on failure.
pub async fn exec<C: ConnectionTrait>(conn: &C, sql: &str) {
    if let Err(e) = conn.execute_unprepared(sql).await {
        panic!("{sql}\nfailed: {e}");
    }
}

/// Runs SQL and returns the error it must fail with.
pub async fn exec_err<C: ConnectionTrait>(conn: &C, sql: &str) -> DbErr {
    match conn.execute_unprepared(sql).await {
        Ok(_) => panic!("{sql}\nsucceeded but should have failed"),
        Err(e) => e,
    }
}

pub use sea_orm_pg_partitioning::sqlstate;

/// All rows of a query with parameters.
pub async fn rows<C: ConnectionTrait>(conn: &C, sql: &str, values: Vec<Value>) -> Vec<QueryResult> {
    conn.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}\nfailed: {e}"))
}

/// The one text column of each row of a query.
pub async fn strings<C: ConnectionTrait>(conn: &C, sql: &str, values: Vec<Value>) -> Vec<String> {
    rows(conn, sql, values)
        .await
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("text column"))
        .collect()
}

/// Catalog reads for assertions. Relations are named by `(schema, name)` and compared with `pg_class.relname`,
/// so that names needing quotes are matched exactly.
pub mod catalog {
    use super::*;

    const REL: &str = "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                       WHERE n.nspname = $1 AND c.relname = $2";

    /// Whether the relation exists.
    pub async fn exists<C: ConnectionTrait>(conn: &C, schema: &str, name: &str) -> bool {
        !rows(conn, REL, vec![schema.into(), name.into()])
            .await
            .is_empty()
    }

    /// `pg_get_partkeydef`: e.g. `RANGE (created_at)`; `None` when the table is not partitioned.
    pub async fn partition_key<C: ConnectionTrait>(
        conn: &C,
        schema: &str,
        table: &str,
    ) -> Option<String> {
        strings(
            conn,
            &format!("SELECT pg_get_partkeydef(p.partrelid) FROM pg_partitioned_table p WHERE p.partrelid = ({REL})"),
            vec![schema.into(), table.into()],
        )
        .await
        .pop()
    }

    /// `(partition, bound)` of each partition of the table, sorted by name.
    pub async fn partitions<C: ConnectionTrait>(
        conn: &C,
        schema: &str,
        table: &str,
    ) -> Vec<(String, String)> {
        rows(
            conn,
            &format!(
                "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i \
                 JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = ({REL}) ORDER BY 1"
            ),
            vec![schema.into(), table.into()],
        )
        .await
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).expect("name"),
                r.try_get_by_index(1).expect("bound"),
            )
        })
        .collect()
    }

    /// Whether `pg_inherits` marks the partition as pending a concurrent detach.
    pub async fn detach_pending<C: ConnectionTrait>(
        conn: &C,
        schema: &str,
        partition: &str,
    ) -> bool {
        rows(
            conn,
            &format!("SELECT 1 FROM pg_inherits WHERE inhrelid = ({REL}) AND inhdetachpending"),
            vec![schema.into(), partition.into()],
        )
        .await
        .len()
            == 1
    }

    /// The tablespace of a table or index (`None` for the database default).
    pub async fn tablespace<C: ConnectionTrait>(
        conn: &C,
        schema: &str,
        name: &str,
    ) -> Option<String> {
        let found = rows(
            conn,
            &format!(
                "SELECT t.spcname::text FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace \
                 WHERE c.oid = ({REL})"
            ),
            vec![schema.into(), name.into()],
        )
        .await;
        let row = found
            .first()
            .unwrap_or_else(|| panic!("no relation {schema}.{name}"));
        row.try_get_by_index::<Option<String>>(0).expect("spcname")
    }

    /// `(index, tablespace)` of every index of a table, sorted by name.
    pub async fn index_tablespaces<C: ConnectionTrait>(
        conn: &C,
        schema: &str,
        table: &str,
    ) -> Vec<(String, Option<String>)> {
        rows(
            conn,
            &format!(
                "SELECT c.relname::text, t.spcname::text FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
                 LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace WHERE x.indrelid = ({REL}) ORDER BY 1"
            ),
            vec![schema.into(), table.into()],
        )
        .await
        .iter()
        .map(|r| (r.try_get_by_index(0).expect("name"), r.try_get_by_index(1).expect("ts")))
        .collect()
    }

    /// Row count of one relation (`ONLY`, so a partitioned table's partitions are not counted).
    pub async fn count<C: ConnectionTrait>(conn: &C, quoted_name: &str) -> i64 {
        rows(
            conn,
            &format!("SELECT count(*) FROM ONLY {quoted_name}"),
            vec![],
        )
        .await[0]
            .try_get_by_index(0)
            .expect("count")
    }
}
