//! `pg-partition`: the operator's command for tables managed by sea-orm-pg-partitioning.
//!
//! ```text
//! pg-partition status [TABLE] [--json] [--html FILE]   exit 1 when an anomaly is found
//! pg-partition plan [TABLE] [--json]            the maintenance steps and their SQL
//! pg-partition maintain [TABLE] [--dry-run] [--yes]
//! pg-partition reconcile [TABLE] [--repair] [--direction KIND=log|catalog|skip]...
//! pg-partition adopt TABLE (--period day|... [--time-zone ZONE] [--encoding E] | --step N | --list | --hash)
//! pg-partition attach|detach TABLE PARTITION
//! pg-partition move TABLE PARTITION --tablespace NAME
//! pg-partition config TABLE [--set KEY=VALUE]...
//! pg-partition unregister TABLE [--drop-detached] [--yes]
//! pg-partition migrate up|down [--steps N|--all] [--yes]|status   the crate's own tables
//! ```
//!
//! The database comes from `--database-url` or `DATABASE_URL`. Exit codes: 0 healthy or done; 1 anomalies
//! found (status, reconcile) or a maintenance step failed; 2 a usage, connection or other error, printed as
//! one line.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use sea_orm::{ConnectOptions, Database};
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{
    Anomaly, AnomalyKind, BlockedStep, Direction, KeepPartitions, PartitionState, Plan,
    QualifiedTable, ReconcileMode, Reconciliation, RepairOutcome, RepairPolicy, Report, Status,
    StepAction, StepOutcome, StepReport, TableReport, TableStatus,
};

use sea_orm_pg_partitioning::status_page::human_size;

#[derive(Parser)]
#[command(
    name = "pg-partition",
    version,
    about = "Inspect, maintain and repair PostgreSQL tables partitioned by sea-orm-pg-partitioning",
    after_help = "Exit codes: 0 healthy or done; 1 anomalies found or a step failed; 2 usage, connection or other error."
)]
struct Cli {
    /// PostgreSQL connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// The schema of TABLE (by default TABLE may be `schema.name`, else the current schema).
    #[arg(long, global = true)]
    schema: Option<String>,
    /// The schema of the crate's own tables (sopp_partition_config, sopp_partition_log), when they are not
    /// in the connection's search path: looked in after it (your tables are found as before); `migrate`
    /// creates them there.
    #[arg(
        long,
        env = "PG_PARTITION_CRATE_SCHEMA",
        global = true,
        value_name = "SCHEMA"
    )]
    crate_schema: Option<String>,
    /// Print JSON instead of text (status, plan, reconcile, maintain).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every managed table's partitions from the catalog, joined with the log, and every anomaly.
    Status {
        /// One table: also lists each partition.
        table: Option<String>,
        /// Also write the status as a self-contained HTML page (timelines of every table) to FILE; `-` writes
        /// it to standard output instead of the text.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
    /// The steps maintenance would run now, with their SQL; changes nothing.
    Plan {
        /// One table.
        table: Option<String>,
    },
    /// Runs maintenance: creates partitions ahead, detaches (or drops) expired ones.
    Maintain {
        /// One table.
        table: Option<String>,
        /// Show the plan, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask before steps that drop partitions.
        #[arg(long)]
        yes: bool,
    },
    /// Compares the catalog with the log; with --repair, repairs each anomaly.
    Reconcile {
        /// One table.
        table: Option<String>,
        /// Repair (by default only report).
        #[arg(long)]
        repair: bool,
        /// The direction for one kind of anomaly, e.g. `detached-by-hand=catalog` (log, catalog or skip).
        #[arg(long = "direction", value_name = "KIND=DIRECTION")]
        directions: Vec<String>,
    },
    /// Registers a table that already has partitions (by hand, pg_partman, ...) and logs them.
    #[command(group(clap::ArgGroup::new("kind").required(true).args(["period", "step", "list", "hash"])))]
    Adopt {
        /// The partitioned table.
        table: String,
        /// How the table is partitioned.
        #[command(flatten)]
        kind: AdoptKind,
    },
    /// Attaches a detached partition back.
    Attach {
        /// The managed table.
        table: String,
        /// The partition.
        partition: String,
    },
    /// Detaches a partition (its table and rows are kept).
    Detach {
        /// The managed table.
        table: String,
        /// The partition.
        partition: String,
    },
    /// Shows a table's configuration, or changes it with --set KEY=VALUE (validated as the library does).
    ///
    /// Keys: premake, retention (detach|drop|columnar), drop_after (e.g. 30d, 12h, 3600), creation_mode
    /// (direct|attach), concurrent_detach (true|false); for time ranges also period, interval (N|none),
    /// attach_tablespace, detach_tablespace (NAME|none), time_zone.
    Config {
        /// The managed table.
        table: String,
        /// A setting to change, e.g. `premake=7` (repeatable; applied together).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Stops managing a table: removes its configuration and log; its partitions stay (see --drop-detached).
    Unregister {
        /// The managed table.
        table: String,
        /// Also drop the detached partitions this crate created (attached ones always stay).
        #[arg(long)]
        drop_detached: bool,
        /// Do not ask before dropping.
        #[arg(long)]
        yes: bool,
    },
    /// The crate's own tables (sopp_partition_config, sopp_partition_log): create them, bring them up to
    /// date, roll them back, or show their migrations. Recorded in seaql_migrations beside yours.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Converts a plain table into a partitioned one while the application keeps using it (copy, catch
    /// up, swap under a short lock), then registers it; --resume finishes an interrupted one, --rollback
    /// undoes it before the swap.
    Convert(convert::ConvertArgs),
    /// Moves a partition and all its indexes to a tablespace.
    Move {
        /// The managed table.
        table: String,
        /// The partition.
        partition: String,
        /// The tablespace (`pg_default` for the default).
        #[arg(long)]
        tablespace: String,
    },
}

/// What `migrate` does.
#[derive(Subcommand)]
enum MigrateAction {
    /// Applies the crate's pending migrations (on a fresh database: creates its tables).
    Up,
    /// Rolls back the crate's newest applied migration (or --steps N, or --all: drops its tables and
    /// everything they record; the partitions themselves stay).
    Down {
        /// How many to roll back.
        #[arg(long, default_value_t = 1, conflicts_with = "all")]
        steps: usize,
        /// All of them.
        #[arg(long)]
        all: bool,
        /// Do not ask before dropping the crate's tables.
        #[arg(long)]
        yes: bool,
    },
    /// Each of the crate's migrations, applied or pending; exit 1 when one is pending.
    Status,
}

/// How a table to adopt is partitioned.
#[derive(clap::Args)]
struct AdoptKind {
    /// Time ranges: hour, day, week, month, quarter or year.
    #[arg(long)]
    period: Option<String>,
    /// Time ranges: the IANA time zone of the period boundaries (default UTC).
    #[arg(long, requires = "period")]
    time_zone: Option<String>,
    /// Time ranges: how the key encodes time, for a key that is not a timestamp or a date: epoch-s,
    /// epoch-ms, epoch-us, epoch-ns, uuidv7, ulid, snowflake, snowflake:discord, snowflake:sonyflake or
    /// snowflake:EPOCH_MS:UNIT_MS:SHIFT.
    #[arg(long, requires = "period")]
    encoding: Option<String>,
    /// Integer ranges: the width of one partition.
    #[arg(long)]
    step: Option<i64>,
    /// A list-partitioned table.
    #[arg(long)]
    list: bool,
    /// A hash-partitioned table.
    #[arg(long)]
    hash: bool,
}

/// What `attach`, `detach` and `move` do to their partition.
enum PartitionOp<'a> {
    Attach,
    Detach,
    Move(&'a str),
}

/// Set once the reader of standard output has gone (`pg-partition status | head -3`): the rest of the output
/// is dropped, and the command ends quietly with its own exit code.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output, or drops it once that is closed ([`STDOUT_CLOSED`]); `println!` would panic.
fn write_out(args: std::fmt::Arguments<'_>, newline: bool) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| {
        if newline {
            stdout.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if written.is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// `println!` that never panics (see [`write_out`]).
macro_rules! out {
    () => {
        write_out(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        write_out(format_args!($($arg)*), true)
    };
}

/// `print!` that never panics (see [`write_out`]).
macro_rules! out_raw {
    ($($arg:tt)*) => {
        write_out(format_args!($($arg)*), false)
    };
}

#[path = "pg-partition/convert.rs"]
mod convert;

/// A failure: its message, and the exit code.
struct Failure(String, u8);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(err: E) -> Self {
        Failure(err.to_string(), 2)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(Failure(message, code)) => {
            eprintln!("error: {}", one_line(&message));
            ExitCode::from(code)
        }
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    if let Command::Migrate { action } = &cli.command {
        let db = connect_db(&cli).await?;
        return migrate(&db, action).await;
    }
    let service = connect(&cli).await?;
    let table = |name: &str| qualified(cli.schema.as_deref(), name);
    match &cli.command {
        Command::Status { table: name, html } => {
            status(
                &service,
                name.as_deref().map(table),
                html.as_deref(),
                cli.json,
            )
            .await
        }
        Command::Plan { table: name } => {
            let plan = plan(&service, name.as_deref().map(&table)).await?;
            print_plan(&plan, cli.json);
            Ok(0)
        }
        Command::Maintain {
            table: name,
            dry_run,
            yes,
        } => {
            maintain_command(
                &service,
                name.as_deref().map(&table),
                *dry_run,
                *yes,
                cli.json,
            )
            .await
        }
        Command::Reconcile {
            table: name,
            repair,
            directions,
        } => {
            let name = name.as_deref().map(table);
            reconcile(&service, name, *repair, directions, cli.json).await
        }
        Command::Adopt { table: name, kind } => adopt(&service, table(name), kind).await,
        Command::Convert(args) => {
            convert::convert(&service, table(&args.table), args, cli.json).await
        }
        // Handled above, before the check that the crate's tables exist.
        Command::Migrate { action } => migrate(service.connection(), action).await,
        Command::Attach {
            table: name,
            partition,
        } => {
            let op = PartitionOp::Attach;
            one_partition(&service, (cli.schema.as_deref(), name), partition, op).await
        }
        Command::Detach {
            table: name,
            partition,
        } => {
            let op = PartitionOp::Detach;
            one_partition(&service, (cli.schema.as_deref(), name), partition, op).await
        }
        Command::Move {
            table: name,
            partition,
            tablespace,
        } => {
            let op = PartitionOp::Move(tablespace);
            one_partition(&service, (cli.schema.as_deref(), name), partition, op).await
        }
        Command::Config { table: name, sets } => config(&service, table(name), sets).await,
        Command::Unregister {
            table: name,
            drop_detached,
            yes,
        } => unregister(&service, table(name), *drop_detached, *yes).await,
    }
}

/// How long `pg-partition` waits for the server before it says it cannot connect.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The service over the database of `--database-url` or `DATABASE_URL`, after checking that the crate's
/// tables are there (every command reads them). No message ever shows the URL's password.
/// The database, connected: at most 5 s, and never a password in a message.
async fn connect_db(cli: &Cli) -> Result<sea_orm::DatabaseConnection, Failure> {
    let url = cli.database_url.clone().ok_or_else(|| {
        Failure(
            "no database: pass --database-url or set DATABASE_URL".to_owned(),
            2,
        )
    })?;
    let target = Target::of(&url);
    let tls = cfg!(any(
        feature = "runtime-tokio-rustls",
        feature = "runtime-tokio-native-tls"
    ));
    if !tls && target.wants_tls {
        return Err(Failure(
            format!(
                "the database URL asks for TLS ({}), but this pg-partition was built without it: install it with \
                 `cargo install sea-orm-pg-partitioning --features cli,runtime-tokio-rustls`",
                target.sslmode
            ),
            2,
        ));
    }
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .max_connections(4)
        .connect_timeout(CONNECT_TIMEOUT)
        .acquire_timeout(CONNECT_TIMEOUT);
    if let Some(schema) = &cli.crate_schema {
        let first = matches!(cli.command, Command::Migrate { .. });
        options.set_schema_search_path(search_path_with(schema, first)?);
    }
    let db = Database::connect(options).await.map_err(|err| {
        Failure(
            format!(
                "cannot connect to the database at {} (from --database-url or DATABASE_URL; waited at most {} s): {}",
                target.address,
                CONNECT_TIMEOUT.as_secs(),
                target.redact(&err.to_string())
            ),
            2,
        )
    })?;
    Ok(db)
}

/// A `search_path` with `schema` beside where PostgreSQL looks by default: after it, or `first` (where new
/// tables go); the name quoted by sea-query, so any name is exactly that schema.
fn search_path_with(schema: &str, first: bool) -> Result<String, Failure> {
    use sea_orm::sea_query::{Alias, IntoIden, QuotedBuilder};
    if schema.is_empty() || schema.contains('\0') || schema.len() > 63 {
        return Err(Failure(
            format!("--crate-schema {schema:?}: give a schema name of 1 to 63 bytes, without NUL"),
            2,
        ));
    }
    let mut quoted = String::new();
    sea_orm::sea_query::PostgresQueryBuilder
        .prepare_iden(&Alias::new(schema).into_iden(), &mut quoted);
    // A leading quote tells sea-orm to use the list as written.
    Ok(if first {
        format!("{quoted}, \"$user\", public")
    } else {
        format!("\"$user\", public, {quoted}")
    })
}

/// The service on the database, after checking the crate's tables are there.
async fn connect(cli: &Cli) -> Result<PartitionService, Failure> {
    let db = connect_db(cli).await?;
    let service = PartitionService::new(db);
    service.check_installed().await.map_err(db_error)?;
    Ok(service)
}

/// What the messages may say of a database URL: where it points, never its password.
struct Target {
    /// `host:port` (or what stands there).
    address: String,
    /// The password, to take out of any message that would repeat it.
    password: Option<String>,
    /// Whether `sslmode` asks for TLS (`require`, `verify-ca`, `verify-full`).
    wants_tls: bool,
    /// The `sslmode` given.
    sslmode: String,
}

impl Target {
    fn of(url: &str) -> Self {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let (authority, query) = match rest.split_once('?') {
            Some((before, query)) => (before, query),
            None => (rest, ""),
        };
        let authority = authority.split('/').next().unwrap_or_default();
        let (userinfo, address) = authority.rsplit_once('@').unwrap_or(("", authority));
        let password = userinfo
            .split_once(':')
            .map(|(_, p)| p.to_owned())
            .filter(|p| !p.is_empty());
        let sslmode = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("sslmode="))
            .map(|m| format!("sslmode={m}"))
            .unwrap_or_default();
        let wants_tls = ["require", "verify-ca", "verify-full"]
            .iter()
            .any(|m| sslmode == format!("sslmode={m}"));
        Self {
            address: if address.is_empty() {
                "the default host".to_owned()
            } else {
                address.to_owned()
            },
            password,
            wants_tls,
            sslmode,
        }
    }

    /// `text` with the password (if any) replaced by `***`.
    fn redact(&self, text: &str) -> String {
        match &self.password {
            Some(password) => text.replace(password.as_str(), "***"),
            None => text.to_owned(),
        }
    }
}

/// `status [TABLE] [--json] [--html FILE]`.
async fn status(
    service: &PartitionService,
    table: Option<QualifiedTable>,
    html: Option<&std::path::Path>,
    json: bool,
) -> Result<u8, Failure> {
    let one_table = table.is_some();
    let status = match table {
        Some(table) => Status {
            at: service.now(),
            tables: vec![service.status_of(table).await.map_err(db_error)?],
        },
        None => service.status().await.map_err(db_error)?,
    };
    let page_to_stdout = html == Some(std::path::Path::new("-"));
    if let Some(path) = html.filter(|_| !page_to_stdout) {
        std::fs::write(path, status.to_html())
            .map_err(|err| Failure(format!("cannot write --html {}: {err}", path.display()), 2))?;
    }
    if page_to_stdout {
        out_raw!("{}", status.to_html());
    } else if json {
        print_json(&status);
    } else {
        print_status(&status, one_table);
    }
    Ok(u8::from(!status.is_healthy()))
}

/// `reconcile [TABLE] [--repair] [--direction KIND=DIRECTION]...`.
async fn reconcile(
    service: &PartitionService,
    table: Option<QualifiedTable>,
    repair: bool,
    directions: &[String],
    json: bool,
) -> Result<u8, Failure> {
    let mode = if repair {
        ReconcileMode::Repair(policy(directions)?)
    } else {
        if !directions.is_empty() {
            return Err(Failure("--direction needs --repair".to_owned(), 2));
        }
        ReconcileMode::Report
    };
    let done = match table {
        Some(table) => service.reconcile_table(table, mode).await,
        None => service.reconcile(mode).await,
    }
    .map_err(db_error)?;
    print_reconciliation(&done, json);
    Ok(u8::from(!done.is_healthy()))
}

/// `migrate up|down|status`: the crate's own tables, through the library's `migrations`.
async fn migrate(db: &sea_orm::DatabaseConnection, action: &MigrateAction) -> Result<u8, Failure> {
    use sea_orm_pg_partitioning::migrations;
    let failed = |e: sea_orm::DbErr| Failure(format!("migrate: {}", one_line(&e.to_string())), 2);
    match action {
        MigrateAction::Up => {
            let done = migrations::up(db).await.map_err(failed)?;
            for name in &done {
                out!("applied {name}");
            }
            out!(
                "{} migration(s) applied; the crate's tables are up to date",
                done.len()
            );
            Ok(0)
        }
        MigrateAction::Down { steps, all, yes } => {
            let status = migrations::status(db).await.map_err(failed)?;
            let applied = status.iter().filter(|(_, a)| *a).count();
            let count = if *all {
                applied
            } else {
                Ord::min(*steps, applied)
            };
            let drops_tables = count > 0 && count == applied;
            if drops_tables && !*yes {
                confirm(&format!(
                    "Rolling back all {count} of the crate's migrations drops sopp_partition_config and \
                     sopp_partition_log with every configuration and log row (the partitions stay). Continue?"
                ))?;
            }
            let done = migrations::down(db, Some(count)).await.map_err(failed)?;
            for name in &done {
                out!("rolled back {name}");
            }
            out!("{} migration(s) rolled back", done.len());
            Ok(0)
        }
        MigrateAction::Status => {
            let status = migrations::status(db).await.map_err(failed)?;
            for (name, applied) in &status {
                out!("{:<8} {name}", if *applied { "applied" } else { "pending" });
            }
            Ok(u8::from(status.iter().any(|(_, applied)| !applied)))
        }
    }
}

/// `adopt TABLE (--period P [--time-zone Z] [--encoding E] | --step N | --list | --hash)`.
async fn adopt(
    service: &PartitionService,
    table: QualifiedTable,
    kind: &AdoptKind,
) -> Result<u8, Failure> {
    let AdoptKind {
        period,
        time_zone,
        encoding,
        step,
        list,
        hash,
    } = kind;
    let adoption = match (period, step) {
        _ if *list => service.list_table(table).adopt().await.map(|(_, a)| a),
        _ if *hash => service.hash_table(table).adopt().await.map(|(_, a)| a),
        (Some(period), _) => {
            let period = Period::from_str(period).map_err(|_| {
                Failure(
                    format!(
                        "unknown period {period:?}: use hour, day, week, month, quarter or year"
                    ),
                    2,
                )
            })?;
            let mut registration = service.time_range_table(table).period(period);
            if let Some(zone) = time_zone {
                registration = registration.time_zone_name(zone.clone());
            }
            if let Some(encoding) = encoding {
                let encoding = TimeEncoding::from_str(encoding)
                    .map_err(|e| Failure(format!("--encoding: {e}"), 2))?;
                registration = registration.encoding(encoding);
            }
            registration.adopt().await.map(|(_, a)| a)
        }
        (None, Some(step)) => service
            .id_range_table(table)
            .step(*step)
            .adopt()
            .await
            .map(|(_, a)| a),
        (None, None) => {
            return Err(Failure(
                "adopt needs --period, --step, --list or --hash".to_owned(),
                2,
            ));
        }
    }
    .map_err(db_error)?;
    for log in &adoption.adopted {
        out!("adopted {}", log.partition_name);
    }
    for misfit in &adoption.misfits {
        out!("left alone: {misfit}");
    }
    out!(
        "{} partition(s) adopted, {} left alone",
        adoption.adopted.len(),
        adoption.misfits.len()
    );
    Ok(u8::from(!adoption.misfits.is_empty()))
}

/// The settings `config --set` takes, parsed before anything changes.
#[derive(Default)]
struct ConfigChanges {
    premake: Option<u32>,
    retention: Option<RetentionAction>,
    drop_after: Option<Option<chrono::Duration>>,
    creation_mode: Option<CreationMode>,
    concurrent_detach: Option<bool>,
    period: Option<Period>,
    interval: Option<Option<u32>>,
    attach_tablespace: Option<Option<String>>,
    detach_tablespace: Option<Option<String>>,
    time_zone: Option<chrono_tz::Tz>,
}

impl ConfigChanges {
    fn parse(sets: &[String]) -> Result<Self, Failure> {
        let mut changes = Self::default();
        for set in sets {
            let Some((key, value)) = set.split_once('=') else {
                return Err(Failure(format!("--set {set:?}: expected KEY=VALUE"), 2));
            };
            let bad = |what: &str| Failure(format!("--set {key}={value}: {what}"), 2);
            let none_or = |v: &str| (v != "none").then(|| v.to_owned());
            match key {
                "premake" => {
                    changes.premake = Some(value.parse().map_err(|_| bad("not a whole number"))?)
                }
                "retention" => {
                    changes.retention = Some(match value {
                        "detach" => RetentionAction::Detach,
                        "drop" => RetentionAction::Drop,
                        "columnar" => RetentionAction::Columnar,
                        _ => return Err(bad("use detach, drop or columnar")),
                    })
                }
                "drop_after" => {
                    changes.drop_after = Some(match value {
                        "none" => None,
                        v => Some(duration(v).ok_or_else(|| {
                            bad("use a duration such as 30d, 12h, 90m or 3600 (seconds)")
                        })?),
                    })
                }
                "creation_mode" => {
                    changes.creation_mode = Some(match value {
                        "direct" => CreationMode::Direct,
                        "attach" => CreationMode::Attach,
                        _ => return Err(bad("use direct or attach")),
                    })
                }
                "concurrent_detach" => {
                    changes.concurrent_detach =
                        Some(value.parse().map_err(|_| bad("use true or false"))?)
                }
                "period" => {
                    changes.period = Some(
                        Period::from_str(value)
                            .map_err(|_| bad("use hour, day, week, month, quarter or year"))?,
                    )
                }
                "interval" => {
                    changes.interval = Some(match value {
                        "none" => None,
                        v => Some(
                            v.parse()
                                .map_err(|_| bad("a whole number of periods, or none"))?,
                        ),
                    })
                }
                "attach_tablespace" => changes.attach_tablespace = Some(none_or(value)),
                "detach_tablespace" => changes.detach_tablespace = Some(none_or(value)),
                "time_zone" => {
                    changes.time_zone = Some(value.parse().map_err(|_| {
                        bad("not an IANA time zone name such as Europe/Berlin or UTC")
                    })?)
                }
                _ => {
                    return Err(Failure(
                        format!(
                            "--set {key}: unknown setting; use premake, retention, drop_after, creation_mode, \
                             concurrent_detach, period, interval, attach_tablespace, detach_tablespace or time_zone"
                        ),
                        2,
                    ));
                }
            }
        }
        Ok(changes)
    }

    fn maintenance(&self) -> bool {
        self.premake.is_some()
            || self.retention.is_some()
            || self.drop_after.is_some()
            || self.creation_mode.is_some()
            || self.concurrent_detach.is_some()
    }

    fn time_range(&self) -> bool {
        self.period.is_some()
            || self.interval.is_some()
            || self.attach_tablespace.is_some()
            || self.detach_tablespace.is_some()
            || self.time_zone.is_some()
    }
}

/// `30d`, `12h`, `90m`, `45s` or plain seconds.
fn duration(text: &str) -> Option<chrono::Duration> {
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: i64 = number.parse().ok()?;
    match unit {
        'd' => chrono::Duration::try_days(n),
        'h' => chrono::Duration::try_hours(n),
        'm' => chrono::Duration::try_minutes(n),
        's' => chrono::Duration::try_seconds(n),
        _ => None,
    }
}

/// `config TABLE [--set KEY=VALUE]...`: the changes apply through the library (same validation), then the
/// configuration is printed.
async fn config(
    service: &PartitionService,
    table: QualifiedTable,
    sets: &[String],
) -> Result<u8, Failure> {
    let changes = ConfigChanges::parse(sets)?;
    if changes.time_range() {
        let events = service
            .time_range_of(table.clone())
            .await
            .map_err(db_error)?;
        events
            .update_config(|s| {
                s.period = changes.period.unwrap_or(s.period);
                s.interval = changes.interval.unwrap_or(s.interval);
                s.attach_tablespace = changes
                    .attach_tablespace
                    .clone()
                    .unwrap_or(s.attach_tablespace.clone());
                s.detach_tablespace = changes
                    .detach_tablespace
                    .clone()
                    .unwrap_or(s.detach_tablespace.clone());
                s.time_zone = changes.time_zone.unwrap_or(s.time_zone);
            })
            .await
            .map_err(db_error)?;
    }
    let handle = service.table_of(table).await.map_err(db_error)?;
    if changes.maintenance() {
        handle
            .update_maintenance(|m| {
                m.premake = changes.premake.unwrap_or(m.premake);
                m.retention = changes.retention.unwrap_or(m.retention);
                m.drop_after = changes.drop_after.unwrap_or(m.drop_after);
                m.creation_mode = changes.creation_mode.unwrap_or(m.creation_mode);
                m.concurrent_detach = changes.concurrent_detach.unwrap_or(m.concurrent_detach);
            })
            .await
            .map_err(db_error)?;
    }
    print_config(&handle).await
}

/// A table's configuration, a setting per line, with the names `--set` takes.
async fn print_config(handle: &TableHandle) -> Result<u8, Failure> {
    let c = handle.config().await.map_err(db_error)?;
    let m = handle.maintenance_settings().await.map_err(db_error)?;
    let or_none = |v: Option<String>| v.unwrap_or_else(|| "none".to_owned());
    out!("table              {}.{}", c.schema_name, c.table_name);
    out!("key_column         {}", c.key_column);
    if let Some(period) = c.period {
        out!("period             {period}");
        out!("time_zone          {}", c.time_zone);
    }
    if let Some(step) = c.step {
        out!("step               {step}");
    }
    out!(
        "interval           {}",
        or_none(c.interval.map(|i| i.to_string()))
    );
    out!("attach_tablespace  {}", or_none(c.attach_tablespace));
    out!("detach_tablespace  {}", or_none(c.detach_tablespace));
    out!("premake            {}", m.premake);
    out!(
        "retention          {}",
        match m.retention {
            RetentionAction::Drop => "drop",
            RetentionAction::Columnar => "columnar",
            RetentionAction::Detach => "detach",
        }
    );
    out!(
        "drop_after         {}",
        or_none(m.drop_after.map(|d| format!("{}s", d.num_seconds())))
    );
    out!(
        "creation_mode      {}",
        if m.creation_mode == CreationMode::Attach {
            "attach"
        } else {
            "direct"
        }
    );
    out!("concurrent_detach  {}", m.concurrent_detach);
    Ok(0)
}

/// `unregister TABLE [--drop-detached] [--yes]`.
async fn unregister(
    service: &PartitionService,
    table: QualifiedTable,
    drop_detached: bool,
    yes: bool,
) -> Result<u8, Failure> {
    let handle = service.table_of(table).await.map_err(db_error)?;
    let keep = if drop_detached {
        if !yes {
            confirm(
                "The detached partitions this crate created will be dropped with their rows. Continue?",
            )?;
        }
        KeepPartitions::Attached
    } else {
        KeepPartitions::All
    };
    let done = handle.unregister(keep).await.map_err(db_error)?;
    for name in &done.dropped {
        out!("dropped {name}");
    }
    out!(
        "unregistered {}: configuration and {} log row(s) removed; {} attached partition(s) kept, {} detached \
         kept, {} dropped",
        done.table,
        done.log_rows,
        done.attached_kept,
        done.detached_kept,
        done.dropped.len()
    );
    Ok(0)
}

/// `attach`, `detach` and `move`: one logged partition of one table.
async fn one_partition(
    service: &PartitionService,
    (schema, name): (Option<&str>, &str),
    partition: &str,
    op: PartitionOp<'_>,
) -> Result<u8, Failure> {
    let handle = service
        .table_of(qualified(schema, name))
        .await
        .map_err(db_error)?;
    let log = handle
        .all_partitions()
        .await
        .map_err(db_error)?
        .into_iter()
        .find(|l| l.partition_name == partition)
        .ok_or_else(|| {
            Failure(
                format!(
                    "{partition} is not a logged partition of {name}: see `pg-partition status {name}`"
                ),
                2,
            )
        })?;
    let done = match op {
        PartitionOp::Attach => match handle.attach(&[log], None).await.map_err(db_error)?.len() {
            0 => "was already attached".to_owned(),
            _ => "attached".to_owned(),
        },
        PartitionOp::Detach => match handle.detach(&[log]).await.map_err(db_error)?.len() {
            0 => "was already detached".to_owned(),
            _ => "detached".to_owned(),
        },
        PartitionOp::Move(tablespace) => {
            handle
                .set_tablespace(&log, tablespace)
                .await
                .map_err(db_error)?;
            format!("moved to tablespace {tablespace} with its indexes")
        }
    };
    out!("{partition} {done}");
    Ok(0)
}

/// `schema.name` or `name` (in `--schema` when given: then the name is taken as it is).
fn qualified(schema: Option<&str>, name: &str) -> QualifiedTable {
    match (schema, name.split_once('.')) {
        (Some(schema), _) => (schema, name).into(),
        (None, Some((schema, table))) => (schema, table).into(),
        (None, None) => name.into(),
    }
}

/// A failure of the library, exit 2; where the library's advice names its API, the advice names this
/// command's options instead.
fn db_error(err: Error) -> Failure {
    let message = match &err {
        Error::MissingTablespace { tablespace } => format!(
            "tablespace {tablespace:?} does not exist: create it with CREATE TABLESPACE, or name another one \
             (move --tablespace, config --set attach_tablespace=NAME|none)"
        ),
        Error::NotRegistered { table } => format!(
            "table {table:?} is not registered: adopt it (pg-partition adopt {table} --period P | --step N | \
             --list | --hash), or register it from your service"
        ),
        Error::NotInstalled { search_path } => format!(
            "the crate's tables (sopp_partition_config, sopp_partition_log, sopp_conversion) are not all in this \
             database's search path ({search_path}): create them with pg-partition migrate up, or name their schema with \
             --crate-schema SCHEMA (or PG_PARTITION_CRATE_SCHEMA)"
        ),
        Error::InvalidConfig { table, problem } => format!(
            "the configuration of table {table:?} is invalid: {}",
            config_fix(table, problem)
        ),
        Error::NotPartitioned { table, expected } => format!(
            "table {table:?} is not partitioned: create it with PARTITION BY {expected} (or convert it), then \
             adopt it"
        ),
        _ => err.to_string(),
    };
    Failure(message, 2)
}

/// A configuration problem with its fix in this command's words (`config TABLE --set ..`).
fn config_fix(table: &str, problem: &sea_orm_pg_partitioning::ConfigProblem) -> String {
    use sea_orm_pg_partitioning::ConfigProblem as P;
    let set = |setting: &str| format!("pg-partition config {table} --set {setting}");
    match problem {
        P::UnknownTimeZone(zone) => format!(
            "its time zone {zone:?} is not an IANA time zone name: set one with {}",
            set("time_zone=Europe/Berlin")
        ),
        P::NoPeriod => format!(
            "a time-range table needs a period: set one with {}",
            set("period=day")
        ),
        P::NonPositiveInterval(n) => format!(
            "its retention interval {n} is not a positive number: set one with {}, or {} to never detach",
            set("interval=N"),
            set("interval=none")
        ),
        P::DropWithoutGrace => format!(
            "retention drop needs drop_after, how long a partition stays detached before it is dropped: {}, or {}",
            set("drop_after=30d"),
            set("retention=detach")
        ),
        P::NegativeDropAfter => format!("drop_after is negative: {}", set("drop_after=30d")),
        other => other.to_string(),
    }
}

async fn plan(service: &PartitionService, table: Option<QualifiedTable>) -> Result<Plan, Failure> {
    match table {
        Some(table) => service.plan_for(table).await,
        None => service.plan().await,
    }
    .map_err(db_error)
}

fn policy(directions: &[String]) -> Result<RepairPolicy, Failure> {
    let mut policy = RepairPolicy::default();
    for spec in directions {
        let parsed = spec.split_once('=').and_then(|(kind, direction)| {
            Some((AnomalyKind::parse(kind)?, Direction::parse(direction)?))
        });
        let Some((kind, direction)) = parsed else {
            let kinds: Vec<&str> = AnomalyKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(Failure(
                format!(
                    "--direction {spec:?}: expected KIND=log|catalog|skip, KIND one of {}",
                    kinds.join(", ")
                ),
                2,
            ));
        };
        policy = policy.set(kind, direction);
    }
    Ok(policy)
}

/// `maintain [TABLE] [--dry-run] [--yes]`.
async fn maintain_command(
    service: &PartitionService,
    table: Option<QualifiedTable>,
    dry_run: bool,
    yes: bool,
    json: bool,
) -> Result<u8, Failure> {
    let plan = plan(service, table).await?;
    if dry_run || plan.is_empty() {
        print_plan(&plan, json);
        return Ok(0);
    }
    confirm_drops(&plan, yes)?;
    maintain(service, &plan, json).await
}

/// Asks before a plan that drops partitions, unless `--yes`.
fn confirm_drops(plan: &Plan, yes: bool) -> Result<(), Failure> {
    let drops = plan
        .steps
        .iter()
        .filter(|s| s.action == StepAction::Drop)
        .count();
    if drops == 0 || yes {
        return Ok(());
    }
    confirm(&format!(
        "{drops} partition(s) will be dropped with their rows. Continue?"
    ))
}

fn confirm(question: &str) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure(
            format!("{question} Not on a terminal: pass --yes to go ahead"),
            2,
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure("cancelled; nothing was changed".to_owned(), 2))
    }
}

/// Runs the plan table by table: a progress bar on a terminal, a line per step otherwise.
async fn maintain(service: &PartitionService, plan: &Plan, json: bool) -> Result<u8, Failure> {
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(plan.steps.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    let mut tally = Tally::default();
    for steps in plan.by_table() {
        let Some(first) = steps.first() else {
            continue;
        };
        if let Some(bar) = &bar {
            bar.set_message(first.table.clone());
        }
        let one = Plan {
            at: plan.at,
            steps: steps.to_vec(),
            unplannable: Vec::new(),
            blocked: Vec::new(),
        };
        let report = service.run_plan(&one).await;
        tally.record(&report, bar.as_ref(), json);
        tally.reports.push(report);
        if let Some(bar) = &bar {
            bar.inc(steps.len() as u64);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for (table, reason) in &plan.unplannable {
        eprintln!("not planned {table}: {}", one_line(reason));
    }
    for blocked in &plan.blocked {
        eprintln!("not planned {blocked}");
    }
    let Tally {
        ran,
        skipped,
        failed,
        reports,
    } = tally;
    let not_run = plan.steps.len().saturating_sub(ran + skipped);
    if json {
        print_json(&Maintained {
            done: ran,
            skipped,
            not_run,
            failed_tables: failed,
            tables: reports.iter().flat_map(|r| &r.tables).collect(),
            unplannable: plan
                .unplannable
                .iter()
                .map(|(table, reason)| NotPlanned { table, reason })
                .collect(),
            blocked: &plan.blocked,
        });
    } else {
        out!(
            "{ran} step(s) done, {skipped} skipped, {not_run} not run; {failed} table(s) failed, {} create(s) blocked",
            plan.blocked.len()
        );
    }
    Ok(u8::from(
        failed > 0 || !plan.unplannable.is_empty() || !plan.blocked.is_empty(),
    ))
}

/// What `maintain` did so far: steps done and skipped, tables failed, and the reports.
#[derive(Default)]
struct Tally {
    ran: usize,
    skipped: usize,
    failed: usize,
    reports: Vec<Report>,
}

/// `maintain --json`: the counts, then each table's report as the library serializes it.
#[derive(serde::Serialize)]
struct Maintained<'a> {
    done: usize,
    skipped: usize,
    not_run: usize,
    failed_tables: usize,
    tables: Vec<&'a TableReport>,
    unplannable: Vec<NotPlanned<'a>>,
    blocked: &'a [BlockedStep],
}

/// A table the plan could not plan, and why.
#[derive(serde::Serialize)]
struct NotPlanned<'a> {
    table: &'a str,
    reason: &'a str,
}

impl Tally {
    /// Counts a table's report and prints a line per step (above the progress bar on a terminal).
    fn record(&mut self, report: &Report, bar: Option<&indicatif::ProgressBar>, json: bool) {
        for table in &report.tables {
            for step in &table.steps {
                match step.outcome {
                    StepOutcome::Done { .. } => self.ran += 1,
                    StepOutcome::Skipped(_) => self.skipped += 1,
                }
                let line = step_line(step);
                match bar {
                    Some(bar) => bar.println(line),
                    None if !json => out!("{line}"),
                    None => {}
                }
            }
            if let Some(err) = &table.error {
                self.failed += 1;
                let line = format!("FAILED {}: {}", table.table, one_line(&err.to_string()));
                match bar {
                    Some(bar) => bar.println(&line),
                    None => eprintln!("{line}"),
                }
            }
        }
    }
}

fn step_line(step: &StepReport) -> String {
    let what = match &step.outcome {
        StepOutcome::Done {
            moved_rows: Some(n),
        } if *n > 0 => format!("done, {n} row(s) moved out of DEFAULT"),
        StepOutcome::Done { .. } => "done".to_owned(),
        StepOutcome::Skipped(why) => format!("skipped ({why})"),
    };
    format!(
        "{:<13} {} {} {}: {what}",
        step.step.action.as_str(),
        step.step.table,
        step.step.partition,
        step.step.bounds
    )
}

fn print_plan(plan: &Plan, json: bool) {
    if json {
        print_json(plan);
        return;
    }
    if plan.is_empty() {
        out!("nothing to do");
    }
    for step in &plan.steps {
        out!(
            "{:<13} {} {} {}  ({}; takes {})",
            step.action.as_str(),
            step.table,
            step.partition,
            step.bounds,
            step.reason,
            step.lock
        );
        for sql in step.recipe.sql() {
            out!("    {sql};");
        }
    }
    for (table, reason) in &plan.unplannable {
        out!("not planned {table}: {}", one_line(reason));
    }
    for blocked in &plan.blocked {
        out!("not planned {blocked}");
    }
}

fn print_status(status: &Status, partitions: bool) {
    print_tables(status);
    if partitions {
        for t in &status.tables {
            out!();
            print_partitions(t);
        }
    }
    let anomalies: Vec<(&str, &Anomaly)> = status.anomalies().collect();
    if !anomalies.is_empty() {
        out!("\nanomalies:");
        let width = anomalies
            .iter()
            .map(|(t, _)| t.chars().count())
            .max()
            .unwrap_or(0);
        for (table, anomaly) in anomalies {
            out!(
                "  {table:<width$}  {:<19} {anomaly}",
                anomaly.kind().as_str()
            );
        }
    }
}

/// The summary: one line per table.
fn print_tables(status: &Status) {
    let rows: Vec<[String; 6]> = status
        .tables
        .iter()
        .map(|t| {
            let attached = t
                .partitions
                .iter()
                .filter(|p| p.state() == PartitionState::Attached)
                .count();
            let detached = t
                .partitions
                .iter()
                .filter(|p| p.state() == PartitionState::Detached)
                .count();
            [
                t.table.clone(),
                t.partitioning(),
                format!("{attached} attached, {detached} detached"),
                t.horizon
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "-".to_owned()),
                match t.default_has_rows {
                    None => "-".to_owned(),
                    Some(false) => "empty".to_owned(),
                    Some(true) => "HAS ROWS".to_owned(),
                },
                match t.anomalies.len() {
                    0 => "ok".to_owned(),
                    1 => "1 anomaly".to_owned(),
                    n => format!("{n} anomalies"),
                },
            ]
        })
        .collect();
    print_table(
        &[
            "TABLE",
            "PARTITIONING",
            "PARTITIONS",
            "AHEAD UNTIL",
            "DEFAULT",
            "STATUS",
        ],
        &rows,
    );
}

/// One table's partitions, a line each.
fn print_partitions(t: &TableStatus) {
    let rows: Vec<[String; 6]> = t
        .partitions
        .iter()
        .map(|p| {
            let cat = p.catalog.as_ref();
            let mut bound = p.bound().map(|b| b.to_string()).unwrap_or_default();
            // A key that encodes time: the values behind the instants too.
            if t.config.key_encoding.is_some()
                && let Some(key) = cat
                    .and_then(|c| c.key_bound.as_deref())
                    .and_then(|k| k.strip_prefix("FOR VALUES "))
            {
                bound = format!("{bound} = {key}");
            }
            [
                p.name.clone(),
                bound,
                format!(
                    "{}{}",
                    p.state(),
                    if p.log.is_none() { ", unlogged" } else { "" }
                ),
                cat.map(|c| {
                    let moved = c
                        .indexes
                        .iter()
                        .filter(|i| i.tablespace != c.tablespace)
                        .count();
                    if moved == 0 {
                        c.tablespace.clone()
                    } else {
                        format!("{} ({moved} index(es) elsewhere)", c.tablespace)
                    }
                })
                .unwrap_or_else(|| "-".to_owned()),
                cat.and_then(|c| c.estimated_rows)
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".to_owned()),
                cat.map(|c| human_size(c.size_bytes))
                    .unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    print_table(
        &[
            "PARTITION",
            "BOUND",
            "STATE",
            "TABLESPACE",
            "ROWS (EST.)",
            "SIZE",
        ],
        &rows,
    );
}

fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = Ord::max(*w, cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Prints `value` as indented JSON: the library's own `serde::Serialize` shapes (see
/// `sea_orm_pg_partitioning::model::serialize`).
fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => out!("{text}"),
        Err(err) => eprintln!("cannot write JSON: {err}"),
    }
}

fn print_reconciliation(done: &Reconciliation, json: bool) {
    if json {
        print_json(done);
        return;
    }
    let width = done
        .before
        .anomalies()
        .map(|(t, _)| t.chars().count())
        .chain(done.repairs.iter().map(|r| r.table.chars().count()))
        .max()
        .unwrap_or(0);
    if done.repairs.is_empty() {
        for (table, anomaly) in done.before.anomalies() {
            out!("{table:<width$}  {:<19} {anomaly}", anomaly.kind().as_str());
        }
    }
    for r in &done.repairs {
        let outcome = match &r.outcome {
            RepairOutcome::Repaired(what) => format!("repaired ({}): {what}", r.direction),
            RepairOutcome::Skipped(why) => format!("left: {why}"),
            RepairOutcome::Failed(err) => format!("FAILED: {}", one_line(&err.to_string())),
        };
        out!(
            "{:<width$}  {:<19} {}\n    {outcome}",
            r.table,
            r.anomaly.kind().as_str(),
            r.anomaly
        );
    }
    let remaining = done.after.anomalies().count();
    match remaining {
        0 => out!("healthy"),
        1 => out!("1 anomaly remains"),
        n => out!("{n} anomalies remain"),
    }
}
