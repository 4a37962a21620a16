//! What background maintenance publishes through the [`metrics`] facade: install any recorder (a Prometheus
//! exporter, ...) and these appear; without one they cost nothing.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `sopp_maintenance_runs_total` | counter | `outcome` (`ok`, `failed`) | runs of the background task |
//! | `sopp_maintenance_run_seconds` | histogram | | how long a run took |
//! | `sopp_maintenance_steps_total` | counter | `table`, `action`, `outcome` (`done`, `skipped`) | steps run |
//! | `sopp_maintenance_table_failures_total` | counter | `table` | tables whose steps failed in a run |
//! | `sopp_maintenance_lock_retries_total` | counter | `table` | steps retried after a lock timeout |
//! | `sopp_partitions_ahead_seconds` | gauge | `table` | time ranges: how far the partitions reach past now |
//! | `sopp_default_has_rows` | gauge | `table` | 1 when the DEFAULT partition holds rows, else 0 |
//! | `sopp_detach_pending` | gauge | `table` | partitions with a `DETACH .. CONCURRENTLY` left pending |
//! | `sopp_anomalies` | gauge | `table` | anomalies status finds (`pg-partition status` lists them) |

use chrono::{DateTime, Utc};

use crate::model::Edge;
use crate::model::report::{Report, StepOutcome};
use crate::model::status::{PartitionState, Status};

/// A finished run and what it did.
pub(crate) fn record_run(report: &Report) {
    let outcome = if report.is_ok() { "ok" } else { "failed" };
    metrics::counter!("sopp_maintenance_runs_total", "outcome" => outcome).increment(1);
    metrics::histogram!("sopp_maintenance_run_seconds").record(report.duration.as_secs_f64());
    for table in &report.tables {
        if table.error.is_some() {
            metrics::counter!("sopp_maintenance_table_failures_total", "table" => table.table.clone())
                .increment(1);
        }
        for step in &table.steps {
            let outcome = match step.outcome {
                StepOutcome::Done { .. } => "done",
                StepOutcome::Skipped(_) => "skipped",
            };
            metrics::counter!(
                "sopp_maintenance_steps_total",
                "table" => table.table.clone(),
                "action" => step.step.action.as_str(),
                "outcome" => outcome
            )
            .increment(1);
            if step.retries > 0 {
                metrics::counter!("sopp_maintenance_lock_retries_total", "table" => table.table.clone())
                    .increment(u64::from(step.retries));
            }
        }
    }
}

/// A run that could not even plan (the database unreachable, ...).
pub(crate) fn record_failed_run() {
    metrics::counter!("sopp_maintenance_runs_total", "outcome" => "failed").increment(1);
}

/// The state of every table after a run.
pub(crate) fn record_status(status: &Status, now: DateTime<Utc>) {
    for table in &status.tables {
        let name = table.table.clone();
        if let Some(Edge::Time(horizon)) = table.horizon {
            let ahead = (horizon - now).num_milliseconds() as f64 / 1000.0;
            metrics::gauge!("sopp_partitions_ahead_seconds", "table" => name.clone()).set(ahead);
        }
        if let Some(rows) = table.default_has_rows {
            metrics::gauge!("sopp_default_has_rows", "table" => name.clone())
                .set(f64::from(u8::from(rows)));
        }
        let pending = table
            .partitions
            .iter()
            .filter(|p| p.state() == PartitionState::Detaching)
            .count();
        metrics::gauge!("sopp_detach_pending", "table" => name.clone()).set(pending as f64);
        metrics::gauge!("sopp_anomalies", "table" => name).set(table.anomalies.len() as f64);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use chrono::{Duration, TimeZone};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::calendar::Period;
    use crate::model::plan::fixtures::config;
    use crate::model::plan::{Step, StepAction};
    use crate::model::recipe::Recipe;
    use crate::model::report::{StepReport, TableReport};
    use crate::model::status::TableStatus;

    fn step(action: StepAction, outcome: StepOutcome, retries: u32) -> StepReport {
        StepReport {
            step: Step {
                config_id: 1,
                table: "public.event".into(),
                schema: "public".into(),
                table_name: "event".into(),
                action,
                partition: "event_p".into(),
                log_id: None,
                bounds: String::new(),
                bound: None,
                recipe: Recipe::default(),
                lock: "",
                reason: String::new(),
                together: Vec::new(),
            },
            outcome,
            duration: StdDuration::from_millis(5),
            retries,
        }
    }

    #[test]
    fn a_run_and_the_tables_state_become_counters_and_gauges() {
        let now = Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap();
        let report = Report {
            at: now,
            tables: vec![TableReport {
                table: "public.event".into(),
                steps: vec![
                    step(
                        StepAction::Detach,
                        StepOutcome::Done { moved_rows: None },
                        2,
                    ),
                    step(
                        StepAction::Detach,
                        StepOutcome::Skipped("already".into()),
                        0,
                    ),
                ],
                error: None,
                duration: StdDuration::from_millis(10),
            }],
            unplannable: Vec::new(),
            blocked: Vec::new(),
            duration: StdDuration::from_millis(10),
            interrupted: false,
        };
        let mut cfg = config(Some(Period::Day), None);
        cfg.default_partition = true;
        let status = Status {
            at: now,
            tables: vec![TableStatus {
                table: "public.event".into(),
                config: cfg,
                exists: true,
                partitions: Vec::new(),
                horizon: Some(Edge::Time(now + Duration::days(2))),
                wanted_horizon: None,
                retention_threshold: None,
                default_has_rows: Some(true),
                anomalies: Vec::new(),
            }],
        };
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            record_run(&report);
            record_failed_run();
            record_status(&status, now);
        });
        type Labels = Vec<(String, String)>;
        let values: Vec<(String, Labels, DebugValue)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let key = key.key();
                let labels = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                (key.name().to_owned(), labels, value)
            })
            .collect();
        let find = |name: &str, label: Option<(&str, &str)>| {
            values
                .iter()
                .find(|(n, labels, _)| {
                    n == name
                        && label
                            .is_none_or(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|(_, _, value)| value)
        };
        assert_eq!(
            find("sopp_maintenance_runs_total", Some(("outcome", "ok"))),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            find("sopp_maintenance_runs_total", Some(("outcome", "failed"))),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            find("sopp_maintenance_steps_total", Some(("outcome", "done"))),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            find("sopp_maintenance_steps_total", Some(("outcome", "skipped"))),
            Some(&DebugValue::Counter(1))
        );
        assert_eq!(
            find("sopp_maintenance_lock_retries_total", None),
            Some(&DebugValue::Counter(2))
        );
        assert_eq!(
            find(
                "sopp_partitions_ahead_seconds",
                Some(("table", "public.event"))
            ),
            Some(&DebugValue::Gauge(172_800.0.into()))
        );
        assert_eq!(
            find("sopp_default_has_rows", None),
            Some(&DebugValue::Gauge(1.0.into()))
        );
        assert_eq!(
            find("sopp_detach_pending", None),
            Some(&DebugValue::Gauge(0.0.into()))
        );
        assert!(
            matches!(find("sopp_maintenance_run_seconds", None), Some(DebugValue::Histogram(h)) if h.len() == 1)
        );
    }
}
