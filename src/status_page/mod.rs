//! The status page: every managed table's partitions drawn on their key axis, as one self-contained HTML file
//! (inline SVG and CSS; no script, font or image fetched from anywhere, so it opens from disk or an admin
//! endpoint as it is).
//!
//! Per table, the page shows a timeline of its range partitions (instants in the table's time zone, or
//! integers), bar height growing with each partition's size, attached, pending-detach, detached and missing
//! partitions told apart, the DEFAULT partition beside them, and the premake horizon, the retention
//! threshold and now as lines; list and hash partitions are rows of cells. Each anomaly is a numbered badge
//! where it is (on the partition, in the gap, at the horizon), listed below the picture in the words of
//! `pg-partition status`. A summary of every table comes first, worst first.
//!
//! Large installations stay readable: past [`StatusPage::collapse_healthy_over`] tables, healthy ones appear
//! in the summary only; past [`StatusPage::aggregate_over`] range partitions, a table's healthy partitions
//! are drawn by month (by year when months are still too many), while partitions with an anomaly are always
//! drawn on their own.
//!
//! The renderer is pure: it reads a [`Status`] and writes a string.
//!
//! # Examples
//!
//! ```no_run
//! use sea_orm_pg_partitioning::prelude::*;
//! use sea_orm_pg_partitioning::status_page::StatusPage;
//!
//! # async fn run(service: PartitionService) -> Result<(), Box<dyn std::error::Error>> {
//! let status = service.status().await?;
//! std::fs::write("status.html", status.to_html())?;                       // the defaults
//! let page = StatusPage::new().title("orders cluster").aggregate_over(200).render(&status);
//! # Ok(()) }
//! ```

mod axis;
mod timeline;

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono_tz::Tz;

use crate::service::{Anomaly, AnomalyKind, PartitionState, Status, TableStatus};
use timeline::{Drawing, Marks};

/// Renders a [`Status`] as one self-contained HTML page (see the [module](self) documentation).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use sea_orm_pg_partitioning::service::Status;
/// use sea_orm_pg_partitioning::status_page::StatusPage;
///
/// let empty = Status { at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(), tables: vec![] };
/// let html = StatusPage::new().title("no tables yet").render(&empty);
/// assert!(html.starts_with("<!DOCTYPE html>"));
/// assert!(html.contains("<title>no tables yet</title>"));
/// assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
/// ```
#[derive(Debug, Clone)]
pub struct StatusPage {
    title: String,
    collapse_healthy_over: usize,
    aggregate_over: usize,
}

impl Default for StatusPage {
    fn default() -> Self {
        Self {
            title: "Partition status".to_owned(),
            collapse_healthy_over: 50,
            aggregate_over: 400,
        }
    }
}

impl StatusPage {
    /// A renderer with the defaults: title "Partition status", healthy tables collapsed past 50 tables,
    /// partitions aggregated past 400 per table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The page's title (escaped like every other text).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// With more tables than this, healthy tables appear in the summary only (default 50).
    pub fn collapse_healthy_over(mut self, tables: usize) -> Self {
        self.collapse_healthy_over = tables;
        self
    }

    /// With more range partitions in one lane than this (or more list and hash cells), a table's healthy
    /// partitions are drawn aggregated, by month or year (default 400; at least 1).
    pub fn aggregate_over(mut self, partitions: usize) -> Self {
        self.aggregate_over = partitions.max(1);
        self
    }

    /// The page.
    pub fn render(&self, status: &Status) -> String {
        let mut out = Out(String::with_capacity(16 * 1024));
        let order = worst_first(status);
        let collapse = status.tables.len() > self.collapse_healthy_over;
        let collapsed = if collapse {
            status.tables.iter().filter(|t| t.is_healthy()).count()
        } else {
            0
        };
        head(&mut out, &self.title);
        header(&mut out, status, collapsed);
        summary(&mut out, status, &order, collapse);
        for (position, index) in order.iter().enumerate() {
            let table = &status.tables[*index];
            if collapse && table.is_healthy() {
                continue;
            }
            section(&mut out, table, position, status.at, self.aggregate_over);
        }
        out.push("</main></body></html>\n");
        out.0
    }
}

impl Status {
    /// This status as a self-contained HTML page, with [`StatusPage`]'s defaults.
    ///
    /// ```
    /// use chrono::Utc;
    /// use sea_orm_pg_partitioning::service::Status;
    ///
    /// let html = Status { at: Utc::now(), tables: vec![] }.to_html();
    /// assert!(html.contains("0 tables"));
    /// ```
    pub fn to_html(&self) -> String {
        StatusPage::new().render(self)
    }
}

/// A size in bytes for reading: `512 B`, `1.5 kB`, `3.2 GB` (powers of 1024).
///
/// ```
/// use sea_orm_pg_partitioning::status_page::human_size;
///
/// assert_eq!(human_size(512), "512 B");
/// assert_eq!(human_size(8192), "8.0 kB");
/// assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GB");
/// ```
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

/// The page being written.
#[derive(Debug)]
pub(super) struct Out(String);

impl Out {
    fn push(&mut self, text: &str) {
        self.0.push_str(text);
    }
}

/// Text for HTML and SVG, element content and attribute values alike.
pub(super) fn esc(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// How much an anomaly needs attention: 3 rows are at risk or will be soon, 2 the log and the catalog
/// disagree, 1 a property drifted.
fn severity(kind: AnomalyKind) -> u8 {
    match kind {
        AnomalyKind::TableMissing
        | AnomalyKind::Gap
        | AnomalyKind::Overlap
        | AnomalyKind::HorizonShort
        | AnomalyKind::RowsInDefault
        | AnomalyKind::IndexIncomplete => 3,
        AnomalyKind::LogWithoutTable
        | AnomalyKind::DetachedByHand
        | AnomalyKind::AttachedByHand
        | AnomalyKind::BoundMismatch
        | AnomalyKind::PendingDetach
        | AnomalyKind::Misaligned
        | AnomalyKind::RenamedByHand => 2,
        AnomalyKind::Unlogged | AnomalyKind::TablespaceMismatch | AnomalyKind::PropertiesDiffer => {
            1
        }
    }
}

fn table_severity(table: &TableStatus) -> u8 {
    table
        .anomalies
        .iter()
        .map(|a| severity(a.kind()))
        .max()
        .unwrap_or(0)
}

/// Table indexes, worst first: highest severity, then most anomalies, then by name.
fn worst_first(status: &Status) -> Vec<usize> {
    let mut order: Vec<usize> = (0..status.tables.len()).collect();
    order.sort_by(|a, b| {
        let (ta, tb) = (&status.tables[*a], &status.tables[*b]);
        (table_severity(tb), tb.anomalies.len())
            .cmp(&(table_severity(ta), ta.anomalies.len()))
            .then_with(|| ta.table.cmp(&tb.table))
    });
    order
}

fn time_zone(table: &TableStatus) -> Tz {
    table.config.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2731;background:#f6f7f9}
header{background:#1d2731;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d2db;font-size:13px}main{padding:16px 24px}
table{border-collapse:collapse;font-size:13px;background:#fff}
th,td{padding:4px 10px;border-bottom:1px solid #e3e7eb;text-align:left;white-space:nowrap}
th{background:#eef1f4}td.num{text-align:right}table.summary{width:100%}table.summary td{white-space:normal}table.summary td:first-child,table.summary td.num{white-space:nowrap}
tr.sev-3 td:first-child{border-left:4px solid #c0392b}tr.sev-2 td:first-child{border-left:4px solid #e8a33d}
tr.sev-1 td:first-child{border-left:4px solid #d4c24a}tr.sev-0 td:first-child{border-left:4px solid #4caf50}
.legend{font-size:12px;margin:10px 0}.legend span{margin-right:14px}
.key{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin-right:4px;border-radius:2px}
.k-attached{background:#3b82c4}.k-detaching{background:#e8a33d}.k-detached{background:#9aa5b1}
.k-missing{border:2px dashed #c0392b;width:8px;height:8px}.k-default{background:#8e6bbf}
.k-gap{background:#f2c4bf;border:1px dashed #c0392b;width:10px;height:10px}
.k-now{background:#1d2731;width:2px}.k-horizon{background:#2e9d58;width:2px}.k-retention{background:#b03a2e;width:2px}
details.table{background:#fff;border:1px solid #dde2e7;border-radius:6px;margin:14px 0;padding:0 14px 10px}
details.table>summary{cursor:pointer;padding:10px 0;list-style-position:outside}
details.table h2{display:inline;font-size:16px;margin:0 10px 0 0}
.meta{color:#55636f;font-size:12px}.sev-3>summary h2{color:#b03a2e}.sev-2>summary h2{color:#a4650f}
.banner{background:#fbe3e0;border:1px solid #c0392b;padding:6px 10px;margin:6px 0;font-size:13px}
svg{display:block;max-width:100%;height:auto;margin:6px 0}
.lane{fill:#f7f9fa;stroke:#e3e7eb}.lane-t{font-size:11px;fill:#55636f;text-anchor:end}
.p{stroke:#fff;stroke-width:.5}.p-attached{fill:#3b82c4}.p-detaching{fill:#e8a33d}.p-detached{fill:#9aa5b1}
.p-missing{fill:#fff;stroke:#c0392b;stroke-width:1.5;stroke-dasharray:4 3}.p-default{fill:#8e6bbf}
.p-default.p-detached{fill:#b9a8d3}.agg{fill-opacity:.8;stroke:#fff}
.anom{stroke:#c0392b;stroke-width:2.5}.gap{fill:#c0392b;fill-opacity:.22;stroke:#c0392b;stroke-dasharray:3 2}
.badge{fill:#c0392b;stroke:#fff;stroke-width:1.5}.badge-t{fill:#fff;font-size:10px;font-weight:bold;text-anchor:middle}
.rule line{stroke-width:1.5}.rule text{font-size:10px}.r-now line{stroke:#1d2731}.r-now text{fill:#1d2731}
.r-horizon line{stroke:#2e9d58;stroke-dasharray:5 3}.r-horizon text{fill:#2e9d58}
.r-retention line{stroke:#b03a2e;stroke-dasharray:5 3}.r-retention text{fill:#b03a2e}
.axis,.tick{stroke:#55636f}.tick-t{font-size:10px;fill:#55636f;text-anchor:middle}
.cell-t{font-size:11px;fill:#fff}.cell-t.small{font-size:10px}.cell-t.dark{fill:#1d2731}
.p-missing~.cell-t{fill:#c0392b}ol.anomalies{font-size:13px;margin:6px 0}ol.anomalies code{color:#b03a2e;margin-right:6px}
ol.anomalies li:target{background:#fff3c4}.partitions{margin-top:6px}.partitions table{margin-top:6px}
";

fn head(out: &mut Out, title: &str) {
    out.push(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    ));
    out.push(&format!("<header><h1>{}</h1>", esc(title)));
}

fn header(out: &mut Out, status: &Status, collapsed: usize) {
    let anomalies = status.anomalies().count();
    let unhealthy = status.tables.iter().filter(|t| !t.is_healthy()).count();
    let mut facts = vec![
        format!("at {}", status.at.format("%Y-%m-%d %H:%M:%S UTC")),
        format!("{} tables", status.tables.len()),
        format!("{unhealthy} with anomalies"),
        format!("{anomalies} anomalies"),
    ];
    if collapsed > 0 {
        facts.push(format!("{collapsed} healthy tables in the summary only"));
    }
    out.push(&format!(
        "<p>{}</p></header><main>",
        esc(&facts.join(" · "))
    ));
    out.push(concat!(
        r#"<div class="legend"><span><i class="key k-attached"></i>attached</span>"#,
        r#"<span><i class="key k-detaching"></i>pending detach</span>"#,
        r#"<span><i class="key k-detached"></i>detached</span>"#,
        r#"<span><i class="key k-missing"></i>logged, missing</span>"#,
        r#"<span><i class="key k-default"></i>DEFAULT</span>"#,
        r#"<span><i class="key k-gap"></i>gap</span>"#,
        r#"<span><i class="key k-now"></i>now</span>"#,
        r#"<span><i class="key k-horizon"></i>premake horizon</span>"#,
        r#"<span><i class="key k-retention"></i>retention threshold</span>"#,
        "<span>bar height: size</span></div>"
    ));
}

fn counts(table: &TableStatus) -> String {
    let states = [
        PartitionState::Attached,
        PartitionState::Detaching,
        PartitionState::Detached,
        PartitionState::Missing,
    ];
    let parts: Vec<String> = states
        .iter()
        .map(|state| {
            let n = table
                .partitions
                .iter()
                .filter(|p| table.is_top_level(p) && p.state() == *state)
                .count();
            (state, n)
        })
        .filter(|(state, n)| *n > 0 || **state == PartitionState::Attached)
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    parts.join(", ")
}

fn total_size(table: &TableStatus) -> i64 {
    table
        .partitions
        .iter()
        .filter_map(|p| p.catalog.as_ref())
        .map(|c| c.size_bytes)
        .fold(0i64, i64::saturating_add)
}

fn summary_status(table: &TableStatus) -> String {
    if table.is_healthy() {
        return "ok".to_owned();
    }
    let kinds: BTreeSet<AnomalyKind> = table.anomalies.iter().map(Anomaly::kind).collect();
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    format!("{}: {}", table.anomalies.len(), kinds.join(", "))
}

fn summary(out: &mut Out, status: &Status, order: &[usize], collapse: bool) {
    out.push(r#"<table class="summary"><thead><tr><th>table</th><th>partitioning</th><th>partitions</th><th>size</th><th>ahead until</th><th>retention before</th><th>DEFAULT</th><th>anomalies</th></tr></thead><tbody>"#);
    for (position, index) in order.iter().enumerate() {
        let table = &status.tables[*index];
        let tz = time_zone(table);
        let name = if collapse && table.is_healthy() {
            esc(&table.table).into_owned()
        } else {
            format!(r##"<a href="#t{position}">{}</a>"##, esc(&table.table))
        };
        let edge = |e: Option<crate::service::Edge>| {
            e.map_or_else(|| "-".to_owned(), |e| axis::label(e, tz))
        };
        let default = match table.default_has_rows {
            None => "-",
            Some(false) => "empty",
            Some(true) => "HAS ROWS",
        };
        out.push(&format!(
            r#"<tr class="sev-{}" data-table="{}"><td>{name}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td><td>{}</td><td>{default}</td><td>{}</td></tr>"#,
            table_severity(table),
            esc(&table.table),
            esc(&table.partitioning()),
            esc(&counts(table)),
            human_size(total_size(table)),
            esc(&edge(table.horizon)),
            esc(&edge(table.retention_threshold)),
            esc(&summary_status(table))
        ));
    }
    out.push("</tbody></table>");
}

/// Numbers the table's anomalies and says where each is drawn.
fn marks_of(table: &TableStatus, section: &str) -> Marks {
    let mut marks = Marks {
        section: section.to_owned(),
        ..Marks::default()
    };
    for (i, anomaly) in table.anomalies.iter().enumerate() {
        let n = i + 1;
        match anomaly {
            Anomaly::Gap { from, to } => marks.gaps.push((*from, *to, n)),
            Anomaly::HorizonShort { .. } => marks.horizon.push(n),
            Anomaly::Overlap { first, second } => {
                for name in [first, second] {
                    marks.by_partition.entry(name.clone()).or_default().push(n);
                }
            }
            // On each partition that lacks its index.
            Anomaly::IndexIncomplete { missing, .. } => {
                for name in missing {
                    marks.by_partition.entry(name.clone()).or_default().push(n);
                }
            }
            other => {
                if let Some(name) = other.partition() {
                    marks
                        .by_partition
                        .entry(name.to_owned())
                        .or_default()
                        .push(n);
                }
            }
        }
    }
    marks
}

fn section(
    out: &mut Out,
    table: &TableStatus,
    position: usize,
    at: chrono::DateTime<chrono::Utc>,
    aggregate_over: usize,
) {
    let id = format!("t{position}");
    let tz = time_zone(table);
    let severity = table_severity(table);
    let mut meta = vec![
        table.partitioning(),
        counts(table),
        human_size(total_size(table)),
    ];
    if let Some(h) = table.horizon {
        meta.push(format!("ahead until {}", axis::label(h, tz)));
    }
    out.push(&format!(
        r#"<details class="table sev-{severity}" id="{id}" data-table="{}" data-anomalies="{}"{}><summary><h2>{}</h2><span class="meta">{}</span></summary>"#,
        esc(&table.table),
        table.anomalies.len(),
        if table.is_healthy() { "" } else { r#" open="open""# },
        esc(&table.table),
        esc(&meta.join(" · "))
    ));
    if let Some(i) = table
        .anomalies
        .iter()
        .position(|a| matches!(a, Anomaly::TableMissing))
    {
        out.push(&format!(
            r##"<div class="banner"><a href="#{id}-a{}">{}</a> the table does not exist</div>"##,
            i + 1,
            i + 1
        ));
    }
    let marks = marks_of(table, &id);
    timeline::render(
        out,
        table,
        &marks,
        Drawing {
            tz,
            aggregate_over,
            now: at,
        },
    );
    if !table.anomalies.is_empty() {
        out.push(r#"<ol class="anomalies">"#);
        for (i, anomaly) in table.anomalies.iter().enumerate() {
            out.push(&format!(
                r#"<li id="{id}-a{}" data-kind="{}"><code>{}</code>{}</li>"#,
                i + 1,
                anomaly.kind().as_str(),
                anomaly.kind().as_str(),
                esc(&anomaly.to_string())
            ));
        }
        out.push("</ol>");
    }
    partition_list(out, table, aggregate_over);
    out.push("</details>");
}

fn partition_list(out: &mut Out, table: &TableStatus, limit: usize) {
    let shown = table.partitions.len().min(limit);
    out.push(&format!(
        r#"<details class="partitions"><summary>{} partitions</summary><table><thead><tr><th>partition</th><th>bound</th><th>state</th><th>tablespace</th><th>rows (est.)</th><th>size</th></tr></thead><tbody>"#,
        table.partitions.len()
    ));
    for p in table.partitions.iter().take(shown) {
        let cat = p.catalog.as_ref();
        let state = format!(
            "{}{}",
            p.state(),
            if p.log.is_none() { ", unlogged" } else { "" }
        );
        out.push(&format!(
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            esc(&p.name),
            esc(&p.bound().map(|b| b.to_string()).unwrap_or_default()),
            esc(&state),
            esc(cat.map_or("-", |c| c.tablespace.as_str())),
            cat.and_then(|c| c.estimated_rows).map_or_else(|| "-".to_owned(), |n| n.to_string()),
            cat.map_or_else(|| "-".to_owned(), |c| human_size(c.size_bytes))
        ));
    }
    out.push("</tbody></table>");
    if shown < table.partitions.len() {
        out.push(&format!(
            "<p class=\"meta\">{} more not listed: <code>pg-partition status {}</code> lists every one.</p>",
            table.partitions.len() - shown,
            esc(&table.table)
        ));
    }
    out.push("</details>");
}

#[cfg(test)]
mod tests;
