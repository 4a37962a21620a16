//! What every partition must carry beyond what PostgreSQL gives it: owner, grants, storage options, replica
//! identity and unique indexes that exist per partition only. Pure: the service reads the parent's and the
//! partitions' properties from the catalog (owner, privileges, options, replica identity, indexes), this says what each partition should have,
//! what differs, and the statements that make it so.
//!
//! A partition created by `CREATE TABLE .. PARTITION OF` (or attached) gets the parent's columns,
//! constraints and indexes, but it is owned by whoever created it, has no grants, no storage options and
//! the default replica identity. By default a partition follows its parent:
//! - its **owner** is the parent's;
//! - every **privilege** granted on the parent to a role other than its owner is granted on it too (so the
//!   role can read the partition directly, not only through the parent);
//! - its **replica identity** is the parent's (`USING INDEX` maps the parent's index to the partition's
//!   index attached to it).
//!
//! [`PartitionProperties`] overrides the owner and the replica identity, adds grants beyond the parent's,
//! storage options (which PostgreSQL refuses on a partitioned table, so there is nothing to follow) and
//! unique indexes built on each partition without the partition key (the parent cannot have them).
//!
//! Grants and storage options are additive: what is declared or granted on the parent is applied; a
//! privilege or an option set by hand on one partition beyond that is left alone.

use std::collections::BTreeSet;
use std::fmt;

use sea_orm::sea_query::{Alias, Index, IntoIden, PostgresQueryBuilder};
use serde::{Deserialize, Serialize};

use crate::error::ConfigProblem;
use crate::model::convert::sql::{Sql, grant, set_owner, set_storage};
use crate::model::index::partition_index_name;
use crate::model::recipe::Recipe;
use crate::schema::MAX_IDENTIFIER_BYTES;

pub use crate::model::convert::sql::TABLE_PRIVILEGES;

/// What `ALL` grants: every table privilege but `MAINTAIN` (which servers before 17 do not know).
const ALL_PRIVILEGES: [&str; 7] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
];

/// Privileges granted on every partition to one role (or `PUBLIC`), beyond those granted on the parent.
#[cfg_attr(feature = "serde", derive(Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The role, or `PUBLIC`.
    pub role: String,
    /// Privilege names as written (`SELECT`, `insert`, `ALL`); checked by
    /// [`PartitionProperties::check`].
    pub privileges: Vec<String>,
}

/// A storage parameter set on every partition: `fillfactor`, `autovacuum_*`, `toast.*`, ...
#[cfg_attr(feature = "serde", derive(Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageOption {
    /// Its name, e.g. `autovacuum_vacuum_scale_factor` or `toast.autovacuum_enabled`.
    pub name: String,
    /// Its value as PostgreSQL would print it, e.g. `0.01` or `false`.
    pub value: String,
}

/// A partition's replica identity (what logical replication sends of an updated or deleted row).
#[cfg_attr(feature = "serde", derive(Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaIdentity {
    /// The primary key.
    Default,
    /// The whole row.
    Full,
    /// Nothing: updates and deletes cannot be replicated.
    Nothing,
    /// A unique index: the partition's index attached to this index of the parent.
    Index(String),
}

impl fmt::Display for ReplicaIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicaIdentity::Default => f.write_str("default"),
            ReplicaIdentity::Full => f.write_str("full"),
            ReplicaIdentity::Nothing => f.write_str("nothing"),
            ReplicaIdentity::Index(index) => write!(f, "using index {index}"),
        }
    }
}

/// A unique index built on each partition alone, on columns that need not include the partition key (so the
/// parent cannot have it): rows are unique within each partition.
#[cfg_attr(feature = "serde", derive(Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniquePerPartition {
    /// The suffix of each index's name: `{partition}_{name}`, cut to 63 bytes with a hash when longer.
    pub name: String,
    /// Its columns.
    pub columns: Vec<String>,
}

/// The properties every partition of a table carries, declared in Rust: see the [module](self)
/// documentation for what follows the parent by default.
///
/// ```
/// use sea_orm_pg_partitioning::model::properties::{PartitionProperties, ReplicaIdentity};
///
/// let properties = PartitionProperties::new()
///     .owner("app")
///     .grant("reporting", ["SELECT"])
///     .storage("autovacuum_vacuum_scale_factor", "0.01")
///     .storage("fillfactor", "90")
///     .replica_identity(ReplicaIdentity::Full)
///     .unique_per_partition("request_key", ["request_id"]);
/// assert!(properties.check().is_ok());
/// assert!(PartitionProperties::new().grant("reporting", ["EXECUTE"]).check().is_err());
/// ```
#[cfg_attr(feature = "serde", derive(Serialize))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionProperties {
    owner: Option<String>,
    grants: Vec<Grant>,
    storage: Vec<StorageOption>,
    replica_identity: Option<ReplicaIdentity>,
    unique: Vec<UniquePerPartition>,
}

impl PartitionProperties {
    /// Nothing declared: every partition follows its parent.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every partition is owned by `role` (instead of the parent's owner).
    pub fn owner<R: Into<String>>(mut self, role: R) -> Self {
        self.owner = Some(role.into());
        self
    }

    /// Every partition grants `privileges` (`SELECT`, `INSERT`, ..., or `ALL`) to `role` (or `PUBLIC`),
    /// beyond what the parent grants.
    pub fn grant<R, I, P>(mut self, role: R, privileges: I) -> Self
    where
        R: Into<String>,
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.grants.push(Grant {
            role: role.into(),
            privileges: privileges.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Every partition (every leaf, when sub-partitioned) has the storage parameter `name` set to `value`.
    pub fn storage<N: Into<String>, V: Into<String>>(mut self, name: N, value: V) -> Self {
        let name = name.into();
        self.storage.retain(|o| o.name != name);
        self.storage.push(StorageOption {
            name,
            value: value.into(),
        });
        self
    }

    /// Every partition has this replica identity (instead of the parent's).
    pub fn replica_identity(mut self, identity: ReplicaIdentity) -> Self {
        self.replica_identity = Some(identity);
        self
    }

    /// Every partition (every leaf, when sub-partitioned) has a unique index on `columns` named
    /// `{partition}_{name}`.
    pub fn unique_per_partition<N, I, C>(mut self, name: N, columns: I) -> Self
    where
        N: Into<String>,
        I: IntoIterator<Item = C>,
        C: Into<String>,
    {
        self.unique.push(UniquePerPartition {
            name: name.into(),
            columns: columns.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// The declared owner, if any.
    pub fn declared_owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The declared grants.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// The declared storage options.
    pub fn storage_options(&self) -> &[StorageOption] {
        &self.storage
    }

    /// The declared replica identity, if any.
    pub fn declared_replica_identity(&self) -> Option<&ReplicaIdentity> {
        self.replica_identity.as_ref()
    }

    /// The declared per-partition unique indexes.
    pub fn unique_indexes(&self) -> &[UniquePerPartition] {
        &self.unique
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The roles named (owner and grantees, without `PUBLIC`).
    pub fn roles(&self) -> BTreeSet<&str> {
        self.owner
            .iter()
            .map(String::as_str)
            .chain(self.grants.iter().map(|g| g.role.as_str()))
            .filter(|r| *r != "PUBLIC")
            .collect()
    }

    /// What can be checked without a database: names PostgreSQL keeps as given, privileges that apply to
    /// tables, storage option names, columns given for each unique index.
    pub fn check(&self) -> Result<(), ConfigProblem> {
        let fits = |what: &'static str, name: &str| {
            if name.is_empty() || name.contains('\0') || name.len() > MAX_IDENTIFIER_BYTES {
                Err(ConfigProblem::BadName {
                    what,
                    name: name.to_owned(),
                })
            } else {
                Ok(())
            }
        };
        for role in self.roles() {
            fits("role", role)?;
        }
        for grant in &self.grants {
            if grant.privileges.is_empty() {
                return Err(ConfigProblem::NoPrivileges(grant.role.clone()));
            }
            for privilege in &grant.privileges {
                privileges_of(privilege)?;
            }
        }
        for option in &self.storage {
            let good = !option.name.is_empty()
                && option
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
            if !good {
                return Err(ConfigProblem::InvalidStorageOption {
                    option: format!("{}={}", option.name, option.value),
                    reason:
                        "a storage parameter's name is lower-case letters, digits, `_` and `.` \
                             (e.g. fillfactor, toast.autovacuum_enabled)"
                            .into(),
                });
            }
        }
        if let Some(ReplicaIdentity::Index(index)) = &self.replica_identity {
            fits("index", index)?;
        }
        let mut names = BTreeSet::new();
        for unique in &self.unique {
            fits("index", &unique.name)?;
            if unique.name.contains('"') || !names.insert(unique.name.as_str()) {
                return Err(ConfigProblem::BadName {
                    what: "index",
                    name: unique.name.clone(),
                });
            }
            if unique.columns.is_empty() {
                return Err(ConfigProblem::NoColumns(unique.name.clone()));
            }
            for column in &unique.columns {
                fits("column", column)?;
            }
        }
        Ok(())
    }

    /// As stored in the configuration row (`sopp_partition_config.properties`).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(Stored::from(self)).unwrap_or(serde_json::Value::Null)
    }

    /// From the configuration row; `None` is nothing declared.
    pub(crate) fn from_json(value: Option<&serde_json::Value>) -> Result<Self, ConfigProblem> {
        match value {
            None | Some(serde_json::Value::Null) => Ok(Self::default()),
            Some(value) => serde_json::from_value::<Stored>(value.clone())
                .map(Self::from)
                .map_err(|e| ConfigProblem::StoredProperties(e.to_string())),
        }
    }
}

/// The privileges a name stands for, upper-case: `ALL` for every one but `MAINTAIN`.
fn privileges_of(name: &str) -> Result<Vec<&'static str>, ConfigProblem> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" || upper == "ALL PRIVILEGES" {
        return Ok(ALL_PRIVILEGES.to_vec());
    }
    TABLE_PRIVILEGES
        .iter()
        .find(|p| **p == upper)
        .map(|p| vec![*p])
        .ok_or_else(|| ConfigProblem::PrivilegeNotForTables(name.to_owned()))
}

/// The stored form: plain data, so the JSON column stays readable and stable.
#[derive(Serialize, Deserialize, Default)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    grants: Vec<(String, Vec<String>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    storage: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replica_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replica_identity_index: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unique: Vec<(String, Vec<String>)>,
}

impl From<&PartitionProperties> for Stored {
    fn from(p: &PartitionProperties) -> Self {
        let (replica_identity, replica_identity_index) = match &p.replica_identity {
            None => (None, None),
            Some(ReplicaIdentity::Default) => (Some("default".into()), None),
            Some(ReplicaIdentity::Full) => (Some("full".into()), None),
            Some(ReplicaIdentity::Nothing) => (Some("nothing".into()), None),
            Some(ReplicaIdentity::Index(i)) => (Some("index".into()), Some(i.clone())),
        };
        Stored {
            owner: p.owner.clone(),
            grants: p
                .grants
                .iter()
                .map(|g| (g.role.clone(), g.privileges.clone()))
                .collect(),
            storage: p
                .storage
                .iter()
                .map(|o| (o.name.clone(), o.value.clone()))
                .collect(),
            replica_identity,
            replica_identity_index,
            unique: p
                .unique
                .iter()
                .map(|u| (u.name.clone(), u.columns.clone()))
                .collect(),
        }
    }
}

impl From<Stored> for PartitionProperties {
    fn from(s: Stored) -> Self {
        let replica_identity = match (s.replica_identity.as_deref(), s.replica_identity_index) {
            (Some("default"), _) => Some(ReplicaIdentity::Default),
            (Some("full"), _) => Some(ReplicaIdentity::Full),
            (Some("nothing"), _) => Some(ReplicaIdentity::Nothing),
            (Some("index"), Some(index)) => Some(ReplicaIdentity::Index(index)),
            _ => None,
        };
        PartitionProperties {
            owner: s.owner,
            grants: s
                .grants
                .into_iter()
                .map(|(role, privileges)| Grant { role, privileges })
                .collect(),
            storage: s
                .storage
                .into_iter()
                .map(|(name, value)| StorageOption { name, value })
                .collect(),
            replica_identity,
            unique: s
                .unique
                .into_iter()
                .map(|(name, columns)| UniquePerPartition { name, columns })
                .collect(),
        }
    }
}

/// One privilege held by a role other than the table's owner (`PUBLIC` for everyone).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct AclEntry {
    pub grantee: String,
    pub privilege: String,
    pub grantable: bool,
}

/// A table's properties as the catalog has them: the parent, or one of its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelationProps {
    pub schema: String,
    pub name: String,
    /// A partitioned table (a parent, or a sub-partitioned partition): no storage options, no
    /// per-partition indexes.
    pub partitioned: bool,
    pub owner: String,
    /// The privileges of roles other than the owner.
    pub acl: Vec<AclEntry>,
    /// `reloptions`: `name=value`, with the TOAST table's as `toast.name=value`.
    pub options: Vec<String>,
    /// `relreplident`: `d`, `n`, `f` or `i`.
    pub replica_identity: String,
    /// The index used as replica identity (`i`).
    pub identity_index: Option<String>,
    /// The names of its unique indexes.
    pub unique_indexes: Vec<String>,
    /// Each of its indexes attached to an index of its parent: (its index, the parent's).
    pub index_parents: Vec<(String, String)>,
}

impl RelationProps {
    fn table(&self) -> (&str, &str) {
        (&self.schema, &self.name)
    }

    /// The replica identity, with an index named by the parent's index it is attached to (`as_parent`) or
    /// by its own name.
    fn identity(&self, as_parent: bool) -> ReplicaIdentity {
        match self.replica_identity.as_str() {
            "n" => ReplicaIdentity::Nothing,
            "f" => ReplicaIdentity::Full,
            "i" => {
                let own = self.identity_index.clone().unwrap_or_default();
                if !as_parent {
                    return ReplicaIdentity::Index(own);
                }
                let parent = self
                    .index_parents
                    .iter()
                    .find(|(child, _)| *child == own)
                    .map(|(_, parent)| parent.clone());
                ReplicaIdentity::Index(parent.unwrap_or(own))
            }
            _ => ReplicaIdentity::Default,
        }
    }
}

/// What each partition of a table should have: the declared properties over the parent's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wanted {
    owner: String,
    acl: BTreeSet<AclEntry>,
    storage: Vec<StorageOption>,
    identity: ReplicaIdentity,
    unique: Vec<UniquePerPartition>,
}

/// The properties the partitions of `parent` should have, given what is declared.
pub(crate) fn wanted(declared: &PartitionProperties, parent: &RelationProps) -> Wanted {
    let owner = declared
        .owner
        .clone()
        .unwrap_or_else(|| parent.owner.clone());
    let mut acl: BTreeSet<AclEntry> = parent
        .acl
        .iter()
        .filter(|e| e.grantee != owner)
        .cloned()
        .collect();
    for grant in &declared.grants {
        for name in &grant.privileges {
            for privilege in privileges_of(name).unwrap_or_default() {
                let entry = AclEntry {
                    grantee: grant.role.clone(),
                    privilege: privilege.to_owned(),
                    grantable: false,
                };
                let granted_with_option = AclEntry {
                    grantable: true,
                    ..entry.clone()
                };
                if grant.role != owner && !acl.contains(&granted_with_option) {
                    acl.insert(entry);
                }
            }
        }
    }
    Wanted {
        owner,
        acl,
        storage: declared.storage.clone(),
        identity: declared
            .replica_identity
            .clone()
            .unwrap_or_else(|| parent.identity(false)),
        unique: declared.unique.clone(),
    }
}

/// One way a partition's properties differ from what it should have.
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "property", rename_all = "kebab-case")
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyDifference {
    /// Another owner.
    Owner {
        /// The owner it should have.
        expected: String,
        /// The one it has.
        found: String,
    },
    /// A privilege the role lacks on it.
    Privilege {
        /// The role, or `PUBLIC`.
        role: String,
        /// The privilege, e.g. `SELECT`.
        privilege: String,
        /// Whether it should be held `WITH GRANT OPTION`.
        grantable: bool,
    },
    /// A storage option missing or with another value.
    Storage {
        /// The option.
        option: String,
        /// Its value.
        expected: String,
        /// The value the partition has (`None`: not set).
        found: Option<String>,
    },
    /// Another replica identity.
    ReplicaIdentity {
        /// The one it should have.
        expected: String,
        /// The one it has.
        found: String,
    },
    /// A per-partition unique index missing.
    UniqueIndex {
        /// The index it should have.
        index: String,
        /// Its columns.
        columns: Vec<String>,
    },
}

impl fmt::Display for PropertyDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyDifference::Owner { expected, found } => {
                write!(f, "owned by {found}, not {expected}")
            }
            PropertyDifference::Privilege {
                role,
                privilege,
                grantable,
            } => write!(
                f,
                "{role} lacks {privilege}{}",
                if *grantable { " WITH GRANT OPTION" } else { "" }
            ),
            PropertyDifference::Storage {
                option,
                expected,
                found,
            } => match found {
                Some(found) => write!(f, "{option}={found}, not {expected}"),
                None => write!(f, "{option} not set (should be {expected})"),
            },
            PropertyDifference::ReplicaIdentity { expected, found } => {
                write!(f, "replica identity {found}, not {expected}")
            }
            PropertyDifference::UniqueIndex { index, columns } => {
                write!(f, "no unique index {index} ({})", columns.join(", "))
            }
        }
    }
}

/// How `rel`, a partition, differs from what it should have.
pub(crate) fn differences(wanted: &Wanted, rel: &RelationProps) -> Vec<PropertyDifference> {
    let mut found = Vec::new();
    if rel.owner != wanted.owner {
        found.push(PropertyDifference::Owner {
            expected: wanted.owner.clone(),
            found: rel.owner.clone(),
        });
    }
    for entry in &wanted.acl {
        let held = rel.acl.iter().any(|e| {
            e.grantee == entry.grantee
                && e.privilege == entry.privilege
                && (e.grantable || !entry.grantable)
        });
        // An entry the owner holds on the parent is the owner's, whoever owns the partition now.
        if !held && entry.grantee != rel.owner {
            found.push(PropertyDifference::Privilege {
                role: entry.grantee.clone(),
                privilege: entry.privilege.clone(),
                grantable: entry.grantable,
            });
        }
    }
    if !rel.partitioned {
        for option in &wanted.storage {
            let prefix = format!("{}=", option.name);
            let value = rel
                .options
                .iter()
                .find_map(|o| o.strip_prefix(&prefix))
                .map(str::to_owned);
            if value.as_deref() != Some(option.value.as_str()) {
                found.push(PropertyDifference::Storage {
                    option: option.name.clone(),
                    expected: option.value.clone(),
                    found: value,
                });
            }
        }
    }
    let identity = rel.identity(true);
    if identity != wanted.identity {
        found.push(PropertyDifference::ReplicaIdentity {
            expected: wanted.identity.to_string(),
            found: identity.to_string(),
        });
    }
    if !rel.partitioned {
        for unique in &wanted.unique {
            let index = partition_index_name(&rel.name, &unique.name);
            if !rel.unique_indexes.contains(&index) {
                found.push(PropertyDifference::UniqueIndex {
                    index,
                    columns: unique.columns.clone(),
                });
            }
        }
    }
    found
}

/// The statement that makes `rel` have what `difference` says it lacks; `None` when there is none to run (a
/// replica identity index the partition does not have yet: its index build has not reached it).
pub(crate) fn repair_statement(
    wanted: &Wanted,
    rel: &RelationProps,
    difference: &PropertyDifference,
) -> Option<String> {
    let table = rel.table();
    match difference {
        PropertyDifference::Owner { expected, .. } => Some(set_owner(table, expected)),
        PropertyDifference::Privilege {
            role,
            privilege,
            grantable,
        } => grant(table, privilege, role, *grantable),
        PropertyDifference::Storage {
            option, expected, ..
        } => set_storage(table, &[format!("{option}={expected}")]),
        PropertyDifference::ReplicaIdentity { .. } => {
            let sql = Sql::new("ALTER TABLE ")
                .table(table)
                .push(" REPLICA IDENTITY ");
            Some(
                match &wanted.identity {
                    ReplicaIdentity::Default => sql.push("DEFAULT"),
                    ReplicaIdentity::Full => sql.push("FULL"),
                    ReplicaIdentity::Nothing => sql.push("NOTHING"),
                    ReplicaIdentity::Index(parent) => {
                        let own = rel
                            .index_parents
                            .iter()
                            .find(|(_, p)| p == parent)
                            .map(|(child, _)| child)?;
                        sql.push("USING INDEX ").iden(own)
                    }
                }
                .build(),
            )
        }
        PropertyDifference::UniqueIndex { index, columns } => {
            let mut stmt = Index::create();
            stmt.unique().if_not_exists().name(index.clone()).table((
                Alias::new(rel.schema.clone()).into_iden(),
                Alias::new(rel.name.clone()).into_iden(),
            ));
            for column in columns {
                stmt.col(Alias::new(column.clone()));
            }
            Some(stmt.to_string(PostgresQueryBuilder))
        }
    }
}

/// The statements giving each of `partitions` what it lacks (owner first, so that grants are made as the
/// owner has them).
pub(crate) fn apply(wanted: &Wanted, partitions: &[RelationProps]) -> Recipe {
    let mut recipe = Recipe::default();
    for rel in partitions {
        for difference in differences(wanted, rel) {
            if let Some(sql) = repair_statement(wanted, rel, &difference) {
                recipe.push_ddl(&rel.name, sql);
            }
        }
    }
    recipe
}

#[cfg(test)]
mod tests;
