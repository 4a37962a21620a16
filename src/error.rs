//! The crate's one error type.

use sea_orm::DbErr;

/// Everything that can go wrong in this crate.
///
/// Each message says what was wrong and how to fix it. Errors found while building a statement are
/// reported before any SQL reaches the server; [`Error::Db`] carries what the server said.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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

    /// The database returned an error.
    #[error(transparent)]
    Db(#[from] DbErr),
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
