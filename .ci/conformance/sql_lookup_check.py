"""A lookup read by reference is read at run time, not compiled in.

Usage: sql_lookup_check.py TRIPLINE RULES BUILD EVENTS

BUILD is a `tripline compile` output folder (with duckdb_sql/ and
spark_sql/). The check changes the rows of the `user_scopes` lookup (every
third row dropped, so more retrievals fall outside a user's scope), and then:

1. `tripline eval --lookups CHANGED` gives the expected alerts of the
   scope-violation rule, which must differ from those on the shipped rows
   (otherwise the check would prove nothing);
2. `tripline compile --lookups CHANGED` writes the new keys only: every
   query file it writes must be byte-identical to BUILD's;
3. BUILD's own queries, run through each runner's command line
   (`python run.py --events EVENTS --rule ID --lookups NEW_KEYS`), must give
   exactly the expected alerts.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

RULE = "rag.retrieval.scope_violation"
LOOKUP = "user_scopes"


def eval_alerts(tripline, rules, events, lookups=None):
    command = [tripline, "eval", rules, "--rule", RULE, "--events", events]
    if lookups:
        command += ["--lookups", lookups]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def runner_alerts(build, target, events, lookups):
    command = [sys.executable, os.path.join(build, target, "run.py"), "--events", events, "--rule", RULE, "--lookups", lookups]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{target} runner failed: {result.stderr.strip()}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def key(alert):
    return json.dumps(alert, sort_keys=True)


def main(tripline, rules, build, events):
    with tempfile.TemporaryDirectory() as scratch:
        changed = os.path.join(scratch, "lookups")
        os.makedirs(changed)
        for name in os.listdir(os.path.join(rules, "lookups")):
            if name.endswith(".csv"):
                shutil.copy(os.path.join(rules, "lookups", name), changed)
        path = os.path.join(changed, LOOKUP + ".csv")
        with open(path, encoding="utf-8", newline="") as handle:
            lines = handle.read().splitlines(keepends=True)
        kept = [line for number, line in enumerate(lines) if number == 0 or number % 3 != 0]
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(kept)

        shipped = eval_alerts(tripline, rules, events)
        expected = eval_alerts(tripline, rules, events, changed)
        if len(expected) <= len(shipped):
            raise SystemExit(
                f"the changed lookup raised {len(expected)} alerts, the shipped one {len(shipped)}: the events do not exercise it"
            )

        rebuilt = os.path.join(scratch, "build")
        subprocess.run(
            [tripline, "compile", rules, "--lookups", changed, "--target", "duckdb_sql", "--target", "spark_sql", "--out", rebuilt],
            check=True,
            capture_output=True,
        )
        failures = 0
        for target in ("duckdb_sql", "spark_sql"):
            queries = os.path.join(build, target, "rules")
            for name in sorted(os.listdir(queries)):
                with open(os.path.join(queries, name), "rb") as old, open(os.path.join(rebuilt, target, "rules", name), "rb") as new:
                    if old.read() != new.read():
                        print(f"DISAGREE {target}: rules/{name} changed with the lookup's rows; it should read them by reference")
                        failures += 1
            actual = runner_alerts(build, target, events, os.path.join(rebuilt, target, "lookups"))
            if sorted(map(key, actual)) != sorted(map(key, expected)):
                print(f"DISAGREE {target} on {RULE} with the changed lookup")
                print(f"  evaluator: {len(expected)} alerts; runner: {len(actual)} alerts")
                for alert in expected[:5]:
                    print("    evaluator " + key(alert))
                for alert in actual[:5]:
                    print("    runner    " + key(alert))
                failures += 1
            else:
                print(f"{target}: {len(actual)} alerts with the changed lookup (shipped rows: {len(shipped)}), equal to the evaluator's")
        if failures:
            raise SystemExit(1)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
