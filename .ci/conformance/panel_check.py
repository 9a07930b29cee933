"""Agreement check: a SQL target's dashboard panel queries against the preview.

Usage:
    python panel_check.py cases TRIPLINE RULES TARGET_DIR FIXTURES.json [merged]
    python panel_check.py traffic TRIPLINE RULES TARGET_DIR EVENTS.jsonl [PANEL...]

Every panel query `tripline compile` wrote for the target
(TARGET_DIR/dashboards.jsonl) is run by the target's own run.py
(`panels()`, real DuckDB or Spark) on the same events as
`TRIPLINE dashboard preview RULES --json`, with the same range end (the
preview's `end_ms`, the last event's time). Their rows must be equal, in the
same order: the bucket start, the group key values and the measure values of
every row. Values compare as in sql_check.py: numbers within a relative 1e-9
(an absolute 1e-12 near zero), as sums and means of floats are added up in a
different order by each engine; every count, bucket and key is exact.

An alerts panel counts the alerts of the rules compiled for the target
(the runner's `tripline_alerts`); the preview's rows of rules the target did
not compile are left out of the comparison, and said so.

`cases`: per test case of the fixtures (`tripline compile --fixtures`), on the
case's events in time order (with `merged`: once, on all the cases' events
in one file; a case at a time runs every rule for an alerts panel once per
case, which takes minutes).
`traffic`: on one events file (generated traffic, or a fixture written for
a panel). A panel the target refused (no line in dashboards.jsonl) is
reported, not compared. Any difference fails, printing the panel and both
row lists; so does a run that compared no row, and a run in which one of the
PANEL ids named after the file (`dashboard.panel`) compared no row, so that
a fixture written for a panel cannot pass by matching nothing.
"""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sql_check import load_runner, same  # noqa: E402  (the rules' agreement check, beside this script)


def same_rows(expected, actual):
    return len(expected) == len(actual) and all(
        len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
        for left, right in zip(expected, actual)
    )


def preview(tripline, rules, dashboard, events_path, scratch):
    out = os.path.join(scratch, "preview.json")
    command = [tripline, "dashboard", "preview", rules, "--events", events_path, "--json", out, "--dashboard", dashboard]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    with open(out, encoding="utf-8") as handle:
        return json.load(handle)


def expected_rows(panel):
    """The preview's rows as the SQL query's: [bucket,] keys..., measures..."""
    rows = []
    for row in panel["rows"]:
        prefix = [row["bucket"]] if panel["bucket_ms"] is not None else []
        rows.append(prefix + row["keys"] + row["values"])
    return rows


def compare(tripline, rules, target_dir, runner, events_path, title, scratch, per_panel=None):
    """(panels compared, rows compared, disagreements) on one events file;
    each panel's compared rows are added to `per_panel` when given."""
    compiled = runner.shared.load_panels(target_dir)
    compiled_rules = {rule["rule_id"] for rule in runner.shared.load_rules(target_dir)}
    dashboards = sorted({panel["dashboard"] for panel in compiled})
    panels = rows = failures = 0
    previews = [preview(tripline, rules, dashboard, events_path, scratch) for dashboard in dashboards]
    # Every preview's range ends at the same last event: one run of the runner serves them all.
    found = runner.panels([events_path], None, end_ms=previews[0]["end_ms"]) if previews else []
    by_id = {(entry["dashboard"], entry["panel"]): entry for entry in found}
    for dashboard, data in zip(dashboards, previews):
        for panel in data["panels"]:
            entry = by_id.get((dashboard, panel["id"]))
            if entry is None:
                print(f"  {dashboard}.{panel['id']}: not compiled for this target (see compile's report); not compared")
                continue
            expected = expected_rows(panel)
            if entry["columns"]["kind"] == "alerts":
                kept = [row for row in expected if row[-2] in compiled_rules]
                if len(kept) != len(expected):
                    print(f"  {dashboard}.{panel['id']}: {len(expected) - len(kept)} preview rows of rules not compiled for this target left out")
                expected = kept
            actual = entry["rows"]
            panels += 1
            rows += len(expected)
            if per_panel is not None:
                key = f"{dashboard}.{panel['id']}"
                per_panel[key] = per_panel.get(key, 0) + len(expected)
            if not same_rows(expected, actual):
                failures += 1
                print(f"DISAGREE {dashboard}.{panel['id']} on {title}")
                print("  preview:")
                for row in expected:
                    print("    " + json.dumps(row))
                print("  query:")
                for row in actual:
                    print("    " + json.dumps(row))
    return panels, rows, failures


def cases(tripline, rules, target_dir, fixtures_path, merged):
    fixtures = json.load(open(fixtures_path, encoding="utf-8"))
    runner = load_runner(target_dir, "panel_runner_cases")
    groups = {}
    for case in fixtures["cases"]:
        # In time order (the line order where times tie): a case may list its
        # events out of order beyond the preview's lateness, which the
        # evaluator's test runner accepts and a file read in one pass does not.
        entries = sorted(case["events"], key=lambda entry: (entry["time_ms"], entry["line"]))
        lines = [(entry["time_ms"], json.dumps(entry["event"], sort_keys=True)) for entry in entries]
        if lines:
            groups.setdefault(tuple(lines), f"{case['rule']} / {case['case']}")
    if merged:
        every = sorted((line for lines in groups for line in lines), key=lambda line: line[0])
        groups = {tuple(every): f"the {len(groups)} test cases' events in one file"}
    totals = [0, 0, 0]
    with tempfile.TemporaryDirectory() as scratch:
        events_path = os.path.join(scratch, "events.jsonl")
        for text, title in groups.items():
            with open(events_path, "w", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for _, line in text))
            for index, value in enumerate(compare(tripline, rules, target_dir, runner, events_path, title, scratch)):
                totals[index] += value
    print(
        f"{fixtures['target']}: {len(groups)} event sets, {totals[0]} panel runs, {totals[1]} preview rows, "
        f"{totals[2]} disagreements"
    )
    return totals[2] == 0 and totals[1] > 0


def traffic(tripline, rules, target_dir, events_path, required=()):
    runner = load_runner(target_dir, "panel_runner_traffic")
    per_panel = {}
    with tempfile.TemporaryDirectory() as scratch:
        panels, rows, failures = compare(
            tripline, rules, target_dir, runner, events_path, events_path, scratch, per_panel
        )
    print(
        f"{os.path.basename(os.path.normpath(target_dir))}: {panels} panels on {events_path}: {rows} preview rows, "
        f"{'agree' if failures == 0 else f'{failures} DISAGREE'}"
    )
    empty = [panel for panel in required if per_panel.get(panel, 0) == 0]
    for panel in empty:
        print(f"NO ROWS {panel}: the events give it no row to compare (or it was not compiled)")
    return failures == 0 and rows > 0 and not empty


def main(argv):
    if len(argv) in (6, 7) and argv[1] == "cases" and (len(argv) == 6 or argv[6] == "merged"):
        return 0 if cases(argv[2], argv[3], argv[4], argv[5], len(argv) == 7) else 1
    if len(argv) >= 6 and argv[1] == "traffic":
        return 0 if traffic(argv[2], argv[3], argv[4], argv[5], argv[6:]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
