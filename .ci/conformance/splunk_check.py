"""Conformance of the splunk_spl target: the app directory and its searches.

Usage: splunk_check.py APP_DIR EVENTS_JSON_SCHEMA [APPINSPECT]

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
    - required stanza keys are present with sane values.
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
}
FUNCTIONS = {
    "match", "isnull", "isnotnull", "cidrmatch", "floor", "now", "if", "null",
    "true", "false", "mvappend", "mvindex", "split", "len", "count", "dc", "sum",
    "avg", "min", "max", "values", "exact", "coalesce", "round", "lower", "replace",
    # sort's field options: num(field), str(field)
    "num", "str",
    # clusters: the fingerprint's band keys
    "mvmap", "mvdedup", "mvsort", "mvjoin", "mvcount", "md5", "lower", "substr",
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


def check_search(name, search, schema_fields, macros, filter_macro, keys=None):
    problems = []
    try:
        strings, rest = strings_and_rest(search)
        check_parentheses(rest)
    except ValueError as error:
        return [f"[{name}]: {error}"]
    lookup_problems, rest = check_lookups(name, rest, keys or {})
    problems.extend(lookup_problems)
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


def main():
    app = Path(sys.argv[1])
    schema = json.loads(Path(sys.argv[2]).read_text())
    appinspect = sys.argv[3] if len(sys.argv) > 3 else None
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
    print(f"static checks: {len(saved)} saved searches, {len(problems)} problems")
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
