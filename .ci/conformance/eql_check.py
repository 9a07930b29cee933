"""Conformance of the elastic_eql target against the PyPI `eql` package.

Input: the fixtures file written by `tripline compile --fixtures DIR`
(`DIR/elastic_eql.json`): for every test case of every rule the target
compiles, the case's events in ECS field names, the evaluator's alert count
and the rule's artifacts compiled with the case's parameters.

(a) Validity: every query (the `.eql` file and the NDJSON `query`) parses
    with `eql.parse_query` in Elasticsearch syntax under a schema built from
    the target's field mapping, so an unknown field is an error.
(b) Meaning: every case's events run through the package's Python engine;
    the number of matches (events for match rules, sequences for sequence
    rules) must equal the evaluator's alert count.

The engine is adapted to Elasticsearch's semantics where they differ (see
docs/targets.md): it compares strings case-insensitively everywhere and
parses `in~`, `like~` and `regex~` as their plain forms, so the check
switches case folding off (as in Elasticsearch, `==`, `in`, `regex` and
sequence keys are then exact) and runs each `F in~ (...)`, `F like~ (...)`
and `F regex~ (...)` as a registered function that folds ASCII letters only,
as Elasticsearch's case-insensitive queries did before their Unicode folding; its `regex` anchors only the start, so the check
anchors both ends, as Lucene does. It cannot show Unicode case mappings
beyond the test data.

Sequences. The check trusts Elasticsearch's documented rule (eql-syntax, "How
sequence queries handle matches": per join key, one pending sequence per
state, the most recent overwriting the older; an event of the next stage
moves it on; `with runs=N` is N copies of the stage; `maxspan` is measured
from the first event), which the evaluator implements. The Python engine
keeps one sequence per state and key as well and registers its stages so
that one event advances a sequence one stage, so on events streamed in the
same order it finds the same sequences. Where it differs from Elasticsearch
it does not reach this check's data:
  - it has no tiebreaker: it takes events in the order they are streamed.
    Elasticsearch orders equal timestamps by the rule's `tiebreaker_field`
    (`event.id`, set by the target) and then by its own document order. The
    fixtures list each case's events in the evaluator's processing order
    (time, then event_id), so the stream order here is Elasticsearch's for
    events that have an id, which every test event has;
  - it drops sequences older than `maxspan` on every event, where
    Elasticsearch drops such a sequence when the next stage's event takes
    it; either way the sequence never completes and its state is empty.
"""

import json
import re
import sys

import eql
import eql.functions
import eql.utils
from eql.parser import allow_runs, elasticsearch_syntax
from eql.types import TypeHint

FLAGS = eql.functions.regex_flags


def _full_match_callback(cls, source_ast, *regex_literals):
    compiled = re.compile("|".join("(?:%s)" % reg.value for reg in regex_literals), FLAGS())

    def callback(source, *_):
        if isinstance(source, str):
            return compiled.fullmatch(source) is not None
        return None

    return callback


def _full_match_run(cls, source, *patterns):
    if isinstance(source, str):
        return re.fullmatch("|".join("(?:%s)" % p for p in patterns), source, FLAGS()) is not None
    return None


def _unescape(cls, s):
    """The package's `String.unescape` with `\\u{...}` matched up to its own
    `}` (the package's pattern is greedy, so two escapes in one string fail to
    parse); Elasticsearch's lexer reads each `\\u{XX..}` as one character."""

    def replace_callback(sub):
        original = sub.group()
        if original.startswith("\\u{"):
            return chr(int(original[3:-1], 16))
        return cls.reverse_patterns[original]

    return re.sub(r"\\u\{[0-9A-Fa-f]{2,8}\}|\\[^u]", replace_callback, s)


eql.ast.String.unescape = classmethod(_unescape)


# Lucene regexes match the whole value; the Python engine's `match` only
# anchors the start. Make it anchor both ends, as Elasticsearch does.
eql.functions.Match.get_callback = classmethod(_full_match_callback)
eql.functions.Match.run = classmethod(_full_match_run)



def _string_test(name, doc, build):
    """An EQL function `name(F, "v", ...)` over literal values: `build(values)`
    returns the test of one string; a value that is not a string gives null."""

    def test_of(values):
        test = build(values)
        return lambda source: test(source) if isinstance(source, str) else None

    def get_callback(cls, source_ast, *literals):
        test = test_of([literal.value for literal in literals])
        return lambda source, *_: test(source)

    def run(cls, source, *values):
        return test_of(values)(source)

    return type(name, (eql.functions.FunctionSignature,), {
        "__doc__": doc,
        "name": name,
        "argument_types": [TypeHint.String, TypeHint.String.require_literal()],
        "additional_types": TypeHint.String.require_literal(),
        "return_value": TypeHint.Boolean,
        "get_callback": classmethod(get_callback),
        "run": classmethod(run),
    })


# Elasticsearch's `like~` and `regex~` fold case. Before its Unicode folding
# (elastic/elasticsearch#153513) an ASCII letter matches its other ASCII case
# and nothing else: Python's `re.IGNORECASE | re.ASCII` (without `re.ASCII`,
# Python pairs `i` with `ı` and `k` with the Kelvin sign). The target writes
# the Kelvin sign and the long s beside their letters, so the same query is
# exact under Unicode folding too (unit tests in src/targets/elastic_eql).
ASCII_CI = re.DOTALL | re.IGNORECASE | re.ASCII


def _glob(pattern):
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _full_match_of(patterns):
    compiled = re.compile("|".join("(?:%s)" % pattern for pattern in patterns), ASCII_CI)
    return lambda source: compiled.fullmatch(source) is not None


def _lowered_in(values):
    lowered = {value.lower() for value in values}
    return lambda source: source.lower() in lowered


for _signature in (
    _string_test("tripline_in_ci", "`F in~ (\"a\", ...)`: the value equals one of the strings, ignoring case.",
                 _lowered_in),
    _string_test("tripline_like_ci", "`F like~ (\"*a*\", ...)`: an ASCII-case-insensitive wildcard on the whole value.",
                 lambda patterns: _full_match_of([_glob(pattern) for pattern in patterns])),
    _string_test("tripline_regex_ci", "`F regex~ (\"...\", ...)`: an anchored regex, ASCII letters case-insensitive.",
                 _full_match_of),
):
    if _signature.name not in eql.functions._registry:
        eql.functions.register(_signature)

CASE_INSENSITIVE_OPERATORS = {
    " in~ (": "tripline_in_ci(",
    " like~ (": "tripline_like_ci(",
    " regex~ (": "tripline_regex_ci(",
}


def rewrite_in_ci(text):
    """`F in~ (...)`, `F like~ (...)`, `F regex~ (...)` → `tripline_in_ci(F, ...)`,
    `tripline_like_ci(F, ...)`, `tripline_regex_ci(F, ...)`, outside string literals."""
    out = []
    index = 0
    in_string = False
    while index < len(text):
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\":
                out.append(text[index + 1])
                index += 2
                continue
            if char == '"':
                in_string = False
            index += 1
            continue
        if char == '"':
            in_string = True
            out.append(char)
            index += 1
            continue
        operator = next((op for op in CASE_INSENSITIVE_OPERATORS if text.startswith(op, index)), None)
        if operator is not None:
            prefix = "".join(out)
            field_start = max(prefix.rfind(" "), prefix.rfind("(")) + 1
            field = prefix[field_start:]
            out = [prefix[:field_start], CASE_INSENSITIVE_OPERATORS[operator], field, ", "]
            index += len(operator)
            continue
        out.append(char)
        index += 1
    return "".join(out)


EQL_TYPES = {
    "keyword": "string",
    "wildcard": "string",
    "ip": "string",
    "date": "string",
    "long": "number",
    "double": "number",
    "boolean": "boolean",
}


def schema_for(fields):
    tree = {}
    for name, field_type in fields.items():
        if name.startswith("@"):
            continue  # queries do not read the timestamp; the engine orders events
        node = tree
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = EQL_TYPES[field_type]
    return eql.Schema({"tripline": tree}, allow_any=True, allow_generic=False)


def parse(text, schema):
    with elasticsearch_syntax, allow_runs, schema:
        return eql.parse_query(text)


def matches(query, events):
    engine = eql.PythonEngine({"time_unit": 1000})
    found = []
    engine.add_output_hook(found.append)
    engine.add_query(query)
    stream = [eql.Event("tripline", item["time_ms"], item["event"]) for item in events]
    engine.stream_events(stream)
    return len(found)


def main(path):
    # Elasticsearch compares keyword values exactly; so must the engine.
    eql.utils.CASE_INSENSITIVE = False
    with open(path) as handle:
        fixtures = json.load(handle)
    schema = schema_for(fixtures["fields"])
    parsed = {}
    failures = []
    compared = 0
    for case in fixtures["cases"]:
        artifacts = case["artifacts"]
        query_files = [name for name in artifacts if name.endswith(".eql")]
        ndjson = [json.loads(line) for line in artifacts["rules.ndjson"].splitlines() if line]
        texts = [artifacts[name] for name in query_files] + [rule["query"] for rule in ndjson]
        query = None
        for text in texts:
            if text in parsed:
                query = parsed[text]
                continue
            try:
                query = parse(text, schema)
            except eql.EqlError as error:
                failures.append("%s: the query does not parse: %s" % (case["rule"], error))
                query = None
                break
            parsed[text] = query
        if query is None:
            continue
        meaning = parse(rewrite_in_ci(texts[0]), schema)
        count = matches(meaning, case["events"])
        compared += 1
        if count != case["evaluator_alerts"]:
            failures.append(
                "%s :: %s: the EQL engine found %d match%s, the evaluator %d alert%s"
                % (case["rule"], case["case"], count, "" if count == 1 else "es",
                   case["evaluator_alerts"], "" if case["evaluator_alerts"] == 1 else "s")
            )
    rules = sorted({case["rule"] for case in fixtures["cases"]})
    print("eql %s: %d distinct queries parsed under the mapped schema (%d rules); %d cases compared"
          % (eql.__version__, len(parsed), len(rules), compared))
    if failures:
        for failure in failures:
            print("FAILED " + failure)
        return 1
    print("all %d cases agree with the evaluator" % compared)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
