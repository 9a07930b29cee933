"""What the Tripline SQL runners share: the compiled rules, query rows as
alerts, and the dashboard panels' rows.

Written by `tripline compile` beside each SQL target's run.py, which imports
it. A query row has `raised_ms`, `first_seen_ms`, `last_seen_ms`,
`event_count` and `event_ids`, then the group's columns (and `grouping_set`
when a rule has several groupings) and one column per reported value;
rules.jsonl says which column is which. Alerts come out in the format and
order of `tripline eval`: by the time they are raised, then rule id, then
group.
"""

import argparse
import datetime
import decimal
import json
import os
import re
import sys

UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
DEFAULT_LEARN_MS = 24 * UNITS["h"]


def duration_ms(text):
    """`500ms`, `90s`, `10m`, `24h`, `7d`, `2w` or `0`, as milliseconds."""
    if text.strip() == "0":
        return 0
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"`{text}` is not a duration such as 24h or 90m")
    return int(match.group(1)) * UNITS[match.group(2)]


def rfc3339(millis):
    """The evaluator's timestamp text: UTC, milliseconds only when not zero."""
    seconds, fraction = divmod(millis, 1000)
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction:03d}Z" if fraction else f"{text}Z"


def plain(value):
    """A database value as the evaluator writes it in JSON: integers stay
    integers (also 128-bit sums and whole decimals), non-finite floats are null."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def events_table(here):
    """The events table's name and columns (events_table.json)."""
    with open(os.path.join(here, "events_table.json"), encoding="utf-8") as handle:
        return json.load(handle)


def lookup_files(here, table, folder=None):
    """The shipped lookups the queries read by reference, as (table name, CSV path):
    `NAME.csv` in `folder` (default: lookups/ beside this script), each a `key`
    column of folded keys as `tripline compile` writes them."""
    folder = folder or os.path.join(here, "lookups")
    files = []
    for name in table.get("lookups", []):
        path = os.path.join(folder, name + ".csv")
        if not os.path.isfile(path):
            raise SystemExit(
                f"error: {path}: no such file (the lookup `{name}`; `tripline compile` writes it to lookups/)"
            )
        with open(path, encoding="utf-8", newline="") as handle:
            header = handle.readline().strip()
        if header != '"key"' and header != "key":
            raise SystemExit(f"error: {path}:1: the header is not `key` (found {header!r})")
        files.append((name, path))
    return files


def load_rules(here, selected=()):
    """The compiled rules (rules.jsonl), all or those in `selected`."""
    with open(os.path.join(here, "rules.jsonl"), encoding="utf-8") as handle:
        rules = [json.loads(line) for line in handle if line.strip()]
    known = {rule["rule_id"] for rule in rules}
    for rule_id in selected:
        if rule_id not in known:
            raise SystemExit(f"error: no compiled rule `{rule_id}` in {here}/rules.jsonl")
    return [rule for rule in rules if not selected or rule["rule_id"] in selected]


def query_text(here, rule):
    with open(os.path.join(here, rule["query"]), encoding="utf-8") as handle:
        return handle.read()


def alert(rule, row):
    """One query row as (order key, alert)."""
    groupings = rule["groupings"]
    grouping = groupings[row.get("grouping_set") or 0] if len(groupings) > 1 else groupings[0]
    group = {field: plain(row[column]) for field, column in sorted(grouping)}
    if rule["shape"] == "match":
        # A match rule's key fields the event lacks are left out, as the evaluator does.
        group = {field: value for field, value in group.items() if value is not None}
    count = int(row["event_count"])
    found = {
        "rule_id": rule["rule_id"],
        "severity": rule["severity"],
        "title": rule["title"],
        "group": group,
        "first_seen": rfc3339(int(row["first_seen_ms"])),
        "last_seen": rfc3339(int(row["last_seen_ms"])),
        "count": count,
        "event_ids": list(row["event_ids"]),
    }
    if count > len(found["event_ids"]):
        found["truncated"] = True
    found["values"] = {label: plain(row[column]) for label, column in sorted(rule["values"].items())}
    if rule.get("context"):
        # A group whose events all lack the field has no values (NULL in DuckDB).
        found["context"] = {field: [plain(value) for value in row[column] or []] for field, column in sorted(rule["context"])}
    key = [json.dumps(value, sort_keys=True) for value in group.values()]
    return (int(row["raised_ms"]), rule["rule_id"], key, int(row["first_seen_ms"])), found


def load_panels(here, dashboard=None):
    """The compiled panels (dashboards.jsonl), all or those of `dashboard`."""
    path = os.path.join(here, "dashboards.jsonl")
    if not os.path.isfile(path):
        raise SystemExit(f"error: no dashboard panels compiled in {here}")
    with open(path, encoding="utf-8") as handle:
        panels = [json.loads(line) for line in handle if line.strip()]
    if dashboard is not None:
        panels = [panel for panel in panels if panel["dashboard"] == dashboard]
        if not panels:
            raise SystemExit(f"error: no compiled dashboard `{dashboard}` in {path}")
    return panels


def panel_rows(here, panels, execute, define_now, define_alerts, rule_pairs, table_name, end_ms=None):
    """Every panel's rows, as `tripline dashboard preview --json` has them.

    `execute(sql)` returns the rows as tuples; `define_now(end_ms)` and
    `define_alerts([(rule_id, raised_ms), ...])` create the one-row
    `tripline_now` and the `tripline_alerts` tables; `rule_pairs()` runs the
    compiled rules. The range ends at `end_ms`, by default the last event's
    time, as the preview's does.
    """
    if end_ms is None:
        end_ms = execute(f"SELECT max(_time_ms) FROM {table_name}")[0][0]
    end_ms = None if end_ms is None else int(end_ms)
    define_now(end_ms)
    if any(panel["columns"]["kind"] == "alerts" for panel in panels):
        define_alerts([(found["rule_id"], key[0]) for key, found in rule_pairs()])
    result = []
    for panel in panels:
        rows = execute(query_text(here, panel))
        result.append(
            {
                "dashboard": panel["dashboard"],
                "panel": panel["panel"],
                "end_ms": end_ms,
                "columns": panel["columns"],
                "rows": [[plain(value) for value in row] for row in rows],
            }
        )
    return result


def ordered(pairs):
    """Alerts in the evaluator's order."""
    return [found for _, found in sorted(pairs, key=lambda pair: pair[0])]


def main(argv, description, events_help, alerts, extra=None, panels=None):
    """The runners' command line: parse, run `alerts(paths, rule_ids, learn_ms, **extra)`
    (or with `--panels`, `panels(paths, dashboard, learn_ms, end_ms, **extra)`), write JSON lines."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--events", action="append", required=True, metavar="PATH", help=events_help)
    parser.add_argument("--rule", action="append", default=[], metavar="ID", help="run only this rule; repeatable")
    parser.add_argument(
        "--learn",
        type=duration_ms,
        default=DEFAULT_LEARN_MS,
        help="learning period of baseline rules (default 24h; new-value rules have theirs compiled in)",
    )
    parser.add_argument("--out", metavar="FILE", help="write alerts here instead of standard output")
    parser.add_argument(
        "--panels",
        action="store_true",
        help="write the dashboard panels' rows (dashboards.jsonl), one JSON line per panel, instead of alerts",
    )
    parser.add_argument("--dashboard", metavar="ID", help="with --panels: only this dashboard's panels")
    parser.add_argument(
        "--end-ms",
        type=int,
        metavar="MILLIS",
        help="with --panels: the end of every panel's range (default: the last event's time)",
    )
    for name, help_text in (extra or {}).items():
        parser.add_argument(f"--{name}", metavar=name.upper(), help=help_text)
    args = parser.parse_args(argv)
    options = {name: getattr(args, name) for name in (extra or {})}
    if args.panels:
        found = panels(args.events, args.dashboard, args.learn, args.end_ms, **options)
    else:
        found = alerts(args.events, args.rule, args.learn, **options)
    output = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        for each in found:
            output.write(json.dumps(each, ensure_ascii=False, separators=(",", ":")) + "\n")
    finally:
        if args.out:
            output.close()
    return 0
