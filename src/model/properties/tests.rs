use super::*;

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn rel(name: &str, owner: &str) -> RelationProps {
    RelationProps {
        schema: "public".into(),
        name: name.into(),
        partitioned: false,
        owner: owner.into(),
        acl: vec![],
        options: vec![],
        replica_identity: "d".into(),
        identity_index: None,
        unique_indexes: vec![],
        index_parents: vec![],
    }
}

fn entry(grantee: &str, privilege: &str) -> AclEntry {
    AclEntry {
        grantee: grantee.into(),
        privilege: privilege.into(),
        grantable: false,
    }
}

fn sql(wanted: &Wanted, rel: &RelationProps) -> Vec<String> {
    apply(wanted, std::slice::from_ref(rel))
        .sql()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_new_partition_follows_its_parent_owner_grants_and_replica_identity() {
    let mut parent = rel("event", "app");
    parent.partitioned = true;
    parent.acl = vec![entry("reporting", "SELECT"), entry("PUBLIC", "SELECT")];
    parent.replica_identity = "f".into();
    let wanted = wanted(&PartitionProperties::new(), &parent);
    let fresh = rel("event_2024_01", "migrator");
    assert_eq!(
        sql(&wanted, &fresh),
        [
            r#"ALTER TABLE "public"."event_2024_01" OWNER TO "app""#,
            r#"GRANT SELECT ON TABLE "public"."event_2024_01" TO PUBLIC"#,
            r#"GRANT SELECT ON TABLE "public"."event_2024_01" TO "reporting""#,
            r#"ALTER TABLE "public"."event_2024_01" REPLICA IDENTITY FULL"#,
        ]
    );
    // Once applied, nothing differs.
    let mut done = fresh.clone();
    done.owner = "app".into();
    done.acl = parent.acl.clone();
    done.replica_identity = "f".into();
    assert!(differences(&wanted, &done).is_empty());
}

#[test]
fn declared_properties_override_and_add() -> TestResult {
    let parent = rel("event", "app");
    let declared = PartitionProperties::new()
        .owner("owner role")
        .grant("reader", ["select", "ALL"])
        .storage("fillfactor", "70")
        .storage("toast.autovacuum_enabled", "false")
        .replica_identity(ReplicaIdentity::Nothing)
        .unique_per_partition("request_key", ["request_id"]);
    declared.check()?;
    let wanted = wanted(&declared, &parent);
    let fresh = rel("event_p", "app");
    let statements = sql(&wanted, &fresh);
    assert_eq!(
        statements[0],
        r#"ALTER TABLE "public"."event_p" OWNER TO "owner role""#
    );
    // ALL is the seven classic privileges, SELECT once.
    assert_eq!(
        statements.iter().filter(|s| s.starts_with("GRANT")).count(),
        7
    );
    assert!(
        statements
            .contains(&r#"ALTER TABLE "public"."event_p" SET (fillfactor = '70')"#.to_owned())
    );
    assert!(statements.contains(
        &r#"ALTER TABLE "public"."event_p" SET (toast.autovacuum_enabled = 'false')"#.to_owned()
    ));
    assert!(
        statements
            .contains(&r#"ALTER TABLE "public"."event_p" REPLICA IDENTITY NOTHING"#.to_owned())
    );
    assert_eq!(
        statements.last().ok_or("no statements")?,
        r#"CREATE UNIQUE INDEX IF NOT EXISTS "event_p_request_key" ON "public"."event_p" ("request_id")"#
    );
    Ok(())
}

#[test]
fn a_sub_partitioned_partition_gets_no_storage_or_unique_index_its_leaves_do() {
    let parent = rel("event", "app");
    let declared = PartitionProperties::new()
        .storage("fillfactor", "70")
        .unique_per_partition("k", ["id"]);
    let wanted = wanted(&declared, &parent);
    let mut middle = rel("event_2024", "app");
    middle.partitioned = true;
    assert!(differences(&wanted, &middle).is_empty());
    let leaf = rel("event_2024_h0", "app");
    assert_eq!(differences(&wanted, &leaf).len(), 2);
}

#[test]
fn drift_is_what_is_missing_or_different_and_extras_are_left_alone() {
    let mut parent = rel("event", "app");
    parent.acl = vec![entry("reporting", "SELECT")];
    let declared = PartitionProperties::new().storage("fillfactor", "70");
    let wanted = wanted(&declared, &parent);
    let mut part = rel("event_p", "app");
    part.options = vec!["fillfactor=50".into(), "autovacuum_enabled=false".into()];
    part.acl = vec![entry("someone", "DELETE")];
    assert_eq!(
        differences(&wanted, &part),
        [
            PropertyDifference::Privilege {
                role: "reporting".into(),
                privilege: "SELECT".into(),
                grantable: false
            },
            PropertyDifference::Storage {
                option: "fillfactor".into(),
                expected: "70".into(),
                found: Some("50".into())
            },
        ]
    );
    assert_eq!(
        differences(&wanted, &part)[1].to_string(),
        "fillfactor=50, not 70"
    );
    // Held with the grant option counts as held.
    part.acl.push(AclEntry {
        grantable: true,
        ..entry("reporting", "SELECT")
    });
    part.options[0] = "fillfactor=70".into();
    assert!(differences(&wanted, &part).is_empty());
}

#[test]
fn replica_identity_using_an_index_maps_the_parents_index_to_the_partitions() {
    let mut parent = rel("event", "app");
    parent.replica_identity = "i".into();
    parent.identity_index = Some("event_id_key".into());
    let wanted = wanted(&PartitionProperties::new(), &parent);
    let mut part = rel("event_p", "app");
    part.index_parents = vec![("event_p_id_key".into(), "event_id_key".into())];
    assert_eq!(
        sql(&wanted, &part),
        [r#"ALTER TABLE "public"."event_p" REPLICA IDENTITY USING INDEX "event_p_id_key""#]
    );
    part.replica_identity = "i".into();
    part.identity_index = Some("event_p_id_key".into());
    assert!(differences(&wanted, &part).is_empty());
    // Without the partition's index (its build has not reached it) the difference stays, with no statement.
    let bare = rel("event_q", "app");
    assert_eq!(differences(&wanted, &bare).len(), 1);
    assert!(sql(&wanted, &bare).is_empty());
}

#[test]
fn hostile_names_are_quoted_and_bad_input_is_refused() -> TestResult {
    let parent = rel("event", "app");
    let declared = PartitionProperties::new()
        .grant(r#"ro"le; DROP TABLE x"#, ["SELECT"])
        .unique_per_partition("k", [r#"co"l"#]);
    declared.check()?;
    let statements = sql(&wanted(&declared, &parent), &rel("p", "app"));
    assert_eq!(
        statements[0],
        r#"GRANT SELECT ON TABLE "public"."p" TO "ro""le; DROP TABLE x""#
    );
    assert!(statements[1].ends_with(r#"("co""l")"#));
    let problem = |p: PartitionProperties| p.check().unwrap_err();
    assert_eq!(
        problem(PartitionProperties::new().grant("r", ["EXECUTE"])),
        ConfigProblem::PrivilegeNotForTables("EXECUTE".into())
    );
    assert_eq!(
        problem(PartitionProperties::new().grant("r", Vec::<String>::new())),
        ConfigProblem::NoPrivileges("r".into())
    );
    assert!(matches!(
        problem(PartitionProperties::new().storage("fillfactor = 1); DROP", "1")),
        ConfigProblem::InvalidStorageOption { .. }
    ));
    assert!(matches!(
        problem(PartitionProperties::new().owner("o".repeat(64))),
        ConfigProblem::BadName { what: "role", .. }
    ));
    assert_eq!(
        problem(PartitionProperties::new().unique_per_partition("k", Vec::<String>::new())),
        ConfigProblem::NoColumns("k".into())
    );
    assert!(matches!(
        problem(
            PartitionProperties::new()
                .unique_per_partition("k", ["a"])
                .unique_per_partition("k", ["b"])
        ),
        ConfigProblem::BadName { what: "index", .. }
    ));
    Ok(())
}

#[test]
fn stored_as_json_and_read_back() -> TestResult {
    let declared = PartitionProperties::new()
        .owner("app")
        .grant("reader", ["SELECT"])
        .storage("fillfactor", "70")
        .replica_identity(ReplicaIdentity::Index("event_id_key".into()))
        .unique_per_partition("k", ["id", "at"]);
    let json = declared.to_json();
    assert_eq!(PartitionProperties::from_json(Some(&json))?, declared);
    assert_eq!(
        PartitionProperties::from_json(None)?,
        PartitionProperties::new()
    );
    assert!(PartitionProperties::new().is_empty());
    assert!(matches!(
        PartitionProperties::from_json(Some(&serde_json::json!({"grants": 3}))),
        Err(ConfigProblem::StoredProperties(_))
    ));
    Ok(())
}
