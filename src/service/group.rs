//! Retirement groups: configuring them, planning the detaches of their tables together, and running such a
//! step in one transaction. What may form a group and the statements are
//! [`model::group`](crate::model::group)'s.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};

use super::{PartitionService, QualifiedTable, catalog, core};
use crate::entity::{partition_config, partition_log};
use crate::error::{ConfigProblem, Error, Result};
use crate::exec;
use crate::model::group::{self, Member};
use crate::model::plan::Step;
use crate::model::report::StepOutcome;

impl PartitionService {
    /// Makes `tables` one retirement group named `group`: retention detaches (then drops) their partitions
    /// of one range together, in one step and one transaction, the referencing tables' first; the foreign
    /// keys a detached partition keeps towards the group's other tables are dropped with it (the rows they
    /// point to leave with it). The group is exactly these tables (others of the same name leave it).
    ///
    /// They must be range tables partitioned alike (the same period and zone, or step, the same retention,
    /// and not `concurrent_detach`), else [`Error::InvalidConfig`] with
    /// [`ConfigProblem::GroupNotAlike`] and nothing changes. Rows of a table outside the group that still
    /// reference a partition keep the whole step out of the plan, as for a single table.
    ///
    /// ```no_run
    /// # use sea_orm_pg_partitioning::prelude::*;
    /// # async fn run(service: PartitionService) -> Result<(), Error> {
    /// // order_line (.., order_id, created_at) REFERENCES "order" (id, created_at), both monthly.
    /// service.retire_together("orders", ["order", "order_line"]).await?;
    /// service.run_maintenance().await?; // an expired month of both goes in one step
    /// # Ok(()) }
    /// ```
    pub async fn retire_together<I, T>(&self, group: &str, tables: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<QualifiedTable>,
    {
        let mut configs: Vec<partition_config::Model> = Vec::new();
        for table in tables {
            let config = self.config_of(table).await?;
            if !configs.iter().any(|c| c.id == config.id) {
                configs.push(config);
            }
        }
        let name = |c: &partition_config::Model| format!("{}.{}", c.schema_name, c.table_name);
        if group.is_empty() || configs.len() < 2 {
            return Err(Error::InvalidConfig {
                table: configs
                    .first()
                    .map(name)
                    .unwrap_or_else(|| group.to_owned()),
                problem: ConfigProblem::GroupTooSmall,
            });
        }
        for other in &configs[1..] {
            if let Some(why) = group::not_alike(&configs[0], other) {
                return Err(Error::InvalidConfig {
                    table: name(other),
                    problem: ConfigProblem::GroupNotAlike {
                        other: name(&configs[0]),
                        why,
                    },
                });
            }
        }
        let txn = self.connection().begin().await?;
        let ids: Vec<i32> = configs.iter().map(|c| c.id).collect();
        partition_config::Entity::update_many()
            .col_expr(
                partition_config::Column::RetireGroup,
                Expr::value(Option::<String>::None),
            )
            .filter(partition_config::Column::RetireGroup.eq(group))
            .exec(&txn)
            .await?;
        partition_config::Entity::update_many()
            .col_expr(partition_config::Column::RetireGroup, Expr::value(group))
            .col_expr(partition_config::Column::UpdatedAt, Expr::value(self.now()))
            .filter(partition_config::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Takes `table` out of its retirement group: its partitions are retired on their own again.
    pub async fn retire_apart<T: Into<QualifiedTable>>(&self, table: T) -> Result<()> {
        let config = self.config_of(table).await?;
        partition_config::Entity::update_many()
            .col_expr(
                partition_config::Column::RetireGroup,
                Expr::value(Option::<String>::None),
            )
            .filter(partition_config::Column::Id.eq(config.id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Runs a group step: every member table locked in the order of its configuration id (as every runner
    /// does), then each partition detached, referencing tables first, with the foreign keys it kept towards
    /// the group dropped; all in one transaction.
    pub(super) async fn step_retire_together(&self, step: &Step) -> Result<StepOutcome> {
        let mut members: Vec<(i32, String, String, i64)> = std::iter::once((
            step.config_id,
            step.schema.clone(),
            step.table_name.clone(),
            step.log_id.unwrap_or_default(),
        ))
        .chain(step.together.iter().map(|c| {
            (
                c.config_id,
                c.schema.clone(),
                c.table_name.clone(),
                c.log_id,
            )
        }))
        .collect();
        members.sort_by_key(|m| m.0);
        let timeout = Some(self.maintenance_options().lock_timeout);
        let (first, rest) = members.split_first().ok_or_else(|| Error::NotRegistered {
            table: step.table.clone(),
        })?;
        let (txn, ctx) =
            core::lock_with_timeout(self, first.0, &first.1, &first.2, timeout).await?;
        let mut tables = vec![(ctx, first.3)];
        for (config_id, schema, table, log_id) in rest {
            let ctx = core::lock_in(&txn, *config_id, schema, table, timeout).await?;
            tables.push((ctx, *log_id));
        }
        let parents: Vec<(String, String)> = tables.iter().map(|(ctx, _)| ctx.parent()).collect();
        let links = catalog::links_between(&txn, &parents).await?;
        let mut detached = 0;
        for parent in group::order(&parents, &links) {
            let Some((ctx, log_id)) = tables.iter().find(|(ctx, _)| ctx.parent() == parent) else {
                continue;
            };
            let Some(log) = partition_log::Entity::find_by_id(*log_id).one(&txn).await? else {
                continue;
            };
            if !log.is_attached || log.config_id != ctx.config.id {
                continue;
            }
            let partition = (log.schema_name.clone(), log.partition_name.clone());
            let kept = catalog::keys_towards(&txn, (&partition.0, &partition.1), &parents).await?;
            let tablespace = ctx.config.detach_tablespace.clone();
            core::detach(self, &txn, ctx, log, tablespace.as_deref()).await?;
            for key in kept {
                let drop = group::drop_kept_key((&partition.0, &partition.1), &key);
                exec::run(&txn, &ctx.qualified(), &drop, |_, err| err).await?;
            }
            detached += 1;
        }
        txn.commit().await?;
        Ok(if detached == 0 {
            StepOutcome::Skipped("the group's partitions are detached already".to_owned())
        } else {
            StepOutcome::Done { moved_rows: None }
        })
    }
}

/// Merges the detaches of each retirement group's partitions of one range into one step, and gives it the
/// whole group's statements in the order they run. `groups`: each grouped table's group.
pub(crate) async fn plan_groups<C: ConnectionTrait>(
    db: &C,
    steps: Vec<Step>,
    groups: &HashMap<i32, String>,
) -> Result<Vec<Step>> {
    if groups.is_empty() {
        return Ok(steps);
    }
    let mut steps = group::merge(steps, groups);
    for step in steps.iter_mut().filter(|s| !s.together.is_empty()) {
        let own = step.recipe.clone();
        let mut members = vec![(
            (step.schema.clone(), step.table_name.clone()),
            (step.schema.clone(), step.partition.clone()),
            &own,
        )];
        for c in &step.together {
            members.push((
                (c.schema.clone(), c.table_name.clone()),
                (c.schema.clone(), c.partition.clone()),
                &c.recipe,
            ));
        }
        let parents: Vec<(String, String)> = members.iter().map(|m| m.0.clone()).collect();
        let links = catalog::links_between(db, &parents).await?;
        let mut with_keys = Vec::with_capacity(members.len());
        for (table, partition, recipe) in members {
            let kept_keys =
                catalog::keys_towards(db, (&partition.0, &partition.1), &parents).await?;
            with_keys.push(Member {
                table,
                partition,
                recipe,
                kept_keys,
            });
        }
        let recipe = group::group_recipe(&with_keys, &links);
        step.recipe = recipe;
    }
    Ok(steps)
}

/// The retirement group of each grouped table among `configs`.
pub(crate) fn groups_of(configs: &[partition_config::Model]) -> HashMap<i32, String> {
    configs
        .iter()
        .filter_map(|c| Some((c.id, c.retire_group.clone()?)))
        .collect()
}
