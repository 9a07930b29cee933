//! The shape of the source tree, held by a test: the layering between the
//! stages (docs: ARCHITECTURE.md) and a size bound on every source file.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

/// No file under `src/` is longer than this: a file that grows past it is
/// split into modules along the constructs it handles.
const MAX_LINES: usize = 800;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn all_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    source_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 50, "found only {} source files", files.len());
    files
}

/// The stage a file belongs to: the first component below `src/`, without
/// `.rs` (`src/eval/cluster.rs` is `eval`, `src/project/files.rs` is `project`).
fn layer(path: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let relative = path.strip_prefix(&src).expect("under src");
    let first = relative.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_string()
}

/// The code of a file that ships in the library: comments dropped, and
/// nothing of unit-test modules (a test may build its input with the
/// checker; the code under test may not).
fn shipped_code(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy();
    if name == "tests.rs" || name == "properties.rs" {
        return None;
    }
    let text = fs::read_to_string(path).expect("read source");
    let mut code = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let line = line.split("//").next().unwrap_or("");
        code.push_str(line);
        code.push('\n');
    }
    Some(code)
}

/// The top-level modules `code` names through `crate::`: `crate::a::b`,
/// `crate::a;` and each name of `crate::{a, b::c, d}`.
fn crate_modules(code: &str) -> Vec<String> {
    let ident = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = 0;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        names.push(ident(&group[start..index]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(ident(&group[start..index]));
                        start = index + 1;
                    }
                    _ => {}
                }
            }
        } else {
            names.push(ident(rest));
        }
    }
    names.retain(|name| !name.is_empty());
    names
}

#[test]
fn no_source_file_is_longer_than_the_bound() {
    let long: Vec<String> = all_sources()
        .into_iter()
        .filter_map(|path| {
            let lines = fs::read_to_string(&path).expect("read").lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:#?}");
}

#[test]
fn each_stage_imports_only_the_stages_below_it() {
    // (layer, what it must not reach)
    let rules: &[(&str, &[&str])] = &[
        (
            "ir",
            &["syntax", "check", "targets", "eval", "cli", "testing"],
        ),
        ("eval", &["targets", "check", "cli"]),
        ("targets", &["eval", "check", "cli", "testing"]),
        ("check", &["targets", "eval", "cli"]),
        ("syntax", &["check", "ir", "targets", "eval", "cli"]),
        ("testing", &["cli"]),
        ("project", &["cli"]),
        ("normalize", &["cli", "targets"]),
        ("diagnostics", &["cli", "targets", "eval"]),
    ];
    let mut broken = Vec::new();
    for path in all_sources() {
        let layer = layer(&path);
        let Some((_, forbidden)) = rules.iter().find(|(name, _)| *name == layer) else {
            continue;
        };
        let Some(code) = shipped_code(&path) else {
            continue;
        };
        let reached = crate_modules(&code);
        for other in *forbidden {
            if reached.iter().any(|name| name == other) {
                broken.push(format!("{} ({layer}) reaches {other}", path.display()));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken: {broken:#?}");
}

#[test]
fn the_library_never_reaches_the_command_line() {
    let mut broken = Vec::new();
    for path in all_sources() {
        let layer = layer(&path);
        if layer == "cli" || layer == "main" {
            continue;
        }
        let Some(code) = shipped_code(&path) else {
            continue;
        };
        if code.contains("crate::cli") {
            broken.push(path.display().to_string());
        }
    }
    assert!(
        broken.is_empty(),
        "library files that use the CLI: {broken:#?}"
    );
}

#[test]
fn the_layering_check_sees_an_import() {
    // The scanner itself: a forbidden path in shipped code is found, the same
    // text in a comment or a test module is not.
    let dir = std::env::temp_dir().join(format!("tripline-arch-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("sample.rs");
    fs::write(
        &file,
        "// crate::check::x in a comment\nuse crate::check::reference;\n#[cfg(test)]\nmod t { use crate::eval::x; }\n",
    )
    .expect("write");
    let code = shipped_code(&file).expect("code");
    assert_eq!(crate_modules(&code), ["check"]);
    assert_eq!(
        crate_modules("use crate::{ir, check::{a, b}, eval};\nlet x = crate::cli::plural;"),
        ["ir", "check", "eval", "cli"]
    );
    fs::remove_dir_all(&dir).expect("clean");
}
