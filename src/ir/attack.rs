//! MITRE ATT&CK enterprise tactics: the names rules write in `attack:`, and
//! the names and ids the SIEM objects want. Data, read by the checker (to
//! validate `attack:`) and by the targets (to fill `threat`, tags and
//! tactics), so it lives with the IR rather than in either.

/// The 14 ATT&CK enterprise tactics, spelled as Microsoft Sentinel spells them.
pub const ATTACK_TACTICS: [&str; 14] = [
    "Reconnaissance",
    "ResourceDevelopment",
    "InitialAccess",
    "Execution",
    "Persistence",
    "PrivilegeEscalation",
    "DefenseEvasion",
    "CredentialAccess",
    "Discovery",
    "LateralMovement",
    "Collection",
    "CommandAndControl",
    "Exfiltration",
    "Impact",
];

/// Each ATT&CK enterprise tactic as [`ATTACK_TACTICS`] spells it, with its
/// name as MITRE writes it and its id (for Kibana's `threat`, which wants both).
pub const ATTACK_TACTIC_IDS: [(&str, &str, &str); 14] = [
    ("Reconnaissance", "Reconnaissance", "TA0043"),
    ("ResourceDevelopment", "Resource Development", "TA0042"),
    ("InitialAccess", "Initial Access", "TA0001"),
    ("Execution", "Execution", "TA0002"),
    ("Persistence", "Persistence", "TA0003"),
    ("PrivilegeEscalation", "Privilege Escalation", "TA0004"),
    ("DefenseEvasion", "Defense Evasion", "TA0005"),
    ("CredentialAccess", "Credential Access", "TA0006"),
    ("Discovery", "Discovery", "TA0007"),
    ("LateralMovement", "Lateral Movement", "TA0008"),
    ("Collection", "Collection", "TA0009"),
    ("CommandAndControl", "Command and Control", "TA0011"),
    ("Exfiltration", "Exfiltration", "TA0010"),
    ("Impact", "Impact", "TA0040"),
];

/// The ATT&CK enterprise techniques the shipped rules cite, with their names
/// as MITRE writes them and the tactics (as [`ATTACK_TACTICS`] spells them)
/// they belong to: Kibana's `threat` wants each technique under a tactic and
/// named. A technique a content repository cites beyond these still reaches
/// Sentinel's `relevantTechniques` (ids only) but not Kibana's `threat`.
pub const ATTACK_TECHNIQUES: [(&str, &str, &[&str]); 9] = [
    ("T1005", "Data from Local System", &["Collection"]),
    (
        "T1078",
        "Valid Accounts",
        &[
            "DefenseEvasion",
            "Persistence",
            "PrivilegeEscalation",
            "InitialAccess",
        ],
    ),
    ("T1083", "File and Directory Discovery", &["Discovery"]),
    ("T1110", "Brute Force", &["CredentialAccess"]),
    (
        "T1213",
        "Data from Information Repositories",
        &["Collection"],
    ),
    ("T1496", "Resource Hijacking", &["Impact"]),
    ("T1499", "Endpoint Denial of Service", &["Impact"]),
    ("T1552", "Unsecured Credentials", &["CredentialAccess"]),
    ("T1567", "Exfiltration Over Web Service", &["Exfiltration"]),
];

/// The sub-techniques the shipped rules cite, with their names; each
/// belongs to the tactics of its parent in [`ATTACK_TECHNIQUES`].
pub const ATTACK_SUBTECHNIQUES: [(&str, &str); 4] = [
    ("T1078.004", "Cloud Accounts"),
    ("T1110.004", "Credential Stuffing"),
    ("T1496.004", "Cloud Service Hijacking"),
    ("T1552.005", "Cloud Instance Metadata API"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn techniques_name_known_tactics_and_sub_techniques_known_parents() {
        for (id, name, tactics) in ATTACK_TECHNIQUES {
            assert!(id.len() == 5 && id.starts_with('T') && !name.is_empty());
            assert!(!tactics.is_empty());
            for tactic in tactics {
                assert!(ATTACK_TACTICS.contains(tactic), "{id}: {tactic}");
            }
        }
        for (id, name) in ATTACK_SUBTECHNIQUES {
            let parent = &id[..5];
            assert!(!name.is_empty());
            assert!(
                ATTACK_TECHNIQUES.iter().any(|(known, ..)| *known == parent),
                "{id} has no parent in the table"
            );
        }
    }
}
