//! The deployable objects around the rules (issue 14, items 4 and 5): the
//! SIEM set-up written from the event schema and `retention_days`, and the
//! alert routing written from `routes:`. Reviewed snapshots of the set-up
//! files for the shipped pack (defaults) and for the example content
//! repository (400 days, three configured routes), and the command-line
//! errors of a bad `retention_days` or an unknown route.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use insta::{Settings, assert_snapshot};
use serde_json::Value as Json;

fn tripline(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(arguments)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tripline binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("tripline-deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("temp dir");
    directory
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles `paths` from `directory` into a fresh folder and returns it.
fn compile(name: &str, directory: &Path, paths: &[&str]) -> PathBuf {
    let out = temp_dir(name);
    let out_text = out.to_string_lossy().into_owned();
    let mut arguments = vec!["compile"];
    arguments.extend_from_slice(paths);
    arguments.extend_from_slice(&["--out", &out_text]);
    let output = tripline(directory, &arguments);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// The set-up files: everything a target writes that is not a rule's
/// query, rule object, lookup or watchlist.
const SETUP_FILES: &[&str] = &[
    "splunk_spl/tripline_llm_security/default/indexes.conf",
    "splunk_spl/tripline_llm_security/default/props.conf",
    "sentinel_kql/tables/LLMAppEvents_CL.json",
    "sentinel_kql/tables/AcmeLlm_CL.json",
    "sentinel_kql/dcr/LLMAppEvents_CL.json",
    "sentinel_kql/dcr/AcmeLlm_CL.json",
    "sentinel_kql/automation/llm-security.json",
    "sentinel_kql/automation/soc-infrastructure.json",
    "sentinel_kql/automation/acme-support-risk.json",
    "elastic_esql/elasticsearch/ilm_policy/logs-tripline.llm_application.json",
    "elastic_esql/kibana/connectors/tripline-route-llm-security.json",
    "elastic_esql/kibana/connectors/tripline-route-soc-infrastructure.json",
    "elastic_esql/kibana/connectors/tripline-route-acme-support-risk.json",
];

fn snapshot(name: &str, out: &Path) {
    let mut rendered = String::new();
    for file in SETUP_FILES {
        if let Ok(text) = std::fs::read_to_string(out.join(file)) {
            rendered.push_str(&format!("==> {file}\n{text}"));
        }
    }
    let mut settings = Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots/deploy"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| assert_snapshot!(name, rendered));
}

fn json(path: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the file exists"))
        .expect("the file is JSON")
}

fn ndjson(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .expect("the file exists")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn the_shipped_pack_gets_set_up_and_routing_for_every_siem() {
    let out = compile("pack", &root(), &["rules"]);
    snapshot("pack_defaults", &out);
    // Every Elastic target carries the same index template and ILM policy.
    let template = "elasticsearch/index_template/logs-tripline.llm_application.json";
    let policy = "elasticsearch/ilm_policy/logs-tripline.llm_application.json";
    for target in ["elastic_eql", "kibana_kql", "elastic_esql"] {
        assert_eq!(
            json(&out.join(target).join(template)),
            json(&out.join("elastic_esql").join(template))
        );
        let ilm = json(&out.join(target).join(policy));
        assert_eq!(ilm["policy"]["phases"]["delete"]["min_age"], "90d");
        // Every rule with a route notifies that route's (placeholder) connector.
        for rule in ndjson(&out.join(target).join("rules.ndjson")) {
            let actions = rule["actions"].as_array().unwrap();
            assert_eq!(actions.len(), 1, "{}", rule["rule_id"]);
            let id = actions[0]["id"].as_str().unwrap();
            assert!(id.starts_with("tripline-route-"), "{id}");
            assert!(
                out.join(target)
                    .join(format!("kibana/connectors/{id}.json"))
                    .is_file()
            );
        }
    }
    let indexes =
        std::fs::read_to_string(out.join("splunk_spl/tripline_llm_security/default/indexes.conf"))
            .unwrap();
    assert!(indexes.contains("[llm]\n"));
    assert!(indexes.contains("frozenTimePeriodInSecs = 7776000\n"));
    let table = json(&out.join("sentinel_kql/tables/LLMAppEvents_CL.json"));
    assert_eq!(table["resources"][0]["properties"]["retentionInDays"], 90);
    assert_eq!(
        table["resources"][0]["properties"]["totalRetentionInDays"],
        90
    );
    assert_eq!(
        projected_columns(&out.join("sentinel_kql/dcr/LLMAppEvents_CL.json")),
        table_columns(&table),
        "the collection rule fills every column of the table, and only those"
    );
}

/// The column names of an emitted table definition, sorted.
fn table_columns(table: &Json) -> Vec<String> {
    let mut names: Vec<String> = table["resources"][0]["properties"]["schema"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|column| column["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// The columns a data collection rule's `source | project ...` writes, sorted.
fn projected_columns(path: &Path) -> Vec<String> {
    let dcr = json(path);
    let transform = dcr["resources"][0]["properties"]["dataFlows"][0]["transformKql"]
        .as_str()
        .unwrap()
        .to_string();
    let list = transform
        .strip_prefix("source | project ")
        .expect("one project");
    let mut names: Vec<String> = list
        .split(", ")
        .map(|item| item.split(" = ").next().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn sentinel_rules_map_the_entities_their_results_carry_and_name_techniques() {
    let out = compile("sentinel", &root(), &["rules", "--target", "sentinel_kql"]);
    let rule = |id: &str| -> serde_yaml::Value {
        let text =
            std::fs::read_to_string(out.join(format!("sentinel_kql/rules/{id}.yaml"))).unwrap();
        serde_yaml::from_str(&text).unwrap()
    };
    let entities = |rule: &serde_yaml::Value| -> Vec<(String, String)> {
        rule["entityMappings"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|mapping| {
                (
                    mapping["entityType"].as_str().unwrap().to_string(),
                    mapping["fieldMappings"][0]["columnName"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    // A match rule keeps every column: account, key, address, domain, URL.
    let egress = entities(&rule("agent.egress.unexpected_domain"));
    for expected in [
        ("Account", "UserId"),
        ("Account", "ApiKeyId"),
        ("IP", "SrcIp"),
        ("DNS", "TargetDomain"),
        ("URL", "TargetUrl"),
    ] {
        assert!(
            egress.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{egress:?}"
        );
    }
    // A rule over tool calls names the file by name and directory, split
    // from the path in the query (a strong identifier), not the whole path.
    let scope = rule("agent.tool.out_of_scope_access");
    let file = scope["entityMappings"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|mapping| mapping["entityType"] == "File")
        .expect("a File entity");
    let identifiers: Vec<(&str, &str)> = file["fieldMappings"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|field| {
            (
                field["identifier"].as_str().unwrap(),
                field["columnName"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        identifiers,
        [("Name", "FileName"), ("Directory", "FileDirectory")]
    );
    assert!(scope["query"].as_str().unwrap().ends_with(
        "| extend FileName = tostring(parse_path(TargetPath).Filename), FileDirectory = tostring(parse_path(TargetPath).DirectoryPath)"
    ));
    // A window grouped by session projects no entity column: none is mapped.
    assert!(entities(&rule("llm.prompt_extraction.repeated")).is_empty());
    // ATT&CK technique references become relevantTechniques; the ARM form
    // takes the technique of a sub-technique.
    let stuffing = rule("auth.credential_stuffing");
    let techniques: Vec<&str> = stuffing["relevantTechniques"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(techniques, vec!["T1110.004"]);
    let arm = json(&out.join("sentinel_kql/arm/auth.credential_stuffing.json"));
    assert_eq!(
        arm["resources"][0]["properties"]["techniques"],
        serde_json::json!(["T1110"])
    );
}

/// Shipped rules that deliberately name no ATT&CK Enterprise technique,
/// each with the reason. A new rule must either reference the technique
/// it detects or be added here on purpose.
const RULES_WITHOUT_ATTACK_TECHNIQUE: &[&str] = &[
    // Prompt extraction and system prompt leakage are about the model's
    // instructions, which ATT&CK has no object for; ATLAS AML.T0056 covers them.
    "llm.prompt_extraction.repeated",
    "llm.output.system_prompt_leak",
    // Jailbreak and prompt-injection content: no ATT&CK analogue (ATLAS
    // AML.T0051 and AML.T0054 cover it).
    "llm.input.invisible_characters",
    "llm.jailbreak.keyword_frequency",
    "llm.policy_refusal.cluster",
    "llm.policy_refusal.rate_increase",
    "llm.prompt.campaign_cluster",
    // Request rates that stand for several behaviours at once (scripted
    // probing, scraping, client retry loops) rather than one technique.
    "session.input_rate_anomaly",
    "infra.rate_limit.repeated",
    // Finds exposure (a vulnerable version deployed), not adversary behaviour.
    "infra.dependency.vulnerable_version",
];

#[test]
fn every_shipped_sentinel_rule_names_a_technique_or_is_listed_as_having_none() {
    let out = compile(
        "sentinel_techniques",
        &root(),
        &["rules", "--target", "sentinel_kql"],
    );
    let mut without = Vec::new();
    let mut with = Vec::new();
    for entry in std::fs::read_dir(out.join("sentinel_kql/rules")).unwrap() {
        let path = entry.unwrap().path();
        let Some(id) = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".yaml"))
        else {
            continue;
        };
        let rule: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let techniques = rule["relevantTechniques"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id}: relevantTechniques is not a list"));
        if techniques.is_empty() {
            without.push(id.to_string());
        } else {
            with.push(id.to_string());
        }
    }
    without.sort();
    let mut listed: Vec<String> = RULES_WITHOUT_ATTACK_TECHNIQUE
        .iter()
        .map(|id| id.to_string())
        .collect();
    listed.sort();
    assert_eq!(
        without, listed,
        "shipped Sentinel rules with no ATT&CK technique must be exactly the listed ones: \
         add an attack.mitre.org/techniques/ reference to the rule, or list it with a reason"
    );
    // The shipped pack's 23 rules: 13 mapped, 10 listed.
    assert_eq!(with.len() + without.len(), 23, "{with:?} {without:?}");
}

#[test]
fn the_example_repository_sets_retention_and_routes_destinations() {
    let repository = root().join("examples/content-repo");
    let out = compile("acme", &repository, &[]);
    snapshot("content_repo_routes", &out);
    let table = json(&out.join("sentinel_kql/tables/AcmeLlm_CL.json"));
    assert_eq!(table["resources"][0]["properties"]["retentionInDays"], 400);
    // The collection rule feeds the repository's own table and column names.
    let dcr_path = out.join("sentinel_kql/dcr/AcmeLlm_CL.json");
    assert_eq!(projected_columns(&dcr_path), table_columns(&table));
    let flow = &json(&dcr_path)["resources"][0]["properties"]["dataFlows"][0];
    assert_eq!(flow["outputStream"], "Custom-AcmeLlm_CL");
    assert!(
        flow["transformKql"]
            .as_str()
            .unwrap()
            .contains("ClientIp = src_ip"),
        "{flow}"
    );
    let automation = json(&out.join("sentinel_kql/automation/llm-security.json"));
    let actions = &automation["resources"][0]["properties"]["actions"];
    assert_eq!(
        actions[1]["actionConfiguration"]["owner"]["objectId"],
        "3f2b6c1e-8d4a-4e6b-9c1d-2a7e5f0b9d41"
    );
    // The configured connector replaces the placeholder, with a Slack message.
    let rules = ndjson(&out.join("elastic_eql/rules.ndjson"));
    let egress = rules
        .iter()
        .find(|rule| rule["rule_id"] == "agent.egress.unexpected_domain")
        .unwrap();
    assert_eq!(egress["actions"][0]["id"], "acme-ai-secops-slack");
    assert_eq!(egress["actions"][0]["action_type_id"], ".slack");
    assert!(
        egress["actions"][0]["params"]["message"]
            .as_str()
            .unwrap()
            .contains("{{context.rule.name}}")
    );
    assert!(
        !out.join("elastic_eql/kibana/connectors/tripline-route-llm-security.json")
            .exists()
    );
    let saved = std::fs::read_to_string(
        out.join("splunk_spl/tripline_llm_security/default/savedsearches.conf"),
    )
    .unwrap();
    assert!(saved.contains("action.notable.param.default_owner = ai_secops\n"));
    let indexes =
        std::fs::read_to_string(out.join("splunk_spl/tripline_llm_security/default/indexes.conf"))
            .unwrap();
    assert!(indexes.contains("[acme_llm]\n"), "{indexes}");
    assert!(indexes.contains("frozenTimePeriodInSecs = 34560000\n"));
}

/// A content repository over the shipped pack with `extra` appended to its
/// configuration.
fn repository(name: &str, extra: &str) -> PathBuf {
    let directory = temp_dir(name);
    let pack = root().join("rules");
    std::fs::write(
        directory.join("tripline.yaml"),
        format!("packs: [{}]\n{extra}", pack.display()),
    )
    .unwrap();
    directory
}

#[test]
fn retention_must_be_a_positive_number_of_days() {
    for (value, says) in [
        ("0", "tripline.yaml:2:1"),
        ("-3", "tripline.yaml:2:17"),
        ("ninety", "tripline.yaml:2:17"),
        ("5000", "tripline.yaml:2:1"),
    ] {
        let directory = repository("retention", &format!("retention_days: {value}\n"));
        let output = tripline(&directory, &["check"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{value}: {stderr}");
        assert!(stderr.contains("E0531"), "{value}: {stderr}");
        assert!(stderr.contains(says), "{value}: {stderr}");
    }
    let directory = repository("retention-ok", "retention_days: 30\n");
    let output = tripline(&directory, &["check"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_route_the_configuration_does_not_define_is_a_check_error_at_the_rule() {
    // Only one of the pack's two routes is configured.
    let directory = repository(
        "routes",
        "routes:\n  llm-security: { splunk_owner: ai_secops }\n",
    );
    let output = tripline(&directory, &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("routes its alerts to `soc-infrastructure`, which `routes:` does not define"),
        "{stderr}"
    );
    assert!(stderr.contains("route: \"soc-infrastructure\""), "{stderr}");
    assert!(
        stderr.contains("^^^^^^^^^^^^^^^^^^ unknown route"),
        "{stderr}"
    );
    // Without `routes:`, any route is accepted (and written with placeholders).
    let directory = repository("no-routes", "");
    assert_eq!(tripline(&directory, &["check"]).status.code(), Some(0));
    // A Sentinel owner must be an object id.
    let directory = repository(
        "owner",
        "routes:\n  llm-security: { sentinel_owner: alice }\n  soc-infrastructure: {}\n",
    );
    let output = tripline(&directory, &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sentinel_owner"), "{stderr}");
    assert!(stderr.contains("tripline.yaml:3:19"), "{stderr}");
    // A connector type whose params Tripline does not write needs them.
    let directory = repository(
        "connector",
        "routes:\n  llm-security: { elastic_connector: { id: pd, type: .pagerduty } }\n  soc-infrastructure: {}\n",
    );
    let output = tripline(&directory, &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("params"), "{stderr}");
    let directory = repository(
        "connector-ok",
        "routes:\n  llm-security: { elastic_connector: { id: pd, type: .pagerduty, params: { eventAction: trigger, summary: x } } }\n  soc-infrastructure: {}\n",
    );
    let output = tripline(&directory, &["check"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_drilldown_and_risk_objects_follow_the_search_results() {
    let out = compile("splunk", &root(), &["rules", "--target", "splunk_spl"]);
    let saved = std::fs::read_to_string(
        out.join("splunk_spl/tripline_llm_security/default/savedsearches.conf"),
    )
    .unwrap();
    let stanza = |id: &str| -> String {
        let start = saved
            .find(&format!("[Tripline - {id}]"))
            .expect("the stanza");
        let rest = &saved[start..];
        let end = rest[1..].find("\n[").map_or(rest.len(), |end| end + 1);
        rest[..end].to_string()
    };
    // A match rule: the drill-down finds the event, every entity is a risk object.
    let egress = stanza("agent.egress.unexpected_domain");
    assert!(
        egress.contains(
            "action.notable.param.drilldown_search = `tripline_llm_events` event_id=\"$event_id$\"\n"
        ),
        "{egress}"
    );
    assert!(
        egress.contains("\"risk_object_field\":\"src_ip\""),
        "{egress}"
    );
    // A window by session: the drill-down finds the session's events, no risk object.
    let extraction = stanza("llm.prompt_extraction.repeated");
    assert!(
        extraction
            .contains("drilldown_search = `tripline_llm_events` session_id=\"$session_id$\"\n"),
        "{extraction}"
    );
    assert!(!extraction.contains("action.risk"), "{extraction}");
    assert!(extraction.contains("action.notable.param.severity = high\n"));
}

#[test]
fn the_splunk_data_source_decides_the_index_and_source_type() {
    let directory = repository(
        "splunk-source",
        "mappings:\n  splunk_spl:\n    data_source: [\"index=llm_* sourcetype=acme:llm\"]\n",
    );
    let out = compile("splunk-source-out", &directory, &["--target", "splunk_spl"]);
    let app = out.join("splunk_spl/tripline_llm_security/default");
    // A wildcard names no index to create; the source type is still set up.
    assert!(!app.join("indexes.conf").exists());
    let props = std::fs::read_to_string(app.join("props.conf")).unwrap();
    assert!(props.contains("[acme:llm]\n"));
}
