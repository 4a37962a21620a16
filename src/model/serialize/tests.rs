//! Unit tests of the JSON shapes (`#[cfg(test)]`): what `pg-partition --json` prints and a service's own
//! endpoints would.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::calendar::Period;
use crate::model::plan::fixtures::{config, range_log};
use crate::model::plan::{Plan, TableState, plan_table};
use crate::model::report::{Report, StepOutcome, StepReport, TableReport};
use crate::model::status::{
    Anomaly, AnomalyKind, CatalogPartition, PartitionStatus, Status, TableStatus,
};
use crate::model::table::Table;
use crate::model::{CatalogBound, Edge, LoggedBound};
use crate::schema::ListValue;

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// One anomaly of every kind.
fn every_anomaly() -> Vec<Anomaly> {
    let p = || "event_p1".to_owned();
    let range = CatalogBound::Range {
        start: Edge::Time(utc(2024, 1, 1)),
        end: Edge::Time(utc(2024, 2, 1)),
    };
    vec![
        Anomaly::TableMissing,
        Anomaly::LogWithoutTable {
            partition: p(),
            log_id: 1,
            logged_attached: true,
        },
        Anomaly::DetachedByHand {
            partition: p(),
            log_id: 1,
        },
        Anomaly::AttachedByHand {
            partition: p(),
            log_id: 1,
        },
        Anomaly::Unlogged {
            partition: p(),
            bound: range.clone(),
        },
        Anomaly::RenamedByHand {
            partition: p(),
            logged_as: "old".into(),
            log_id: 1,
        },
        Anomaly::BoundMismatch {
            partition: p(),
            log_id: 1,
            logged: "x".into(),
            catalog: range.clone(),
        },
        Anomaly::TablespaceMismatch {
            partition: p(),
            log_id: 1,
            relation: "event_p1_pkey".into(),
            index: true,
            expected: "fast".into(),
            actual: "pg_default".into(),
        },
        Anomaly::Gap {
            from: Edge::Int(0),
            to: Edge::Int(10),
        },
        Anomaly::Overlap {
            first: p(),
            second: "event_p2".into(),
        },
        Anomaly::Misaligned {
            partition: p(),
            bound: range,
        },
        Anomaly::HorizonShort {
            horizon: None,
            wanted: Edge::Time(utc(2024, 3, 1)),
        },
        Anomaly::RowsInDefault {
            partition: "event_default".into(),
            estimated_rows: Some(3),
        },
        Anomaly::PendingDetach {
            partition: p(),
            log_id: Some(1),
        },
        Anomaly::IndexIncomplete {
            index: "event_payload".into(),
            missing: vec!["event_p1".into()],
        },
        Anomaly::PropertiesDiffer {
            partition: p(),
            log_id: 1,
            differences: vec![crate::model::properties::PropertyDifference::Owner {
                expected: "app".into(),
                found: "postgres".into(),
            }],
        },
    ]
}

#[test]
fn every_anomaly_has_its_kind_as_the_cli_spells_it_and_its_message() {
    let all = every_anomaly();
    let kinds: Vec<AnomalyKind> = all.iter().map(Anomaly::kind).collect();
    assert_eq!(kinds, AnomalyKind::ALL);
    let list = {
        let mut s = serde_json::Serializer::new(Vec::new());
        super::anomalies(&all, &mut s).unwrap();
        serde_json::from_slice::<Value>(&s.into_inner()).unwrap()
    };
    for (a, v) in all.iter().zip(list.as_array().unwrap()) {
        assert_eq!(v["kind"], a.kind().as_str());
        assert_eq!(to_json(&a.kind()), a.kind().as_str());
        assert_eq!(v["message"], a.to_string());
    }
    assert_eq!(
        list[8],
        json!({"kind": "gap", "from": 0, "to": 10, "message": all[8].to_string()})
    );
    assert_eq!(list[12]["estimated_rows"], 3);
}

#[test]
fn bounds_are_one_object_with_a_kind() {
    let (start, end) = (utc(2024, 1, 1), utc(2024, 2, 1));
    assert_eq!(
        to_json(&LoggedBound::Time { start, end }),
        json!({"kind": "range", "start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"})
    );
    assert_eq!(
        to_json(&LoggedBound::Int { start: -5, end: 5 }),
        json!({"kind": "range", "start": -5, "end": 5})
    );
    let values = vec![
        ListValue::Text("se".into()),
        ListValue::Text(String::new()),
        ListValue::Int(7),
        ListValue::Bool(false),
        ListValue::Null,
    ];
    assert_eq!(
        to_json(&LoggedBound::List(values)),
        json!({"kind": "list", "values": ["se", "", 7, false, null]})
    );
    assert_eq!(
        to_json(&LoggedBound::Hash {
            modulus: 4,
            remainder: 3
        }),
        json!({"kind": "hash", "modulus": 4, "remainder": 3})
    );
    assert_eq!(to_json(&LoggedBound::Default), json!({"kind": "default"}));
    assert_eq!(
        to_json(&CatalogBound::List(vec![Some("a".into()), None])),
        json!({"kind": "list", "values": ["a", null]})
    );
    assert_eq!(
        to_json(&CatalogBound::Other(
            "FOR VALUES FROM (MINVALUE) TO (0)".into()
        )),
        json!({"kind": "other", "sql": "FOR VALUES FROM (MINVALUE) TO (0)"})
    );
    assert_eq!(to_json(&CatalogBound::Default), json!({"kind": "default"}));
}

fn a_plan() -> Plan {
    let ctx = Table {
        config: config(Some(Period::Month), None),
        key_type: Some("timestamp with time zone".into()),
    };
    let logs = [range_log(
        1,
        "event_p2024_01",
        utc(2024, 1, 1),
        utc(2024, 2, 1),
        true,
    )];
    let state = TableState {
        ctx: &ctx,
        logs: &logs,
        max_key: None,
    };
    let steps = plan_table(&state, utc(2024, 1, 10)).unwrap();
    Plan {
        at: utc(2024, 1, 10),
        steps,
        unplannable: vec![("public.other".into(), "why".into())],
        blocked: Vec::new(),
    }
}

#[test]
fn a_plan_gives_each_step_its_bound_as_data_and_its_statements() {
    let plan = a_plan();
    let v = to_json(&plan);
    assert_eq!(v["at"], "2024-01-10T00:00:00Z");
    assert_eq!(
        v["unplannable"],
        json!([{"table": "public.other", "reason": "why"}])
    );
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{v:#}");
    assert_eq!(steps[0]["action"], "create");
    assert_eq!(steps[0]["table"], "public.event");
    assert_eq!(
        steps[0]["bound"],
        json!({"kind": "range", "start": "2024-02-01T00:00:00Z", "end": "2024-03-01T00:00:00Z"})
    );
    assert_eq!(steps[0]["bounds"], plan.steps[0].bounds);
    let statements = steps[0]["recipe"]["statements"].as_array().unwrap();
    assert_eq!(statements.len(), plan.steps[0].recipe.len());
    assert_eq!(statements[0]["kind"], "ddl");
    assert_eq!(
        statements[0]["sql"],
        plan.steps[0].recipe.statements()[0].sql()
    );
}

#[test]
fn a_report_gives_durations_in_seconds_outcomes_and_errors_as_text() {
    let plan = a_plan();
    let report = Report {
        at: plan.at,
        tables: vec![TableReport {
            table: "public.event".into(),
            steps: vec![
                StepReport {
                    step: plan.steps[0].clone(),
                    outcome: StepOutcome::Done {
                        moved_rows: Some(2),
                    },
                    duration: std::time::Duration::from_millis(1500),
                    retries: 1,
                },
                StepReport {
                    step: plan.steps[1].clone(),
                    outcome: StepOutcome::Skipped("another replica did it".into()),
                    duration: std::time::Duration::ZERO,
                    retries: 0,
                },
            ],
            error: Some(crate::error::Error::ZeroInterval),
            duration: std::time::Duration::from_secs(2),
        }],
        unplannable: Vec::new(),
        blocked: Vec::new(),
        duration: std::time::Duration::from_millis(2250),
        interrupted: false,
    };
    let v = to_json(&report);
    assert_eq!(v["duration_secs"], 2.25);
    let table = &v["tables"][0];
    assert_eq!(table["duration_secs"], 2.0);
    assert_eq!(
        table["error"],
        report.tables[0].error.as_ref().unwrap().to_string()
    );
    assert_eq!(
        table["steps"][0]["outcome"],
        json!({"outcome": "done", "moved_rows": 2})
    );
    assert_eq!(table["steps"][0]["duration_secs"], 1.5);
    assert_eq!(table["steps"][0]["retries"], 1);
    assert_eq!(
        table["steps"][1]["outcome"],
        json!({"outcome": "skipped", "reason": "another replica did it"})
    );
}

#[test]
fn a_status_gives_the_computed_state_bound_and_health() {
    let log = range_log(1, "event_p2024_01", utc(2024, 1, 1), utc(2024, 2, 1), true);
    let bound = CatalogBound::Range {
        start: Edge::Time(utc(2024, 1, 1)),
        end: Edge::Time(utc(2024, 2, 1)),
    };
    let status = Status {
        at: utc(2024, 1, 10),
        tables: vec![TableStatus {
            table: "public.event".into(),
            config: config(Some(Period::Month), None),
            exists: true,
            partitions: vec![PartitionStatus {
                schema: "public".into(),
                name: "event_p2024_01".into(),
                log: Some(log),
                catalog: Some(CatalogPartition {
                    attached: true,
                    parent: Some("public.event".into()),
                    detach_pending: false,
                    bound: Some(bound),
                    key_bound: None,
                    tablespace: "pg_default".into(),
                    indexes: Vec::new(),
                    estimated_rows: Some(10),
                    size_bytes: 8192,
                }),
            }],
            horizon: Some(Edge::Time(utc(2024, 2, 1))),
            wanted_horizon: Some(Edge::Time(utc(2024, 4, 1))),
            retention_threshold: None,
            default_has_rows: None,
            anomalies: vec![Anomaly::HorizonShort {
                horizon: Some(Edge::Time(utc(2024, 2, 1))),
                wanted: Edge::Time(utc(2024, 4, 1)),
            }],
        }],
    };
    let v = to_json(&status);
    assert_eq!(v["healthy"], false);
    let table = &v["tables"][0];
    assert_eq!(table["partitioning"], "range by month (UTC)");
    assert_eq!(table["healthy"], false);
    assert_eq!(table["horizon"], "2024-02-01T00:00:00Z");
    assert_eq!(table["anomalies"][0]["kind"], "horizon-short");
    assert_eq!(
        table["anomalies"][0]["message"],
        status.tables[0].anomalies[0].to_string()
    );
    assert_eq!(table["config"]["period"], "month");
    assert_eq!(table["config"]["strategy"], "range");
    assert_eq!(table["config"]["retention_action"], "detach");
    let p = &table["partitions"][0];
    assert_eq!(p["state"], "attached");
    assert_eq!(p["default"], false);
    assert_eq!(p["bound"]["kind"], "range");
    assert_eq!(p["log"]["kind"], "range");
    assert_eq!(p["catalog"]["size_bytes"], 8192);
    assert_eq!(p["catalog"]["estimated_rows"], 10);
}
