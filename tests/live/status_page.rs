//! The status page of a database holding every kind of table and every kind of anomaly: each partition and
//! anomaly is on the page, nothing is fetched, the SVG is well-formed; and the CLI writes the same page.

use std::collections::BTreeSet;

use sea_orm::DatabaseConnection;
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::AnomalyKind;

use crate::support::{TS_A, exec, leave_detach_pending};
use crate::test_name;
use crate::time_range::{event_table, service, setup, utc};

/// Time ranges (with DEFAULT, sub-partitions, every kind of drift), integer ranges, list, hash, a pending
/// detach and a dropped table.
async fn every_kind(t: &crate::support::TestDb) -> PartitionService {
    let db: &DatabaseConnection = &t.conn;
    event_table(db, "ev", "timestamptz").await;
    let (service, clock) = service(db, utc(2024, 3, 1, 0, 0));
    let ev = service
        .time_range_table("ev")
        .period(Period::Day)
        .interval(30)
        .attach_tablespace(TS_A)
        .default_partition(true)
        .register()
        .await
        .expect("register ev");
    clock.set(utc(2024, 3, 10, 12, 0));
    assert!(
        service
            .run_maintenance()
            .await
            .expect("maintenance")
            .is_ok()
    );
    let name = |d: u32| format!("ev_2024-03-{d:02}_2024-03-{:02}", d + 1);
    let d4: Vec<_> = ev
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .filter(|l| l.partition_name == name(4))
        .collect();
    ev.detach_partitions(Some(&d4)).await.expect("detach");
    for sql in [
        format!(r#"DROP TABLE "{}""#, name(2)),
        format!(r#"ALTER TABLE ev DETACH PARTITION "{}""#, name(3)),
        "CREATE TABLE ev_over PARTITION OF ev FOR VALUES FROM ('2024-03-03 00:00+00') TO ('2024-03-04 00:00+00')".to_owned(),
        format!(r#"ALTER TABLE ev ATTACH PARTITION "{}" FOR VALUES FROM ('2024-03-04 00:00+00') TO ('2024-03-05 00:00+00')"#, name(4)),
        format!(r#"ALTER TABLE ev DETACH PARTITION "{0}"; ALTER TABLE ev ATTACH PARTITION "{0}" FOR VALUES FROM ('2024-03-06 00:00+00') TO ('2024-03-06 12:00+00')"#, name(6)),
        format!(r#"ALTER TABLE "{}" SET TABLESPACE pg_default"#, name(7)),
        format!(r#"ALTER TABLE "{}" RENAME TO ev_renamed"#, name(9)),
        "INSERT INTO ev (created_at) SELECT g FROM generate_series('2024-03-01 03:00+00'::timestamptz, '2024-03-11 03:00+00', '1 day') g WHERE g < '2024-03-02' OR g >= '2024-03-03'".to_owned(),
        "INSERT INTO ev (created_at) VALUES ('2024-04-15 10:00+00')".to_owned(),
    ] {
        exec(db, &sql).await;
    }

    exec(db, "CREATE TABLE metric (tenant int NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)").await;
    service
        .time_range_table("metric")
        .period(Period::Month)
        .sub_partition_by_hash("tenant", 2)
        .register()
        .await
        .expect("register metric");
    exec(db, r#"CREATE TABLE ids (id bigint NOT NULL) PARTITION BY RANGE (id); CREATE TABLE "ord" (region text) PARTITION BY LIST (region); CREATE TABLE usr (id bigint) PARTITION BY HASH (id); CREATE TABLE pend (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at); CREATE TABLE gone (created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)"#).await;
    service
        .id_range_table("ids")
        .step(100)
        .premake(2)
        .keep(1)
        .register()
        .await
        .expect("ids");
    exec(
        db,
        "INSERT INTO ids SELECT g FROM generate_series(1, 250) g",
    )
    .await;
    let ord = service
        .list_table("ord")
        .default_partition(true)
        .register()
        .await
        .expect("ord");
    ord.create_partition("ord_eu", ["de", "fr"], None)
        .await
        .expect("ord_eu");
    exec(db, "INSERT INTO \"ord\" VALUES ('de'), ('us')").await;
    // Partitions that no longer follow their parent: its replica identity changed by hand.
    exec(db, "ALTER TABLE \"ord\" REPLICA IDENTITY FULL").await;
    service
        .hash_table("usr")
        .modulus(4)
        .register()
        .await
        .expect("usr");
    let pend = service
        .time_range_table("pend")
        .period(Period::Day)
        .register()
        .await
        .expect("pend");
    let first = pend.latest().await.expect("latest").expect("a partition");
    service
        .time_range_table("gone")
        .period(Period::Day)
        .register()
        .await
        .expect("gone");
    exec(db, "DROP TABLE gone").await;
    // An index build that did not finish: the parent's index only.
    exec(db, "CREATE INDEX ids_unfinished ON ONLY ids (id)").await;
    leave_detach_pending(t, "pend", &first.partition_name).await;
    // Three days on without maintenance: the horizons are short.
    clock.set(utc(2024, 3, 13, 12, 0));
    service
}

/// Attribute values of every element of `doc` that has `attribute`.
fn values<'a>(doc: &'a roxmltree::Document<'a>, attribute: &str) -> Vec<&'a str> {
    doc.descendants()
        .filter_map(|n| n.attribute(attribute))
        .collect()
}

/// The checks every page must pass: well-formed, nothing fetched, SVG made only of shapes with finite
/// coordinates.
fn check_page(html: &str) -> roxmltree::Document<'_> {
    for fetch in [
        "http:", "https:", "url(", "src=", "@import", "<link", "<script", "//",
    ] {
        assert!(!html.contains(fetch), "the page holds {fetch:?}");
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(html, options).expect("well-formed");
    let svgs: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("svg"))
        .collect();
    assert!(!svgs.is_empty());
    let shapes = ["svg", "g", "rect", "line", "circle", "text", "title", "a"];
    for svg in svgs {
        let view: Vec<f64> = svg
            .attribute("viewBox")
            .expect("viewBox")
            .split(' ')
            .map(|v| v.parse().expect("number"))
            .collect();
        assert!(
            view.len() == 4 && view.iter().all(|v| v.is_finite()) && view[2] > 0.0 && view[3] > 0.0
        );
        for node in svg.descendants().filter(|n| n.is_element()) {
            let tag = node.tag_name().name();
            assert!(shapes.contains(&tag), "unexpected <{tag}> in SVG");
            for attr in [
                "x", "y", "width", "height", "x1", "x2", "y1", "y2", "cx", "cy", "r",
            ] {
                if let Some(v) = node.attribute(attr) {
                    let v: f64 = v.parse().unwrap_or_else(|_| panic!("{tag} {attr}={v:?}"));
                    assert!(v.is_finite(), "{tag} {attr}={v}");
                    if ["width", "height", "r"].contains(&attr) {
                        assert!(v >= 0.0, "{tag} {attr}={v}");
                    }
                }
            }
            if let Some(href) = node.attribute("href") {
                assert!(href.starts_with('#'), "{href}");
                let target = &href[1..];
                assert!(
                    doc.descendants().any(|n| n.attribute("id") == Some(target)),
                    "{href} leads nowhere"
                );
            }
        }
    }
    doc
}

/// What the page escapes, as the page has it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn the_status_page_shows_every_partition_and_anomaly_of_every_kind_of_table() {
    let t = setup(test_name!(
        "the_status_page_shows_every_partition_and_anomaly_of_every_kind_of_table"
    ))
    .await;
    let service = every_kind(&t).await;
    let status = service.status().await.expect("status");
    let kinds: BTreeSet<AnomalyKind> = status.anomalies().map(|(_, a)| a.kind()).collect();
    assert_eq!(
        kinds,
        AnomalyKind::ALL.into_iter().collect(),
        "{:#?}",
        status.tables
    );

    let html = status.to_html();
    let doc = check_page(&html);
    for table in &status.tables {
        let section = doc
            .descendants()
            .find(|n| {
                n.has_tag_name("details") && n.attribute("data-table") == Some(table.table.as_str())
            })
            .unwrap_or_else(|| panic!("no section for {}", table.table));
        assert_eq!(
            section.attribute("data-anomalies"),
            Some(table.anomalies.len().to_string().as_str())
        );
        let drawn: Vec<&str> = section
            .descendants()
            .filter_map(|n| n.attribute("data-partition"))
            .collect();
        let listed: Vec<&str> = section
            .descendants()
            .filter(|n| n.has_tag_name("tr"))
            .filter_map(|n| n.first_element_child()?.text())
            .collect();
        for p in &table.partitions {
            // Every partition is listed; every top-level one is drawn exactly once.
            assert!(
                listed.contains(&p.name.as_str()),
                "{} not listed in {}",
                p.name,
                table.table
            );
            let times = drawn.iter().filter(|d| **d == p.name).count();
            let expected = usize::from(table.is_top_level(p));
            assert_eq!(
                times, expected,
                "{} drawn {times} times in {}",
                p.name, table.table
            );
        }
        let id = section.attribute("id").expect("id");
        let items: Vec<_> = section
            .descendants()
            .filter(|n| n.has_tag_name("li"))
            .collect();
        assert_eq!(items.len(), table.anomalies.len(), "{}", table.table);
        for (i, (anomaly, item)) in table.anomalies.iter().zip(&items).enumerate() {
            assert_eq!(
                item.attribute("id"),
                Some(format!("{id}-a{}", i + 1).as_str())
            );
            assert_eq!(item.attribute("data-kind"), Some(anomaly.kind().as_str()));
            let text: String = item
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect();
            assert_eq!(text, format!("{}{anomaly}", anomaly.kind().as_str()));
            // Marked where it is: every anomaly but a missing table has a badge leading to its line.
            if anomaly.kind() != AnomalyKind::TableMissing {
                let href = format!("#{id}-a{}", i + 1);
                assert!(
                    values(&doc, "href").contains(&href.as_str()),
                    "no badge for {anomaly}"
                );
            }
        }
    }
    // Lines for now, the premake horizon and the retention threshold; the summary worst first.
    for class in ["rule r-now", "rule r-horizon", "rule r-retention"] {
        assert!(values(&doc, "class").contains(&class), "{class}");
    }
    let first_row = doc
        .descendants()
        .find(|n| n.has_tag_name("tr") && n.has_attribute("data-table"));
    assert_eq!(
        first_row.and_then(|n| n.attribute("data-table")),
        Some("public.ev")
    );
    assert!(html.contains(&escaped(&status.tables[0].partitioning())));

    // The command line writes the same page (its clock is the system's: only the tables are compared).
    let file = std::env::temp_dir().join(format!("{}.html", t.name));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(["status", "--html"])
        .arg(&file)
        .env("DATABASE_URL", &t.url)
        .output()
        .await
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("public.ev"));
    // The text's anomaly lines align their kind column across tables of different name lengths.
    let lines: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "anomalies:")
        .skip(1)
        .collect();
    let width = lines
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::len)
        .max()
        .expect("anomaly lines");
    assert!(lines.len() > 2);
    for line in &lines {
        let kind_at = 2 + width + 2;
        assert!(line.is_char_boundary(kind_at), "{line}");
        let (before, kind) = line.split_at(kind_at);
        assert!(
            before.ends_with("  ") && !kind.starts_with(' '),
            "misaligned: {line:?}"
        );
    }
    let page = std::fs::read_to_string(&file).expect("written");
    let _ = std::fs::remove_file(&file);
    let doc = check_page(&page);
    let tables: BTreeSet<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .filter_map(|n| n.attribute("data-table"))
        .collect();
    assert_eq!(
        tables,
        status.tables.iter().map(|t| t.table.as_str()).collect()
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(["status", "ids", "--html", "-"])
        .env("DATABASE_URL", &t.url)
        .output()
        .await
        .expect("runs");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    check_page(&page);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pg-partition"))
        .args(["status", "--html", "/nonexistent-dir/page.html"])
        .env("DATABASE_URL", &t.url)
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot write --html /nonexistent-dir/page.html")
    );
    t.finish().await;
}
