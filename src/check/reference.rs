//! Reference data the checker validates mappings against.
//!
//! Input: the text of `rules/reference/atlas.txt` (embedded at build time for
//! the default, or given by a caller). Output: [`Reference`], the known MITRE
//! ATLAS technique ids with their names, plus the fixed OWASP and ATT&CK sets.

use std::collections::BTreeMap;

/// The ATLAS technique list the project ships, one `AML.Txxxx[.xxx] Name` per line.
pub const SHIPPED_ATLAS: &str = include_str!("../../rules/reference/atlas.txt");

/// OWASP Top 10 for LLM Applications 2025 ids.
pub const OWASP_IDS: [&str; 10] = [
    "LLM01", "LLM02", "LLM03", "LLM04", "LLM05", "LLM06", "LLM07", "LLM08", "LLM09", "LLM10",
];

pub use crate::ir::attack::{ATTACK_TACTIC_IDS, ATTACK_TACTICS};

/// Reference data passed into the checker: no global is read while checking.
#[derive(Debug, Clone)]
pub struct Reference {
    /// ATLAS technique id to its name.
    pub atlas: BTreeMap<String, String>,
}

impl Reference {
    /// Reads an ATLAS list: one `ID Name` per line; blank lines and `#` lines are skipped.
    pub fn from_atlas_text(text: &str) -> Self {
        let atlas = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| match line.split_once(char::is_whitespace) {
                Some((id, name)) => (id.to_string(), name.trim().to_string()),
                None => (line.to_string(), String::new()),
            })
            .collect();
        Reference { atlas }
    }

    /// Whether `id` is a known ATLAS technique or sub-technique.
    pub fn knows_atlas(&self, id: &str) -> bool {
        self.atlas.contains_key(id)
    }
}

impl Default for Reference {
    fn default() -> Self {
        Reference::from_atlas_text(SHIPPED_ATLAS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_list_has_the_llm_techniques() {
        let reference = Reference::default();
        assert!(reference.knows_atlas("AML.T0051"));
        assert!(reference.knows_atlas("AML.T0051.000"));
        assert_eq!(
            reference.atlas.get("AML.T0054").map(String::as_str),
            Some("LLM Jailbreak")
        );
        assert!(!reference.knows_atlas("AML.T9999"));
        assert!(reference.atlas.len() >= 40);
    }

    #[test]
    fn every_attack_tactic_has_a_name_and_an_id() {
        let spellings: Vec<&str> = ATTACK_TACTIC_IDS
            .iter()
            .map(|(spelling, _, _)| *spelling)
            .collect();
        assert_eq!(spellings, ATTACK_TACTICS);
        for (spelling, name, id) in ATTACK_TACTIC_IDS {
            assert_eq!(
                name.replace(' ', "").to_lowercase(),
                spelling.to_lowercase()
            );
            assert!(id.starts_with("TA00") && id.len() == 6, "{id}");
        }
    }
}
