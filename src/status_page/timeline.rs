//! One table's picture as inline SVG: range partitions on the key axis, list and hash partitions (and
//! bounds no axis can show) as rows of cells, DEFAULT beside them; anomaly badges where each anomaly is.

use std::collections::{BTreeMap, HashMap};

use chrono_tz::Tz;

use super::axis::{self, Scale};
use super::{Out, esc, human_size};
use crate::calendar::Period;
use crate::service::{CatalogBound, Edge, PartitionState, PartitionStatus, TableStatus};

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 92.0;
const TOP: f64 = 40.0;
const LANE: f64 = 58.0;
const BAR_MIN: f64 = 8.0;
const BAR_MAX: f64 = 46.0;
const CELL_W: f64 = 150.0;
const CELL_H: f64 = 46.0;
const CELLS_PER_ROW: usize = 7;

/// Where each anomaly of a table is drawn: its number (1-based, as listed below the picture).
#[derive(Debug, Default)]
pub(super) struct Marks {
    /// The id prefix of the table's section (badges link to `{section}-a{n}`).
    pub section: String,
    /// Anomalies of a partition, by partition name.
    pub by_partition: HashMap<String, Vec<usize>>,
    /// Gaps: `[from, to)` and the number.
    pub gaps: Vec<(Edge, Edge, usize)>,
    /// A short horizon, drawn at the premake horizon.
    pub horizon: Vec<usize>,
}

/// How the page draws one table.
#[derive(Debug, Clone, Copy)]
pub(super) struct Drawing {
    /// The table's time zone (UTC for tables without one).
    pub tz: Tz,
    /// More range partitions (or cells) than this are aggregated.
    pub aggregate_over: usize,
    /// The status instant.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// One shape on the axis: a partition, or several aggregated.
#[derive(Debug, Clone)]
struct Bar {
    start: f64,
    end: f64,
    state: PartitionState,
    size: i64,
    rows: Option<i64>,
    marks: Vec<usize>,
    title: String,
    /// The partitions it stands for (1 unless aggregated).
    count: usize,
    /// The partition's name, or `None` for an aggregate.
    name: Option<String>,
}

fn title_of(p: &PartitionStatus, bound: &str, tz_label: impl Fn(Edge) -> String) -> String {
    let cat = p.catalog.as_ref();
    let mut lines = vec![p.name.clone(), bound.to_owned()];
    if let Some(CatalogBound::Range { start, end }) = p.bound() {
        lines.push(format!("{} .. {}", tz_label(start), tz_label(end)));
    }
    let mut facts = vec![p.state().as_str().to_owned()];
    if p.log.is_none() {
        facts.push("unlogged".to_owned());
    }
    if let Some(c) = cat {
        facts.push(format!("tablespace {}", c.tablespace));
        if let Some(rows) = c.estimated_rows {
            facts.push(format!("~{rows} rows"));
        }
        facts.push(human_size(c.size_bytes));
    }
    lines.push(facts.join(" · "));
    lines.join("\n")
}

fn bar_of(p: &PartitionStatus, start: Edge, end: Edge, marks: &Marks, tz: Tz) -> Bar {
    let bound = p.bound().map(|b| b.to_string()).unwrap_or_default();
    Bar {
        start: axis::value(start),
        end: axis::value(end),
        state: p.state(),
        size: p.catalog.as_ref().map_or(0, |c| c.size_bytes),
        rows: p.catalog.as_ref().and_then(|c| c.estimated_rows),
        marks: marks.by_partition.get(&p.name).cloned().unwrap_or_default(),
        title: title_of(p, &bound, |e| axis::label(e, tz)),
        count: 1,
        name: Some(p.name.clone()),
    }
}

/// Whether a bar belongs in the lower (detached) lane: detached tables, and missing ones logged as
/// detached.
fn lower_lane(bar: &Bar, p: Option<&PartitionStatus>) -> bool {
    match bar.state {
        PartitionState::Detached => true,
        PartitionState::Missing => p
            .and_then(|p| p.log.as_ref())
            .is_some_and(|l| !l.is_attached),
        PartitionState::Attached | PartitionState::Detaching => false,
    }
}

/// Aggregates unmarked bars of one lane by calendar month (then year) or by equal integer spans, so at
/// most about `limit` shapes remain; marked bars stay as they are.
fn aggregate(bars: Vec<Bar>, limit: usize, time: bool, tz: Tz) -> Vec<Bar> {
    if bars.len() <= limit {
        return bars;
    }
    let (lo, hi) = bars.iter().fold((f64::MAX, f64::MIN), |(lo, hi), b| {
        (lo.min(b.start), hi.max(b.end))
    });
    let int_width = ((hi - lo) / limit.max(1) as f64).max(1.0);
    let key_of = |b: &Bar, period: Period| -> i64 {
        if time {
            chrono::DateTime::from_timestamp(b.start as i64, 0)
                .map_or(0, |t| period.start(t, tz).timestamp())
        } else {
            ((b.start - lo) / int_width).floor() as i64
        }
    };
    let months = bars
        .iter()
        .map(|b| key_of(b, Period::Month))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let period = if months > limit {
        Period::Year
    } else {
        Period::Month
    };
    let mut kept = Vec::new();
    let mut buckets: BTreeMap<i64, Bar> = BTreeMap::new();
    for bar in bars {
        if !bar.marks.is_empty() {
            kept.push(bar);
            continue;
        }
        let key = key_of(&bar, period);
        buckets
            .entry(key)
            .and_modify(|agg| merge(agg, &bar))
            .or_insert_with(|| Bar {
                name: None,
                ..bar.clone()
            });
    }
    let mut out: Vec<Bar> = buckets
        .into_values()
        .map(|mut agg| {
            agg.title = format!(
                "{} partitions\n{} · {}",
                agg.count,
                agg.rows
                    .map_or_else(|| "rows unknown".to_owned(), |r| format!("~{r} rows")),
                human_size(agg.size)
            );
            agg
        })
        .collect();
    out.extend(kept);
    out
}

fn merge(agg: &mut Bar, bar: &Bar) {
    agg.start = agg.start.min(bar.start);
    agg.end = agg.end.max(bar.end);
    agg.size = agg.size.saturating_add(bar.size);
    agg.rows = match (agg.rows, bar.rows) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (a, b) => a.or(b),
    };
    agg.count += 1;
    // A bucket is shown in its least settled state.
    if bar.state != PartitionState::Attached && agg.state == PartitionState::Attached {
        agg.state = bar.state;
    }
}

/// The SVG of one table: a timeline for range tables, rows of cells for the rest.
pub(super) fn render(out: &mut Out, table: &TableStatus, marks: &Marks, drawing: Drawing) {
    let top: Vec<&PartitionStatus> = table
        .partitions
        .iter()
        .filter(|p| table.is_top_level(p))
        .collect();
    let mut upper = Vec::new();
    let mut lower = Vec::new();
    let mut cells = Vec::new();
    let mut defaults = Vec::new();
    let time = table.config.period.is_some();
    for p in top {
        match p.bound() {
            _ if p.is_default() => defaults.push(p),
            Some(CatalogBound::Range { start, end }) => {
                let bar = bar_of(p, start, end, marks, drawing.tz);
                if lower_lane(&bar, Some(p)) {
                    lower.push(bar);
                } else {
                    upper.push(bar);
                }
            }
            _ => cells.push(p),
        }
    }
    let ranged = !upper.is_empty() || !lower.is_empty() || table.wanted_horizon.is_some();
    if ranged {
        let upper = aggregate(upper, drawing.aggregate_over, time, drawing.tz);
        let lower = aggregate(lower, drawing.aggregate_over, time, drawing.tz);
        timeline(out, table, marks, drawing, [&upper, &lower], &defaults);
        if !cells.is_empty() {
            grid(out, &cells, &[], marks, drawing);
        }
    } else {
        grid(out, &cells, &defaults, marks, drawing);
    }
}

/// Badges for `numbers`, centred at `x` on `y`, each linking to its line in the list below.
fn badges(out: &mut Out, marks: &Marks, numbers: &[usize], x: f64, y: f64) {
    let first = x - (numbers.len().saturating_sub(1) as f64) * 9.0;
    for (i, n) in numbers.iter().enumerate() {
        let cx = first + i as f64 * 18.0;
        out.push(&format!(
            r##"<a href="#{}-a{n}"><circle class="badge" cx="{cx:.1}" cy="{y:.1}" r="8"/><text class="badge-t" x="{cx:.1}" y="{:.1}">{n}</text></a>"##,
            esc(&marks.section),
            y + 3.5
        ));
    }
}

/// Every value the axis must show.
fn domain(table: &TableStatus, marks: &Marks, lanes: [&[Bar]; 2], now: Option<f64>) -> (f64, f64) {
    let mut values: Vec<f64> = lanes
        .iter()
        .flat_map(|bars| bars.iter().flat_map(|b| [b.start, b.end]))
        .collect();
    values.extend(
        [
            table.horizon,
            table.wanted_horizon,
            table.retention_threshold,
        ]
        .into_iter()
        .flatten()
        .map(axis::value),
    );
    values.extend(
        marks
            .gaps
            .iter()
            .flat_map(|(f, t, _)| [axis::value(*f), axis::value(*t)]),
    );
    values.extend(now);
    values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)))
}

fn timeline(
    out: &mut Out,
    table: &TableStatus,
    marks: &Marks,
    drawing: Drawing,
    lanes: [&[Bar]; 2],
    defaults: &[&PartitionStatus],
) {
    let time = table.config.period.is_some();
    let now = time.then(|| drawing.now.timestamp() as f64);
    let (lo, hi) = domain(table, marks, lanes, now);
    let right = if defaults.is_empty() { 20.0 } else { 140.0 };
    let scale = Scale::new(lo, hi, LEFT, WIDTH - LEFT - right);
    let lane_count = if lanes[1].is_empty() { 1 } else { 2 };
    let axis_y = TOP + LANE * lane_count as f64;
    let height = axis_y + 34.0;
    out.push(&format!(
        r#"<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="partitions of {} on the key axis">"#,
        esc(&table.table)
    ));
    for (i, name) in ["attached", "detached"].iter().take(lane_count).enumerate() {
        let y = TOP + LANE * i as f64;
        out.push(&format!(
            r#"<rect class="lane" x="{LEFT}" y="{y}" width="{:.1}" height="{LANE}"/><text class="lane-t" x="{:.1}" y="{:.1}">{name}</text>"#,
            WIDTH - LEFT - right,
            LEFT - 8.0,
            y + LANE / 2.0 + 4.0
        ));
    }
    let max_size = lanes
        .iter()
        .flat_map(|l| l.iter().map(|b| b.size))
        .max()
        .unwrap_or(0)
        .max(1);
    for (i, bars) in lanes.iter().enumerate().take(lane_count) {
        let bottom = TOP + LANE * (i as f64 + 1.0) - 2.0;
        for bar in bars.iter() {
            draw_bar(out, marks, &scale, bar, bottom, max_size);
        }
    }
    for (from, to, n) in &marks.gaps {
        let (x1, x2) = (scale.x(axis::value(*from)), scale.x(axis::value(*to)));
        out.push(&format!(
            r#"<rect class="gap" x="{x1:.1}" y="{TOP}" width="{:.1}" height="{}"><title>gap {} .. {}</title></rect>"#,
            (x2 - x1).max(3.0),
            LANE - 2.0,
            esc(&axis::label(*from, drawing.tz)),
            esc(&axis::label(*to, drawing.tz))
        ));
        badges(out, marks, &[*n], (x1 + x2) / 2.0, TOP + 10.0);
    }
    rules(out, table, marks, drawing, &scale, now, axis_y);
    draw_axis(out, &scale, time, drawing.tz, axis_y);
    if !defaults.is_empty() {
        let x = WIDTH - right + 16.0;
        for (i, p) in defaults.iter().enumerate() {
            default_box(out, p, marks, x, TOP + 6.0 + i as f64 * (LANE - 6.0));
        }
    }
    out.push("</svg>");
}

fn draw_bar(out: &mut Out, marks: &Marks, scale: &Scale, bar: &Bar, bottom: f64, max_size: i64) {
    let x1 = scale.x(bar.start);
    let width = (scale.x(bar.end) - x1).max(1.5);
    let h = if bar.state == PartitionState::Missing {
        BAR_MAX / 2.0
    } else {
        BAR_MIN + (BAR_MAX - BAR_MIN) * (bar.size as f64 / max_size as f64).sqrt()
    };
    let mut class = format!("p p-{}", bar.state.as_str());
    if !bar.marks.is_empty() {
        class.push_str(" anom");
    }
    if bar.name.is_none() {
        class.push_str(" agg");
    }
    let data = match &bar.name {
        Some(name) => format!(r#" data-partition="{}""#, esc(name)),
        None => format!(r#" data-aggregate="{}""#, bar.count),
    };
    out.push(&format!(
        r#"<rect class="{class}"{data} x="{x1:.1}" y="{:.1}" width="{width:.1}" height="{h:.1}"><title>{}</title></rect>"#,
        bottom - h,
        esc(&bar.title)
    ));
    if !bar.marks.is_empty() {
        badges(out, marks, &bar.marks, x1 + width / 2.0, bottom - h - 10.0);
    }
}

/// The vertical lines: now, the premake horizon and the retention threshold.
fn rules(
    out: &mut Out,
    table: &TableStatus,
    marks: &Marks,
    drawing: Drawing,
    scale: &Scale,
    now: Option<f64>,
    axis_y: f64,
) {
    let edge = |e: Option<Edge>| e.map(|e| (axis::value(e), axis::label(e, drawing.tz)));
    let lines = [
        (
            "now",
            "now",
            now.map(|n| (n, drawing.now.to_string())),
            12.0,
        ),
        (
            "horizon",
            "premake horizon",
            edge(table.wanted_horizon),
            24.0,
        ),
        (
            "retention",
            "retention threshold",
            edge(table.retention_threshold),
            12.0,
        ),
    ];
    for (class, name, at, label_y) in lines {
        let Some((at, when)) = at else { continue };
        let x = scale.x(at);
        out.push(&format!(
            r#"<g class="rule r-{class}"><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{axis_y:.1}"/><text x="{:.1}" y="{label_y}">{class}</text><title>{name} {}</title></g>"#,
            label_y + 4.0,
            x + 3.0,
            esc(&when)
        ));
        if class == "horizon" && !marks.horizon.is_empty() {
            badges(out, marks, &marks.horizon, x, TOP + 22.0);
        }
    }
}

fn draw_axis(out: &mut Out, scale: &Scale, time: bool, tz: Tz, y: f64) {
    let (lo, hi) = scale.domain();
    out.push(&format!(
        r#"<line class="axis" x1="{:.1}" y1="{y}" x2="{:.1}" y2="{y}"/>"#,
        scale.x(lo),
        scale.x(hi)
    ));
    for (at, label) in axis::ticks(scale, time, tz) {
        let x = scale.x(at);
        out.push(&format!(
            r#"<line class="tick" x1="{x:.1}" y1="{y}" x2="{x:.1}" y2="{:.1}"/><text class="tick-t" x="{x:.1}" y="{:.1}">{}</text>"#,
            y + 5.0,
            y + 18.0,
            esc(&label)
        ));
    }
}

fn default_box(out: &mut Out, p: &PartitionStatus, marks: &Marks, x: f64, y: f64) {
    let cat = p.catalog.as_ref();
    let rows = match cat.and_then(|c| c.estimated_rows) {
        Some(n) if n > 0 => format!("~{n} rows"),
        _ => human_size(cat.map_or(0, |c| c.size_bytes)),
    };
    let numbers = marks.by_partition.get(&p.name).cloned().unwrap_or_default();
    let anom = if numbers.is_empty() { "" } else { " anom" };
    out.push(&format!(
        r#"<g class="default"><rect class="p p-default p-{}{anom}" data-partition="{}" x="{x:.1}" y="{y:.1}" width="110" height="{:.1}"><title>{}</title></rect><text class="cell-t" x="{:.1}" y="{:.1}">DEFAULT</text><text class="cell-t small" x="{:.1}" y="{:.1}">{}</text></g>"#,
        p.state().as_str(),
        esc(&p.name),
        LANE - 14.0,
        esc(&title_of(p, "DEFAULT", |e| e.to_string())),
        x + 8.0,
        y + 18.0,
        x + 8.0,
        y + 34.0,
        esc(&rows)
    ));
    if !numbers.is_empty() {
        badges(out, marks, &numbers, x + 100.0, y);
    }
}

/// List and hash partitions (and bounds no axis shows) as rows of cells, DEFAULT last.
fn grid(
    out: &mut Out,
    cells: &[&PartitionStatus],
    defaults: &[&PartitionStatus],
    marks: &Marks,
    drawing: Drawing,
) {
    let marked = |p: &&&PartitionStatus| marks.by_partition.contains_key(&p.name);
    let mut shown: Vec<&PartitionStatus> = cells.iter().filter(marked).copied().collect();
    let room = drawing.aggregate_over.saturating_sub(shown.len());
    shown.extend(cells.iter().filter(|p| !marked(p)).take(room).copied());
    let hidden = cells.len() - shown.len();
    let max_size = cells
        .iter()
        .filter_map(|p| p.catalog.as_ref().map(|c| c.size_bytes))
        .max()
        .unwrap_or(0)
        .max(1);
    let total = shown.len() + defaults.len() + usize::from(hidden > 0);
    let rows = total.div_ceil(CELLS_PER_ROW).max(1);
    let height = 16.0 + rows as f64 * (CELL_H + 12.0);
    out.push(&format!(
        r#"<svg class="cells" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="partitions as cells">"#
    ));
    let at = |i: usize| {
        let (row, col) = (i / CELLS_PER_ROW, i % CELLS_PER_ROW);
        (
            10.0 + col as f64 * (CELL_W + 6.0),
            14.0 + row as f64 * (CELL_H + 12.0),
        )
    };
    for (i, p) in shown.iter().enumerate() {
        let (x, y) = at(i);
        cell(out, p, marks, x, y, max_size);
    }
    let mut next = shown.len();
    if hidden > 0 {
        let (x, y) = at(next);
        out.push(&format!(
            r#"<g class="more"><rect class="p agg" data-aggregate="{hidden}" x="{x:.1}" y="{y:.1}" width="{CELL_W}" height="{CELL_H}"/><text class="cell-t dark" x="{:.1}" y="{:.1}">{hidden} more</text></g>"#,
            x + 8.0,
            y + 27.0
        ));
        next += 1;
    }
    for (i, p) in defaults.iter().enumerate() {
        let (x, y) = at(next + i);
        default_box(out, p, marks, x, y);
    }
    out.push("</svg>");
}

fn cell(out: &mut Out, p: &PartitionStatus, marks: &Marks, x: f64, y: f64, max_size: i64) {
    let bound = p.bound().map(|b| b.to_string()).unwrap_or_default();
    let size = p.catalog.as_ref().map_or(0, |c| c.size_bytes);
    let opacity = 0.35 + 0.65 * (size as f64 / max_size as f64).sqrt();
    let numbers = marks.by_partition.get(&p.name).cloned().unwrap_or_default();
    let anom = if numbers.is_empty() { "" } else { " anom" };
    let cut = |s: &str, n: usize| -> String {
        if s.chars().count() > n {
            format!("{}…", s.chars().take(n - 1).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    out.push(&format!(
        r#"<g class="cell"><rect class="p p-{}{anom}" data-partition="{}" x="{x:.1}" y="{y:.1}" width="{CELL_W}" height="{CELL_H}" fill-opacity="{opacity:.2}"><title>{}</title></rect><text class="cell-t" x="{:.1}" y="{:.1}">{}</text><text class="cell-t small" x="{:.1}" y="{:.1}">{}</text></g>"#,
        p.state().as_str(),
        esc(&p.name),
        esc(&title_of(p, &bound, |e| e.to_string())),
        x + 8.0,
        y + 18.0,
        esc(&cut(&p.name, 22)),
        x + 8.0,
        y + 35.0,
        esc(&cut(&bound, 24))
    ));
    if !numbers.is_empty() {
        badges(out, marks, &numbers, x + CELL_W - 10.0, y);
    }
}
