"""Conformance of the splunk_spl target: the app directory and its searches.

Usage: splunk_check.py APP_DIR EVENTS_JSON_SCHEMA [APPINSPECT [RETENTION_DAYS]]

SPL has no offline parser, and `splunk-appinspect` in precert mode never
reads SPL (a broken `search =` passes every check). So this check runs two
independent things:

(a) `splunk-appinspect inspect APP_DIR --mode precert --included-tags cloud`
    (offline) and fails on any error or failure;
(b) our own static checks of every `search =` in default/savedsearches.conf:
    - the .conf files parse (stanzas, `key = value`, backslash continuation);
    - quotes balance (SPL strings with backslash escapes) and parentheses
      balance outside strings;
    - the search starts with the data-source macro and ends with the rule's
      tuning macro, and every macro used is defined in default/macros.conf;
    - every command after a `|` is in a known list;
    - every field name referenced (identifiers outside strings that are not
      functions, keywords or the search's own `tripline_*` fields) exists in
      the event schema (the JSON Schema written by `tripline schema`);
    - every regex given to `match()` compiles (Python `re` as a stand-in for
      PCRE: the patterns use only syntax both share, after removing the
      `(*UTF)` prefix and rewriting `\\x{..}` and `\\z`);
    - required stanza keys are present with sane values;
    - the Enterprise Security alert actions (issue 14): the notable event's
      severity is one ES knows, its drill-down search starts with the
      data-source macro and names only schema fields, its next steps are
      ES's `{"version": 1, "data": ...}` JSON; the risk action's objects are
      JSON naming schema fields with ES's object types;
    - the set-up (issue 14): indexes.conf defines the index the data-source
      macro reads, with homePath/coldPath/thawedPath under $SPLUNK_DB and a
      whole number of days in frozenTimePeriodInSecs (the expected retention
      is the optional fourth argument, in days); props.conf defines the
      source type the macro reads with the line-breaking, timestamp and
      JSON-extraction settings.
It proves: the files are well-formed and appinspect-clean, the searches are
lexically well-formed, use only known commands and existing fields. It cannot
prove that Splunk parses or runs a search as intended.
"""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

KNOWN_COMMANDS = {
    "search", "where", "eval", "stats", "fields", "bin", "table", "rename",
    # baselines, percentiles, new values and sequences (docs/targets.md, splunk_spl)
    "eventstats", "sort", "accum", "autoregress", "filldown", "mvexpand",
    # lookups by reference (docs/targets.md, splunk_spl)
    "lookup",
    # clusters: the words of the text (docs/targets.md, splunk_spl)
    "rex",
    # dashboard panels: top N, baselines' history, one column per group
    "head", "appendpipe", "xyseries", "fillnull",
}
FUNCTIONS = {
    "match", "isnull", "isnotnull", "cidrmatch", "floor", "now", "if", "null",
    "true", "false", "mvappend", "mvindex", "split", "len", "count", "dc", "sum",
    "avg", "min", "max", "values", "exact", "coalesce", "round", "lower", "replace",
    # sort's field options: num(field), str(field)
    "num", "str",
    # clusters: the fingerprint's band keys
    "mvmap", "mvdedup", "mvsort", "mvjoin", "mvcount", "md5", "lower", "substr",
    # dashboard panels: baselines' later buckets and the merge of their rows
    "mvrange", "first",
    # `in cidr`: an address as 32 hex digits (text, conversion and comparison functions)
    "like", "printf", "tonumber",
}
KEYWORDS = {"AND", "OR", "NOT", "AS", "by", "OR"}
REQUIRED_KEYS = {
    "search", "description", "cron_schedule", "enableSched", "dispatch.earliest_time",
    "dispatch.latest_time", "counttype", "relation", "quantity", "alert.severity",
    "alert.suppress",
}
# The keys Splunk Enterprise's savedsearches.conf.spec defines that we emit.
KNOWN_KEYS = REQUIRED_KEYS | {
    "realtime_schedule", "alert.track", "alert.digest_mode", "alert.suppress.fields",
    "alert.suppress.period",
    # Enterprise Security's alert actions (the notable event and the risk
    # modifier), as ES correlation searches write them.
    "action.correlationsearch.enabled", "action.correlationsearch.label",
    "action.notable", "action.notable.param.rule_title", "action.notable.param.rule_description",
    "action.notable.param.security_domain", "action.notable.param.severity",
    "action.notable.param.drilldown_name", "action.notable.param.drilldown_search",
    "action.notable.param.drilldown_earliest_offset", "action.notable.param.drilldown_latest_offset",
    "action.notable.param.next_steps", "action.notable.param.default_owner",
    "action.risk", "action.risk.param._risk", "action.risk.param._risk_message",
    "action.risk.param._risk_score",
}
NOTABLE_SEVERITIES = {"informational", "low", "medium", "high", "critical"}
RISK_OBJECT_TYPES = {"user", "system", "other"}
PROPS_REQUIRED = {
    "SHOULD_LINEMERGE": "false", "LINE_BREAKER": "([\\r\\n]+)", "KV_MODE": "json",
}
OWN_FIELDS = re.compile(r"^tripline_[a-z_0-9]+$")
INTERNAL = {"_time"}


def parse_conf(path):
    """Stanzas of a .conf file: {name: {key: value}}, continuations joined with newlines."""
    stanzas = {}
    current = None
    lines = path.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
            if current in stanzas:
                raise ValueError(f"{path}: duplicate stanza [{current}]")
            stanzas[current] = {}
            continue
        if current is None or "=" not in line:
            raise ValueError(f"{path}:{index}: not a stanza or key = value: {line!r}")
        key, value = line.split("=", 1)
        value = value.strip()
        while value.endswith("\\") and index < len(lines):
            value = value[:-1].rstrip() + "\n" + lines[index].strip()
            index += 1
        key = key.strip()
        if key in stanzas[current]:
            raise ValueError(f"{path}: duplicate key {key} in [{current}]")
        stanzas[current][key] = value
    return stanzas


def strings_and_rest(spl):
    """Splits SPL into (string literals, text outside strings); fails on an open string."""
    strings, rest, i = [], [], 0
    while i < len(spl):
        c = spl[i]
        if c == '"':
            j, literal = i + 1, []
            while True:
                if j >= len(spl):
                    raise ValueError("unterminated string literal")
                if spl[j] == "\\" and j + 1 < len(spl):
                    literal.append(spl[j + 1])
                    j += 2
                    continue
                if spl[j] == '"':
                    break
                literal.append(spl[j])
                j += 1
            strings.append("".join(literal))
            rest.append(' "" ')
            i = j + 1
        else:
            rest.append(c)
            i += 1
    return strings, "".join(rest)


def check_parentheses(text):
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            raise ValueError("unbalanced ')'")
    if depth:
        raise ValueError("unbalanced '('")


def python_regex(pattern):
    if not pattern.startswith("(*UTF)"):
        raise ValueError(f"regex without (*UTF): {pattern!r}")
    body = pattern[len("(*UTF)"):]
    body = re.sub(r"\\x\{([0-9A-F]+)\}", lambda m: "\\U%08x" % int(m.group(1), 16), body)
    body = body.replace("\\z", "\\Z").replace("(?!)", "(?!x)x")
    return re.compile(body)


# `| lookup <definition> key AS tripline_..._key OUTPUT key AS tripline_..._found`
LOOKUP = re.compile(r"\|\s*lookup\s+(\S+)\s+(\S+)\s+AS\s+(\S+)\s+OUTPUT\s+(\S+)\s+AS\s+(\S+)\s*(?=\||$)")


def check_lookups(name, rest, keys_lookups):
    """The lookup commands of a search: each reads a shipped keys lookup by
    its key column into our own fields. Returns the problems and the search
    without them (their words are lookup columns, not event fields)."""
    problems = []
    for match in LOOKUP.finditer(rest):
        definition, column, event_field, output, destination = match.groups()
        if definition not in keys_lookups:
            problems.append(f"[{name}]: lookup {definition} is not a shipped keys lookup")
        elif column not in keys_lookups[definition] or output not in keys_lookups[definition]:
            problems.append(f"[{name}]: lookup {definition} has no column {column}/{output}")
        for field in (event_field, destination):
            if not OWN_FIELDS.match(field):
                problems.append(f"[{name}]: lookup {definition} reads or writes {field}, not a tripline_ field")
        if not re.search(rf"eval {re.escape(destination)}=null\(\)|, {re.escape(destination)}=null\(\)", rest[: match.start()]):
            problems.append(f"[{name}]: {destination} is not cleared before lookup {definition}")
    remaining = LOOKUP.sub(" ", rest)
    if re.search(r"\|\s*lookup\b", remaining):
        problems.append(f"[{name}]: a lookup command of another form")
    return problems, remaining


def keys_lookups(app, transforms):
    """The shipped keys lookups ({definition: header}) and their problems:
    case-sensitive, one `key` column, keys unique, no key a spreadsheet would
    run (every key starts with its separator)."""
    found, problems = {}, []
    for stanza, keys in transforms.items():
        if not stanza.endswith("_keys"):
            continue
        if keys.get("case_sensitive_match") not in {"1", "true"}:
            problems.append(f"transforms.conf [{stanza}]: case_sensitive_match is not 1")
        path = app / "lookups" / keys.get("filename", "")
        if not path.is_file():
            continue
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        header, values = rows[0], [row for row in rows[1:]]
        if header != ["key"]:
            problems.append(f"lookups/{path.name}: header {header}, not [key]")
        keys_seen = set()
        for row in values:
            if len(row) != 1 or not row[0]:
                problems.append(f"lookups/{path.name}: row {row} is not one key")
                continue
            key = row[0]
            if key in keys_seen:
                problems.append(f"lookups/{path.name}: key {key!r} twice")
            keys_seen.add(key)
            if key[0] in "=+-@" or key != key.lower() or not key.isascii():
                problems.append(f"lookups/{path.name}: key {key!r} is not a lowercased ASCII key behind its separator")
        if not keys_seen:
            problems.append(f"lookups/{path.name}: no keys")
        found[stanza] = header
    return found, problems


def check_search(name, search, schema_fields, macros, filter_macro, keys=None, panel=False):
    problems = []
    try:
        strings, rest = strings_and_rest(search)
        check_parentheses(rest)
    except ValueError as error:
        return [f"[{name}]: {error}"]
    lookup_problems, rest = check_lookups(name, rest, keys or {})
    problems.extend(lookup_problems)
    if panel:
        # A panel's own columns: measures, keys, bins and the audit index's fields.
        defined = set(re.findall(r"\bAS\s+([A-Za-z_][A-Za-z0-9_]*)", rest))
        defined |= set(re.findall(r"(?:\beval\s+|,\s*)([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)", rest))
        schema_fields = set(schema_fields) | defined | {"_time", "value"}
        if search.startswith("index=_audit "):
            schema_fields |= {"index", "action", "ss_app", "ss_name"}
        elif not search.startswith("`tripline_llm_events`"):
            problems.append(f"[{name}]: does not start with the data-source macro")
        depth = 0
        for c in rest:
            depth += {"[": 1, "]": -1}.get(c, 0)
            if depth < 0 or depth > 1:
                problems.append(f"[{name}]: unbalanced or nested '[' ']'")
                break
        if depth:
            problems.append(f"[{name}]: unbalanced '['")
    else:
        if not search.startswith("`tripline_llm_events`"):
            problems.append(f"[{name}]: does not start with the data-source macro")
        if not search.rstrip().endswith(f"| `{filter_macro}`"):
            problems.append(f"[{name}]: does not end with `{filter_macro}`")
    for macro in re.findall(r"`([^`]+)`", rest):
        if macro not in macros:
            problems.append(f"[{name}]: macro `{macro}` is not defined in macros.conf")
    segments = re.split(r"\|", rest)
    for segment in segments[1:]:
        words = segment.split()
        if len(words) == 1 and re.fullmatch(r"`[^`]+`", words[0]):
            continue  # a macro as a whole command (the tuning macro)
        if not words:
            problems.append(f"[{name}]: empty command")
            continue
        if words[0] not in KNOWN_COMMANDS:
            problems.append(f"[{name}]: unknown command {words[0]!r}")
    # Field names: identifiers outside strings, not functions, keywords or our own.
    outside = re.sub(r"`[^`]+`", "", rest)
    for token in re.finditer(r"'([^']+)'|([A-Za-z_][A-Za-z0-9_.]*)(\s*\()?", outside):
        quoted, word, call = token.group(1), token.group(2), token.group(3)
        field = quoted or word
        if word and not call and word.endswith("."):
            # `"|".user_id."|"`: `.` concatenates.
            field = word = word.rstrip(".")
        if call and word in FUNCTIONS:
            continue
        if word == "count" and re.match(r"\s+AS\s", outside[token.end():]):
            continue  # `stats count AS x`
        if word in KNOWN_COMMANDS or word in KEYWORDS or word in {"by"}:
            continue
        if OWN_FIELDS.match(field) or field in INTERNAL:
            continue
        if word == "p" and outside[token.end():].startswith("=") and "autoregress" in outside[max(0, token.start() - 120):token.start()]:
            continue  # autoregress's `p=<int>` / `p=<int>-<int>` option (sequences)
        if re.fullmatch(r"[0-9]+", field or ""):
            continue
        if word in {"field", "max_match"} and outside[token.end():].startswith("=") and re.search(r"\brex\s[^|]*$", outside[:token.start()]):
            continue  # rex's `field=<field>` and `max_match=<int>` options (clusters)
        # `search event_type=X`: the value after `=` in a search command is a term.
        if field not in schema_fields:
            preceding = outside[: token.start()].rstrip()
            if preceding.endswith("="):
                continue
            problems.append(f"[{name}]: unknown field {field!r}")
    for literal in re.findall(r'\|\s*rex\s[^|"]*"((?:[^"\\]|\\.)*)"', search):
        try:
            if not re.search(r"\(\?<[A-Za-z_][A-Za-z0-9_]*>", literal):
                raise ValueError("no named group")
            re.compile(literal.replace("(?<", "(?P<"))
        except (re.error, ValueError) as error:
            problems.append(f"[{name}]: rex regex {literal[:60]!r} does not compile: {error}")
    for literal, match_call in zip(strings, [None] * len(strings)):
        if literal.startswith("(*UTF)"):
            try:
                python_regex(literal)
            except (re.error, ValueError) as error:
                problems.append(f"[{name}]: regex {literal[:60]!r} does not compile: {error}")
    return problems


def check_views(app, schema_fields, macros, keys):
    """The Dashboard Studio views (issue 14): each is a version 2 dashboard
    whose definition is JSON, every panel search passes the static checks
    above (starting with the data-source macro, or the audit index for the
    alerts panel), and the navigation bar names only views that exist.
    Splunk's own validation of the definitions is splunk_dashboard_check.mjs."""
    problems, count = [], 0
    views = app / "default" / "data" / "ui" / "views"
    names = set()
    for path in sorted(views.glob("*.xml")) if views.is_dir() else []:
        names.add(path.stem)
        text = path.read_text(encoding="utf-8")
        if not re.search(r'<dashboard version="2"( theme="(light|dark)")?>', text):
            problems.append(f"{path.name}: not a <dashboard version=\"2\">")
            continue
        match = re.search(r"<definition><!\[CDATA\[(.*)\]\]></definition>", text, re.S)
        if not match:
            problems.append(f"{path.name}: no <definition> in CDATA")
            continue
        definition = json.loads(match.group(1))
        for source_id, source in definition.get("dataSources", {}).items():
            if source.get("type") != "ds.search":
                continue
            count += 1
            query = source.get("options", {}).get("query", "")
            problems.extend(check_search(f"{path.name} {source_id}", query, schema_fields, macros, None, keys, panel=True))
    nav = app / "default" / "data" / "ui" / "nav" / "default.xml"
    if nav.is_file():
        builtin = {"search", "datasets", "reports", "alerts", "dashboards"}
        for view in re.findall(r'<view name="([^"]+)"', nav.read_text(encoding="utf-8")):
            if view not in names | builtin:
                problems.append(f"nav/default.xml: view {view} is not in data/ui/views")
    return count, problems


def check_alert_actions(name, keys, schema_fields):
    """The notable event and risk action of one saved search."""
    problems = []
    if keys.get("action.notable") != "1":
        return [f"[{name}]: no notable event action"]
    if keys.get("action.correlationsearch.enabled") != "1" or keys.get("action.correlationsearch.label") != name:
        problems.append(f"[{name}]: not an ES correlation search labelled as its stanza")
    if keys.get("action.notable.param.severity") not in NOTABLE_SEVERITIES:
        problems.append(f"[{name}]: notable severity {keys.get('action.notable.param.severity')!r}")
    drilldown = keys.get("action.notable.param.drilldown_search", "")
    if not drilldown.startswith("`tripline_llm_events`"):
        problems.append(f"[{name}]: drill-down search does not start with the data-source macro")
    for field, token in re.findall(r'([A-Za-z_][A-Za-z0-9_.]*)="\$([^$]+)\$"', drilldown):
        if field != token or field not in schema_fields:
            problems.append(f"[{name}]: drill-down tests {field!r} with token {token!r}")
    if not re.fullmatch(r'`tripline_llm_events`( [A-Za-z_][A-Za-z0-9_.]*="\$[^$]+\$")*', drilldown):
        problems.append(f"[{name}]: drill-down search of another form: {drilldown!r}")
    for key in ("drilldown_earliest_offset", "drilldown_latest_offset"):
        if keys.get(f"action.notable.param.{key}") not in {"$info_min_time$", "$info_max_time$"}:
            problems.append(f"[{name}]: {key} is not the alert's time range")
    try:
        steps = json.loads(keys.get("action.notable.param.next_steps", ""))
        if steps.get("version") != 1 or not isinstance(steps.get("data"), str):
            raise ValueError("not {version: 1, data: text}")
    except ValueError as error:
        problems.append(f"[{name}]: next_steps: {error}")
    if "action.risk" in keys:
        try:
            objects = json.loads(keys.get("action.risk.param._risk", ""))
            if not isinstance(objects, list) or not objects:
                raise ValueError("not a non-empty list")
            for item in objects:
                if item.get("risk_object_field") not in schema_fields:
                    raise ValueError(f"risk object field {item.get('risk_object_field')!r} is not a schema field")
                if item.get("risk_object_type") not in RISK_OBJECT_TYPES:
                    raise ValueError(f"risk object type {item.get('risk_object_type')!r}")
                if not isinstance(item.get("risk_score"), int) or not 0 < item["risk_score"] <= 100:
                    raise ValueError(f"risk score {item.get('risk_score')!r}")
        except ValueError as error:
            problems.append(f"[{name}]: _risk: {error}")
    return problems


def check_setup(app, macros, retention_days):
    """indexes.conf and props.conf against the data-source macro."""
    problems = []
    definition = macros.get("tripline_llm_events", {}).get("definition", "")
    index = re.search(r"\bindex=(\S+)", definition)
    sourcetype = re.search(r"\bsourcetype=(\S+)", definition)
    indexes_path = app / "default" / "indexes.conf"
    if index:
        if not indexes_path.is_file():
            return [f"indexes.conf: missing for index {index.group(1)}"]
        indexes = parse_conf(indexes_path)
        stanza = indexes.get(index.group(1))
        if stanza is None:
            problems.append(f"indexes.conf: no stanza [{index.group(1)}]")
        else:
            for key in ("homePath", "coldPath", "thawedPath"):
                if not stanza.get(key, "").startswith(f"$SPLUNK_DB/{index.group(1)}/"):
                    problems.append(f"indexes.conf [{index.group(1)}]: {key} is not under $SPLUNK_DB/{index.group(1)}/")
            frozen = stanza.get("frozenTimePeriodInSecs", "")
            if not frozen.isdigit() or int(frozen) % 86400 or int(frozen) == 0:
                problems.append(f"indexes.conf: frozenTimePeriodInSecs {frozen!r} is not a whole number of days")
            elif retention_days is not None and int(frozen) != retention_days * 86400:
                problems.append(f"indexes.conf: frozenTimePeriodInSecs {frozen} is not {retention_days} days")
    if sourcetype:
        props_path = app / "default" / "props.conf"
        props = parse_conf(props_path) if props_path.is_file() else {}
        stanza = props.get(sourcetype.group(1))
        if stanza is None:
            problems.append(f"props.conf: no stanza [{sourcetype.group(1)}]")
        else:
            for key, value in PROPS_REQUIRED.items():
                if stanza.get(key) != value:
                    problems.append(f"props.conf: {key} is {stanza.get(key)!r}, not {value!r}")
            lookahead = stanza.get("MAX_TIMESTAMP_LOOKAHEAD", "")
            if not lookahead.isdigit() or not 24 <= int(lookahead) <= 128:
                problems.append(f"props.conf: MAX_TIMESTAMP_LOOKAHEAD {lookahead!r}")
            prefix = stanza.get("TIME_PREFIX", "")
            sample = '{"timestamp": "2026-03-03T18:07:02.578Z", "event_type": "inference"}'
            found = re.search(prefix, sample)
            if not found or not sample[found.end():].startswith("2026-03-03T18:07:02.578Z"):
                problems.append(f"props.conf: TIME_PREFIX {prefix!r} does not stop before the timestamp")
            if not stanza.get("TIME_FORMAT", "").startswith("%Y-%m-%dT%H:%M:%S"):
                problems.append(f"props.conf: TIME_FORMAT {stanza.get('TIME_FORMAT')!r}")
            if not stanza.get("TRUNCATE", "").isdigit():
                problems.append("props.conf: TRUNCATE is not a number")
    return problems


def main():
    app = Path(sys.argv[1])
    schema = json.loads(Path(sys.argv[2]).read_text())
    appinspect = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    retention_days = int(sys.argv[4]) if len(sys.argv) > 4 else None
    schema_fields = set()

    def collect(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    schema_fields.update(value.keys())
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(schema)
    problems = []
    saved = parse_conf(app / "default" / "savedsearches.conf")
    macros = parse_conf(app / "default" / "macros.conf")
    transforms = parse_conf(app / "default" / "transforms.conf")
    parse_conf(app / "default" / "app.conf")
    if "tripline_llm_events" not in macros:
        problems.append("macros.conf: no data-source macro tripline_llm_events")
    for stanza, keys in transforms.items():
        if not (app / "lookups" / keys.get("filename", "")).is_file():
            problems.append(f"transforms.conf [{stanza}]: lookups/{keys.get('filename')} missing")
    keys_found, keys_problems = keys_lookups(app, transforms)
    problems.extend(keys_problems)
    for name, keys in saved.items():
        missing = REQUIRED_KEYS - keys.keys()
        if missing:
            problems.append(f"[{name}]: missing keys {sorted(missing)}")
        unknown = keys.keys() - KNOWN_KEYS
        if unknown:
            problems.append(f"[{name}]: keys outside the known set {sorted(unknown)}")
        rule_id = name.removeprefix("Tripline - ")
        filter_macro = re.sub(r"[^A-Za-z0-9_]", "_", rule_id) + "_filter"
        if filter_macro not in macros:
            problems.append(f"[{name}]: tuning macro {filter_macro} not in macros.conf")
        elif macros[filter_macro].get("definition") != "search *":
            problems.append(f"[{name}]: tuning macro {filter_macro} is not empty (search *)")
        if not re.fullmatch(r"-[0-9]+s", keys.get("dispatch.earliest_time", "")):
            problems.append(f"[{name}]: dispatch.earliest_time is not -Ns")
        if keys.get("alert.severity") not in {"3", "4", "5"}:
            problems.append(f"[{name}]: alert.severity not 3/4/5")
        problems.extend(check_search(name, keys.get("search", ""), schema_fields, macros, filter_macro, keys_found))
        problems.extend(check_alert_actions(name, keys, schema_fields))
    problems.extend(check_setup(app, macros, retention_days))
    panels, view_problems = check_views(app, schema_fields, macros, keys_found)
    problems.extend(view_problems)
    print(f"static checks: {len(saved)} saved searches, {panels} dashboard panel searches, {len(problems)} problems")
    if appinspect:
        out = Path(app).parent / "appinspect.json"
        subprocess.run(
            [appinspect, "inspect", str(app), "--mode", "precert", "--included-tags", "cloud",
             "--data-format", "json", "--output-file", str(out)],
            check=False, stdout=subprocess.DEVNULL,
        )
        summary = json.loads(out.read_text())["summary"]
        print(f"splunk-appinspect precert (cloud tags): {summary}")
        if summary.get("error", 0) or summary.get("failure", 0):
            problems.append(f"splunk-appinspect: {summary}")
    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
