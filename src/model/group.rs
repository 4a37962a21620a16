//! Retirement groups: tables partitioned alike and linked by foreign keys (an order and its lines), whose
//! partitions of one range are retired together, in one step and one transaction. Pure: which tables may
//! form a group, which detaches of a plan go together, in which order, and the statements.
//!
//! PostgreSQL refuses to detach a partition of a referenced table while rows still reference it, and a
//! detached partition of a referencing table keeps its foreign key as a constraint of its own, so retiring
//! each table on its own never gets past the first. A group's step detaches, in one transaction, the
//! referencing tables' partition first, drops the foreign keys that detached partition kept towards the
//! group's other tables (the rows they reference leave with it), then the referenced tables' partition.

use std::collections::{BTreeMap, HashMap};

use crate::entity::partition_config;
use crate::model::TableSpec;
use crate::model::plan::{Step, StepAction};
use crate::model::recipe::Recipe;

/// A foreign key between two tables of a group: (the referencing table, the referenced one), each
/// `(schema, name)`.
pub(crate) type Link = ((String, String), (String, String));

pub use crate::model::plan::Companion;

/// Why `other` cannot be retired together with `first`; `None` when they are partitioned alike: the same
/// kind of range with the same period and zone (or step), the same retention, and blocking detaches.
pub(crate) fn not_alike(
    first: &partition_config::Model,
    other: &partition_config::Model,
) -> Option<String> {
    let name = |c: &partition_config::Model| format!("{}.{}", c.schema_name, c.table_name);
    for config in [first, other] {
        if config.concurrent_detach {
            return Some(format!(
                "{} detaches CONCURRENTLY, which cannot share a transaction with another detach: turn \
                 concurrent_detach off",
                name(config)
            ));
        }
    }
    let (a, b) = match (TableSpec::of(first), TableSpec::of(other)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Some("its configuration cannot be read".into()),
    };
    if !a.is_range() || !b.is_range() {
        return Some(
            "only range tables are retired: list and hash tables have no retention".into(),
        );
    }
    if a != b {
        return Some(format!(
            "{} is partitioned {a}, {} {b}: a group's tables need the same period and zone (or step) and \
             the same retention",
            name(first),
            name(other)
        ));
    }
    if first.retention_action != other.retention_action
        || first.drop_after_seconds != other.drop_after_seconds
    {
        return Some(format!(
            "{} and {} do not retire alike (detach, or drop after the same grace)",
            name(first),
            name(other)
        ));
    }
    None
}

/// Merges the detaches of partitions of one range planned for the tables of one group into one step, the
/// first one's, with the others as its [`Companion`]s. `group_of`: each grouped table's group.
pub(crate) fn merge(steps: Vec<Step>, group_of: &HashMap<i32, String>) -> Vec<Step> {
    let mut home: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut merged: Vec<Step> = Vec::with_capacity(steps.len());
    for step in steps {
        let key = match (
            &step.action,
            step.log_id,
            &step.bound,
            group_of.get(&step.config_id),
        ) {
            (StepAction::Detach, Some(_), Some(bound), Some(group)) => {
                Some((group.clone(), format!("{bound:?}")))
            }
            _ => None,
        };
        let Some(key) = key else {
            merged.push(step);
            continue;
        };
        match home.get(&key) {
            Some(&at) if merged[at].config_id != step.config_id => {
                let companion = Companion {
                    config_id: step.config_id,
                    table: step.table,
                    schema: step.schema,
                    table_name: step.table_name,
                    partition: step.partition,
                    log_id: step.log_id.unwrap_or_default(),
                    recipe: step.recipe,
                };
                let home = &mut merged[at];
                home.together.push(companion);
                home.reason = format!(
                    "{}; retired with {} of its group",
                    home.reason
                        .split("; retired with")
                        .next()
                        .unwrap_or_default(),
                    home.together
                        .iter()
                        .map(|c| format!("{}.{}", c.table_name, c.partition))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            _ => {
                home.insert(key, merged.len());
                merged.push(step);
            }
        }
    }
    merged
}

/// The order a group's tables are detached in: a table before the tables it references. `links`: (the
/// referencing table, the referenced one) for every foreign key between them. Ties, and cycles, by position.
pub(crate) fn order<T: PartialEq + Clone>(tables: &[T], links: &[(T, T)]) -> Vec<T> {
    let mut left: Vec<T> = tables.to_vec();
    let mut ordered = Vec::with_capacity(tables.len());
    while !left.is_empty() {
        // The first table no other remaining table references.
        let next = left
            .iter()
            .position(|t| {
                !links
                    .iter()
                    .any(|(from, to)| to == t && from != t && left.contains(from))
            })
            .unwrap_or(0);
        ordered.push(left.remove(next));
    }
    ordered
}

/// One partition of a group step: its table, and its own statements.
pub(crate) struct Member<'a> {
    pub table: (String, String),
    pub partition: (String, String),
    pub recipe: &'a Recipe,
    /// The foreign keys it holds towards the group's other tables (kept when it is detached).
    pub kept_keys: Vec<String>,
}

/// The statements of a group step: each member's, referencing tables first (`links`, as for [`order`]),
/// each followed by dropping the foreign keys its detached partition kept towards the group.
pub(crate) fn group_recipe(members: &[Member<'_>], links: &[Link]) -> Recipe {
    let tables: Vec<(String, String)> = members.iter().map(|m| m.table.clone()).collect();
    let mut recipe = Recipe::default();
    for table in order(&tables, links) {
        let Some(member) = members.iter().find(|m| m.table == table) else {
            continue;
        };
        recipe = recipe.then(member.recipe.clone());
        for key in &member.kept_keys {
            recipe = recipe.then(drop_kept_key(
                (&member.partition.0, &member.partition.1),
                key,
            ));
        }
    }
    recipe
}

/// `ALTER TABLE partition DROP CONSTRAINT IF EXISTS name`: a foreign key a detached partition kept
/// (PostgreSQL 15 and later keep it; 14 drops it with the detach).
pub(crate) fn drop_kept_key(partition: (&str, &str), constraint: &str) -> Recipe {
    let mut recipe = Recipe::default();
    recipe.push_ddl(
        partition.1,
        crate::model::convert::sql::drop_constraint_if_exists(partition, constraint),
    );
    recipe
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Period;
    use crate::model::plan::fixtures::config;

    #[test]
    fn tables_alike_group_and_others_are_refused_with_the_reason() {
        let mut orders = config(Some(Period::Month), None);
        orders.interval = Some(3);
        let mut lines = orders.clone();
        lines.table_name = "line".into();
        assert_eq!(not_alike(&orders, &lines), None);
        lines.period = Some(Period::Day);
        assert!(not_alike(&orders, &lines).unwrap().contains("same period"));
        lines.period = Some(Period::Month);
        lines.interval = Some(4);
        assert!(not_alike(&orders, &lines).is_some());
        lines.interval = Some(3);
        lines.concurrent_detach = true;
        assert!(not_alike(&orders, &lines).unwrap().contains("CONCURRENTLY"));
        lines.concurrent_detach = false;
        lines.retention_action = partition_config::RetentionAction::Drop;
        assert!(not_alike(&orders, &lines).unwrap().contains("retire alike"));
        let mut list = orders.clone();
        list.strategy = crate::schema::PartitionStrategy::List;
        assert!(not_alike(&orders, &list).unwrap().contains("range"));
    }

    fn detach(config_id: i32, table: &str, day: i64) -> Step {
        let start = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(day);
        let mut recipe = Recipe::default();
        recipe.push_ddl(table, format!("DETACH {table} {day}"));
        Step {
            config_id,
            table: format!("public.{table}"),
            schema: "public".into(),
            table_name: table.into(),
            action: StepAction::Detach,
            partition: format!("{table}_{day}"),
            log_id: Some(i64::from(config_id) * 100 + day),
            bounds: String::new(),
            bound: Some(crate::model::LoggedBound::Time {
                start,
                end: start + chrono::Duration::days(1),
            }),
            recipe,
            lock: "",
            reason: "retention".into(),
            together: Vec::new(),
        }
    }

    #[test]
    fn detaches_of_one_range_in_one_group_become_one_step() {
        let groups: HashMap<i32, String> = [(1, "orders".into()), (2, "orders".into())].into();
        let steps = vec![
            detach(2, "line", 1),
            detach(2, "line", 2),
            detach(3, "other", 1),
            detach(1, "order", 1),
            detach(1, "order", 3),
        ];
        let merged = merge(steps, &groups);
        let summary: Vec<(String, Vec<String>)> = merged
            .iter()
            .map(|s| {
                (
                    s.partition.clone(),
                    s.together.iter().map(|c| c.partition.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("line_1".to_owned(), vec!["order_1".to_owned()]),
                ("line_2".to_owned(), vec![]),
                ("other_1".to_owned(), vec![]),
                ("order_3".to_owned(), vec![]),
            ]
        );
        let home = &merged[0];
        assert_eq!(home.together[0].log_id, 101);
        assert_eq!(
            home.together[0].recipe.sql().collect::<Vec<_>>(),
            ["DETACH order 1"]
        );
        assert!(
            home.reason
                .ends_with("retired with order.order_1 of its group"),
            "{}",
            home.reason
        );
        // The group's statements: the referencing table's, its kept key dropped, then the referenced one's.
        let members = [
            Member {
                table: ("public".into(), "order".into()),
                partition: ("public".into(), "order_1".into()),
                recipe: &home.together[0].recipe,
                kept_keys: vec![],
            },
            Member {
                table: ("public".into(), "line".into()),
                partition: ("public".into(), "line_1".into()),
                recipe: &home.recipe,
                kept_keys: vec!["line_order_fkey".into()],
            },
        ];
        let links = [(
            ("public".to_owned(), "line".to_owned()),
            ("public".to_owned(), "order".to_owned()),
        )];
        assert_eq!(
            group_recipe(&members, &links).sql().collect::<Vec<_>>(),
            [
                "DETACH line 1",
                r#"ALTER TABLE "public"."line_1" DROP CONSTRAINT IF EXISTS "line_order_fkey""#,
                "DETACH order 1",
            ]
        );
    }

    #[test]
    fn referencing_tables_go_first_and_cycles_keep_their_order() {
        let links = [("line", "order"), ("order", "customer"), ("note", "line")];
        assert_eq!(
            order(&["customer", "order", "line", "note"], &links),
            ["note", "line", "order", "customer"]
        );
        assert_eq!(order(&["a", "b"], &[("a", "b"), ("b", "a")]), ["a", "b"]);
        assert_eq!(order(&["a", "b"], &[("a", "a")]), ["a", "b"]);
        assert_eq!(
            drop_kept_key(("s", "line_p"), "line_order_fkey")
                .sql()
                .collect::<Vec<_>>(),
            [r#"ALTER TABLE "s"."line_p" DROP CONSTRAINT IF EXISTS "line_order_fkey""#]
        );
    }
}
