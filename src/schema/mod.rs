//! The SeaQuery extension: partitioned parent tables, partitions, `ATTACH` / `DETACH`, tablespace moves.
//!
//! Pure statement building, no I/O. Every statement validates itself in `build` and renders through
//! [`PartitionBuilder`], which quotes identifiers and writes values with sea-query's own machinery.

mod alter;
mod builder;
mod distribute;
mod ident;
mod key;
mod parent;
mod partition;

pub use alter::{
    ConstraintDropStatement, DefaultTablespaceStatement, DetachMode, PartitionAttachStatement,
    PartitionDetachStatement, PartitionDropStatement, PartitionLikeStatement,
    PartitionTruncateStatement, SetTablespaceStatement, TablespaceTarget,
};
pub use builder::PartitionBuilder;
pub use distribute::{Distribute, DistributeStatement};
pub use ident::MAX_IDENTIFIER_BYTES;
pub(crate) use ident::check_identifier as check_name;
pub use key::{
    KeyPart, KeyTarget, ListValue, PartitionBound, PartitionKey, PartitionStrategy, RangeValue,
};
pub use parent::{PartitionedBy, PartitionedTable, PrimaryKeyPolicy};
pub use partition::{Partition, PartitionCreateStatement};
