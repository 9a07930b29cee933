//! Compiling one rule written inline in a test, for one target: the shared
//! set-up of the per-target printer tests.

use std::path::PathBuf;

use tripline::project::{LoadOptions, load};
use tripline::targets::{self, Artifact, Problem};

/// The artifacts of the rule `local.NAME` of `severity` whose detection is
/// `body` (rule syntax, indented), compiled for `target_id` against the
/// shipped schema, or the messages of the problems that refused it.
#[allow(dead_code)] // each test crate that includes this module uses one of the two
pub fn compile(
    target_id: &str,
    name: &str,
    severity: &str,
    body: &str,
) -> Result<Vec<Artifact>, Vec<String>> {
    compile_problems(target_id, name, severity, body).map_err(|problems| {
        problems
            .iter()
            .map(|problem| problem.message.clone())
            .collect()
    })
}

/// As [`compile`], with the refusing problems whole (code, span, message).
pub fn compile_problems(
    target_id: &str,
    name: &str,
    severity: &str,
    body: &str,
) -> Result<Vec<Artifact>, Vec<Problem>> {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate directory");
    let directory = std::env::temp_dir().join(format!(
        "tripline-one-rule-{target_id}-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    let rule = directory.join("rule.tdl");
    std::fs::write(
        &rule,
        format!(
            "rule local.{name} {{\n  title: \"t\"\n  description: \"d\"\n  severity: {severity}\n  category: behavioral\n  guide: \"g\"\n{body}\n}}\n"
        ),
    )
    .expect("the rule is written");
    let project = load(&LoadOptions {
        paths: vec![PathBuf::from("rules/schema"), rule],
        ..LoadOptions::default()
    })
    .expect("the rule loads");
    let pack = project.pack.as_ref().expect("the rule checks");
    let registry = targets::registry();
    let target = registry
        .iter()
        .find(|target| target.id() == target_id)
        .expect("a registered target");
    let mapping = target.default_mapping(&pack.schema);
    let result = targets::compile_rule(target.as_ref(), &pack.rules[0], pack, &mapping, &registry);
    let _ = std::fs::remove_dir_all(&directory);
    result
}
