//! A content repository's own rule taking the id of a shipped rule that
//! `disable:` leaves out.

use super::*;

/// The ids of `disable:` that a pack and one of the repository's own files
/// both declare as rules: the packs' declarations are taken out of `files`,
/// so the repository's rule is checked, tested and compiled under the id
/// (without `disable:`, the same id twice stays an E0301 error).
pub(super) fn replace_disabled_rules(
    disable: &[DisabledRule],
    files: &mut [(SourceId, syntax::ast::File)],
    own_files: &[bool],
) -> Vec<String> {
    let declares = |file: &syntax::ast::File, id: &str| {
        file.declarations.iter().any(|declaration| {
            matches!(&declaration.kind, syntax::ast::DeclarationKind::Rule(rule) if rule.id.text == id)
        })
    };
    let mut replaced = Vec::new();
    for entry in disable {
        let declared_by = |own: bool| {
            files
                .iter()
                .zip(own_files)
                .any(|((_, file), is_own)| *is_own == own && declares(file, &entry.id))
        };
        if !(declared_by(true) && declared_by(false)) {
            continue;
        }
        for ((_, file), own) in files.iter_mut().zip(own_files) {
            if !own {
                file.declarations.retain(|declaration| {
                    !matches!(&declaration.kind, syntax::ast::DeclarationKind::Rule(rule) if rule.id.text == entry.id)
                });
            }
        }
        replaced.push(entry.id.clone());
    }
    replaced.sort();
    replaced.dedup();
    replaced
}
