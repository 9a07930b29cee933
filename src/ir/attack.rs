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
