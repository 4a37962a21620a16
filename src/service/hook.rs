//! Hooks: user code that runs after a partition is created, attached or detached, in the same transaction.

use sea_orm::DatabaseTransaction;

use crate::entity::{partition_config, partition_log};

/// What happened to a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionEventKind {
    /// The partition was created (attached).
    Created,
    /// A detached partition was attached again.
    Attached,
    /// The partition was detached.
    Detached,
}

impl PartitionEventKind {
    /// `created`, `attached` or `detached`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Attached => "attached",
            Self::Detached => "detached",
        }
    }
}

/// A change to one partition, as hooks see it.
#[derive(Debug, Clone)]
pub struct PartitionEvent {
    /// What happened.
    pub kind: PartitionEventKind,
    /// The table's configuration.
    pub config: partition_config::Model,
    /// The partition's log row, as it is after the change.
    pub partition: partition_log::Model,
}

/// The error a hook returns; it rolls the change back and comes out as [`Error::Hook`](crate::error::Error::Hook).
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Code that runs after a partition is created, attached or detached, inside the transaction of that change:
/// what it does commits with the change, and an error rolls the change back.
///
/// ```
/// use sea_orm::sea_query::Query;
/// use sea_orm::{ConnectionTrait, DatabaseTransaction};
/// use sea_orm_pg_partitioning::service::{HookError, PartitionEvent, PartitionHook};
///
/// /// Records every change in an audit table of the application, atomically with the change.
/// #[derive(Debug)]
/// struct Audit;
///
/// #[async_trait::async_trait]
/// impl PartitionHook for Audit {
///     async fn after(&self, txn: &DatabaseTransaction, event: &PartitionEvent) -> Result<(), HookError> {
///         let insert = Query::insert()
///             .into_table("partition_audit")
///             .columns(["partition", "event"])
///             .values([event.partition.partition_name.clone().into(), event.kind.as_str().into()])?
///             .to_owned();
///         txn.execute(&insert).await?;
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait PartitionHook: Send + Sync + std::fmt::Debug {
    /// Called after the change, before its transaction commits.
    async fn after(
        &self,
        txn: &DatabaseTransaction,
        event: &PartitionEvent,
    ) -> Result<(), HookError>;
}
