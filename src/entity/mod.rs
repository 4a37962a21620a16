//! The tables this crate owns, as SeaORM entities. The `sea-orm-pg-partitioning-migration` crate creates them.
//!
//! Their names carry the prefix `sopp_` (sea-orm-pg-partitioning) so they cannot clash with yours.

pub mod conversion;
pub mod partition_config;
pub mod partition_log;
