"""Agreement check: a SQL target's runner against `tripline eval`.

Usage:
    python sql_check.py cases TARGET_DIR FIXTURES.json
    python sql_check.py traffic TARGET_DIR EVENTS.jsonl EVAL_ALERTS.jsonl
    python sql_check.py fallback TARGET_DIR FIXTURES.json

`cases`: every test case of every rule the target compiled (from
`tripline compile --fixtures`), compiled with the case's parameters, is run
through the target's own run.py on the case's events; the alerts must equal
the evaluator's, field by field. `traffic`: the runner's alerts on a
generated file must equal `tripline eval`'s on the same file, for the rules
the target compiled. `fallback`: the `norm(f)` queries' raw-field branch,
which the other modes never reach (their events carry the `*_norm`
companions): every case with a companion runs once with the companions
removed and once with each companion replaced by its raw field's text; a
query that tests the raw field exactly as it tests the companion gives the
same alerts both times. Any difference fails, printing the rule, the case
and both alert sets.
"""

import importlib.util
import json
import math
import os
import shutil
import sys
import tempfile


def load_runner(directory, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(directory, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same(left, right):
    """Field-by-field equality; floats within a relative 1e-9 (summation order differs)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return left == right


def unmatched(expected, actual):
    """Alerts of each side with no equal alert on the other."""
    remaining = list(actual)
    missing = []
    for alert in expected:
        for index, candidate in enumerate(remaining):
            if same(alert, candidate):
                del remaining[index]
                break
        else:
            missing.append(alert)
    return missing, remaining


def report(title, expected, actual):
    missing, extra = unmatched(expected, actual)
    if not missing and not extra:
        return True
    print(f"DISAGREE {title}")
    print("  evaluator:")
    for alert in expected:
        print("    " + json.dumps(alert, sort_keys=True))
    print("  runner:")
    for alert in actual:
        print("    " + json.dumps(alert, sort_keys=True))
    return False


def run_case(target_dir, scratch, name, case, events):
    """The runner's alerts for `case`'s compiled artifacts on `events`."""
    directory = os.path.join(scratch, name)
    os.makedirs(os.path.join(directory, "rules"))
    for file in ("run.py", "tripline_alerts.py", "events_table.json"):
        shutil.copy(os.path.join(target_dir, file), directory)
    # The lookups the queries read by reference; a case with its own lookup
    # rows brings its own keys among its artifacts.
    if os.path.isdir(os.path.join(target_dir, "lookups")):
        shutil.copytree(os.path.join(target_dir, "lookups"), os.path.join(directory, "lookups"))
    for path, text in case["artifacts"].items():
        with open(os.path.join(directory, path), "w", encoding="utf-8") as handle:
            handle.write(text)
    events_path = os.path.join(directory, "events.jsonl")
    with open(events_path, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event) + "\n")
    runner = load_runner(directory, f"runner_{name}")
    actual = runner.alerts([events_path], [case["rule"]])
    # The runner cites events without an id by their path; the evaluator by `<events>`.
    for alert in actual:
        alert["event_ids"] = [
            "<events>" + ref[len(events_path):] if ref.startswith(events_path + ":") else ref
            for ref in alert["event_ids"]
        ]
    return actual


def case_events(case):
    return [entry["event"] for entry in sorted(case["events"], key=lambda entry: entry["line"])]


def compare_cases(target_dir, fixtures_path, pair):
    """Runs `pair(scratch, number, case)` on every fixture case; it returns
    None to skip the case, else a (title, expected, actual) to compare.
    Returns the target, the cases compared, the expected alerts and the
    disagreements."""
    fixtures = json.load(open(fixtures_path, encoding="utf-8"))
    failures = 0
    compared = 0
    alerts_compared = 0
    with tempfile.TemporaryDirectory() as scratch:
        for number, case in enumerate(fixtures["cases"]):
            compared_pair = pair(scratch, number, case)
            if compared_pair is None:
                continue
            title, expected, actual = compared_pair
            compared += 1
            alerts_compared += len(expected)
            if not report(title, expected, actual):
                failures += 1
    return fixtures["target"], compared, alerts_compared, failures


def cases(target_dir, fixtures_path):
    def pair(scratch, number, case):
        actual = run_case(target_dir, scratch, f"case-{number}", case, case_events(case))
        return f"{case['rule']} / {case['case']} ({case['file']})", case["evaluator_alert_list"], actual

    target, compared, alerts, failures = compare_cases(target_dir, fixtures_path, pair)
    print(f"{target}: {compared} test cases, {alerts} evaluator alerts, {failures} disagreements")
    return failures == 0 and compared > 0


def fallback(target_dir, fixtures_path):
    def pair(scratch, number, case):
        queries = [text for path, text in case["artifacts"].items() if path.startswith("rules/")]
        if not any("_norm" in text for text in queries):
            return None
        events = case_events(case)
        stripped = [{key: value for key, value in event.items() if not key.endswith("_norm")} for event in events]
        raw_as_companion = [
            {
                key: (event.get(key[: -len("_norm")]) if key.endswith("_norm") else value)
                for key, value in event.items()
                if not key.endswith("_norm") or key[: -len("_norm")] in event
            }
            for event in events
        ]
        without = run_case(target_dir, scratch, f"raw-{number}", case, stripped)
        with_raw = run_case(target_dir, scratch, f"companion-{number}", case, raw_as_companion)
        return f"{case['rule']} / {case['case']} (companions removed vs raw text as companion)", with_raw, without

    target, compared, alerts, failures = compare_cases(target_dir, fixtures_path, pair)
    print(f"{target}: the raw-field branch of norm(f) on {compared} test cases, {alerts} alerts, {failures} disagreements")
    return failures == 0 and alerts > 0


def traffic(target_dir, events_path, eval_alerts_path):
    runner = load_runner(target_dir, "runner_traffic")
    actual = runner.alerts([events_path])
    compiled = {rule["rule_id"] for rule in runner.shared.load_rules(target_dir)}
    expected = [
        alert
        for alert in (json.loads(line) for line in open(eval_alerts_path, encoding="utf-8") if line.strip())
        if alert["rule_id"] in compiled
    ]
    ok = True
    for rule in sorted(compiled):
        ok &= report(
            f"{rule} on {events_path}",
            [alert for alert in expected if alert["rule_id"] == rule],
            [alert for alert in actual if alert["rule_id"] == rule],
        )
    fired = {alert["rule_id"] for alert in expected}
    print(
        f"{os.path.basename(os.path.normpath(target_dir))}: {len(compiled)} rules on {events_path}: "
        f"{len(expected)} evaluator alerts from {len(fired)} rules, {len(actual)} runner alerts, "
        f"{'agree' if ok else 'DISAGREE'}"
    )
    return ok and len(expected) > 0


def main(argv):
    if len(argv) == 4 and argv[1] == "cases":
        return 0 if cases(argv[2], argv[3]) else 1
    if len(argv) == 4 and argv[1] == "fallback":
        return 0 if fallback(argv[2], argv[3]) else 1
    if len(argv) == 5 and argv[1] == "traffic":
        return 0 if traffic(argv[2], argv[3], argv[4]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
