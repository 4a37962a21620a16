//! `sea-orm-cli migrate generate` on a migration crate written as the README shows: the new migration is
//! added to the application's own list, and the crate's migrations stay merged in.

use std::path::PathBuf;

/// The README's `Migrator` block, as a migration crate's `src/lib.rs`.
fn readme_migrator() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let mut blocks = readme.split("```rust\n").skip(1).map(|rest| {
        rest.split("\n```")
            .next()
            .expect("a closing fence")
            .to_owned()
    });
    blocks
        .find(|block| block.contains("fn own()"))
        .expect("the README's Migrator block")
}

#[test]
fn generate_adds_to_the_applications_list_and_keeps_the_crates() {
    let dir: PathBuf = std::env::temp_dir().join(format!("sopp-generate-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("dir");
    std::fs::write(src.join("lib.rs"), readme_migrator() + "\n").expect("lib.rs");
    std::fs::write(src.join("m20250101_000001_create_event.rs"), "").expect("migration");

    sea_orm_cli::run_migrate_generate(dir.to_str().expect("utf-8"), "create_audit", true)
        .expect("generate");

    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let new = std::fs::read_dir(&src)
        .expect("dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|name| name.ends_with("_create_audit.rs"))
        .expect("the new migration file");
    let module = new.trim_end_matches(".rs");
    assert!(lib.contains(&format!("mod {module};")), "{lib}");
    // Both of the application's migrations in its list, which is still merged with the crate's.
    let own = lib.split("fn own()").nth(1).expect("own() survives");
    assert!(
        own.contains("Box::new(m20250101_000001_create_event::Migration)"),
        "{lib}"
    );
    assert!(
        own.contains(&format!("Box::new({module}::Migration)")),
        "{lib}"
    );
    assert!(
        lib.contains("sea_orm_pg_partitioning_migration::merge(Self::own())"),
        "{lib}"
    );
    assert!(lib.contains("impl MigratorTrait for Migrator"), "{lib}");
    assert_eq!(lib.matches("vec![").count(), 1, "{lib}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_orders_by_name_with_the_crates_among_yours() {
    use sea_orm_migration::prelude::*;
    struct Named(&'static str);
    impl MigrationName for Named {
        fn name(&self) -> &str {
            self.0
        }
    }
    #[async_trait::async_trait]
    impl MigrationTrait for Named {
        async fn up(&self, _: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
    let merged = sea_orm_pg_partitioning_migration::merge(vec![
        Box::new(Named("m20270101_000001_later")),
        Box::new(Named("m20250101_000001_earlier")),
    ]);
    let names: Vec<&str> = merged.iter().map(|m| m.name()).collect();
    assert_eq!(names.first(), Some(&"m20250101_000001_earlier"));
    assert_eq!(names.last(), Some(&"m20270101_000001_later"));
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}
