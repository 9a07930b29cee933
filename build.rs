//! Embeds the shipped rule pack (`rules/`) in the binary: every file under it
//! becomes an entry of `$OUT_DIR/builtin_pack.rs`, read by `src/builtin.rs`,
//! and a digest of the files becomes `TRIPLINE_PACK_DIGEST` so that two builds
//! of the same version with different rules can be told apart.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.join("rules");
    // Cargo scans a directory given here recursively for changes.
    println!("cargo:rerun-if-changed=rules");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    // FNV-1a over every path and content: no dependency, stable across builds.
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    let mut table = String::from("&[\n");
    for (relative, absolute) in &files {
        let bytes = fs::read(absolute).unwrap_or_default();
        for byte in relative.bytes().chain([0]).chain(bytes).chain([0]) {
            digest ^= u64::from(byte);
            digest = digest.wrapping_mul(0x0100_0000_01b3);
        }
        let _ = writeln!(
            table,
            "    ({relative:?}, include_str!({:?})),",
            absolute.to_string_lossy()
        );
    }
    table.push_str("]\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(error) = fs::write(out.join("builtin_pack.rs"), table) {
        panic!("cannot write the embedded pack table: {error}");
    }
    println!("cargo:rustc-env=TRIPLINE_PACK_DIGEST={:08x}", digest >> 32);
}

/// Every file under `directory` that is not hidden, as (path relative to
/// `root` with `/` separators, absolute path).
fn collect(root: &Path, directory: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((relative, path));
        }
    }
}
