"""Conformance of the Elastic set-up and alert routing (issue 14).

Usage: elastic_setup_check.py RETENTION_DAYS OUTPUT_DIR...

Each OUTPUT_DIR is what `tripline compile` wrote for one Elastic target
(elastic_eql, kibana_kql, elastic_esql). Checks:
  - every target carries the index template and the ILM policy, the same in
    all of them; the template's data stream reads the policy by name, and
    the policy's delete phase is at RETENTION_DAYS (`<n>d`) after a rollover;
  - every rule of `rules.ndjson` has `actions`, each with the fields the
    detection rules API requires of an action (`group`, `id`,
    `action_type_id`, `params`) and a summary `frequency`; the action's
    connector is emitted under kibana/connectors/ (a placeholder `.index`
    connector, whose body has the fields the connector API requires) or is
    a connector id the configuration named (not emitted); its params are
    those of its type (`documents` for .index, `message` for .slack,
    .slack_api and .teams, `body` for .webhook);
  - a rule's action route is the route its tags name;
  - every `threat` entry has the shape of the detection rules API's
    `Threat` (framework, tactic with id, name and reference; techniques and
    their sub-techniques with id, name and reference), each reference the
    ATT&CK address of its id and each sub-technique under its parent.
It proves the objects are consistent and complete for the import order the
README gives; it cannot prove that Kibana accepts them (no Kibana runs here).
"""

import json
import re
import sys
from pathlib import Path

TEMPLATE = "elasticsearch/index_template/logs-tripline.llm_application.json"
POLICY = "elasticsearch/ilm_policy/logs-tripline.llm_application.json"
PARAMS = {".index": "documents", ".slack": "message", ".slack_api": "message", ".teams": "message", ".webhook": "body"}


def check_threat(entry, where, problems):
    """Checks one `threat` entry; returns how many techniques it holds."""
    if entry.get("framework") != "MITRE ATT&CK":
        problems.append(f"{where}: threat framework {entry.get('framework')!r}")
    tactic = entry.get("tactic", {})
    if not re.fullmatch(r"TA\d{4}", str(tactic.get("id"))) or not tactic.get("name"):
        problems.append(f"{where}: tactic {tactic}")
    elif tactic.get("reference") != f"https://attack.mitre.org/tactics/{tactic['id']}/":
        problems.append(f"{where}: tactic reference {tactic.get('reference')}")
    count = 0
    for technique in entry.get("technique", []):
        count += 1
        if not re.fullmatch(r"T\d{4}", str(technique.get("id"))) or not technique.get("name"):
            problems.append(f"{where}: technique {technique}")
            continue
        if technique.get("reference") != f"https://attack.mitre.org/techniques/{technique['id']}/":
            problems.append(f"{where}: technique reference {technique.get('reference')}")
        for sub in technique.get("subtechnique", []):
            if not re.fullmatch(re.escape(technique["id"]) + r"\.\d{3}", str(sub.get("id"))) or not sub.get("name"):
                problems.append(f"{where}: sub-technique {sub} under {technique['id']}")
            elif sub.get("reference") != f"https://attack.mitre.org/techniques/{sub['id'].replace('.', '/')}/":
                problems.append(f"{where}: sub-technique reference {sub.get('reference')}")
    return count


def main():
    days = int(sys.argv[1])
    outputs = [Path(arg) for arg in sys.argv[2:]]
    problems = []
    templates, policies, actions, techniques = [], [], 0, 0
    for output in outputs:
        template = json.loads((output / TEMPLATE).read_text())
        policy = json.loads((output / POLICY).read_text())
        templates.append(template)
        policies.append(policy)
        if template["template"]["settings"].get("index.lifecycle.name") != "logs-tripline.llm_application":
            problems.append(f"{output}: the template does not name the ILM policy")
        if "data_stream" not in template:
            problems.append(f"{output}: the template is not a data stream's")
        phases = policy["policy"]["phases"]
        if phases.get("delete", {}).get("min_age") != f"{days}d" or "delete" not in phases["delete"].get("actions", {}):
            problems.append(f"{output}: the delete phase is not at {days}d")
        if "rollover" not in phases.get("hot", {}).get("actions", {}):
            problems.append(f"{output}: no rollover in the hot phase")
        connectors = {}
        for path in sorted((output / "kibana" / "connectors").glob("*.json")):
            body = json.loads(path.read_text())
            for key in ("name", "connector_type_id", "config"):
                if key not in body:
                    problems.append(f"{path}: no {key}")
            if body.get("connector_type_id") == ".index" and not body.get("config", {}).get("index"):
                problems.append(f"{path}: an .index connector without an index")
            connectors[path.stem] = body
        for line in (output / "rules.ndjson").read_text().splitlines():
            rule = json.loads(line)
            where = f"{output.name}: {rule['rule_id']}"
            route = next((tag[len("Route: "):] for tag in rule.get("tags", []) if tag.startswith("Route: ")), None)
            for entry in rule.get("threat", []):
                techniques += check_threat(entry, where, problems)
            if "actions" not in rule:
                problems.append(f"{where}: no actions")
                continue
            if route is None:
                if rule["actions"]:
                    problems.append(f"{where}: actions without a route")
                continue
            if len(rule["actions"]) != 1:
                problems.append(f"{where}: {len(rule['actions'])} actions for one route")
            for action in rule["actions"]:
                actions += 1
                for key in ("group", "id", "action_type_id", "params"):
                    if key not in action:
                        problems.append(f"{where}: action without {key}")
                frequency = action.get("frequency", {})
                if frequency.get("summary") is not True or frequency.get("notifyWhen") not in {"onActiveAlert", "onThrottleInterval"}:
                    problems.append(f"{where}: frequency {frequency}")
                placeholder = "tripline-route-" + re.sub(r"[^a-z0-9_-]", "_", route.lower())
                if action["id"] == placeholder:
                    body = connectors.get(action["id"])
                    if body is None:
                        problems.append(f"{where}: placeholder connector {action['id']} is not emitted")
                    elif body["connector_type_id"] != action["action_type_id"]:
                        problems.append(f"{where}: action type {action['action_type_id']} is not its connector's")
                elif action["id"] in connectors:
                    problems.append(f"{where}: a configured connector {action['id']} was also emitted")
                expected = PARAMS.get(action["action_type_id"])
                if expected and expected not in action["params"]:
                    problems.append(f"{where}: {action['action_type_id']} params without {expected}")
    if any(template != templates[0] for template in templates) or any(policy != policies[0] for policy in policies):
        problems.append("the Elastic targets carry different templates or policies")
    for problem in problems:
        print(f"FAIL {problem}")
    if techniques == 0:
        problems.append("no rule names an ATT&CK technique in its threat")
    print(f"elastic set-up: {len(outputs)} targets, {actions} rule actions, {techniques} threat techniques, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
