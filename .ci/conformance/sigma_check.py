"""Conformance of the sigma target against pySigma and a Sigma matcher.

Usage: sigma_check.py OUTPUT_DIR FIXTURES_JSON

OUTPUT_DIR is `tripline compile --out DIR` + `/sigma`; FIXTURES_JSON is
`tripline compile --fixtures DIR` + `/sigma.json` (every test case of every
rule the target compiles: its events, the evaluator's alert count and the
rule compiled with the case's parameters).

(a) Validity, with PyPI pySigma 1.x: every `rules/*.yml` (and every case's
    rule) loads with `SigmaCollection.from_yaml` without errors; every
    installed validator runs on it except those that download data
    (`attacktag`, `d3_fendtag`), and any issue fails the check; the
    processing pipeline `pipelines/tripline.yml` loads; every rule converts
    with the Splunk backend through that pipeline.
(b) Meaning: pySigma has no engine, so a small matcher written here from the
    Sigma specification (plain values: whole-value, case-insensitive (ASCII)
    with `*`/`?` wildcards and `\\` escapes; `contains`/`startswith`/
    `endswith`; `re`: an unanchored search with Python's `re`, `|i` as
    IGNORECASE with `ı` and `İ` kept apart from `i`, as in Rust's and RE2's
    simple case folding; `cidr`; `exists`; `gt`/`gte`/
    `lt`/`lte` numeric; a map is AND, a list OR; a condition over selection
    names with `and`/`or`/`not`; a test of a missing field is false) runs
    each case's events; the number of matching events must equal the
    evaluator's alerts. A mutant (the condition negated) must disagree on at
    least one case of every rule, so a matcher that accepts everything is
    caught.

(c) Correlations (threshold rules compiled under `compile: { sigma: {
    correlation_windows: epoch } }`): each correlation is read as pySigma's
    Splunk backend converts it (`bin _time span=<timespan>`, `stats ... by
    _time <group-by>`, then the condition): the base rule's matching events
    are cut into epoch-aligned buckets of `timespan`, grouped by the
    `group-by` values (an event without one is in no group), counted (`event_count`) or their distinct values of
    `condition.field` counted (`value_count`), and each (group, bucket) whose
    count meets the condition is one result; their number must equal the
    evaluator's alerts. The mutant negates the base rule's condition.

It cannot prove how a particular backend's regex engine, case folding or
CIDR parser treats data the test cases do not contain (see docs/targets.md).

rsigma (`rsigma_check.py`) is the stronger witness of meaning; this matcher
stays because it reads the rules as PCRE-family backends do and rsigma does
not: Python's `$`, like PCRE's, also matches before a final line feed, so
the `not <field>_line_feed` pairing of end-anchored values is exercised
here only, and the plain values are compared with ASCII-only folding (the
narrowest a backend has) rather than rsigma's Unicode lowercasing.
"""

import glob
import ipaddress
import json
import os
import re
import sys

from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.plugins import InstalledSigmaPlugins
from sigma.processing.pipeline import ProcessingPipeline
from sigma.validation import SigmaValidator
import yaml

NETWORK_VALIDATORS = {"attacktag", "d3_fendtag"}
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
MISSING = object()


def fail(errors, message):
    errors.append(message)
    print("FAIL", message)


# ---------------------------------------------------------------- validity


def validate(output_dir, errors):
    plugins = InstalledSigmaPlugins.autodiscover()
    validators = [cls for name, cls in sorted(plugins.validators.items()) if name not in NETWORK_VALIDATORS]
    validator = SigmaValidator(validators)
    with open(os.path.join(output_dir, "pipelines", "tripline.yml"), encoding="utf-8") as handle:
        pipeline = ProcessingPipeline.from_yaml(handle.read())
    backend = SplunkBackend(processing_pipeline=pipeline)
    paths = sorted(glob.glob(os.path.join(output_dir, "rules", "*.yml")))
    if not paths:
        fail(errors, "no Sigma rules in %s" % output_dir)
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        collection = SigmaCollection.from_yaml(text, collect_errors=True)
        for rule in collection.rules:
            for error in rule.errors:
                fail(errors, "%s: %s" % (path, error))
        issues = validator.validate_rules(collection.rules)
        for issue in issues:
            fail(errors, "%s: validator %s: %s" % (path, type(issue).__name__, issue.description))
        try:
            queries = backend.convert(collection)
        except Exception as error:  # pySigma raises several error types
            fail(errors, "%s: Splunk conversion: %s" % (path, error))
            continue
        if not queries or not all(isinstance(query, str) and query for query in queries):
            fail(errors, "%s: Splunk conversion gave no query" % path)
    return len(paths)


# ---------------------------------------------------------------- matcher


def plain_pattern(value, prefix_any, suffix_any):
    """A Sigma plain string (wildcards, escapes) as a Python regex."""
    out = []
    index = 0
    while index < len(value):
        character = value[index]
        if character == "\\" and index + 1 < len(value) and value[index + 1] in "*?\\":
            out.append(re.escape(value[index + 1]))
            index += 2
            continue
        if character == "*":
            out.append("[\\s\\S]*")
        elif character == "?":
            out.append("[\\s\\S]")
        else:
            out.append(re.escape(character))
        index += 1
    body = "".join(out)
    return ("[\\s\\S]*" if prefix_any else "") + body + ("[\\s\\S]*" if suffix_any else "")


def as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value if isinstance(value, str) else None


def match_one(event_value, modifiers, expected):
    if "exists" in modifiers:
        return (event_value is not MISSING) == bool(expected)
    if event_value is MISSING:
        return False
    if "re" in modifiers:
        text = as_text(event_value)
        if text is None:
            return False
        if "i" in modifiers:
            # `|re|i` as the specification's engines read it (rsigma: Rust's
            # regex; RE2): Unicode simple case folding. Python's IGNORECASE
            # agrees except that it also pairs the Turkish dotless `ı` and
            # dotted `İ` with `i`, which fold only to themselves; hide them
            # from it, in the pattern and the text alike.
            turkish = str.maketrans({"\u0131": "\ue000", "\u0130": "\ue001"})
            return re.search(expected.translate(turkish), text.translate(turkish), re.IGNORECASE) is not None
        return re.search(expected, text) is not None
    if "cidr" in modifiers:
        text = as_text(event_value)
        try:
            return ipaddress.ip_address(text) in ipaddress.ip_network(expected, strict=False)
        except (ValueError, TypeError):
            return False
    for operator, test in (("gte", lambda a, b: a >= b), ("gt", lambda a, b: a > b),
                           ("lte", lambda a, b: a <= b), ("lt", lambda a, b: a < b)):
        if operator in modifiers:
            if isinstance(event_value, bool) or not isinstance(event_value, (int, float)):
                return False
            return test(event_value, expected)
    if isinstance(expected, bool):
        return event_value is expected
    if isinstance(expected, (int, float)):
        return not isinstance(event_value, bool) and isinstance(event_value, (int, float)) and event_value == expected
    text = as_text(event_value)
    if text is None:
        return False
    # Case-insensitive as Sigma's plain values, ASCII letters only (the
    # target emits plain values only where that agrees with the evaluator).
    pattern = plain_pattern(
        str(expected).translate(ASCII_LOWER),
        "contains" in modifiers or "endswith" in modifiers,
        "contains" in modifiers or "startswith" in modifiers,
    )
    return re.fullmatch(pattern, text.translate(ASCII_LOWER)) is not None


def field_value(event, name):
    current = event
    for part in name.split("."):
        if not isinstance(current, dict) or part not in current or current[part] is None:
            return MISSING
        current = current[part]
    return current


def match_map(event, mapping):
    for key, expected in mapping.items():
        field, *modifiers = key.split("|")
        value = field_value(event, field)
        values = expected if isinstance(expected, list) else [expected]
        combine = all if "all" in modifiers else any
        if not combine(match_one(value, modifiers, item) for item in values):
            return False
    return True


def match_selection(event, selection):
    if isinstance(selection, list):
        return any(match_map(event, item) for item in selection)
    return match_map(event, selection)


TOKEN = re.compile(r"\s*(\(|\)|and\b|or\b|not\b|[A-Za-z0-9_]+)")


def condition_function(condition, names):
    tokens = []
    position = 0
    while position < len(condition.rstrip()):
        found = TOKEN.match(condition, position)
        if not found:
            raise ValueError("condition: unexpected text at %r" % condition[position:])
        token = found.group(1)
        if token not in ("(", ")", "and", "or", "not") and token not in names:
            raise ValueError("condition names an unknown selection %r" % token)
        tokens.append(token if token in ("(", ")", "and", "or", "not") else "s[%r]" % token)
        position = found.end()
    code = compile(" ".join(tokens), "<condition>", "eval")
    return lambda results: eval(code, {"__builtins__": {}}, {"s": results})  # noqa: S307


def count_matches(rule_yaml, events, negate=False):
    detection = dict(rule_yaml["detection"])
    condition = detection.pop("condition")
    function = condition_function(condition, set(detection))
    count = 0
    for item in events:
        event = item["event"]
        results = {name: match_selection(event, selection) for name, selection in detection.items()}
        hit = bool(function(results))
        count += int(hit != negate)
    return count


TIMESPAN_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
CONDITION_TESTS = {
    "gt": lambda count, bound: count > bound,
    "gte": lambda count, bound: count >= bound,
    "lt": lambda count, bound: count < bound,
    "lte": lambda count, bound: count <= bound,
    "eq": lambda count, bound: count == bound,
}


def group_text(value):
    return value if isinstance(value, str) else json.dumps(value)


def count_correlated(documents, events, negate=False):
    """Results of the correlations of a multi-document rule, one per group and bucket."""
    bases = {document.get("name"): document for document in documents if "detection" in document}
    results = 0
    for document in documents:
        correlation = document.get("correlation")
        if correlation is None:
            continue
        spec = correlation["timespan"]
        span_ms = int(spec[:-1]) * TIMESPAN_SECONDS[spec[-1]] * 1000
        condition = dict(correlation["condition"])
        field = condition.pop("field", None)
        buckets = {}
        for name in correlation["rules"]:
            base = bases[name]
            detection = dict(base["detection"])
            function = condition_function(detection.pop("condition"), set(detection))
            for item in events:
                event = item["event"]
                hit = bool(function({key: match_selection(event, value) for key, value in detection.items()}))
                if hit == negate:
                    continue
                key = tuple(field_value(event, group) for group in correlation.get("group-by", []))
                if MISSING in key:
                    continue  # `stats ... by` drops an event without a by-field
                key = tuple(group_text(value) for value in key)
                bucket = buckets.setdefault((key, item["time_ms"] // span_ms), [0, set()])
                bucket[0] += 1
                if field is not None:
                    value = field_value(event, field)
                    if value is not MISSING:
                        bucket[1].add(group_text(value))
        for count, values in buckets.values():
            measured = count if correlation["type"] == "event_count" else len(values)
            if all(CONDITION_TESTS[operator](measured, bound) for operator, bound in condition.items()):
                results += 1
    return results


def meaning(fixtures, errors):
    checked = 0
    mutant_caught = {}
    for case in fixtures["cases"]:
        rule_id = case["rule"]
        texts = [text for path, text in case["artifacts"].items() if path.startswith("rules/")]
        if len(texts) != 1:
            fail(errors, "%s / %s: expected one rule artifact" % (rule_id, case["case"]))
            continue
        collection = SigmaCollection.from_yaml(texts[0], collect_errors=True)
        for rule in collection.rules:
            for error in rule.errors:
                fail(errors, "%s / %s: %s" % (rule_id, case["case"], error))
        documents = list(yaml.safe_load_all(texts[0]))
        if len(documents) == 1:
            count = lambda negate=False: count_matches(documents[0], case["events"], negate)  # noqa: E731
        else:
            count = lambda negate=False: count_correlated(documents, case["events"], negate)  # noqa: E731
        matches = count()
        expected = case["evaluator_alerts"]
        if matches != expected:
            fail(errors, "%s / %s: Sigma matcher %d, evaluator %d" % (rule_id, case["case"], matches, expected))
        mutant = count(negate=True)
        mutant_caught[rule_id] = mutant_caught.get(rule_id, False) or mutant != expected
        checked += 1
    for rule_id, caught in sorted(mutant_caught.items()):
        if not caught:
            fail(errors, "%s: the negated condition agrees with the evaluator on every case" % rule_id)
    return checked, len(mutant_caught)


def main():
    output_dir, fixtures_path = sys.argv[1], sys.argv[2]
    errors = []
    rules = validate(output_dir, errors)
    with open(fixtures_path, encoding="utf-8") as handle:
        fixtures = json.load(handle)
    cases, rules_with_cases = meaning(fixtures, errors)
    print("sigma: %d rules validated and converted (Splunk); %d cases of %d rules matched" % (rules, cases, rules_with_cases))
    if errors:
        print("sigma conformance: %d errors" % len(errors))
        sys.exit(1)
    print("sigma conformance: ok")


if __name__ == "__main__":
    main()
