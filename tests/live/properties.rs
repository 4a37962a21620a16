//! Partition properties: owner, grants, storage options, replica identity and per-partition unique indexes on
//! every partition the service creates or attaches; drift of each detected and repaired; adoption reports
//! it; bad declarations refused with nothing changed.

use sea_orm::{ConnectionTrait, TransactionTrait};
use sea_orm_pg_partitioning::ConfigProblem;
use sea_orm_pg_partitioning::entity::partition_config::CreationMode;
use sea_orm_pg_partitioning::model::properties::{
    PartitionProperties, PropertyDifference, ReplicaIdentity,
};
use sea_orm_pg_partitioning::model::status::{Anomaly, AnomalyKind};
use sea_orm_pg_partitioning::prelude::*;
use sea_orm_pg_partitioning::service::{ReconcileMode, RepairPolicy};

use crate::support::{exec, rows, strings};
use crate::test_name;
use crate::time_range::{service, setup, utc};

/// Roles unique to this test (roles are cluster-wide), created afresh.
async fn roles<C: ConnectionTrait>(db: &C, test: &str, names: &[&str]) -> Vec<String> {
    let mut made = Vec::new();
    for name in names {
        let role = format!("{}_{name}", &test[..test.len().min(40)]);
        exec(
            db,
            &format!(r#"DROP ROLE IF EXISTS "{role}"; CREATE ROLE "{role}""#),
        )
        .await;
        made.push(role);
    }
    made
}

/// What the catalog says of a table: owner, the privileges of `role`, reloptions, replica identity.
async fn props<C: ConnectionTrait>(
    db: &C,
    table: &str,
    role: &str,
) -> (String, String, String, String) {
    let got = rows(
        db,
        "SELECT pg_get_userbyid(c.relowner)::text, \
                COALESCE((SELECT string_agg(a.privilege_type, ',' ORDER BY a.privilege_type) \
                          FROM aclexplode(c.relacl) a WHERE pg_get_userbyid(a.grantee) = $2), ''), \
                COALESCE(array_to_string(c.reloptions, ','), ''), c.relreplident::text \
         FROM pg_class c WHERE c.relname = $1",
        vec![table.into(), role.into()],
    )
    .await;
    let row = &got[0];
    let get = |i| row.try_get_by_index::<String>(i).expect("text");
    (get(0), get(1), get(2), get(3))
}

async fn has_index<C: ConnectionTrait>(db: &C, index: &str) -> bool {
    !strings(
        db,
        "SELECT relname::text FROM pg_class WHERE relname = $1 AND relkind = 'i'",
        vec![index.into()],
    )
    .await
    .is_empty()
}

#[tokio::test]
async fn every_new_partition_carries_the_parents_grants_and_owner_and_the_declared_properties() {
    let t = setup(test_name!(
        "every_new_partition_carries_the_parents_grants_and_owner_and_the_declared_properties"
    ))
    .await;
    let db = &t.conn;
    let made = roles(db, &t.name, &["own", "read", "write"]).await;
    let (owner, reader, writer) = (&made[0], &made[1], &made[2]);
    exec(
        db,
        &format!(
            r#"CREATE TABLE ev (id bigserial, created_at timestamptz NOT NULL, request_id bigint NOT NULL, payload text,
                   PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
               ALTER TABLE ev OWNER TO "{owner}";
               GRANT SELECT ON ev TO "{reader}";
               ALTER TABLE ev REPLICA IDENTITY FULL;"#
        ),
    )
    .await;
    let (service, clock) = service(db, utc(2026, 3, 10, 12, 0));
    let events = service
        .time_range_table("ev")
        .period(Period::Day)
        .properties(
            PartitionProperties::new()
                .grant(writer.as_str(), ["INSERT", "select"])
                .storage("fillfactor", "80")
                .storage("autovacuum_vacuum_scale_factor", "0.01")
                .storage("toast.autovacuum_enabled", "false")
                .unique_per_partition("request_key", ["request_id"]),
        )
        .register()
        .await
        .expect("register");
    service.run_maintenance().await.expect("maintenance");
    let mut partitions: Vec<String> = events
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .map(|l| l.partition_name)
        .collect();
    assert!(partitions.len() >= 2, "{partitions:?}");

    // The low-lock mode (CREATE TABLE .. LIKE, then ATTACH) gives them the same.
    events
        .update_maintenance(|m| {
            m.creation_mode = CreationMode::Attach;
            m.premake = 4;
        })
        .await
        .expect("settings");
    clock.advance(chrono::Duration::days(1));
    service.run_maintenance().await.expect("maintenance");
    let now: Vec<String> = events
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .map(|l| l.partition_name)
        .collect();
    assert!(now.len() > partitions.len(), "{now:?}");
    partitions = now;

    for p in &partitions {
        let (own, privileges, options, identity) = props(db, p, reader).await;
        assert_eq!(own, *owner, "{p}");
        assert_eq!(privileges, "SELECT", "{p}");
        assert_eq!(props(db, p, writer).await.1, "INSERT,SELECT", "{p}");
        for option in ["fillfactor=80", "autovacuum_vacuum_scale_factor=0.01"] {
            assert!(options.split(',').any(|o| o == option), "{p}: {options}");
        }
        assert_eq!(identity, "f", "{p}");
        assert!(has_index(db, &format!("{p}_request_key")).await, "{p}");
        let toast = strings(
            db,
            "SELECT COALESCE(array_to_string(t.reloptions, ','), '') FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid \
             WHERE c.relname = $1",
            vec![p.as_str().into()],
        )
        .await;
        assert_eq!(toast, ["autovacuum_enabled=false"], "{p}");
    }
    // The role granted on the parent reads a new partition directly.
    let newest = partitions.last().expect("one").clone();
    let as_reader = |sql: String| async move {
        let txn = db.begin().await.expect("begin");
        exec(&txn, &format!(r#"SET LOCAL ROLE "{reader}""#)).await;
        let result = txn.execute_unprepared(&sql).await;
        txn.rollback().await.expect("rollback");
        result
    };
    let read = as_reader(format!(r#"SELECT count(*) FROM "{newest}""#)).await;
    assert!(read.is_ok(), "{read:?}");
    let refused = as_reader(format!(
        r#"INSERT INTO "{newest}" (created_at, request_id) VALUES (now(), 1)"#
    ))
    .await;
    assert!(refused.is_err(), "the reader may only read");
    let status = service.status_of("ev").await.expect("status");
    assert!(
        !status
            .anomalies
            .iter()
            .any(|a| a.kind() == AnomalyKind::PropertiesDiffer),
        "{:#?}",
        status.anomalies
    );

    // Drift of each property, by hand, on one partition.
    let p = &partitions[0];
    exec(
        db,
        &format!(
            r#"ALTER TABLE "{p}" OWNER TO CURRENT_USER; REVOKE SELECT ON "{p}" FROM "{reader}";
               ALTER TABLE "{p}" RESET (fillfactor); ALTER TABLE "{p}" REPLICA IDENTITY DEFAULT;
               DROP INDEX "{p}_request_key";"#
        ),
    )
    .await;
    let status = service.status_of("ev").await.expect("status");
    let drift: Vec<&Anomaly> = status
        .anomalies
        .iter()
        .filter(|a| a.kind() == AnomalyKind::PropertiesDiffer)
        .collect();
    assert_eq!(drift.len(), 1, "{drift:#?}");
    let Anomaly::PropertiesDiffer {
        partition,
        differences,
        ..
    } = drift[0]
    else {
        unreachable!()
    };
    assert_eq!(partition, p);
    let kinds: Vec<&'static str> = differences
        .iter()
        .map(|d| match d {
            PropertyDifference::Owner { .. } => "owner",
            PropertyDifference::Privilege { .. } => "privilege",
            PropertyDifference::Storage { .. } => "storage",
            PropertyDifference::ReplicaIdentity { .. } => "replica identity",
            PropertyDifference::UniqueIndex { .. } => "unique index",
        })
        .collect();
    // Owner changed by hand: the writer's grants were made by the old owner and stay; the reader's went.
    assert_eq!(
        kinds,
        [
            "owner",
            "privilege",
            "storage",
            "replica identity",
            "unique index"
        ],
        "{differences:#?}"
    );
    assert!(
        drift[0].to_string().contains("fillfactor not set"),
        "{}",
        drift[0]
    );
    let done = service
        .reconcile(ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    assert!(
        done.repairs
            .iter()
            .any(|r| r.anomaly.kind() == AnomalyKind::PropertiesDiffer)
    );
    assert!(
        !done
            .after
            .anomalies()
            .any(|(_, a)| a.kind() == AnomalyKind::PropertiesDiffer),
    );
    let (own, privileges, options, identity) = props(db, p, reader).await;
    assert_eq!(
        (own.as_str(), privileges.as_str(), identity.as_str()),
        (owner.as_str(), "SELECT", "f")
    );
    assert!(options.contains("fillfactor=80"), "{options}");
    assert!(has_index(db, &format!("{p}_request_key")).await);

    // Adoption reports partitions that lack them, and changes nothing.
    exec(
        db,
        &format!(
            r#"CREATE TABLE ev2 (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
               GRANT SELECT ON ev2 TO "{reader}";
               CREATE TABLE ev2_old PARTITION OF ev2 FOR VALUES FROM ('2026-03-10') TO ('2026-03-11');"#
        ),
    )
    .await;
    let (_, adoption) = service
        .time_range_table("ev2")
        .period(Period::Day)
        .adopt()
        .await
        .expect("adopt");
    assert_eq!(adoption.adopted.len(), 1);
    assert_eq!(adoption.differing.len(), 1, "{:#?}", adoption.differing);
    assert!(
        adoption.differing[0].to_string().contains("SELECT"),
        "{}",
        adoption.differing[0]
    );
    assert_eq!(props(db, "ev2_old", reader).await.1, "");
    t.finish().await;
}

#[tokio::test]
async fn a_replica_identity_index_and_the_default_partition_follow_the_parent() {
    let t = setup(test_name!(
        "a_replica_identity_index_and_the_default_partition_follow_the_parent"
    ))
    .await;
    let db = &t.conn;
    let made = roles(db, &t.name, &["read"]).await;
    let reader = &made[0];
    exec(
        db,
        &format!(
            r#"CREATE TABLE ev (id bigint NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
               CREATE UNIQUE INDEX ev_ident ON ev (id, created_at);
               ALTER TABLE ev REPLICA IDENTITY USING INDEX ev_ident;
               GRANT SELECT, UPDATE ON ev TO "{reader}";"#
        ),
    )
    .await;
    let (service, _clock) = service(db, utc(2026, 3, 10, 12, 0));
    let events = service
        .time_range_table("ev")
        .period(Period::Day)
        .default_partition(true)
        .register()
        .await
        .expect("register");
    service.run_maintenance().await.expect("maintenance");
    let logs = events.all_partitions().await.expect("partitions");
    assert!(logs.len() >= 3);
    for log in &logs {
        let p = &log.partition_name;
        let (_, privileges, _, identity) = props(db, p, reader).await;
        assert_eq!(privileges, "SELECT,UPDATE", "{p}");
        assert_eq!(identity, "i", "{p}");
        let index = strings(
            db,
            "SELECT pi.relname::text FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid \
             JOIN pg_inherits h ON h.inhrelid = x.indexrelid JOIN pg_class pi ON pi.oid = h.inhparent \
             WHERE c.relname = $1 AND x.indisreplident",
            vec![p.as_str().into()],
        )
        .await;
        assert_eq!(index, ["ev_ident"], "{p}");
    }
    // Declared instead of followed.
    events
        .set_properties(PartitionProperties::new().replica_identity(ReplicaIdentity::Full))
        .await
        .expect("set");
    let status = service.status_of("ev").await.expect("status");
    assert_eq!(
        status
            .anomalies
            .iter()
            .filter(|a| a.kind() == AnomalyKind::PropertiesDiffer)
            .count(),
        logs.len()
    );
    let done = service
        .reconcile(ReconcileMode::Repair(RepairPolicy::default()))
        .await
        .expect("repair");
    assert!(done.failures().next().is_none(), "{:#?}", done.repairs);
    for log in &logs {
        assert_eq!(props(db, &log.partition_name, reader).await.3, "f");
    }
    t.finish().await;
}

#[tokio::test]
async fn bad_properties_are_typed_errors_and_change_nothing() {
    let t = setup(test_name!(
        "bad_properties_are_typed_errors_and_change_nothing"
    ))
    .await;
    let db = &t.conn;
    let made = roles(db, &t.name, &["read"]).await;
    let reader = &made[0];
    exec(
        db,
        "CREATE TABLE ev (id bigint, created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at)) \
         PARTITION BY RANGE (created_at); CREATE INDEX ev_loose ON ev (id);",
    )
    .await;
    let (service, _clock) = service(db, utc(2026, 3, 10, 12, 0));
    let problem = |e: Error| match e {
        Error::InvalidConfig { problem, .. } => problem,
        other => panic!("not a configuration error: {other:?}"),
    };
    // At registration: no configuration row is written.
    let err = service
        .time_range_table("ev")
        .period(Period::Day)
        .properties(PartitionProperties::new().owner("no such role anywhere"))
        .register()
        .await
        .expect_err("unknown role");
    assert_eq!(
        problem(err),
        ConfigProblem::UnknownRole("no such role anywhere".into())
    );
    assert!(service.configs().await.expect("configs").is_empty());

    let events = service
        .time_range_table("ev")
        .period(Period::Day)
        .register()
        .await
        .expect("register");
    type Expected = fn(&ConfigProblem) -> bool;
    let cases: Vec<(PartitionProperties, Expected)> = vec![
        (
            PartitionProperties::new().grant(reader.as_str(), ["EXECUTE"]),
            |p| matches!(p, ConfigProblem::PrivilegeNotForTables(s) if s == "EXECUTE"),
        ),
        (
            PartitionProperties::new().grant("nobody at all", ["SELECT"]),
            |p| matches!(p, ConfigProblem::UnknownRole(_)),
        ),
        (
            PartitionProperties::new().storage("fillfactor", "5"),
            |p| matches!(p, ConfigProblem::InvalidStorageOption { option, reason } if option == "fillfactor=5" && reason.contains("out of bounds")),
        ),
        (
            PartitionProperties::new().storage("no_such_option", "1"),
            |p| matches!(p, ConfigProblem::InvalidStorageOption { reason, .. } if reason.contains("unrecognized")),
        ),
        (
            PartitionProperties::new().storage("autovacuum_enabled", "maybe"),
            |p| matches!(p, ConfigProblem::InvalidStorageOption { .. }),
        ),
        (
            PartitionProperties::new().unique_per_partition("k", ["nope"]),
            |p| matches!(p, ConfigProblem::UnknownColumn { column, .. } if column == "nope"),
        ),
        (
            PartitionProperties::new().replica_identity(ReplicaIdentity::Index("missing".into())),
            |p| matches!(p, ConfigProblem::BadIdentityIndex { .. }),
        ),
        (
            PartitionProperties::new().replica_identity(ReplicaIdentity::Index("ev_loose".into())),
            |p| matches!(p, ConfigProblem::BadIdentityIndex { why, .. } if why.contains("unique")),
        ),
    ];
    for (properties, expected) in cases {
        let err = events
            .set_properties(properties.clone())
            .await
            .expect_err("refused");
        let message = err.to_string();
        let got = problem(err);
        assert!(expected(&got), "{properties:?}: {got:?}");
        assert!(message.contains("ev"), "{message}");
        assert_eq!(
            events.properties().await.expect("properties"),
            PartitionProperties::new()
        );
    }
    // No scratch table is left behind, and a good declaration is stored.
    let good = PartitionProperties::new()
        .grant(reader.as_str(), ["SELECT"])
        .storage("fillfactor", "90");
    events.set_properties(good.clone()).await.expect("set");
    assert_eq!(events.properties().await.expect("properties"), good);
    // A role dropped after it was declared: partitions are still made (without its grant), and status says
    // what they lack.
    let gone = roles(db, &t.name, &["gone"]).await.remove(0);
    events
        .set_properties(good.clone().grant(gone.as_str(), ["SELECT"]))
        .await
        .expect("set");
    exec(db, &format!(r#"DROP ROLE "{gone}""#)).await;
    let report = service.run_maintenance().await.expect("maintenance");
    assert!(report.errors().next().is_none(), "{report:?}");
    let made = events.partitions().await.expect("partitions");
    assert!(!made.is_empty());
    let status = service.status_of("ev").await.expect("status");
    assert!(
        status
            .anomalies
            .iter()
            .any(|a| a.kind() == AnomalyKind::PropertiesDiffer && a.to_string().contains(&gone)),
        "{:#?}",
        status.anomalies
    );
    t.finish().await;
}
