//! The crate's one error type.

use sea_orm::DbErr;

/// Everything that can go wrong in this crate.
///
/// Each message says what was wrong and how to fix it. Errors found while building a statement are
/// reported before any SQL reaches the server; [`Error::Db`] carries what the server said.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A statement could not be built: nothing was sent to the server.
    #[error(transparent)]
    Statement(#[from] StatementError),

    /// The table to register does not exist.
    #[error(
        "table {table:?} does not exist: create it (e.g. with create_partitioned_table in a migration) before \
         registering it"
    )]
    UnknownTable {
        /// The table, `schema.name`.
        table: String,
    },

    /// The table exists but is not partitioned.
    #[error(
        "table {table:?} is not partitioned: create it with PARTITION BY {expected} (e.g. with partitioned_by) \
         before registering it"
    )]
    NotPartitioned {
        /// The table, `schema.name`.
        table: String,
        /// The strategy the registration needs (`RANGE`, `LIST`, `HASH`).
        expected: &'static str,
    },

    /// The table is partitioned with another strategy or key than the registration asks for.
    #[error("table {table:?} is partitioned by {found}, but {expected} is needed: {fix}")]
    WrongPartitionKey {
        /// The table, `schema.name`.
        table: String,
        /// What the registration needs, e.g. `RANGE on column "created_at"`.
        expected: String,
        /// The table's key, from `pg_get_partkeydef`.
        found: String,
        /// How to fix it.
        fix: &'static str,
    },

    /// The partition key column has a type the registration cannot partition by.
    #[error(
        "partition key column {column:?} of table {table:?} has type {data_type}, but this kind of partitioning \
         needs {needed}: change the column's type, or register the table as another kind"
    )]
    UnsupportedKeyType {
        /// The table, `schema.name`.
        table: String,
        /// The key column.
        column: String,
        /// Its type.
        data_type: String,
        /// The types this kind of partitioning accepts.
        needed: &'static str,
    },

    /// A configured tablespace does not exist.
    #[error(
        "tablespace {tablespace:?} does not exist: create it with CREATE TABLESPACE, or configure another one \
         (None keeps partitions where they are)"
    )]
    MissingTablespace {
        /// The tablespace.
        tablespace: String,
    },

    /// An unknown time zone name.
    #[error("unknown time zone {name:?}: use an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    InvalidTimeZone {
        /// The name as given.
        name: String,
    },

    /// A retention interval of zero periods.
    #[error(
        "the retention interval is 0 periods, which would detach every partition at once: give at least 1, or \
         None to never detach"
    )]
    ZeroInterval,

    /// A setting outside the range the service accepts.
    #[error("{setting} = {value} is out of range: give a value from {min} to {max} ({why})")]
    OutOfRange {
        /// The setting, as its setter is named (`premake`, `interval`, `modulus`, ...).
        setting: &'static str,
        /// The value given.
        value: i64,
        /// The smallest value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
        /// Why the range is what it is.
        why: &'static str,
    },

    /// A log row whose bound columns do not describe a bound of its kind (edited by hand?).
    #[error(
        "the log row of partition {partition:?} lacks its {missing}: repair it with reconcile (log-follows-catalog), \
         or delete the row"
    )]
    InvalidLogRow {
        /// The partition.
        partition: String,
        /// What the row lacks.
        missing: &'static str,
    },

    /// A time-range table's key encoding that cannot work (it does not fit the key column, a period, or an
    /// instant), found before any SQL runs.
    #[error("table {table:?}: {problem}")]
    KeyEncoding {
        /// The table, `schema.name`.
        table: String,
        /// What is wrong, with its fix.
        #[source]
        problem: EncodingError,
    },

    /// A table's configuration (as given, or as stored) that cannot be used as it is.
    #[error("the configuration of table {table:?} is invalid: {problem}")]
    InvalidConfig {
        /// The table, `schema.name`.
        table: String,
        /// What is wrong, with its fix.
        problem: ConfigProblem,
    },

    /// What was asked does not apply to this kind of table.
    #[error("table {table:?}: {what} does not apply to a {kind} table: {fix}")]
    NotForThisKind {
        /// The table, `schema.name`.
        table: String,
        /// What was asked.
        what: &'static str,
        /// The table's kind (`list`, `hash`, ...).
        kind: String,
        /// What to do instead.
        fix: &'static str,
    },

    /// A safety check of the crate failed and the change was rolled back; nothing changed.
    #[error(
        "table {table:?}: {check} failed, so the change was rolled back and nothing changed: {detail}"
    )]
    CheckFailed {
        /// The table, `schema.name`.
        table: String,
        /// The check, e.g. `moving rows out of DEFAULT`.
        check: &'static str,
        /// What was found.
        detail: String,
    },

    /// A registration (or adoption) of a table already registered as another kind.
    #[error(
        "table {table:?} is registered as {registered}, not as a {asked} table: open it with the handle of its \
         kind (or table_of), or remove its configuration first to register it anew"
    )]
    RegisteredAsAnotherKind {
        /// The table, `schema.name`.
        table: String,
        /// How it is registered, e.g. `range by month (UTC)`.
        registered: String,
        /// The kind asked for.
        asked: &'static str,
    },

    /// The table is not registered with the service.
    #[error(
        "table {table:?} is not registered: register it first (e.g. service.time_range(..).register())"
    )]
    NotRegistered {
        /// The table, `schema.name`.
        table: String,
    },

    /// A partition name is taken by a table the log does not know.
    #[error(
        "a table named {partition:?} already exists in schema {schema:?} but is not recorded as a partition of \
         {table:?}: drop or rename that table, then create the partition again"
    )]
    PartitionNameTaken {
        /// Schema of the partition.
        schema: String,
        /// The partition name.
        partition: String,
        /// The parent table.
        table: String,
    },

    /// A new or re-attached partition's bound overlaps a partition that exists (SQLSTATE 42P17).
    #[error(
        "partition {partition:?} of {table:?} overlaps an existing partition ({source}): detach or drop the \
         overlapping partition, then try again"
    )]
    Overlap {
        /// The parent table.
        table: String,
        /// The partition that was to be created or attached.
        partition: String,
        /// What PostgreSQL said.
        source: Box<DbErr>,
    },

    /// A partition given to an operation belongs to another table.
    #[error(
        "partition {partition:?} is not recorded for table {table:?}: pass partitions of this table only"
    )]
    ForeignPartition {
        /// The partition.
        partition: String,
        /// The table the operation was called on.
        table: String,
    },

    /// A partition given to an operation has no log row any more (it was deleted, or never recorded).
    #[error(
        "partition {partition:?} of {table:?} is not in the log (deleted, or never recorded): read the table's \
         partitions again (all_partitions) and pass one of those"
    )]
    UnknownPartition {
        /// The partition.
        partition: String,
        /// The table the operation was called on.
        table: String,
    },

    /// `DETACH .. CONCURRENTLY` refused because the table has a DEFAULT partition (SQLSTATE 55000).
    #[error(
        "PostgreSQL cannot detach partition {partition:?} of {table:?} concurrently while the table has a DEFAULT \
         partition: detach it without CONCURRENTLY (a short ACCESS EXCLUSIVE lock), or detach the DEFAULT \
         partition first"
    )]
    ConcurrentDetachWithDefault {
        /// The parent table.
        table: String,
        /// The partition.
        partition: String,
    },

    /// `DETACH .. CONCURRENTLY` inside a transaction block (SQLSTATE 25001).
    #[error(
        "DETACH PARTITION {partition:?} CONCURRENTLY cannot run inside a transaction block: run it on its own \
         (in a sea-orm-migration migration, return Some(false) from use_transaction)"
    )]
    ConcurrentDetachInTransaction {
        /// The partition.
        partition: String,
    },

    /// Attaching a partition failed because some of its rows lie outside the bound (SQLSTATE 23514).
    #[error(
        "partition {partition:?} cannot be attached to {table:?} {bound}: some of its rows lie outside that bound, \
         so nothing was changed; move those rows to where they belong (or delete them), then attach it again"
    )]
    RowsOutsideBound {
        /// The parent table.
        table: String,
        /// The partition.
        partition: String,
        /// The bound it was to be attached with, as SQL (`FOR VALUES FROM (..) TO (..)`).
        bound: String,
        /// What PostgreSQL said.
        #[source]
        source: Box<DbErr>,
    },

    /// The server is older than PostgreSQL 14.
    #[error(
        "PostgreSQL {version} is not supported: the crate needs 14 or later (DETACH .. CONCURRENTLY and its \
         pending state); it is tested on 14 to 18"
    )]
    UnsupportedServer {
        /// The server's `server_version`.
        version: String,
    },

    /// The crate's own tables are not in the database (its migrations have not run).
    #[error(
        "the crate's tables (sopp_partition_config, sopp_partition_log, sopp_conversion) are not all in this \
         database's search path ({search_path}): run their migrations first (migrations::up, your Migrator with \
         sea-orm-pg-partitioning-migration, or pg-partition migrate up)"
    )]
    NotInstalled {
        /// The connection's `search_path`, where they were looked for.
        search_path: String,
    },

    /// `DETACH .. CONCURRENTLY` runs outside any transaction on a connection of its own, which only a
    /// PostgreSQL connection pool can give.
    #[error(
        "table {table:?} is set to detach concurrently, which needs a connection of its own from a PostgreSQL \
         pool: run maintenance over a sea-orm DatabaseConnection to PostgreSQL, or set concurrent_detach to false"
    )]
    ConcurrentDetachNeedsPool {
        /// The table, `schema.name`.
        table: String,
    },

    /// A hook failed; the change it was called for was rolled back.
    #[error(
        "the {event} hook for partition {partition:?} failed, so the change was rolled back: {source}"
    )]
    Hook {
        /// `created`, `attached` or `detached`.
        event: &'static str,
        /// The partition.
        partition: String,
        /// The hook's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The maintenance steps a repair ran failed (and were rolled back).
    #[error(
        "the maintenance steps run to repair table {table:?} failed and were rolled back: {source}; see the table's status"
    )]
    RepairFailed {
        /// The table.
        table: String,
        /// What maintenance reported.
        source: Box<Error>,
    },

    /// The database returned an error.
    #[error(transparent)]
    Db(#[from] DbErr),

    /// The table cannot be converted as asked: every problem, each with its fix. Nothing was changed.
    #[error("table {table:?} cannot be converted: {}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    CannotConvert {
        /// The table, `schema.name`.
        table: String,
        /// What stops it.
        problems: Vec<ConversionProblem>,
    },

    /// A conversion of the table is already under way (perhaps interrupted).
    #[error(
        "a conversion of {table:?} is under way ({phase}): resume it (resume_conversion, `pg-partition convert \
         TABLE --resume`), or roll it back (rollback_conversion, `--rollback`)"
    )]
    ConversionUnderWay {
        /// The table, `schema.name`.
        table: String,
        /// Where it is.
        phase: String,
    },

    /// No conversion of the table to resume or roll back.
    #[error(
        "no conversion of {table:?} is under way: start one (service.convert(..).run(), `pg-partition convert TABLE ..`)"
    )]
    NoConversion {
        /// The table, `schema.name`.
        table: String,
    },

    /// Something Citus does not allow on a distributed table, refused before any SQL.
    #[error("{table:?} is a distributed (Citus) table: {what} is not possible there. {why}")]
    UnsupportedOnCitus {
        /// The table, `schema.name`.
        table: String,
        /// What was asked.
        what: &'static str,
        /// Why not, and what to do instead.
        why: &'static str,
    },

    /// The service (or `pg-partition`) is connected to a Citus worker.
    #[error(
        "this database is a Citus worker: partitions of distributed tables are created, detached and recorded on \
         the coordinator; point the service (or --database-url) at the coordinator"
    )]
    CitusWorker,

    /// A partition to detach still has rows that other rows reference through a foreign key (PostgreSQL's
    /// message, inside, names the constraint and a key); nothing was changed.
    #[error(
        "partition {partition:?} of {table:?} cannot be detached: rows of another table still reference its rows \
         ({source}); delete or move them (or set them to NULL), then detach it again"
    )]
    StillReferenced {
        /// The table, `schema.name`.
        table: String,
        /// The partition.
        partition: String,
        /// The database's error.
        source: Box<DbErr>,
    },

    /// Other sessions kept a table locked past `lock_timeout` on every try: nothing was changed.
    #[error(
        "table {table:?} stayed locked by other sessions past lock_timeout ({timeout_ms} ms) on each of {attempts} \
         tries, so {what} gave up and changed nothing: find the sessions in pg_locks and pg_stat_activity, or \
         raise MaintenanceOptions::lock_timeout or retries, and run it again (a conversion: resume it)"
    )]
    TableBusy {
        /// The table, `schema.name`.
        table: String,
        /// What waited: `the conversion's prepare`, `the swap`, ...
        what: &'static str,
        /// The `lock_timeout` of each try.
        timeout_ms: u64,
        /// How many tries.
        attempts: u32,
    },

    /// A rollback asked for after the swap: the partitioned table already has the table's name and the
    /// application's writes.
    #[error(
        "the conversion of {table:?} is past its point of no return (the partitioned table took its name and its \
         writes): it can only be finished (resume it)"
    )]
    PastPointOfNoReturn {
        /// The table, `schema.name`.
        table: String,
    },
}

impl Error {
    /// The SQLSTATE of the database error inside, if any (e.g. [`sqlstate::CHECK_VIOLATION`] when rows fall
    /// outside an attached partition's bound).
    pub fn sqlstate(&self) -> Option<String> {
        match self {
            Error::Db(db) => sqlstate(db),
            Error::RowsOutsideBound { source, .. } | Error::StillReferenced { source, .. } => {
                sqlstate(source)
            }
            _ => None,
        }
    }

    /// A stable kebab-case name of the kind of error (`out-of-range`, `not-registered`, `database`, ...), for
    /// programs and scripts that classify errors: it does not change when a message is reworded.
    ///
    /// ```
    /// use sea_orm_pg_partitioning::Error;
    ///
    /// assert_eq!(Error::ZeroInterval.code(), "zero-interval");
    /// assert_eq!(Error::NotRegistered { table: "public.event".into() }.code(), "not-registered");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownTable { .. } => "unknown-table",
            Error::NotPartitioned { .. } => "not-partitioned",
            Error::WrongPartitionKey { .. } => "wrong-partition-key",
            Error::UnsupportedKeyType { .. } => "unsupported-key-type",
            Error::MissingTablespace { .. } => "missing-tablespace",
            Error::InvalidTimeZone { .. } => "invalid-time-zone",
            Error::ZeroInterval => "zero-interval",
            Error::OutOfRange { .. } => "out-of-range",
            Error::InvalidLogRow { .. } => "invalid-log-row",
            Error::InvalidConfig { .. } => "invalid-config",
            Error::KeyEncoding { .. } => "key-encoding",
            Error::NotForThisKind { .. } => "not-for-this-kind",
            Error::ConcurrentDetachNeedsPool { .. } => "concurrent-detach-needs-pool",
            Error::CheckFailed { .. } => "check-failed",
            Error::RegisteredAsAnotherKind { .. } => "registered-as-another-kind",
            Error::NotRegistered { .. } => "not-registered",
            Error::PartitionNameTaken { .. } => "partition-name-taken",
            Error::Overlap { .. } => "overlap",
            Error::ForeignPartition { .. } => "foreign-partition",
            Error::UnknownPartition { .. } => "unknown-partition",
            Error::ConcurrentDetachWithDefault { .. } => "concurrent-detach-with-default",
            Error::ConcurrentDetachInTransaction { .. } => "concurrent-detach-in-transaction",
            Error::RowsOutsideBound { .. } => "rows-outside-bound",
            Error::NotInstalled { .. } => "not-installed",
            Error::UnsupportedServer { .. } => "unsupported-server",
            Error::Hook { .. } => "hook",
            Error::RepairFailed { .. } => "repair-failed",
            Error::Statement(err) => err.code(),
            Error::Db(_) => "database",
            Error::CannotConvert { .. } => "cannot-convert",
            Error::ConversionUnderWay { .. } => "conversion-under-way",
            Error::NoConversion { .. } => "no-conversion",
            Error::PastPointOfNoReturn { .. } => "past-point-of-no-return",
            Error::TableBusy { .. } => "table-busy",
            Error::StillReferenced { .. } => "still-referenced",
            Error::UnsupportedOnCitus { .. } => "unsupported-on-citus",
            Error::CitusWorker => "citus-worker",
        }
    }
}

/// The SQLSTATE codes the crate classifies database failures by (PostgreSQL manual, appendix A), to compare
/// with [`Error::sqlstate`] and [`sqlstate()`](fn@sqlstate).
///
/// ```
/// use sea_orm_pg_partitioning::sqlstate;
///
/// assert_eq!(sqlstate::CHECK_VIOLATION, "23514");
/// ```
pub mod sqlstate {
    /// `feature_not_supported`: e.g. a unique constraint without the partition key.
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    /// `foreign_key_violation`: e.g. detaching a partition whose rows other rows still reference.
    pub const FOREIGN_KEY_VIOLATION: &str = "23503";
    /// `check_violation`: rows outside the bound of a partition being attached.
    pub const CHECK_VIOLATION: &str = "23514";
    /// `active_sql_transaction`: `DETACH .. CONCURRENTLY` inside a transaction block.
    pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
    /// `undefined_table`.
    pub const UNDEFINED_TABLE: &str = "42P01";
    /// `undefined_object`: e.g. a tablespace that does not exist.
    pub const UNDEFINED_OBJECT: &str = "42704";
    /// `duplicate_table`: a partition name already taken.
    pub const DUPLICATE_TABLE: &str = "42P07";
    /// `invalid_object_definition`: a partition bound overlapping another partition.
    pub const INVALID_OBJECT_DEFINITION: &str = "42P17";
    /// `object_not_in_prerequisite_state`: `DETACH .. CONCURRENTLY` while a DEFAULT partition exists.
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: &str = "55000";
    /// `lock_not_available`: `lock_timeout` expired.
    pub const LOCK_NOT_AVAILABLE: &str = "55P03";
    /// `query_canceled`: `statement_timeout` expired.
    pub const QUERY_CANCELED: &str = "57014";
}

/// The SQLSTATE of a database error (e.g. `"42P07"`), for classifying failures by code rather than by
/// message text.
///
/// ```
/// use sea_orm::DbErr;
/// assert_eq!(sea_orm_pg_partitioning::sqlstate(&DbErr::Custom("not from the server".into())), None);
/// ```
pub fn sqlstate(err: &DbErr) -> Option<String> {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned()),
        _ => None,
    }
}

/// The server's message of a database error (without sqlx's wrapping), else the error's text.
pub(crate) fn db_message(err: &DbErr) -> String {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .map(|d| d.message().to_owned())
            .unwrap_or_else(|| err.to_string()),
        _ => err.to_string(),
    }
}

/// What is wrong with a table's configuration, each with the fix that fits it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The stored time zone is not an IANA name.
    #[error(
        "its time zone {0:?} is not an IANA time zone name: set one such as \"Europe/Berlin\" (update_config, or \
         the time_zone column of sopp_partition_config)"
    )]
    UnknownTimeZone(String),
    /// A time-range table without a period.
    #[error("a time-range table needs a period: set one (update_config, or the period column)")]
    NoPeriod,
    /// An integer-range table without a positive step.
    #[error(
        "an integer-range table needs a positive step: set the step column to the width of one partition"
    )]
    NoStep,
    /// A stored retention interval below 1.
    #[error(
        "its retention interval {0} is not a positive number: set at least 1, or none to never detach"
    )]
    NonPositiveInterval(i32),
    /// A handle of one kind opened on a table of another.
    #[error(
        "it is partitioned by {found}, not {expected}: open it with the handle of its kind (table_of works for any)"
    )]
    WrongKind {
        /// The kind the handle needs.
        expected: &'static str,
        /// The table's strategy.
        found: String,
    },
    /// Retention `Drop` without the grace period.
    #[error(
        "retention Drop needs drop_after, the time a partition stays detached before it is dropped: set \
         drop_after in update_maintenance, or keep RetentionAction::Detach"
    )]
    DropWithoutGrace,
    /// A negative grace period.
    #[error("drop_after is negative: give a duration of zero or more")]
    NegativeDropAfter,
    /// A `create_partition` horizon past a century.
    #[error("a premake horizon of {0} days is more than a century: give at most 36500 days")]
    HorizonTooFar(i64),
    /// The next integer partition would not fit a `bigint`.
    #[error(
        "the next partition's bounds overflow a bigint: the key has reached the end of its range"
    )]
    BoundsOverflow,
    /// A name in the declared partition properties that PostgreSQL would not keep as given.
    #[error(
        "the {what} name {name:?} cannot be used: give a non-empty name of at most 63 bytes, without NUL (and \
         without a double quote for an index), once per table"
    )]
    BadName {
        /// What it names.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A grant without privileges.
    #[error("the grant to {0:?} names no privilege: give at least one, e.g. [\"SELECT\"]")]
    NoPrivileges(String),
    /// A privilege that tables do not have.
    #[error(
        "{0:?} is not a privilege on tables: use SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, \
         MAINTAIN (PostgreSQL 17+) or ALL"
    )]
    PrivilegeNotForTables(String),
    /// A role that does not exist.
    #[error("the role {0:?} does not exist: create it first (CREATE ROLE), or name another")]
    UnknownRole(String),
    /// A storage option PostgreSQL refuses.
    #[error("the storage option {option} is refused: {reason}")]
    InvalidStorageOption {
        /// The option, `name=value`.
        option: String,
        /// Why.
        reason: String,
    },
    /// A per-partition unique index without columns.
    #[error("the unique index {0:?} names no column: give at least one")]
    NoColumns(String),
    /// A per-partition unique index on a column the table does not have.
    #[error(
        "the unique index {index:?} names the column {column:?}, which the table does not have"
    )]
    UnknownColumn {
        /// The index.
        index: String,
        /// The column.
        column: String,
    },
    /// A replica identity index the parent does not have, or that cannot be one.
    #[error(
        "the replica identity index {index:?} {why}: name a unique, non-partial index of the partitioned table"
    )]
    BadIdentityIndex {
        /// The index.
        index: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A property PostgreSQL refused when tried on a scratch table.
    #[error("{property}: PostgreSQL refuses it ({reason})")]
    PropertyRefused {
        /// The property, in words.
        property: String,
        /// PostgreSQL's message.
        reason: String,
    },
    /// Retention `Columnar` where partitions cannot be converted.
    #[error("retention columnar is not possible here: {0}")]
    ColumnarUnavailable(&'static str),
    /// Tables that cannot be retired together.
    #[error("it cannot be retired together with {other}: {why}")]
    GroupNotAlike {
        /// The group's first table.
        other: String,
        /// Why.
        why: String,
    },
    /// A retirement group of fewer than two tables, or an empty group name.
    #[error(
        "a retirement group needs a name and at least two tables: name them all in one retire_together call"
    )]
    GroupTooSmall,
    /// The stored properties cannot be read.
    #[error(
        "its stored partition properties cannot be read ({0}): set them again with set_properties"
    )]
    StoredProperties(String),
}

/// A time-range key encoding ([`TimeEncoding`](crate::encoding::TimeEncoding)) that cannot work, found before
/// any SQL exists; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodingError {
    /// The name is not one of the encodings.
    #[error(
        "{0:?} is not a key encoding: use date, timestamp, timestamptz, epoch-s, epoch-ms, epoch-us, epoch-ns, \
         uuidv7, ulid, snowflake (Twitter's), snowflake:discord, snowflake:sonyflake or \
         snowflake:EPOCH_MS:UNIT_MS:SHIFT"
    )]
    Unknown(String),
    /// A snowflake layout without its epoch, or with a unit or shift that cannot be.
    #[error(
        "{0:?} is not a snowflake layout: write snowflake:EPOCH_MS:UNIT_MS:SHIFT with the epoch in milliseconds \
         since 1970, a unit that divides 15 minutes (and the epoch), and a shift below 63 (e.g. \
         snowflake:1288834974657:1:22)"
    )]
    BadSnowflake(String),
    /// The encoding does not fit the key column's type.
    #[error("a {encoding} key needs {needs}, but the key column is {column_type}: {fix}")]
    WrongColumnType {
        /// The encoding.
        encoding: String,
        /// What it needs.
        needs: &'static str,
        /// The key column's type.
        column_type: String,
        /// What to do.
        fix: &'static str,
    },
    /// The key column's type does not encode time by itself.
    #[error(
        "the key column is {0}, which does not say how it encodes time: give the encoding (epoch-s, epoch-ms, \
         epoch-us, epoch-ns, uuidv7, ulid, snowflake, ...)"
    )]
    NeedsEncoding(String),
    /// A ULID text key whose collation does not sort bytewise.
    #[error(
        "a ulid text key must sort bytewise, but its collation is {0:?}: declare the column (or the partition \
         key) with COLLATE \"C\""
    )]
    NotBytewise(String),
    /// Partitions narrower than what the key can tell apart.
    #[error(
        "a {encoding} key cannot tell apart instants closer than {resolution}: choose a period of at least that \
         ({period} is shorter)"
    )]
    PeriodBelowResolution {
        /// The encoding.
        encoding: String,
        /// Its resolution, for reading.
        resolution: String,
        /// The period (`hour`, ...).
        period: String,
    },
    /// An instant the key column cannot hold.
    #[error(
        "{at} does not fit a {encoding} key in a {column_type} column (it holds {range}): use a wider column \
         type or a coarser unit"
    )]
    OutOfRange {
        /// The instant.
        at: chrono::DateTime<chrono::Utc>,
        /// The encoding.
        encoding: String,
        /// The column type.
        column_type: String,
        /// The instants it can hold, for reading.
        range: String,
    },
}

/// A statement of the [`schema`](crate::schema) extension that could not be built, found before any SQL
/// exists: a name PostgreSQL would not keep, a missing part, a key or constraint PostgreSQL would reject.
/// Every runtime [`Error`] is kept apart; this one reaches it as [`Error::Statement`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// An identifier was empty.
    #[error("the {what} name is empty: give it a non-empty name")]
    EmptyIdentifier {
        /// What was being named (`table`, `column`, `tablespace`, ...).
        what: &'static str,
    },

    /// An identifier is longer than PostgreSQL keeps (63 bytes); the server would silently truncate it.
    #[error(
        "the {what} name {name:?} is {len} bytes long, but PostgreSQL keeps only 63 bytes of a name and would \
         silently truncate it: choose a name of at most 63 bytes"
    )]
    IdentifierTooLong {
        /// What was being named.
        what: &'static str,
        /// The name as given.
        name: String,
        /// Its length in bytes.
        len: usize,
    },

    /// An identifier contains a NUL character, which PostgreSQL cannot store.
    #[error(
        "the {what} name {name:?} contains a NUL character, which PostgreSQL does not accept: remove it"
    )]
    NulInIdentifier {
        /// What was being named.
        what: &'static str,
        /// The name as given.
        name: String,
    },

    /// A constraint or index name contains a double quote. sea-query writes such names into `CREATE TABLE`
    /// without escaping them, so the statement would not do what was asked.
    #[error(
        "the {what} name {name:?} contains a double quote, which sea-query does not escape in constraint names: \
         rename the {what} without '\"'"
    )]
    QuoteInConstraintName {
        /// What was being named (`index`, `foreign key`).
        what: &'static str,
        /// The name as given.
        name: String,
    },

    /// A text value contains a NUL character, which PostgreSQL cannot store.
    #[error(
        "the value {value:?} contains a NUL character, which PostgreSQL text cannot hold: remove it"
    )]
    NulInValue {
        /// The value as given.
        value: String,
    },

    /// A statement lacks a part it needs.
    #[error("{statement} is incomplete: {missing}")]
    IncompleteStatement {
        /// The statement, e.g. `CREATE TABLE .. PARTITION OF`.
        statement: &'static str,
        /// What is missing and which method supplies it.
        missing: &'static str,
    },

    /// A partition key names no column or expression.
    #[error(
        "the partition key of table {table:?} is empty: name at least one column or expression"
    )]
    EmptyPartitionKey {
        /// The table being partitioned.
        table: String,
    },

    /// A partition key column is not a column of the table.
    #[error(
        "partition key column {column:?} is not a column of table {table:?} (its columns: {available}): \
         add the column to the table or partition by one of its columns"
    )]
    UnknownKeyColumn {
        /// The table being partitioned.
        table: String,
        /// The key column that was not found.
        column: String,
        /// The table's columns, comma separated.
        available: String,
    },

    /// A UNIQUE constraint lacks partition key columns (PostgreSQL rejects it with SQLSTATE 0A000).
    #[error(
        "unique constraint {constraint} on table {table:?} does not contain the partition key column(s) {missing}; \
         PostgreSQL requires every unique constraint of a partitioned table to contain all partition key columns: \
         add {missing} to the constraint, or drop it"
    )]
    UniqueWithoutPartitionKey {
        /// The table being partitioned.
        table: String,
        /// The constraint, e.g. `UNIQUE ("email")` or `"uq-email"`.
        constraint: String,
        /// The key columns it lacks, quoted and comma separated.
        missing: String,
    },

    /// A UNIQUE constraint of a table distributed by Citus that lacks the distribution column.
    #[error(
        "{constraint} on table {table:?} does not contain the distribution column {column:?}: Citus requires every \
         unique constraint of a distributed table to contain it (as well as the partition key): add it, or drop \
         the constraint"
    )]
    UniqueWithoutDistributionColumn {
        /// The table.
        table: String,
        /// The constraint.
        constraint: String,
        /// The distribution column.
        column: String,
    },

    /// A UNIQUE constraint or primary key on a table whose partition key contains an expression.
    #[error(
        "{constraint} on table {table:?} cannot be kept because the partition key contains an expression, and \
         PostgreSQL allows no unique constraint or primary key then: drop it, or partition by plain columns"
    )]
    UniqueWithExpressionKey {
        /// The table being partitioned.
        table: String,
        /// The constraint, e.g. `PRIMARY KEY ("id")`.
        constraint: String,
    },

    /// An invalid hash partition bound.
    #[error(
        "hash partition bound MODULUS {modulus}, REMAINDER {remainder} is invalid: the modulus must be at least 1 \
         and the remainder between 0 and modulus - 1"
    )]
    InvalidHashBound {
        /// The modulus given.
        modulus: u32,
        /// The remainder given.
        remainder: u32,
    },

    /// A range bound whose FROM and TO lists are empty or of different lengths.
    #[error(
        "range bound FROM has {from} value(s) and TO has {to}: give one value per partition key column on each side"
    )]
    RangeBoundArity {
        /// Number of FROM values.
        from: usize,
        /// Number of TO values.
        to: usize,
    },

    /// A list bound without values.
    #[error(
        "list bound FOR VALUES IN has no values: give at least one value, or make a DEFAULT partition"
    )]
    EmptyListBound,

    /// A `TableCreateStatement` holds something that cannot be carried over into a partitioned table.
    #[error(
        "table {table:?}: the statement holds {detail} that cannot be carried over into a partitioned table: \
         remove it from the TableCreateStatement and add it with a separate statement after creating the table"
    )]
    UnsupportedStatement {
        /// The table being partitioned.
        table: String,
        /// What could not be carried over.
        detail: &'static str,
    },
}

impl StatementError {
    /// A stable kebab-case name of the kind of error, as [`Error::code`] gives it.
    ///
    /// ```
    /// use sea_orm_pg_partitioning::StatementError;
    ///
    /// assert_eq!(StatementError::EmptyListBound.code(), "empty-list-bound");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            StatementError::EmptyIdentifier { .. } => "empty-identifier",
            StatementError::IdentifierTooLong { .. } => "identifier-too-long",
            StatementError::NulInIdentifier { .. } => "nul-in-identifier",
            StatementError::QuoteInConstraintName { .. } => "quote-in-constraint-name",
            StatementError::NulInValue { .. } => "nul-in-value",
            StatementError::IncompleteStatement { .. } => "incomplete-statement",
            StatementError::EmptyPartitionKey { .. } => "empty-partition-key",
            StatementError::UnknownKeyColumn { .. } => "unknown-key-column",
            StatementError::UniqueWithoutPartitionKey { .. } => "unique-without-partition-key",
            StatementError::UniqueWithExpressionKey { .. } => "unique-with-expression-key",
            StatementError::UniqueWithoutDistributionColumn { .. } => {
                "unique-without-distribution-column"
            }
            StatementError::InvalidHashBound { .. } => "invalid-hash-bound",
            StatementError::RangeBoundArity { .. } => "range-bound-arity",
            StatementError::EmptyListBound => "empty-list-bound",
            StatementError::UnsupportedStatement { .. } => "unsupported-statement",
        }
    }
}

/// `Result` of building a statement.
pub type StatementResult<T> = std::result::Result<T, StatementError>;

impl From<StatementError> for DbErr {
    /// Lets `?` turn a [`StatementError`] into a [`DbErr`], e.g. inside a sea-orm-migration `up` function.
    fn from(err: StatementError) -> Self {
        DbErr::Custom(err.to_string())
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for DbErr {
    /// Lets `?` turn an [`Error`] into a [`DbErr`], e.g. inside a sea-orm-migration `up` function.
    fn from(err: Error) -> Self {
        match err {
            Error::Db(db) => db,
            other => DbErr::Custom(other.to_string()),
        }
    }
}

/// Something about the table that stops its conversion, found before anything changes; its text says how
/// to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConversionProblem {
    /// No table of that name.
    Missing,
    /// Not a plain table (a view, a materialized view, a foreign table, ...).
    NotATable {
        /// What it is.
        what: &'static str,
    },
    /// Already partitioned.
    AlreadyPartitioned,
    /// It inherits from, or is inherited by, other tables.
    Inheritance {
        /// Its parents and children, `schema.name`.
        tables: Vec<String>,
    },
    /// The key column does not exist.
    NoKeyColumn {
        /// The column asked for.
        column: String,
    },
    /// The key column's type does not fit the kind asked for.
    KeyType {
        /// The column.
        column: String,
        /// Its type.
        data_type: String,
        /// What would fit.
        needed: &'static str,
    },
    /// Rows whose key is NULL, which the legacy partition cannot hold.
    LegacyNullKeys {
        /// How many.
        count: i64,
    },
    /// Rows whose key is NULL: only a DEFAULT partition could hold them.
    NullKeys {
        /// How many.
        count: i64,
    },
    /// A key value that no partition bound can hold (`infinity`, out of the encoding's range).
    KeyValue {
        /// The value.
        value: String,
    },
    /// The existing keys span more partitions than a conversion creates
    /// ([`MAX_CONVERSION_PARTITIONS`](crate::model::convert::MAX_CONVERSION_PARTITIONS)).
    TooManyPartitions {
        /// How many they would need.
        count: usize,
        /// The smallest key, for reading.
        from: String,
        /// The largest.
        to: String,
        /// The most a conversion creates.
        max: usize,
    },
    /// No primary key or unique index on NOT NULL columns: the conversion needs a row identity to apply the
    /// application's changes.
    NoRowIdentity,
    /// A unique constraint or index without the key, which a partitioned table cannot have.
    UniqueWithoutKey {
        /// Its name.
        name: String,
        /// Why it cannot be widened, if that is the policy.
        why: &'static str,
    },
    /// An exclusion constraint without the key.
    Exclusion {
        /// Its name.
        name: String,
    },
    /// A foreign key referencing the table: it would go on pointing at the old heap.
    ReferencedBy {
        /// The referencing table, `schema.name`.
        table: String,
        /// The foreign key.
        constraint: String,
    },
    /// A view on the table: it would go on reading the old heap.
    View {
        /// The view, `schema.name`.
        view: String,
    },
    /// Row-level security policies, column privileges or rules, which the conversion does not carry over.
    NotCarried {
        /// What.
        what: String,
    },
}

impl std::fmt::Display for ConversionProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ConversionProblem as P;
        match self {
            P::Missing => f.write_str("no such table"),
            P::NotATable { what } => write!(f, "it is {what}, not a table"),
            P::AlreadyPartitioned => f.write_str(
                "it is already partitioned: register it (time_range_table(..).register()), or adopt its partitions",
            ),
            P::Inheritance { tables } => write!(
                f,
                "it takes part in table inheritance ({}): declarative partitioning cannot include it; remove the inheritance (ALTER TABLE .. NO INHERIT)",
                tables.join(", ")
            ),
            P::NoKeyColumn { column } => write!(f, "it has no column {column:?}"),
            P::KeyType {
                column,
                data_type,
                needed,
            } => write!(f, "column {column:?} is {data_type}; the key must be {needed}"),
            P::NullKeys { count } => write!(
                f,
                "{count} row(s) have a NULL key, which no range partition holds: keep a DEFAULT partition for them (.default_partition(true), --default), or set their keys first"
            ),
            P::LegacyNullKeys { count } => write!(
                f,
                "{count} row(s) have a NULL key, which the legacy partition cannot hold: set their keys first, or convert without keeping the old rows in place (without .legacy_partition(true), --legacy; a DEFAULT partition then takes them)"
            ),
            P::KeyValue { value } => write!(
                f,
                "the key value {value} cannot be placed in a partition bound: keep a DEFAULT partition for it (.default_partition(true), --default), or change it first"
            ),
            P::TooManyPartitions {
                count,
                from,
                to,
                max,
            } => write!(
                f,
                "the keys run from {from} to {to}: {count} partitions, more than {max}; choose a longer period (or step), keep the old rows in one legacy partition (.legacy_partition(true), --legacy), or move the outliers first"
            ),
            P::NoRowIdentity => f.write_str(
                "it has no primary key or unique index on NOT NULL columns, which the conversion needs to apply the application's changes to the right rows: add one",
            ),
            P::UniqueWithoutKey { name, why } => write!(
                f,
                "unique constraint or index {name:?} lacks the partition key, which a partitioned table cannot have: {why}"
            ),
            P::Exclusion { name } => write!(
                f,
                "exclusion constraint {name:?}: a partitioned table cannot have it unless it compares the key with =; drop it first"
            ),
            P::ReferencedBy { table, constraint } => write!(
                f,
                "foreign key {constraint:?} of {table} references it and would keep pointing at the old table: drop it before converting (a foreign key can point at the partitioned table only through a unique key that contains the partition key)"
            ),
            P::View { view } => write!(
                f,
                "view {view} reads it and would keep reading the old table: drop the view before converting and create it again after"
            ),
            P::NotCarried { what } => write!(
                f,
                "{what} would not be carried over: remove them before converting and add them to the new table after"
            ),
        }
    }
}
