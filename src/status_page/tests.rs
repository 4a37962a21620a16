//! Unit tests of the renderer, compiled as `#[cfg(test)] mod tests` of the module: statuses built by hand,
//! aggregation, collapsing, escaping, well-formed SVG.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::calendar::Period;
use crate::service::fixtures::{config, range_log};
use crate::service::{CatalogBound, CatalogPartition, Edge, PartitionStatus};

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn day(name: &str, start: DateTime<Utc>, attached: bool, size: i64) -> PartitionStatus {
    let end = start + Duration::days(1);
    PartitionStatus {
        schema: "public".into(),
        name: name.into(),
        log: Some(range_log(1, name, start, end, attached)),
        catalog: Some(CatalogPartition {
            key_bound: None,
            attached,
            parent: attached.then(|| "public.event".to_owned()),
            detach_pending: false,
            bound: attached.then_some(CatalogBound::Range {
                start: Edge::Time(start),
                end: Edge::Time(end),
            }),
            tablespace: "pg_default".into(),
            indexes: vec![],
            estimated_rows: Some(size / 100),
            size_bytes: size,
        }),
    }
}

fn table(name: &str, partitions: Vec<PartitionStatus>, anomalies: Vec<Anomaly>) -> TableStatus {
    let mut config = config(Some(Period::Day), None);
    config.table_name = name.into();
    config.interval = Some(3);
    TableStatus {
        table: format!("public.{name}"),
        config,
        exists: true,
        horizon: partitions
            .iter()
            .filter_map(|p| p.log.as_ref()?.end)
            .max()
            .map(Edge::Time),
        wanted_horizon: None,
        retention_threshold: None,
        default_has_rows: None,
        partitions,
        anomalies,
    }
}

fn parse(html: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(html, options)
        .unwrap_or_else(|e| panic!("not well-formed: {e}"))
}

fn count<'a>(
    doc: &'a roxmltree::Document<'a>,
    f: impl Fn(roxmltree::Node<'a, 'a>) -> bool,
) -> usize {
    doc.descendants().filter(|n| f(*n)).count()
}

#[test]
fn a_table_of_ten_thousand_partitions_is_drawn_by_month_with_its_anomaly_on_its_own() {
    let first = utc(2000, 1, 1);
    let mut partitions: Vec<PartitionStatus> = (0..10_000)
        .map(|i| {
            day(
                &format!("event_{i}"),
                first + Duration::days(i),
                true,
                8192 + i,
            )
        })
        .collect();
    partitions[5000].name = "event_odd".into();
    let misaligned = Anomaly::Misaligned {
        partition: "event_odd".into(),
        bound: CatalogBound::Other("x".into()),
    };
    let status = Status {
        at: utc(2027, 5, 1),
        tables: vec![table("event", partitions, vec![misaligned.clone()])],
    };
    let html = StatusPage::new().render(&status);
    let doc = parse(&html);
    let aggregates = count(&doc, |n| n.has_attribute("data-aggregate"));
    // 10 000 days from 2000-01-01 span 329 months; one partition is drawn on its own.
    assert_eq!(aggregates, 329);
    let singles: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("data-partition"))
        .collect();
    assert_eq!(singles, ["event_odd"]);
    let total: usize = doc
        .descendants()
        .filter_map(|n| n.attribute("data-aggregate")?.parse::<usize>().ok())
        .sum();
    assert_eq!(total, 9_999);
    assert!(html.contains(r##"href="#t0-a1""##) && html.contains(r#"id="t0-a1""#));
    assert!(html.contains(&esc(&misaligned.to_string()).into_owned()));
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    // The list below the picture stops at the limit and says how to see the rest.
    assert!(html.contains("9600 more not listed"));
}

#[test]
fn beyond_the_limit_healthy_tables_are_in_the_summary_only_and_the_worst_comes_first() {
    let mut tables: Vec<TableStatus> = (0..1000)
        .map(|i| {
            table(
                &format!("t{i:04}"),
                vec![day("p", utc(2024, 1, 1), true, 1)],
                vec![],
            )
        })
        .collect();
    tables[700].anomalies = vec![Anomaly::Unlogged {
        partition: "p".into(),
        bound: CatalogBound::Default,
    }];
    tables[900].anomalies = vec![Anomaly::TableMissing];
    let status = Status {
        at: utc(2024, 1, 2),
        tables,
    };
    let html = status.to_html();
    let doc = parse(&html);
    let sections: Vec<&str> = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("details")
                && n.attribute("class").is_some_and(|c| c.starts_with("table"))
        })
        .filter_map(|n| n.attribute("data-table"))
        .collect();
    assert_eq!(sections, ["public.t0900", "public.t0700"]);
    let rows: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .filter_map(|n| n.attribute("data-table"))
        .collect();
    assert_eq!(rows.len(), 1000);
    assert_eq!(&rows[..3], ["public.t0900", "public.t0700", "public.t0000"]);
    assert!(html.contains("998 healthy tables in the summary only"));
    // Under the limit every table has its picture.
    let few = Status {
        at: status.at,
        tables: status.tables[..3].to_vec(),
    };
    let doc_html = StatusPage::new().collapse_healthy_over(3).render(&few);
    assert_eq!(count(&parse(&doc_html), |n| n.has_tag_name("svg")), 3);
}

#[test]
fn hostile_names_are_text_and_the_page_fetches_nothing() {
    let name = r#"<script>alert("x")</script>&'"#;
    let mut p = day(name, utc(2024, 1, 1), true, 10);
    p.catalog.as_mut().unwrap().parent = Some(format!("public.{name}"));
    let mut t = table(name, vec![p], vec![]);
    t.anomalies = vec![Anomaly::DetachedByHand {
        partition: name.into(),
        log_id: 1,
    }];
    t.config.time_zone = "Europe/Berlin".into();
    let status = Status {
        at: utc(2024, 1, 1),
        tables: vec![t],
    };
    let html = StatusPage::new().title(name).render(&status);
    assert!(!html.contains("<script"));
    for fetch in ["http:", "https:", "url(", "src=", "@import", "<link", "//"] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    let doc = parse(&html);
    let partitions: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("data-partition"))
        .collect();
    assert_eq!(partitions, [name]);
    assert_eq!(
        doc.descendants()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text()),
        Some(name)
    );
}

#[test]
fn list_and_hash_tables_are_cells_with_default_last() {
    let mut config = config(None, None);
    config.strategy = crate::schema::PartitionStrategy::List;
    let cell = |name: &str, bound: CatalogBound| PartitionStatus {
        schema: "public".into(),
        name: name.into(),
        log: None,
        catalog: Some(CatalogPartition {
            key_bound: None,
            attached: true,
            parent: Some("public.event".into()),
            detach_pending: false,
            bound: Some(bound),
            tablespace: "pg_default".into(),
            indexes: vec![],
            estimated_rows: None,
            size_bytes: 0,
        }),
    };
    let t = TableStatus {
        table: "public.event".into(),
        config,
        exists: true,
        partitions: vec![
            cell(
                "event_eu",
                CatalogBound::List(vec![Some("de".into()), None]),
            ),
            cell("event_default", CatalogBound::Default),
        ],
        horizon: None,
        wanted_horizon: None,
        retention_threshold: None,
        default_has_rows: Some(true),
        anomalies: vec![Anomaly::RowsInDefault {
            partition: "event_default".into(),
            estimated_rows: Some(3),
        }],
    };
    let html = Status {
        at: utc(2024, 1, 1),
        tables: vec![t],
    }
    .to_html();
    let doc = parse(&html);
    assert_eq!(count(&doc, |n| n.attribute("class") == Some("cells")), 1);
    assert_eq!(count(&doc, |n| n.attribute("class") == Some("timeline")), 0);
    let cells: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("data-partition"))
        .collect();
    assert_eq!(cells, ["event_eu", "event_default"]);
    assert!(html.contains("IN (de, NULL)"));
    assert!(html.contains(r#"class="p p-default p-attached anom""#));
}
