"""Conformance of the sigma target against rsigma, a Sigma engine.

Usage: rsigma_check.py RSIGMA OUTPUT_DIR FIXTURES_JSON

RSIGMA is the `rsigma` binary (the crates.io `rsigma` crate, installed by
`.ci/run`); OUTPUT_DIR is `tripline compile --out DIR` + `/sigma`;
FIXTURES_JSON is `tripline compile --fixtures DIR` + `/sigma.json`.

(a) Loading: `rsigma rule validate` parses and compiles every rule of
    `OUTPUT_DIR/rules` (its regexes with Rust's `regex`, as at evaluation)
    with the emitted pipeline; any parse or compile error fails the check,
    and every rule must be counted as compiled.
(b) Meaning: every test case's rule (compiled with the case's parameters)
    and events go through `rsigma engine eval`; the number of matches must
    equal the evaluator's alert count. A case whose events rsigma reads
    differently (an event dropped, a warning on stderr) fails too. The rule
    with its condition negated must disagree on at least one case of every
    rule, so cases that cannot tell a rule from its opposite are caught.

(c) Correlations (threshold rules compiled under `compile: { sigma: {
    correlation_windows: epoch } }`; each file holds base rules and
    `event_count`/`value_count` correlations with `rsigma.window: tumbling`):
    rsigma must load every correlation; each case's events go through
    `rsigma engine eval` in time order (rsigma is a streaming engine and
    drops an event older than its group's current bucket); the correlation
    results are reduced to one per (correlation, group, bucket), the bucket
    being `floor(t / timespan)` of the firing event's time (its last event
    reference), and the set of (group, bucket start) must equal the
    evaluator's alerts (their group and the window of their first event).
    rsigma tests the condition at every event while the evaluator tests it
    when the window closes; the two agree because the target only writes
    lower bounds on counts, which only grow inside a window.

rsigma reads `$` as Rust does (the very end of the text) and folds case for
`|i` as the evaluator does; what PCRE and Python make of the same rules is
left to `sigma_check.py` (see there).
"""

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile


CONDITION = re.compile(r"^(\s+)condition: (.*)$", re.MULTILINE)
CORRELATION = re.compile(r"^correlation:$", re.MULTILINE)
TIMESPAN = re.compile(r"^  timespan: (\d+)([smhd])$", re.MULTILINE)
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LOADED = re.compile(r"^Loaded (pipeline: .*|\d+ rules? from .*)$")


def fail(errors, message):
    errors.append(message)
    print("FAIL", message)


def load(rsigma, output_dir, errors):
    rules_dir = os.path.join(output_dir, "rules")
    pipeline = os.path.join(output_dir, "pipelines", "tripline.yml")
    # One detection rule per file, or one base rule per correlation.
    expected = 0
    correlations = 0
    for name in os.listdir(rules_dir):
        if name.endswith(".yml"):
            with open(os.path.join(rules_dir, name), encoding="utf-8") as handle:
                found = len(CORRELATION.findall(handle.read()))
            expected += max(found, 1)
            correlations += found
    result = subprocess.run(
        [rsigma, "--output-format", "json", "--no-stats", "rule", "validate", rules_dir, "-p", pipeline],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        fail(errors, "rsigma rule validate exited %d: %s%s" % (result.returncode, result.stdout, result.stderr))
        return 0
    try:
        report = json.loads(result.stdout)
        summary = report["summary"]
    except (json.JSONDecodeError, KeyError, TypeError):
        fail(errors, "rsigma rule validate printed no JSON summary: %r" % result.stdout)
        return 0
    if report.get("parse_errors") or report.get("compile_errors") or summary.get("parse_errors") or summary.get("compile_errors"):
        fail(errors, "rsigma: %s" % json.dumps(report))
    if summary.get("compile_ok") != expected or summary.get("detection_rules") != expected:
        fail(errors, "rsigma compiled %s of %d rules: %s" % (summary.get("compile_ok"), expected, json.dumps(summary)))
    if summary.get("correlation_rules", 0) != correlations:
        fail(errors, "rsigma loaded %s of %d correlations: %s" % (summary.get("correlation_rules"), correlations, json.dumps(summary)))
    return summary.get("compile_ok", 0)


def count_matches(rsigma, pipeline, rule_text, events, label, errors):
    """The number of matches, or for correlations the set of (group, bucket start)."""
    correlated = CORRELATION.search(rule_text) is not None
    extra = []
    if correlated:
        # A streaming engine reads events in time order.
        events = sorted(events, key=lambda item: item["time_ms"])
        extra = ["--correlation-event-mode", "refs"]
    with tempfile.TemporaryDirectory() as scratch:
        rule_path = os.path.join(scratch, "rule.yml")
        events_path = os.path.join(scratch, "events.jsonl")
        with open(rule_path, "w", encoding="utf-8") as handle:
            handle.write(rule_text)
        with open(events_path, "w", encoding="utf-8") as handle:
            for item in events:
                handle.write(json.dumps(item["event"], ensure_ascii=False) + "\n")
        result = subprocess.run(
            [rsigma, "--quiet", "--no-stats", "engine", "eval", "-r", rule_path, "-p", pipeline, "-e", "@" + events_path] + extra,
            capture_output=True,
            text=True,
            check=False,
        )
    # rsigma reports what it loaded on stderr even when quiet; anything else
    # there (a warning, an event it could not read) fails the case.
    unexpected = [line for line in result.stderr.splitlines() if line.strip() and not LOADED.match(line)]
    if result.returncode != 0 or unexpected:
        fail(errors, "%s: rsigma engine eval exited %d: %s" % (label, result.returncode, result.stderr.strip()))
        return None
    matches = 0
    windows = set()
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        try:
            hit = json.loads(line)
        except json.JSONDecodeError:
            fail(errors, "%s: rsigma printed a line that is not JSON: %r" % (label, line))
            return None
        if not isinstance(hit, dict) or "rule_id" not in hit:
            fail(errors, "%s: rsigma printed a line that is not a match: %r" % (label, line))
            return None
        if not correlated:
            matches += 1
        elif "correlation_type" in hit:
            # The base rules' own matches (printed too) are not alerts.
            span = hit["timespan_secs"]
            fired = max(reference["timestamp"] for reference in hit["event_refs"])
            group = tuple(sorted((name, value) for name, value in hit["group_key"]))
            windows.add((group, fired - fired % span))
    return windows if correlated else matches


def evaluator_windows(case, rule_text):
    """The evaluator's alerts as (group, start of the window of the first event)."""
    found = TIMESPAN.search(rule_text)
    span = int(found.group(1)) * UNIT_SECONDS[found.group(2)]
    windows = set()
    for alert in case["evaluator_alert_list"]:
        first = datetime.datetime.fromisoformat(alert["first_seen"].replace("Z", "+00:00"))
        seconds = int(first.timestamp())
        group = tuple(sorted((name, value if isinstance(value, str) else json.dumps(value))
                             for name, value in alert["group"].items()))
        windows.add((group, seconds - seconds % span))
    return windows


def meaning(rsigma, output_dir, fixtures, errors):
    pipeline = os.path.join(output_dir, "pipelines", "tripline.yml")
    checked = 0
    rules = set()
    caught = {}
    for case in fixtures["cases"]:
        label = "%s / %s" % (case["rule"], case["case"])
        texts = [text for path, text in case["artifacts"].items() if path.startswith("rules/")]
        if len(texts) != 1:
            fail(errors, "%s: expected one rule artifact" % label)
            continue
        matches = count_matches(rsigma, pipeline, texts[0], case["events"], label, errors)
        if matches is None:
            continue
        expected = case["evaluator_alerts"]
        if isinstance(matches, set):
            windows = evaluator_windows(case, texts[0])
            if matches != windows or len(windows) != expected:
                fail(errors, "%s: rsigma alerts for (group, window) %s, evaluator %s" % (label, sorted(matches), sorted(windows)))
                continue
            expected = windows
        elif matches != expected:
            fail(errors, "%s: rsigma %d matches, evaluator %d alerts" % (label, matches, expected))
            continue
        checked += 1
        rules.add(case["rule"])
        # The rule with its condition negated must disagree on some case of
        # every rule, or the cases could not tell the rule from its opposite.
        negated, count = CONDITION.subn(r"\1condition: not (\2)", texts[0], count=1)
        if count != 1:
            fail(errors, "%s: no condition line to negate" % label)
            continue
        mutant = count_matches(rsigma, pipeline, negated, case["events"], label + " (negated)", errors)
        caught[case["rule"]] = caught.get(case["rule"], False) or mutant != expected
    for rule_id, seen in sorted(caught.items()):
        if not seen:
            fail(errors, "%s: the negated condition agrees with the evaluator on every case" % rule_id)
    return checked, len(rules)


def main():
    rsigma, output_dir, fixtures_path = sys.argv[1], sys.argv[2], sys.argv[3]
    errors = []
    loaded = load(rsigma, output_dir, errors)
    with open(fixtures_path, encoding="utf-8") as handle:
        fixtures = json.load(handle)
    cases, rules = meaning(rsigma, output_dir, fixtures, errors)
    if cases == 0:
        fail(errors, "no test cases ran through rsigma")
    print("rsigma: %d rules loaded and compiled; %d cases of %d rules agree with the evaluator" % (loaded, cases, rules))
    if errors:
        print("rsigma conformance: %d errors" % len(errors))
        sys.exit(1)
    print("rsigma conformance: ok")


if __name__ == "__main__":
    main()
