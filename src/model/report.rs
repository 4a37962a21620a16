//! What a maintenance run did, table by table and step by step: the data the service's runs return, the
//! background task keeps and the metrics read. Pure.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::model::plan::{BlockedStep, Step, StepAction};

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Done by this run.
    Done {
        /// Rows moved out of the DEFAULT partition into a created partition.
        moved_rows: Option<i64>,
    },
    /// Not needed any more when its turn came (e.g. another replica did it first).
    Skipped(String),
}

/// One executed step.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step as planned.
    pub step: Step,
    /// How it ended.
    pub outcome: StepOutcome,
    /// How long it took, lock waits and retries included (`duration_secs` in JSON).
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "duration_secs",
            serialize_with = "crate::model::serialize::seconds"
        )
    )]
    pub duration: StdDuration,
    /// How many times it hit `lock_timeout` and was retried.
    pub retries: u32,
}

/// What maintenance did to one table.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug)]
pub struct TableReport {
    /// The table, `schema.name`.
    pub table: String,
    /// Its steps, in order.
    pub steps: Vec<StepReport>,
    /// The error that stopped this table's maintenance; the other tables went on (its message in JSON).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::model::serialize::error_opt")
    )]
    pub error: Option<Error>,
    /// Time spent on this table (`duration_secs` in JSON).
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "duration_secs",
            serialize_with = "crate::model::serialize::seconds"
        )
    )]
    pub duration: StdDuration,
}

impl TableReport {
    fn count(&self, action: fn(&StepAction) -> bool) -> usize {
        self.steps
            .iter()
            .filter(|s| action(&s.step.action) && matches!(s.outcome, StepOutcome::Done { .. }))
            .count()
    }

    /// Partitions this run created.
    pub fn created(&self) -> usize {
        self.count(|a| matches!(a, StepAction::Create(_)))
    }

    /// Partitions this run detached (interrupted detaches it finished included).
    pub fn detached(&self) -> usize {
        self.count(|a| matches!(a, StepAction::Detach | StepAction::FinishDetach))
    }

    /// Partitions this run dropped.
    pub fn dropped(&self) -> usize {
        self.count(|a| matches!(a, StepAction::Drop))
    }

    /// Rows this run moved out of the DEFAULT partition.
    pub fn moved_rows(&self) -> i64 {
        self.steps
            .iter()
            .filter_map(|s| match s.outcome {
                StepOutcome::Done { moved_rows } => moved_rows,
                StepOutcome::Skipped(_) => None,
            })
            .sum()
    }
}

/// What a maintenance run did, table by table.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug)]
pub struct Report {
    /// The instant the run planned for.
    pub at: DateTime<Utc>,
    /// Every table that had steps or errors.
    pub tables: Vec<TableReport>,
    /// Tables that could not be planned, with the reason.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::model::serialize::table_reasons")
    )]
    pub unplannable: Vec<(String, String)>,
    /// Creates the plan left out because a partition the log does not know is in their way.
    pub blocked: Vec<BlockedStep>,
    /// The whole run's duration (`duration_secs` in JSON).
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "duration_secs",
            serialize_with = "crate::model::serialize::seconds"
        )
    )]
    pub duration: StdDuration,
    /// Whether the run stopped early because it was asked to (see [`MaintenanceTask::shutdown`](crate::service::MaintenanceTask::shutdown)).
    pub interrupted: bool,
}

impl Report {
    /// Whether every table was maintained without error, and nothing was left out as blocked.
    pub fn is_ok(&self) -> bool {
        self.unplannable.is_empty()
            && self.blocked.is_empty()
            && self.tables.iter().all(|t| t.error.is_none())
    }

    /// The tables that failed, with their errors.
    pub fn errors(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.tables
            .iter()
            .filter_map(|t| t.error.as_ref().map(|e| (t.table.as_str(), e)))
    }

    /// Partitions created, over all tables.
    pub fn created(&self) -> usize {
        self.tables.iter().map(TableReport::created).sum()
    }

    /// Partitions detached, over all tables.
    pub fn detached(&self) -> usize {
        self.tables.iter().map(TableReport::detached).sum()
    }

    /// Partitions dropped, over all tables.
    pub fn dropped(&self) -> usize {
        self.tables.iter().map(TableReport::dropped).sum()
    }
}
