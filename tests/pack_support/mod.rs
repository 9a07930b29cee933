//! The shipped pack, loaded and checked, for the tests that walk every rule.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use tripline::project::{LoadOptions, Project, load};

/// The project of the pack under `rules/` (its `pack` checked), read from
/// the crate's root whatever the test's working directory.
pub fn shipped_project() -> Project {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let project = load(&LoadOptions {
        paths: vec![PathBuf::from("rules")],
        ..LoadOptions::default()
    })
    .expect("the shipped pack loads");
    assert!(project.pack.is_some(), "the shipped pack checks");
    project
}
