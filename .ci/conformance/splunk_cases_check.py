"""Meaning check of splunk_spl on the pack's test cases, every shape.

Usage: splunk_cases_check.py FIXTURES_JSON APP

FIXTURES_JSON is `tripline compile --fixtures DIR` + `/splunk_spl.json`: each
test case with its rule's artifacts, its events and the evaluator's alerts;
APP is the compiled app (`build/splunk_spl/tripline_llm_security`), whose
`transforms.conf` and lookup CSVs the searches' `| lookup` commands read.
Nothing offline runs Splunk, so each saved search runs with `spl_eval.py`, an
interpreter of the SPL commands and functions the searches use, with real
PCRE2.

- match: the search's lines run on each event; the events that pass must be
  exactly the events of the evaluator's alerts.
- window shapes (threshold, baseline, percentile, cluster): the search runs
  as Splunk schedules it, once per time its cron schedule selects, over the
  events of its dispatch window, with `now()` the run's time, its results
  throttled by the suppression fields; the (window start, group) of all
  runs' results must be the evaluator's alerts.
- events (new value, sequence): the same runs; the event ids of the results
  (`tripline_event_ids`, or the event's own) must be the evaluator's.

Events are given the fields Splunk's JSON extraction gives them: strings as
strings, numbers as numbers, booleans as the text `true`/`false`, and no
field for `null` or an empty string (Splunk drops empty values: a divergence
the target documents). The rule with its last condition turned into its
opposite must disagree on at least one case of every rule, so cases that
cannot tell a rule from its opposite fail the check.
"""

import collections
import datetime
import json
import re
import sys

# spl_eval.py and the probes live beside this script, which Python puts on the path.
import spl_eval


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


def epoch(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def match_case(case, lines, lookups):
    """(the events the search passes, the evaluator's, the events it rejects)."""
    expected = set()
    for alert in case["evaluator_alert_list"]:
        expected.update(alert["event_ids"])
    passed, rejected = set(), set()
    for item in case["events"]:
        event = item["event"]
        if spl_eval.run(lines, extracted(event), lookups):
            passed.add(event.get("event_id"))
        else:
            rejected.add(event.get("event_id"))
    return passed, expected, rejected


def prepared(case, lines, lookups):
    """A case's events as Splunk extracts them, with `_time`, after the
    search's lines that act on each event alone (run once, not per run);
    the first and last time; the search's first line and remaining lines."""
    events = []
    for item in case["events"]:
        fields = extracted(item["event"])
        fields["_time"] = item["time_ms"] / 1000
        events.append(fields)
    first = min(event["_time"] for event in events)
    last = max(event["_time"] for event in events)
    local, rest = spl_eval.split_local(lines)
    events = spl_eval.run_search(lines[:1] + local, events, None, lookups)
    return events, first, last, lines[:1] + rest


def scheduled_results(case, conf, stanza, lines, lookups, after):
    """The result rows of every scheduled run of a search on a case's
    events, as Splunk runs it: one run per time its cron schedule selects,
    from the first event to `after` seconds past the last (and the
    lookback), each over its dispatch window with `now()` the run's time,
    and its results throttled by the suppression fields for the period."""
    settings = spl_eval.stanza_settings(conf, stanza)
    lookback = int(settings["dispatch.earliest_time"].lstrip("-").rstrip("s"))
    suppress = settings.get("alert.suppress") == "1"
    suppress_fields = settings.get("alert.suppress.fields", "").split(",")
    period = int(settings.get("alert.suppress.period", "0s").rstrip("s"))
    events, first, last, lines = prepared(case, lines, lookups)
    throttled = {}
    for now in spl_eval.cron_times(settings["cron_schedule"], first, last + after + lookback + 2 * 86400):
        inside = [event for event in events if now - lookback <= event["_time"] < now]
        if not inside:
            continue
        for row in spl_eval.run_search(lines, inside, now, lookups):
            if suppress:
                key = tuple(json.dumps(row.get(field)) for field in suppress_fields)
                if key in throttled and now - throttled[key] < period:
                    continue
                throttled[key] = now
            yield row


def window_alerts(case, conf, stanza, lines, lookups):
    """The (window start, group) of every alert the scheduled runs of a
    window search raise on a case's events."""
    text = "\n".join(lines)
    bucket = int(re.search(r"floor\(_time / (\d+)\) \* \1", text).group(1))
    by = [field.strip() for field in re.search(r"\| stats .+ by (.+)$", text, re.M).group(1).split(",")]
    groupings = dict(re.findall(r'"(\d+)\|" \. len\((\w+)\) \. ":" \. \2,? null\(\)\)', text))
    alerts = collections.Counter()
    for row in scheduled_results(case, conf, stanza, lines, lookups, bucket):
        group = []
        for field in by:
            if field == "tripline_window_start":
                continue
            if field == "tripline_fingerprint":
                group.append(("fingerprint", row[field]))
                continue
            if field == "tripline_group":
                index, rest = row[field].split("|", 1)
                length, value = rest.split(":", 1)
                if int(length) != len(value):
                    raise NotImplementedError(f"a grouping of several fields: {row[field]!r}")
                group.append((groupings[index], value))
            else:
                group.append((field, row[field]))
        alerts[(row["tripline_window_start"], tuple(sorted(group)))] += 1
    return alerts, bucket


def threshold_case(case, conf, stanza, lines, lookups):
    """(the alerts of the search, the evaluator's, the alerts of the search
    with its condition negated)."""
    alerts, bucket = window_alerts(case, conf, stanza, lines, lookups)
    expected = collections.Counter()
    for alert in case["evaluator_alert_list"]:
        start = int(epoch(alert["first_seen"]) // bucket * bucket)
        expected[(start, tuple(sorted(alert["group"].items())))] += 1
    opposite, _ = window_alerts(case, conf, stanza, condition_negated(lines), lookups)
    return alerts, expected, opposite


def condition_negated(lines):
    """The lines with the last `where` that is not the time-slot filter
    turned into its opposite (the results it drops), whatever null there
    is."""
    index = max(
        index for index, line in enumerate(lines) if line.startswith("| where ") and "floor(_time" not in line
    )
    negated = list(lines)
    negated[index] = f"| where-not {lines[index][len('| where '):]}"
    return negated


def event_alerts(case, conf, stanza, lines, lookups):
    """The event ids of every alert the scheduled runs of a search that
    reports events (new values, sequences) raise."""
    alerts = collections.Counter()
    for row in scheduled_results(case, conf, stanza, lines, lookups, 0):
        ids = row.get("tripline_event_ids", row.get("event_id"))
        alerts[frozenset(spl_eval.values_of(ids))] += 1
    return alerts


def event_case(case, conf, stanza, lines, lookups):
    alerts = event_alerts(case, conf, stanza, lines, lookups)
    expected = collections.Counter(frozenset(alert["event_ids"]) for alert in case["evaluator_alert_list"])
    opposite = event_alerts(case, conf, stanza, condition_negated(lines), lookups)
    return alerts, expected, opposite


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        fixtures = json.load(handle)
    lookups = spl_eval.read_lookups(argv[2])
    ok = True
    run = 0
    shapes = collections.defaultdict(set)
    told_apart = {}
    for case in fixtures["cases"]:

        rule_id = case["rule"]
        stanza = f"Tripline - {rule_id}"
        conf = next(text for path, text in case["artifacts"].items() if path.endswith("savedsearches.conf"))
        lines = spl_eval.search_lines(conf, stanza)
        try:
            if case["shape"] == "match":
                actual, expected, opposite = match_case(case, lines, lookups)
            elif case["shape"] in ("new_value", "sequence"):
                actual, expected, opposite = event_case(case, conf, stanza, lines, lookups)
            else:
                actual, expected, opposite = threshold_case(case, conf, stanza, lines, lookups)
        except spl_eval.Ambiguous as problem:
            print(f"AMBIGUOUS {rule_id} / {case['case']}: {problem}")
            ok = False
            continue
        run += 1
        shapes[case["shape"]].add(rule_id)
        if actual != expected:
            print(
                f"DISAGREE {rule_id} / {case['case']} ({case['file']}): the search gives {sorted(actual)}, "
                f"the evaluator {sorted(expected)}"
            )
            ok = False
        told_apart[rule_id] = told_apart.get(rule_id, False) or opposite != expected
    for rule_id, apart in sorted(told_apart.items()):
        if not apart:
            print(f"{rule_id}: no case tells the rule from its opposite")
            ok = False
    if not told_apart:
        print("no match rule ran: nothing was checked")
        ok = False
    print(
        f"splunk_spl: {run} cases of {len(told_apart)} rules run through the SPL interpreter ("
        + ", ".join(f"{shape}: {len(rules)} rules" for shape, rules in sorted(shapes.items()))
        + ")"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
