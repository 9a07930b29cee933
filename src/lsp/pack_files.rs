//! The built-in pack as files an editor can open.
//!
//! The pack lives in the binary, read under `<builtin>/`, which is no place
//! an editor can show. The first time a definition lands in it, the session
//! writes the pack once into the user's cache folder, in a folder named by
//! the pack's version and digest ([`builtin::unpacked_dir`]), and answers
//! with the file there. The files are read-only copies: the pack a content
//! repository uses is still the one in the binary.

use std::path::{Path, PathBuf};

use crate::builtin;

/// Where the pack's files go: `$XDG_CACHE_HOME/tripline` when that is set
/// (on any system), else the platform's cache folder (`~/.cache` on Linux
/// and other Unixes, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
/// Windows), else the system's temporary folder.
pub fn cache_parent() -> PathBuf {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let base = absolute("XDG_CACHE_HOME").or_else(|| {
        if cfg!(windows) {
            absolute("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            absolute("HOME").map(|home| home.join("Library/Caches"))
        } else {
            absolute("HOME").map(|home| home.join(".cache"))
        }
    });
    base.unwrap_or_else(std::env::temp_dir).join("tripline")
}

/// The pack's files on disk for one session: written the first time they
/// are asked for; a failure is reported once and then definitions into the
/// pack find nothing.
#[derive(Default)]
pub struct PackFiles {
    written: Option<Option<PathBuf>>,
}

impl PackFiles {
    /// The file on disk that holds the built-in file `path`
    /// (`<builtin>/lists/x.tdl`), or `None` when `path` is not one of the
    /// pack's or the pack could not be written.
    pub fn on_disk(&mut self, path: &Path) -> Option<PathBuf> {
        let relative = builtin::relative(path)?;
        builtin::read(path)?;
        let directory = self
            .written
            .get_or_insert_with(|| {
                let directory = builtin::unpacked_dir(&cache_parent());
                match builtin::unpack(&directory) {
                    Ok(()) => Some(directory),
                    Err(error) => {
                        eprintln!(
                            "tripline lsp: cannot write the built-in pack to {}: {error}",
                            directory.display()
                        );
                        None
                    }
                }
            })
            .as_ref()?;
        Some(directory.join(relative))
    }
}
