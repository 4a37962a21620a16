//! Reconcile: report every [`Anomaly`], or repair it in the direction chosen for its kind; and adopt the
//! partitions of a table that existed before it was registered.
//!
//! Every repair runs in its own transaction under the table's lock, after assessing the table again under
//! that lock, so a repair acts only on an anomaly that still exists and its DDL and log change commit
//! together.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, PostgresQueryBuilder, Query};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, Set,
};

use super::core;
use super::status::status_with;
use super::{PartitionService, QualifiedTable, catalog, execute};
use crate::calendar::partition_name;
use crate::entity::partition_log::PartitionKind;
use crate::entity::{partition_config, partition_log};
use crate::error::{Error, Result};
use crate::exec;
use crate::model::plan::StepAction;
use crate::model::recipe;
use crate::model::status::{Anomaly, AnomalyKind, Status, TableStatus};
use crate::model::table::Table;
use crate::model::{CatalogBound, Edge, LoggedBound, TableSpec};
use crate::schema::{DetachMode, ListValue};

/// Which side a repair changes.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Make the log follow the catalog: record what was done by hand, change nothing in the database's
    /// tables.
    #[cfg_attr(feature = "serde", serde(rename = "log"))]
    LogFollowsCatalog,
    /// Make the catalog follow the log and the configuration: attach, detach, move, create partitions.
    #[cfg_attr(feature = "serde", serde(rename = "catalog"))]
    CatalogFollowsLog,
    /// Leave it as it is (it is still reported).
    #[cfg_attr(feature = "serde", serde(rename = "skip"))]
    Skip,
}

impl Direction {
    /// `log`, `catalog` or `skip`, as the CLI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::LogFollowsCatalog => "log",
            Direction::CatalogFollowsLog => "catalog",
            Direction::Skip => "skip",
        }
    }

    /// The direction named `name` (see [`as_str`](Self::as_str)).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Direction::LogFollowsCatalog,
            Direction::CatalogFollowsLog,
            Direction::Skip,
        ]
        .into_iter()
        .find(|d| d.as_str() == name)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The direction of repair for each kind of anomaly.
///
/// The default makes the log follow the catalog for changes made by hand (a table dropped, detached,
/// attached, created or re-bounded by hand), and the catalog follow the configuration for what the
/// configuration states (tablespaces, the premake horizon, rows that belong in partitions of their own, an
/// unfinished detach). Gaps, overlaps and misaligned bounds are only reported: which data belongs where is
/// a decision for a person. A table that is gone is only reported.
///
/// ```
/// use sea_orm_pg_partitioning::service::{AnomalyKind, Direction, RepairPolicy};
///
/// // Put partitions detached by hand back, and fill gaps; the rest as by default.
/// let policy = RepairPolicy::default()
///     .set(AnomalyKind::DetachedByHand, Direction::CatalogFollowsLog)
///     .set(AnomalyKind::Gap, Direction::CatalogFollowsLog);
/// assert_eq!(policy.direction(AnomalyKind::Gap), Direction::CatalogFollowsLog);
/// assert_eq!(policy.direction(AnomalyKind::Unlogged), Direction::LogFollowsCatalog);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairPolicy {
    directions: BTreeMap<AnomalyKind, Direction>,
}

impl Default for RepairPolicy {
    fn default() -> Self {
        use AnomalyKind as K;
        use Direction as D;
        let directions = [
            (K::TableMissing, D::Skip),
            (K::LogWithoutTable, D::LogFollowsCatalog),
            (K::DetachedByHand, D::LogFollowsCatalog),
            (K::AttachedByHand, D::LogFollowsCatalog),
            (K::Unlogged, D::LogFollowsCatalog),
            (K::RenamedByHand, D::LogFollowsCatalog),
            (K::BoundMismatch, D::LogFollowsCatalog),
            (K::TablespaceMismatch, D::CatalogFollowsLog),
            (K::Gap, D::Skip),
            (K::Overlap, D::Skip),
            (K::Misaligned, D::Skip),
            (K::HorizonShort, D::CatalogFollowsLog),
            (K::RowsInDefault, D::CatalogFollowsLog),
            (K::PendingDetach, D::CatalogFollowsLog),
            (K::IndexIncomplete, D::Skip),
            (K::PropertiesDiffer, D::CatalogFollowsLog),
        ]
        .into_iter()
        .collect();
        Self { directions }
    }
}

impl RepairPolicy {
    /// Repairs `kind` in `direction`.
    pub fn set(mut self, kind: AnomalyKind, direction: Direction) -> Self {
        self.directions.insert(kind, direction);
        self
    }

    /// Only reports every kind (what [`ReconcileMode::Report`] does).
    pub fn report_only() -> Self {
        Self {
            directions: AnomalyKind::ALL
                .into_iter()
                .map(|k| (k, Direction::Skip))
                .collect(),
        }
    }

    /// The direction for `kind`.
    pub fn direction(&self, kind: AnomalyKind) -> Direction {
        self.directions
            .get(&kind)
            .copied()
            .unwrap_or(Direction::Skip)
    }
}

/// What [`PartitionService::reconcile`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconcileMode {
    /// Report the anomalies; change nothing.
    Report,
    /// Repair each anomaly in the direction the policy gives its kind.
    Repair(RepairPolicy),
}

/// How one repair ended.
///
/// In JSON (feature `serde`): `{"outcome": "repaired", "detail": "what was done"}`, likewise `skipped` with
/// why and `failed` with the error's message.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "outcome", content = "detail", rename_all = "lowercase")
)]
#[derive(Debug)]
pub enum RepairOutcome {
    /// Repaired; what was done.
    Repaired(String),
    /// Not attempted (the policy skips the kind, the direction does not apply, or the anomaly was gone
    /// when its turn came); why.
    Skipped(String),
    /// Attempted and rolled back; nothing changed.
    Failed(
        #[cfg_attr(
            feature = "serde",
            serde(serialize_with = "crate::model::serialize::error")
        )]
        Error,
    ),
}

/// One anomaly and what reconcile did about it.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug)]
pub struct Repair {
    /// The table, `schema.name`.
    pub table: String,
    /// The anomaly, as found before any repair.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::model::serialize::anomaly")
    )]
    pub anomaly: Anomaly,
    /// The direction applied.
    pub direction: Direction,
    /// What happened.
    pub outcome: RepairOutcome,
}

/// The result of [`PartitionService::reconcile`].
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug)]
pub struct Reconciliation {
    /// The status before.
    pub before: Status,
    /// Every anomaly found and what was done about it (nothing in report mode).
    pub repairs: Vec<Repair>,
    /// The status after (the same as `before` in report mode).
    pub after: Status,
}

impl Reconciliation {
    /// Whether no anomaly remains.
    pub fn is_healthy(&self) -> bool {
        self.after.is_healthy()
    }

    /// The repairs that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Repair> {
        self.repairs
            .iter()
            .filter(|r| matches!(r.outcome, RepairOutcome::Failed(_)))
    }
}

/// What [`adopt`](crate::service::TimeRangeRegistration::adopt) took over.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Default)]
pub struct Adoption {
    /// The log rows written for partitions that fit the configuration.
    pub adopted: Vec<partition_log::Model>,
    /// Partitions that do not fit (misaligned, another kind of bound): reported, not changed, not logged.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::model::serialize::anomalies")
    )]
    pub misfits: Vec<Anomaly>,
    /// Partitions (adopted or logged before) that lack properties they should carry
    /// ([`Anomaly::PropertiesDiffer`]): reported, not changed; reconcile gives them what they lack.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::model::serialize::anomalies")
    )]
    pub differing: Vec<Anomaly>,
}

impl PartitionService {
    /// Compares every managed table's catalog with its log and configuration and, in
    /// [`ReconcileMode::Repair`], repairs each anomaly in the direction its kind is given. Each repair is
    /// atomic: under the table's lock, the table is assessed again and the repair applied to the anomaly
    /// only if it is still there; its DDL and log changes commit together or not at all. A failed repair is
    /// reported and the others go on.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # use sea_orm_pg_partitioning::service::{ReconcileMode, RepairPolicy, RepairOutcome};
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let done = service.reconcile(ReconcileMode::Repair(RepairPolicy::default())).await?;
    /// for repair in &done.repairs {
    ///     println!("{}: {} ({:?})", repair.table, repair.anomaly, repair.outcome);
    /// }
    /// assert!(done.failures().next().is_none());
    /// # Ok(()) }
    /// ```
    pub async fn reconcile(&self, mode: ReconcileMode) -> Result<Reconciliation> {
        let configs = self.configs().await?;
        self.reconcile_configs(configs, mode).await
    }

    /// [`reconcile`](Self::reconcile) for one table.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # use sea_orm_pg_partitioning::service::ReconcileMode;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// let found = service.reconcile_table("event", ReconcileMode::Report).await?;
    /// for (_, anomaly) in found.before.anomalies() {
    ///     println!("{}: {anomaly}", anomaly.kind());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn reconcile_table<T: Into<QualifiedTable>>(
        &self,
        table: T,
        mode: ReconcileMode,
    ) -> Result<Reconciliation> {
        let config = self.config_of(table).await?;
        self.reconcile_configs(vec![config], mode).await
    }

    async fn reconcile_configs(
        &self,
        configs: Vec<partition_config::Model>,
        mode: ReconcileMode,
    ) -> Result<Reconciliation> {
        let before = self.status_of_configs(configs.clone()).await?;
        let policy = match mode {
            ReconcileMode::Report => {
                return Ok(Reconciliation {
                    after: before.clone(),
                    before,
                    repairs: Vec::new(),
                });
            }
            ReconcileMode::Repair(policy) => policy,
        };
        let mut repairs = Vec::new();
        for table in &before.tables {
            for anomaly in &table.anomalies {
                let direction = policy.direction(anomaly.kind());
                let outcome = match direction {
                    Direction::Skip => {
                        RepairOutcome::Skipped("the policy only reports this kind".to_owned())
                    }
                    _ => match self.repair(&table.config, anomaly, direction).await {
                        Ok(outcome) => outcome,
                        Err(err) => RepairOutcome::Failed(err),
                    },
                };
                if let RepairOutcome::Failed(err) = &outcome {
                    tracing::warn!(table = %table.table, %anomaly, %err, "repair failed");
                }
                repairs.push(Repair {
                    table: table.table.clone(),
                    anomaly: anomaly.clone(),
                    direction,
                    outcome,
                });
            }
        }
        let after = self.status_of_configs(configs).await?;
        Ok(Reconciliation {
            before,
            repairs,
            after,
        })
    }

    /// Repairs one anomaly of one table: maintenance runs the kinds that are maintenance; every other repair
    /// runs in one transaction under the table's lock, after assessing the table again, and only while the
    /// anomaly is still there; its DDL and log change commit together.
    async fn repair(
        &self,
        config: &partition_config::Model,
        anomaly: &Anomaly,
        direction: Direction,
    ) -> Result<RepairOutcome> {
        if let Some(outcome) = self
            .repair_by_maintenance(config, anomaly, direction)
            .await?
        {
            return Ok(outcome);
        }
        let (txn, ctx) = self.lock_config(config).await?;
        let Some(status) = self.assess_locked(&txn, &ctx).await? else {
            return Ok(gone());
        };
        if !status.anomalies.contains(anomaly) {
            return Ok(gone());
        }
        let fix = Fix {
            service: self,
            txn: &txn,
            ctx: &ctx,
            to_catalog: direction == Direction::CatalogFollowsLog,
            now: self.now(),
        };
        let outcome = fix.anomaly(anomaly).await?;
        if let RepairOutcome::Repaired(done) = &outcome {
            txn.commit().await?;
            tracing::info!(table = %status.table, %anomaly, %done, "repaired");
        }
        Ok(outcome)
    }

    /// The repairs that are maintenance: a short horizon (premake) and a pending detach (finished). `None`
    /// for the others.
    async fn repair_by_maintenance(
        &self,
        config: &partition_config::Model,
        anomaly: &Anomaly,
        direction: Direction,
    ) -> Result<Option<RepairOutcome>> {
        let qualified = (config.schema_name.clone(), config.table_name.clone());
        Ok(Some(match (anomaly, direction) {
            (Anomaly::HorizonShort { .. }, Direction::CatalogFollowsLog) => {
                self.run_planned(qualified, |a| matches!(a, StepAction::Create(_)))
                    .await?
            }
            (Anomaly::HorizonShort { .. }, _) => skipped(
                "the log has nothing to record for a short horizon: repair it with catalog-follows-log",
            ),
            (Anomaly::PendingDetach { log_id: None, .. }, _) => skipped(
                "the partition is not logged: adopt it first (unlogged, log-follows-catalog)",
            ),
            (
                Anomaly::PendingDetach {
                    log_id: Some(log_id),
                    ..
                },
                _,
            ) => {
                // The log records the detach as pending (the catalog already does); maintenance finishes it.
                let (txn, ctx) = self.lock_config(config).await?;
                let Some(status) = self.assess_locked(&txn, &ctx).await? else {
                    return Ok(Some(gone()));
                };
                if !status.anomalies.contains(anomaly) {
                    return Ok(Some(gone()));
                }
                if let Some(log) = find_log(&txn, *log_id).await? {
                    let mut active = log.into_active_model();
                    active.detach_pending = Set(true);
                    active.update(&txn).await?;
                }
                txn.commit().await?;
                self.run_planned(qualified, |a| matches!(a, StepAction::FinishDetach))
                    .await?
            }
            _ => return Ok(None),
        }))
    }

    async fn lock_config(
        &self,
        config: &partition_config::Model,
    ) -> Result<(DatabaseTransaction, Table)> {
        core::lock(self, config.id, &config.schema_name, &config.table_name).await
    }

    /// The table's status, read under its lock.
    async fn assess_locked(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Table,
    ) -> Result<Option<TableStatus>> {
        Ok(status_with(txn, vec![ctx.config.clone()], self.now())
            .await?
            .tables
            .pop())
    }

    /// Plans the table and runs the planned steps of one kind.
    async fn run_planned(
        &self,
        table: (String, String),
        keep: fn(&StepAction) -> bool,
    ) -> Result<RepairOutcome> {
        let mut plan = self.plan_for(table).await?;
        plan.steps.retain(|s| keep(&s.action));
        if plan.steps.is_empty() {
            return Ok(gone());
        }
        let report = self.run_plan(&plan).await;
        let names: Vec<String> = report
            .tables
            .iter()
            .flat_map(|t| t.steps.iter())
            .map(|s| format!("{} {}", s.step.action.as_str(), s.step.partition))
            .collect();
        if let Some((table, err)) = report
            .tables
            .into_iter()
            .find_map(|t| t.error.map(|e| (t.table, e)))
        {
            return Ok(RepairOutcome::Failed(Error::RepairFailed {
                table,
                source: Box::new(err),
            }));
        }
        Ok(RepairOutcome::Repaired(names.join(", ")))
    }
}

/// One repair in progress: the transaction holding the table's lock, the table, and which side follows.
struct Fix<'a> {
    service: &'a PartitionService,
    txn: &'a DatabaseTransaction,
    ctx: &'a Table,
    /// The catalog follows the log (else the log follows the catalog).
    to_catalog: bool,
    now: DateTime<Utc>,
}

impl Fix<'_> {
    /// Detaches a partition of the table, keeping its table and rows.
    async fn detach(&self, partition: (String, String)) -> Result<()> {
        let recipe = recipe::detach(self.ctx.parent(), partition, DetachMode::Blocking)?;
        exec::run(self.txn, &self.ctx.qualified(), &recipe, |_, err| err).await?;
        Ok(())
    }

    /// The repair of `anomaly`, one function per kind.
    async fn anomaly(&self, anomaly: &Anomaly) -> Result<RepairOutcome> {
        match anomaly {
            Anomaly::LogWithoutTable {
                log_id,
                logged_attached,
                partition,
            } => {
                self.log_without_table(*log_id, *logged_attached, partition)
                    .await
            }
            Anomaly::RenamedByHand {
                partition,
                logged_as,
                log_id,
            } => self.renamed(*log_id, partition, logged_as).await,
            Anomaly::DetachedByHand { log_id, partition } => {
                self.detached_by_hand(*log_id, partition).await
            }
            Anomaly::AttachedByHand { log_id, partition } => {
                self.attached_by_hand(*log_id, partition).await
            }
            Anomaly::Unlogged { partition, bound } => self.unlogged(partition, bound).await,
            Anomaly::BoundMismatch {
                log_id,
                partition,
                catalog,
                ..
            } => self.bound_mismatch(*log_id, partition, catalog).await,
            Anomaly::TablespaceMismatch {
                log_id,
                partition,
                index,
                expected,
                actual,
                ..
            } => {
                self.misplaced(*log_id, partition, *index, expected, actual)
                    .await
            }
            Anomaly::Gap { from, to } if self.to_catalog => {
                let created = fill(self.service, self.txn, self.ctx, *from, *to).await?;
                Ok(repaired(format!(
                    "created {created} partition(s) covering [{from}, {to})"
                )))
            }
            Anomaly::RowsInDefault { partition, .. } if self.to_catalog => {
                self.rows_in_default(partition).await
            }
            Anomaly::PropertiesDiffer {
                log_id, partition, ..
            } if self.to_catalog => self.properties(*log_id, partition).await,
            Anomaly::Gap { .. }
            | Anomaly::RowsInDefault { .. }
            | Anomaly::PropertiesDiffer { .. } => Ok(skipped(
                "the log has nothing to record for this: repair it with catalog-follows-log",
            )),
            _ => Ok(skipped(
                "this kind is only reported: decide by hand which data belongs where",
            )),
        }
    }

    /// Gives a partition the properties it lacks.
    async fn properties(&self, log_id: i64, partition: &str) -> Result<RepairOutcome> {
        let Some(log) = self.log(log_id).await? else {
            return Ok(gone());
        };
        super::properties::apply(
            self.txn,
            self.ctx,
            vec![(log.schema_name.clone(), log.partition_name.clone())],
        )
        .await?;
        Ok(repaired(format!(
            "gave {partition} the properties it lacked"
        )))
    }

    /// The log row of a repair, if it is still there.
    async fn log(&self, log_id: i64) -> Result<Option<partition_log::Model>> {
        find_log(self.txn, log_id).await
    }

    async fn log_without_table(
        &self,
        log_id: i64,
        logged_attached: bool,
        partition: &str,
    ) -> Result<RepairOutcome> {
        let Some(log) = self.log(log_id).await? else {
            return Ok(gone());
        };
        if !self.to_catalog {
            forget(self.txn, &log).await?;
            return Ok(repaired(format!(
                "forgot {partition}: its log row is deleted"
            )));
        }
        if !logged_attached {
            return Ok(skipped(
                "a detached table that is gone cannot be brought back: repair with log-follows-catalog",
            ));
        }
        if log.kind == PartitionKind::Default {
            forget(self.txn, &log).await?;
            let tablespace = self.ctx.config.attach_tablespace.clone();
            core::create_default_named(
                self.service,
                self.txn,
                self.ctx,
                log.partition_name.clone(),
                tablespace,
            )
            .await?;
            return Ok(repaired(format!(
                "recreated the DEFAULT partition {partition} (empty)"
            )));
        }
        // Recreated empty with its logged bound, under a new log row.
        let new = match (log.parent_name.is_none(), log.bound()?) {
            (true, LoggedBound::Time { start, end }) => {
                self.ctx
                    .time_partition(start, end, log.partition_name.clone())?
            }
            (true, LoggedBound::Int { start, end }) => {
                let mut new = self.ctx.int_partition(start, end);
                new.name = log.partition_name.clone();
                new
            }
            _ => {
                return Ok(skipped(
                    "only range and DEFAULT partitions can be recreated: repair with log-follows-catalog",
                ));
            }
        };
        forget(self.txn, &log).await?;
        core::create(self.service, self.txn, self.ctx, new).await?;
        Ok(repaired(format!(
            "recreated {partition} (empty) with its logged bound"
        )))
    }

    async fn renamed(
        &self,
        log_id: i64,
        partition: &str,
        logged_as: &str,
    ) -> Result<RepairOutcome> {
        let Some(log) = self.log(log_id).await? else {
            return Ok(gone());
        };
        if !self.to_catalog {
            record_rename(self.txn, &log, partition).await?;
            return Ok(repaired(format!(
                "recorded {logged_as} under its new name {partition}"
            )));
        }
        let sql = sea_orm::sea_query::Table::rename()
            .table(
                (log.schema_name.clone(), partition.to_owned()),
                log.partition_name.clone(),
            )
            .to_string(PostgresQueryBuilder);
        execute(self.txn, sql).await?;
        Ok(repaired(format!("renamed {partition} back to {logged_as}")))
    }

    async fn detached_by_hand(&self, log_id: i64, partition: &str) -> Result<RepairOutcome> {
        let Some(mut log) = self.log(log_id).await? else {
            return Ok(gone());
        };
        if !self.to_catalog {
            let mut active = log.into_active_model();
            active.is_attached = Set(false);
            active.detach_time = Set(None);
            active.detached_at = Set(Some(self.now));
            active.update(self.txn).await?;
            return Ok(repaired(format!("recorded {partition} as detached")));
        }
        log.is_attached = false;
        let tablespace = self.ctx.config.attach_tablespace.clone();
        core::attach(
            self.service,
            self.txn,
            self.ctx,
            log,
            tablespace.as_deref(),
            None,
        )
        .await?;
        Ok(repaired(format!(
            "attached {partition} back with its logged bound"
        )))
    }

    async fn attached_by_hand(&self, log_id: i64, partition: &str) -> Result<RepairOutcome> {
        let Some(mut log) = self.log(log_id).await? else {
            return Ok(gone());
        };
        if !self.to_catalog {
            let mut active = log.into_active_model();
            active.is_attached = Set(true);
            active.detached_at = Set(None);
            active.update(self.txn).await?;
            return Ok(repaired(format!("recorded {partition} as attached")));
        }
        log.is_attached = true;
        let tablespace = self.ctx.config.detach_tablespace.clone();
        core::detach(self.service, self.txn, self.ctx, log, tablespace.as_deref()).await?;
        Ok(repaired(format!(
            "detached {partition} (its table and rows are kept)"
        )))
    }

    async fn unlogged(&self, partition: &str, bound: &CatalogBound) -> Result<RepairOutcome> {
        if !self.to_catalog {
            return Ok(match adoptable(self.ctx, bound) {
                Ok(row) => {
                    insert_adopted(self.txn, self.ctx, partition, row, self.now).await?;
                    repaired(format!("logged {partition} {bound}"))
                }
                Err(why) => RepairOutcome::Skipped(why),
            });
        }
        self.detach((self.ctx.config.schema_name.clone(), partition.to_owned()))
            .await?;
        Ok(repaired(format!(
            "detached {partition} (its table and rows are kept)"
        )))
    }

    async fn bound_mismatch(
        &self,
        log_id: i64,
        partition: &str,
        bound: &CatalogBound,
    ) -> Result<RepairOutcome> {
        let Some(mut log) = self.log(log_id).await? else {
            return Ok(gone());
        };
        if !self.to_catalog {
            let row = match adoptable(self.ctx, bound) {
                Ok(row) => row,
                Err(why) => return Ok(RepairOutcome::Skipped(why)),
            };
            let mut active = log.into_active_model();
            row.write_to(&mut active);
            active.update(self.txn).await?;
            return Ok(repaired(format!("recorded {partition}'s bound {bound}")));
        }
        // Detached and attached again with the logged bound (PostgreSQL checks its rows fit).
        self.detach((log.schema_name.clone(), log.partition_name.clone()))
            .await?;
        log.is_attached = false;
        core::attach(self.service, self.txn, self.ctx, log, None, None).await?;
        Ok(repaired(format!(
            "attached {partition} again with its logged bound"
        )))
    }

    async fn misplaced(
        &self,
        log_id: i64,
        partition: &str,
        index: bool,
        expected: &str,
        actual: &str,
    ) -> Result<RepairOutcome> {
        let Some(log) = self.log(log_id).await? else {
            return Ok(gone());
        };
        if self.to_catalog {
            core::place_partition(self.txn, &log, expected).await?;
            return Ok(repaired(format!(
                "moved {partition} and its indexes to tablespace {expected}"
            )));
        }
        if index {
            return Ok(skipped(
                "the log records no index's tablespace: repair with catalog-follows-log",
            ));
        }
        let mut active = log.into_active_model();
        active.tablespace = Set(Some(actual.to_owned()));
        active.update(self.txn).await?;
        Ok(repaired(format!(
            "recorded {partition} in tablespace {actual}"
        )))
    }

    async fn rows_in_default(&self, partition: &str) -> Result<RepairOutcome> {
        if !self.ctx.spec()?.is_range() {
            return Ok(skipped(
                "rows in the DEFAULT partition of a list or hash table need a partition for their values: create it with their values",
            ));
        }
        let created = empty_default(self.service, self.txn, self.ctx, partition).await?;
        Ok(repaired(format!(
            "created {created} partition(s) for the rows of {partition}; it is empty now"
        )))
    }
}

fn repaired(done: String) -> RepairOutcome {
    RepairOutcome::Repaired(done)
}

fn skipped(why: &str) -> RepairOutcome {
    RepairOutcome::Skipped(why.to_owned())
}

fn gone() -> RepairOutcome {
    skipped("no longer found when its turn came")
}

/// Deletes a partition's log row and those of its sub-partitions (their tables went with it).
async fn forget(txn: &DatabaseTransaction, log: &partition_log::Model) -> Result<()> {
    use sea_orm::{ColumnTrait, Condition, QueryFilter};
    partition_log::Entity::delete_many()
        .filter(partition_log::Column::ConfigId.eq(log.config_id))
        .filter(
            Condition::any()
                .add(partition_log::Column::Id.eq(log.id))
                .add(partition_log::Column::ParentName.eq(log.partition_name.clone())),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// Records a partition under the name it was given by hand, its sub-partitions' log rows included.
async fn record_rename(
    txn: &DatabaseTransaction,
    log: &partition_log::Model,
    name: &str,
) -> Result<()> {
    use sea_orm::{ColumnTrait, QueryFilter};
    crate::schema::check_name("partition", name)?;
    partition_log::Entity::update_many()
        .col_expr(partition_log::Column::ParentName, Expr::value(name))
        .filter(partition_log::Column::ConfigId.eq(log.config_id))
        .filter(partition_log::Column::ParentName.eq(log.partition_name.as_str()))
        .exec(txn)
        .await?;
    let mut active = log.clone().into_active_model();
    active.partition_name = Set(name.to_owned());
    active.update(txn).await?;
    Ok(())
}

async fn find_log(txn: &DatabaseTransaction, id: i64) -> Result<Option<partition_log::Model>> {
    Ok(partition_log::Entity::find_by_id(id).one(txn).await?)
}

/// The logged bound of a partition whose catalog bound fits the configuration; why not otherwise.
fn adoptable(ctx: &Table, bound: &CatalogBound) -> std::result::Result<LoggedBound, String> {
    let misfit = |what: &str| Err(format!("{bound} {what}: reported, not logged"));
    match bound {
        CatalogBound::Default => Ok(LoggedBound::Default),
        CatalogBound::Range {
            start: Edge::Time(start),
            end: Edge::Time(end),
        } => {
            let Ok(TableSpec::TimeRange {
                period,
                time_zone: tz,
                ..
            }) = ctx.spec()
            else {
                return misfit("is a time range, and the table is not partitioned by periods");
            };
            if period.start(*start, tz) != *start || period.end(*start, tz) != *end {
                return misfit(&format!("is not one {period} in {tz}"));
            }
            Ok(LoggedBound::Time {
                start: *start,
                end: *end,
            })
        }
        CatalogBound::Range {
            start: Edge::Int(start),
            end: Edge::Int(end),
        } => {
            let Ok(TableSpec::IntRange { step, .. }) = ctx.spec() else {
                return misfit("is an integer range, and the table has no step");
            };
            if start.rem_euclid(step) != 0 || end.checked_sub(*start) != Some(step) {
                return misfit(&format!("is not one step of {step}"));
            }
            Ok(LoggedBound::Int {
                start: *start,
                end: *end,
            })
        }
        CatalogBound::List(values) => {
            // Values in the key's own type, as the service logs the lists it creates.
            let integer = matches!(
                ctx.key_type.as_deref(),
                Some("bigint" | "integer" | "smallint")
            );
            let boolean = ctx.key_type.as_deref() == Some("boolean");
            let value = |v: &str| match (integer, boolean) {
                (true, _) => v
                    .parse::<i64>()
                    .map_or_else(|_| ListValue::Text(v.to_owned()), ListValue::Int),
                (_, true) if v == "true" || v == "false" => ListValue::Bool(v == "true"),
                _ => ListValue::Text(v.to_owned()),
            };
            Ok(LoggedBound::List(
                values
                    .iter()
                    .map(|v| v.as_deref().map_or(ListValue::Null, value))
                    .collect(),
            ))
        }
        CatalogBound::Hash { modulus, remainder } => Ok(LoggedBound::Hash {
            modulus: modulus.unsigned_abs(),
            remainder: remainder.unsigned_abs(),
        }),
        _ => misfit("is not a bound this table's configuration describes"),
    }
}

async fn insert_adopted(
    txn: &DatabaseTransaction,
    ctx: &Table,
    partition: &str,
    bound: LoggedBound,
    now: DateTime<Utc>,
) -> Result<partition_log::Model> {
    let mut log = bound.to_log();
    log.config_id = Set(ctx.config.id);
    log.schema_name = Set(ctx.config.schema_name.clone());
    log.partition_name = Set(partition.to_owned());
    log.parent_name = Set(None);
    log.moved_rows = Set(None);
    log.created_by_crate = Set(false);
    log.detach_pending = Set(false);
    log.is_attached = Set(true);
    log.detach_time = Set(None);
    log.tablespace = Set(None);
    log.created_at = Set(now);
    log.detached_at = Set(None);
    Ok(log.insert(txn).await?)
}

/// At a registration that asks for a DEFAULT partition: the table's DEFAULT partition, logged when it has one
/// already (made in a migration, say; moved with its indexes to `tablespace` when one is given, as a new one
/// would be created there), else created.
pub(crate) async fn register_default(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    tablespace: Option<String>,
) -> Result<partition_log::Model> {
    let existing =
        catalog::default_partition(txn, &ctx.config.schema_name, &ctx.config.table_name).await?;
    let Some(name) = existing else {
        return core::create_default(service, txn, ctx, tablespace).await;
    };
    let mut log = insert_adopted(txn, ctx, &name, LoggedBound::Default, service.now()).await?;
    if let Some(tablespace) = tablespace {
        core::place_partition(txn, &log, &tablespace).await?;
        let mut active = log.into_active_model();
        active.tablespace = Set(Some(tablespace));
        log = active.update(txn).await?;
    }
    let mut logs = vec![log];
    core::record_placement(txn, &mut logs).await?;
    Ok(logs.swap_remove(0))
}

/// For a registration, under its lock: when `adopt`, the table's unlogged partitions adopted (see
/// [`adopt_unlogged`]).
pub(crate) async fn adopt_if(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    config: partition_config::Model,
    adopt: bool,
) -> Result<Option<Adoption>> {
    if !adopt {
        return Ok(None);
    }
    let ctx = core::load(txn, config).await?;
    Ok(Some(adopt_unlogged(service, txn, &ctx).await?))
}

/// Logs every partition of the table that the log does not know and that fits its configuration; the
/// others are returned as anomalies, unchanged. Under the table's lock.
pub(crate) async fn adopt_unlogged(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
) -> Result<Adoption> {
    let now = service.now();
    let status = status_with(txn, vec![ctx.config.clone()], now).await?;
    let mut adoption = Adoption::default();
    for table in status.tables {
        for anomaly in table.anomalies {
            let Anomaly::Unlogged { partition, bound } = &anomaly else {
                continue;
            };
            match adoptable(ctx, bound) {
                Ok(row) => adoption
                    .adopted
                    .push(insert_adopted(txn, ctx, partition, row, now).await?),
                Err(_) => adoption.misfits.push(Anomaly::Misaligned {
                    partition: partition.clone(),
                    bound: bound.clone(),
                }),
            }
        }
    }
    let after = status_with(txn, vec![ctx.config.clone()], now).await?;
    adoption.differing = after
        .tables
        .into_iter()
        .flat_map(|t| t.anomalies)
        .filter(|a| a.kind() == AnomalyKind::PropertiesDiffer)
        .collect();
    Ok(adoption)
}

/// Creates the partitions (one period or step each) covering `[from, to)`.
async fn fill(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    from: Edge,
    to: Edge,
) -> Result<usize> {
    let mut created = 0;
    match (from, to, ctx.spec()?) {
        (
            Edge::Time(from),
            Edge::Time(to),
            TableSpec::TimeRange {
                period,
                time_zone: tz,
                ..
            },
        ) => {
            let mut cursor = period.start(from, tz);
            while cursor < to && created < crate::model::plan::MAX_CREATES_PER_RUN {
                let end = period.end(cursor, tz);
                let (start, stop) = (Ord::max(cursor, from), Ord::min(end, to));
                let name = partition_name(&ctx.config.table_name, start, stop, period, tz);
                core::create(service, txn, ctx, ctx.time_partition(start, stop, name)?).await?;
                created += 1;
                cursor = end;
            }
        }
        (Edge::Int(from), Edge::Int(to), TableSpec::IntRange { step, .. }) => {
            let mut cursor = from.div_euclid(step).saturating_mul(step);
            while cursor < to && created < crate::model::plan::MAX_CREATES_PER_RUN {
                let end = cursor.saturating_add(step);
                let (start, stop) = (Ord::max(cursor, from), Ord::min(end, to));
                core::create(service, txn, ctx, ctx.int_partition(start, stop)).await?;
                created += 1;
                cursor = end;
            }
        }
        _ => {
            return Err(Error::NotForThisKind {
                table: ctx.qualified(),
                what: "filling a gap",
                kind: ctx.config.strategy.as_sql().to_lowercase(),
                fix: "gaps exist only between range partitions",
            });
        }
    }
    Ok(created)
}

/// Creates a partition for the period (or step) of the smallest key left in DEFAULT, moving its rows, until
/// DEFAULT is empty.
async fn empty_default(
    service: &PartitionService,
    txn: &DatabaseTransaction,
    ctx: &Table,
    default: &str,
) -> Result<usize> {
    let mut created = 0;
    loop {
        let min = Query::select()
            .expr(Func::min(Expr::col(ctx.config.key_column.clone())))
            .from((ctx.config.schema_name.clone(), default.to_owned()))
            .to_owned();
        let row = txn
            .query_one(&min)
            .await?
            .ok_or_else(|| Error::CheckFailed {
                table: ctx.qualified(),
                check: "reading the smallest key in DEFAULT",
                detail: "min() returned no row".to_owned(),
            })?;
        let new = match ctx.spec()? {
            TableSpec::TimeRange {
                period,
                time_zone: tz,
                ..
            } => {
                let Some(key) = time_key(&row, ctx)? else {
                    break;
                };
                let start = period.start(key, tz);
                let end = period.end(start, tz);
                let name = partition_name(&ctx.config.table_name, start, end, period, tz);
                ctx.time_partition(start, end, name)?
            }
            TableSpec::IntRange { step, .. } => {
                let Some(key) = row.try_get_by_index::<Option<i64>>(0)? else {
                    break;
                };
                let start = key.div_euclid(step).saturating_mul(step);
                ctx.int_partition(start, start.saturating_add(step))
            }
            _ => {
                return Err(Error::NotForThisKind {
                    table: ctx.qualified(),
                    what: "moving rows out of DEFAULT by their period or step",
                    kind: ctx.config.strategy.as_sql().to_lowercase(),
                    fix: "create a list partition for their values",
                });
            }
        };
        if created >= crate::model::plan::MAX_CREATES_PER_RUN {
            break;
        }
        core::create(service, txn, ctx, new).await?;
        created += 1;
    }
    Ok(created)
}

/// The key read as an instant (a `timestamp without time zone` key is local time in the configured zone).
fn time_key(row: &sea_orm::QueryResult, ctx: &Table) -> Result<Option<DateTime<Utc>>> {
    if ctx.key_type.as_deref() == Some("timestamp without time zone") {
        let local: Option<chrono::NaiveDateTime> = row.try_get_by_index(0)?;
        let tz = ctx.time_zone()?;
        Ok(local.map(|l| crate::calendar::local_to_instant(tz, l)))
    } else {
        Ok(row.try_get_by_index(0)?)
    }
}
