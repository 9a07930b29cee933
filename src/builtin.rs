//! The shipped rule pack, embedded in the binary.
//!
//! `build.rs` puts every file of `rules/` (schema, lists, lookups and their
//! CSVs, playbooks, parameters, rules and their tests) into the binary, so an
//! installed `tripline` needs no checkout: a content repository says
//! `packs: [builtin]` in its `tripline.yaml`.
//!
//! Its files are read under the virtual directory [`ROOT`] (`<builtin>`),
//! which is what diagnostics show (`<builtin>/high/llm.output.secret_leak.tdl:3:5`).
//! The loader ([`crate::project`]) and the lookup reader ([`crate::check`])
//! ask [`read`] before the file system.
//!
//! The pack's version is the tool's version (`CARGO_PKG_VERSION`): the pack
//! ships and is released with the binary, so one number names both. The
//! [`DIGEST`] of its files tells apart two builds of one version whose rules
//! differ (a development build).

use std::path::{Component, Path};

/// The name a `tripline.yaml` gives the embedded pack in `packs:`.
pub const NAME: &str = "builtin";

/// The virtual directory the embedded files are read under.
pub const ROOT: &str = "<builtin>";

/// The pack's version: the tool's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A digest of the embedded files (8 hex digits).
pub const DIGEST: &str = env!("TRIPLINE_PACK_DIGEST");

/// `tripline --version`: the tool's version, then the pack's.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (built-in pack ",
    env!("CARGO_PKG_VERSION"),
    ", files ",
    env!("TRIPLINE_PACK_DIGEST"),
    ")"
);

/// Every embedded file: its path under `rules/` (with `/`) and its text.
static FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_pack.rs"));

/// Every embedded file: its path under `rules/` (with `/`) and its text, sorted by path.
pub fn files() -> &'static [(&'static str, &'static str)] {
    FILES
}

/// Whether `path` lies under [`ROOT`].
pub fn is_builtin(path: &Path) -> bool {
    matches!(path.components().next(), Some(Component::Normal(first)) if first == ROOT)
}

/// The path of an embedded file relative to [`ROOT`] (`high/x.tdl`), with
/// `.` and `..` resolved; `None` when `path` is not under [`ROOT`] or leaves it.
pub fn relative(path: &Path) -> Option<String> {
    if !is_builtin(path) {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for component in path.components().skip(1) {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// The text of the embedded file at `path` (`<builtin>/lookups/x.csv`), or
/// `None` when `path` is not an embedded file.
pub fn read(path: &Path) -> Option<&'static str> {
    let relative = relative(path)?;
    FILES
        .binary_search_by(|(name, _)| (*name).cmp(relative.as_str()))
        .ok()
        .map(|index| FILES[index].1)
}

/// Whether `path` is the embedded root or one of its directories.
pub fn is_dir(path: &Path) -> bool {
    let Some(relative) = relative(path) else {
        return false;
    };
    relative.is_empty()
        || FILES
            .iter()
            .any(|(name, _)| name.starts_with(&format!("{relative}/")))
}

/// The embedded files under the directory `path` (all of them for [`ROOT`]),
/// as `<builtin>/...` paths, sorted.
pub fn files_under(path: &Path) -> Vec<std::path::PathBuf> {
    let Some(relative) = relative(path) else {
        return Vec::new();
    };
    let prefix = if relative.is_empty() {
        String::new()
    } else {
        format!("{relative}/")
    };
    FILES
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .map(|(name, _)| Path::new(ROOT).join(name))
        .collect()
}

/// The folder [`unpack`] writes this build's pack into, under `parent`:
/// named by version and digest, so two builds never share one.
pub fn unpacked_dir(parent: &Path) -> std::path::PathBuf {
    parent.join(format!("builtin-pack-{VERSION}-{DIGEST}"))
}

/// Writes every embedded file under `directory` (`high/x.tdl` becomes
/// `directory/high/x.tdl`), for tools that need the pack as files, such as an
/// editor jumping to a declaration. A file already there with the same text
/// is left alone; another one is replaced. Each file is written to a
/// temporary name and renamed into place, so a reader never sees half a
/// file, and is made read-only: edits there would change nothing.
pub fn unpack(directory: &Path) -> std::io::Result<()> {
    for (name, text) in FILES {
        let target = directory.join(name);
        if std::fs::read(&target).is_ok_and(|bytes| bytes == text.as_bytes()) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let temporary = target.with_file_name(format!(
            ".{}.{}.tmp",
            target
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        std::fs::write(&temporary, text)?;
        let mut permissions = std::fs::metadata(&temporary)?.permissions();
        permissions.set_readonly(true);
        std::fs::set_permissions(&temporary, permissions)?;
        // A read-only file of another text cannot be replaced everywhere.
        if target.exists() {
            std::fs::remove_file(&target)?;
        }
        if let Err(error) = std::fs::rename(&temporary, &target) {
            let _ = std::fs::remove_file(&temporary);
            return Err(error);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pack_is_embedded_sorted_with_its_schema_rules_and_lookups() {
        let names: Vec<&str> = files().iter().map(|(name, _)| *name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "read() binary-searches the table");
        assert!(names.contains(&"schema/events.tdl"));
        assert!(names.contains(&"lookups/egress_allowlist.csv"));
        assert!(names.iter().any(|name| name.ends_with(".test.yaml")));
    }

    #[test]
    fn paths_resolve_under_the_virtual_root_only() {
        let csv = read(Path::new("<builtin>/high/../lookups/egress_allowlist.csv"));
        assert!(csv.is_some_and(|text| text.starts_with("domain")));
        assert!(read(Path::new("rules/lookups/egress_allowlist.csv")).is_none());
        assert!(read(Path::new("<builtin>/../rules/params.tdl")).is_none());
        assert!(is_dir(Path::new("<builtin>")));
        assert!(is_dir(Path::new("<builtin>/high")));
        assert!(!is_dir(Path::new("<builtin>/nowhere")));
        assert!(
            files_under(Path::new("<builtin>/lists"))
                .iter()
                .all(|path| path.starts_with("<builtin>/lists"))
        );
    }

    #[test]
    fn unpacking_writes_every_file_read_only_and_repairs_a_changed_one() {
        let parent =
            std::env::temp_dir().join(format!("tripline-unpack-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        let directory = unpacked_dir(&parent);
        assert!(directory.ends_with(format!("builtin-pack-{VERSION}-{DIGEST}")));
        unpack(&directory).unwrap();
        for (name, text) in files() {
            let path = directory.join(name);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), *text, "{name}");
            assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
        }
        // A file changed behind its back is written again; twice is harmless.
        let schema = directory.join("schema/events.tdl");
        std::fs::remove_file(&schema).unwrap();
        std::fs::write(&schema, "changed").unwrap();
        unpack(&directory).unwrap();
        unpack(&directory).unwrap();
        assert_eq!(
            std::fs::read_to_string(&schema).unwrap(),
            read(Path::new("<builtin>/schema/events.tdl")).unwrap()
        );
        let leftovers = std::fs::read_dir(directory.join("schema"))
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
            .count();
        assert_eq!(leftovers, 0);
        make_writable(&parent);
        let _ = std::fs::remove_dir_all(&parent);
    }

    /// Read-only files stop `remove_dir_all` on some systems.
    fn make_writable(directory: &Path) {
        for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                make_writable(&path);
            } else if let Ok(metadata) = std::fs::metadata(&path) {
                let mut permissions = metadata.permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                permissions.set_readonly(false);
                let _ = std::fs::set_permissions(&path, permissions);
            }
        }
    }

    #[test]
    fn the_version_line_names_the_tool_and_the_pack() {
        assert!(VERSION_LINE.starts_with(VERSION));
        assert!(VERSION_LINE.contains("built-in pack"));
        assert_eq!(DIGEST.len(), 8);
    }
}
