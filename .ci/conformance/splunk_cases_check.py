"""Meaning check of splunk_spl's match rules on the pack's test cases.

Usage: splunk_cases_check.py FIXTURES_JSON APP

FIXTURES_JSON is `tripline compile --fixtures DIR` + `/splunk_spl.json`: each
test case with its rule's artifacts, its events and the evaluator's alerts;
APP is the compiled app (`build/splunk_spl/tripline_llm_security`), whose
`transforms.conf` and lookup CSVs the searches' `| lookup` commands read.
Nothing offline runs Splunk, so for every case of a rule of the `match`
shape the saved search's `eval` and `where` lines run on each event with
`spl_eval.py` (an interpreter of the SPL functions the searches use, with
Python's `re` standing in for PCRE); the events that pass must be exactly
the events of the evaluator's alerts (a match rule alerts once per event).

Events are given the fields Splunk's JSON extraction gives them: strings as
strings, numbers as numbers, booleans as the text `true`/`false`, and no
field for `null` or an empty string (Splunk drops empty values: a divergence
the target documents). The rule with its decision inverted must
disagree on at least one case of every rule, so cases that cannot tell a
rule from its opposite fail the check.

The other shapes (windows, baselines, sequences, ...) use commands this
interpreter does not run (`stats`, `eventstats`, `sort`, `autoregress`);
their meaning is checked through the same plan by the SQL runners.
"""

import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


spl_eval = load("spl_eval")


def extracted(event):
    """An event's fields as Splunk's JSON extraction has them."""
    fields = {}
    for key, value in event.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            fields[key] = "true" if value else "false"
        elif isinstance(value, (int, float, str)):
            fields[key] = value
        else:
            raise ValueError(f"field {key} holds {type(value).__name__}: not a flat event")
    return fields


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        fixtures = json.load(handle)
    lookups = spl_eval.read_lookups(argv[2])
    ok = True
    run = 0
    told_apart = {}
    for case in fixtures["cases"]:
        if case["shape"] != "match":
            continue
        rule_id = case["rule"]
        conf = next(text for path, text in case["artifacts"].items() if path.endswith("savedsearches.conf"))
        lines = spl_eval.search_lines(conf, f"Tripline - {rule_id}")
        expected = set()
        for alert in case["evaluator_alert_list"]:
            expected.update(alert["event_ids"])
        passed, inverted = set(), set()
        for item in case["events"]:
            event = item["event"] if "event" in item else item
            fields = extracted(event)
            try:
                if spl_eval.run(lines, fields, lookups):
                    passed.add(event.get("event_id"))
            except spl_eval.Ambiguous as problem:
                print(f"AMBIGUOUS {rule_id} / {case['case']}: event {event.get('event_id')}: {problem}")
                ok = False
                continue
            # The decision inverted: the events the rule's filter rejects.
            if event.get("event_id") not in passed:
                inverted.add(event.get("event_id"))
        run += 1
        if passed != expected:
            print(
                f"DISAGREE {rule_id} / {case['case']} ({case['file']}): the search passes {sorted(passed)}, "
                f"the evaluator alerts on {sorted(expected)}"
            )
            ok = False
        told_apart[rule_id] = told_apart.get(rule_id, False) or inverted != expected
    for rule_id, apart in sorted(told_apart.items()):
        if not apart:
            print(f"{rule_id}: no case tells the rule from its opposite")
            ok = False
    if not told_apart:
        print("no match rule ran: nothing was checked")
        ok = False
    print(f"splunk_spl: {run} cases of {len(told_apart)} match rules run through the SPL interpreter")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
