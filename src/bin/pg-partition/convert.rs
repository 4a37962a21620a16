//! `pg-partition convert`: a plain table into a partitioned one, online.

use std::io::IsTerminal;
use std::str::FromStr;
use std::sync::Arc;

use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{
    ConversionBuilder, ConversionPhase, ConversionProgress, ConversionReport, QualifiedTable,
};

use super::{Failure, confirm, db_error, print_json, write_out};

/// What `convert` is asked for.
#[derive(clap::Args)]
pub(crate) struct ConvertArgs {
    /// The plain table.
    pub table: String,
    /// The column to partition by.
    #[arg(long, value_name = "COLUMN", required_unless_present_any = ["resume", "rollback"])]
    pub key: Option<String>,
    /// Time ranges: hour, day, week, month (default), quarter or year.
    #[arg(long, conflicts_with = "step")]
    pub period: Option<String>,
    /// Time ranges: the IANA time zone of the period boundaries (default UTC).
    #[arg(long, conflicts_with = "step")]
    pub time_zone: Option<String>,
    /// Time ranges: how the key encodes time (epoch-s, epoch-ms, uuidv7, ulid, snowflake, ...; as `adopt`).
    #[arg(long, conflicts_with = "step")]
    pub encoding: Option<String>,
    /// Integer ranges instead of time: the width of one partition.
    #[arg(long)]
    pub step: Option<i64>,
    /// A primary key (or unique key) without the partition key: include-key (default: widened with it) or
    /// suppress (the primary key becomes a plain index; other unique keys stop the conversion).
    #[arg(long, value_name = "POLICY")]
    pub primary_key: Option<String>,
    /// Keep a DEFAULT partition, for NULL keys and keys outside every partition.
    #[arg(long = "default")]
    pub default_partition: bool,
    /// Tablespace of the partitions and their indexes.
    #[arg(long)]
    pub attach_tablespace: Option<String>,
    /// Tablespace of partitions once detached by retention.
    #[arg(long)]
    pub detach_tablespace: Option<String>,
    /// Retention, registered with the table: periods (time) or partitions (integers) to keep.
    #[arg(long, value_name = "N")]
    pub retention: Option<u32>,
    /// Keep the old heap after the swap, renamed TABLE_sopp_old.
    #[arg(long, conflicts_with = "legacy")]
    pub keep_old: bool,
    /// Keep the old rows where they are: the table becomes one partition (TABLE_legacy, attached with a
    /// CHECK that proves its bound, validated without blocking writes); new periods get partitions of
    /// their own. Nothing is copied.
    #[arg(long, conflicts_with = "default_partition")]
    pub legacy: bool,
    /// Blocks (8 kB) a copy batch reads (default 2048).
    #[arg(long, value_name = "N")]
    pub batch_blocks: Option<u32>,
    /// Show the plan (what is carried over, the partitions, what stops it); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before converting.
    #[arg(long)]
    pub yes: bool,
    /// Finish an interrupted conversion of TABLE from where it stopped, with the settings it started with.
    #[arg(long, conflicts_with_all = ["dry_run", "rollback"])]
    pub resume: bool,
    /// Undo an interrupted conversion of TABLE that has not swapped yet: the table stays as it was.
    #[arg(long, conflicts_with_all = ["dry_run", "resume"])]
    pub rollback: bool,
}

/// `convert TABLE --key COLUMN [--period P ..] [--dry-run] [--yes] | --resume | --rollback`.
pub(crate) async fn convert(
    service: &PartitionService,
    table: QualifiedTable,
    args: &ConvertArgs,
    json: bool,
) -> Result<u8, Failure> {
    if args.rollback {
        service
            .rollback_conversion(table.clone())
            .await
            .map_err(db_error)?;
        out!("rolled back: {} is as it was", table.name);
        return Ok(0);
    }
    let bar = progress_bar(json);
    let report = if args.resume {
        let report = service
            .resume_conversion_with(table, Some(tell(bar.clone())))
            .await;
        report.map_err(db_error)?
    } else {
        let builder = builder(service, table.clone(), args)?;
        // Converted before: the same command again reports it and changes nothing.
        let done = service.conversion(table).await.map_err(db_error)?;
        if done.is_some_and(|state| state.phase == ConversionPhase::Finished.as_str())
            && !args.dry_run
        {
            let report = builder.run().await.map_err(db_error)?;
            print_report(&report, json);
            return Ok(0);
        }
        let plan = builder.plan().await.map_err(db_error)?;
        if json && (args.dry_run || !plan.is_possible()) {
            print_json(&plan);
        } else if !json {
            out!("{plan}");
        }
        if !plan.is_possible() {
            return Err(Failure(
                format!(
                    "{} cannot be converted: {} problem(s), listed above; nothing was changed",
                    plan.table,
                    plan.problems.len()
                ),
                2,
            ));
        }
        if args.dry_run {
            return Ok(0);
        }
        if !args.yes {
            confirm(&format!(
                "Convert {} ({} rows estimated) into a partitioned table?",
                plan.table, plan.estimated_rows
            ))?;
        }
        let builder = builder.on_progress({
            let tell = tell(bar.clone());
            move |p| tell(p)
        });
        builder.run().await.map_err(db_error)?
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print_report(&report, json);
    Ok(0)
}

fn builder(
    service: &PartitionService,
    table: QualifiedTable,
    args: &ConvertArgs,
) -> Result<ConversionBuilder, Failure> {
    let Some(key) = &args.key else {
        return Err(Failure("convert needs --key COLUMN".to_owned(), 2));
    };
    let mut b = service.convert(table).key(key.clone());
    if let Some(step) = args.step {
        b = b.step(step);
    } else {
        if let Some(period) = &args.period {
            let period = Period::from_str(period).map_err(|_| {
                Failure(
                    format!(
                        "unknown --period {period:?}: use hour, day, week, month, quarter or year"
                    ),
                    2,
                )
            })?;
            b = b.period(period);
        }
        if let Some(zone) = &args.time_zone {
            b = b.time_zone_name(zone.clone());
        }
        if let Some(encoding) = &args.encoding {
            let encoding = TimeEncoding::from_str(encoding)
                .map_err(|e| Failure(format!("--encoding: {e}"), 2))?;
            b = b.encoding(encoding);
        }
    }
    if let Some(policy) = &args.primary_key {
        b = b.primary_key_policy(match policy.as_str() {
            "include-key" => PrimaryKeyPolicy::IncludeKey,
            "suppress" => PrimaryKeyPolicy::Suppress,
            other => {
                return Err(Failure(
                    format!("unknown --primary-key {other:?}: use include-key or suppress"),
                    2,
                ));
            }
        });
    }
    b = b
        .default_partition(args.default_partition)
        .keep_old_table(args.keep_old)
        .legacy_partition(args.legacy);
    if let Some(t) = &args.attach_tablespace {
        b = b.attach_tablespace(t.clone());
    }
    if let Some(t) = &args.detach_tablespace {
        b = b.detach_tablespace(t.clone());
    }
    if let Some(n) = args.retention {
        b = b.retention(n);
    }
    if let Some(n) = args.batch_blocks {
        b = b.batch_blocks(n);
    }
    Ok(b)
}

/// A progress bar on a terminal (standard error), else nothing.
fn progress_bar(json: bool) -> Option<indicatif::ProgressBar> {
    (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} blocks  {msg}")
        {
            bar.set_style(style);
        }
        bar
    })
}

/// What each batch's progress does: moves the bar, or (off a terminal) prints a line when the phase changes.
fn tell(bar: Option<indicatif::ProgressBar>) -> Arc<dyn Fn(&ConversionProgress) + Send + Sync> {
    let last = std::sync::Mutex::new(None);
    Arc::new(move |p: &ConversionProgress| match &bar {
        Some(bar) => {
            bar.set_length(p.total_blocks.max(0) as u64);
            bar.set_position(p.copied_blocks.max(0) as u64);
            bar.set_message(format!(
                "{}: {} rows copied, {} changes applied",
                p.phase, p.rows_copied, p.changes_applied
            ));
        }
        None => {
            let Ok(mut last) = last.lock() else { return };
            if *last != Some(p.phase) {
                *last = Some(p.phase);
                eprintln!(
                    "{}: {} {}/{} blocks, {} rows copied, {} changes applied",
                    p.table,
                    p.phase,
                    p.copied_blocks,
                    p.total_blocks,
                    p.rows_copied,
                    p.changes_applied
                );
            }
        }
    })
}

fn print_report(report: &ConversionReport, json: bool) {
    if json {
        print_json(report);
        return;
    }
    let p = &report.progress;
    let lock = report
        .swap_lock
        .map_or_else(|| "-".to_owned(), |d| format!("{} ms", d.as_millis()));
    out!(
        "converted {}: {} rows copied, {} changes applied, {} partitions; the swap held the table's lock {lock}",
        p.table,
        p.rows_copied,
        p.changes_applied,
        report.partitions
    );
    if let Some(kept) = &report.kept_as {
        out!("the old table is kept as {kept}");
    }
}
