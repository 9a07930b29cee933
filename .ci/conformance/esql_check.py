"""Conformance check for the elastic_esql target.

Usage: esql_check.py <compile dir> <index template json>

With PyPI `detection-rules-esql-py` (import name `esql`, Elastic's offline
ES|QL parser and analyzer): every query (the `.esql` file and the NDJSON
`query`, which must be equal) parses with zero syntax errors and passes
`esql.analyze` under an `esql.Schema` built from the emitted index template
(unknown fields, unknown functions and commands, type mismatches are errors).
`esql.validate_detection_rule_query` is not run: it enforces the
detection-rules repository's style (a KEEP command), not what Kibana needs. The parse tree is also walked
independently: every field reference must be a mapped field or a METADATA
field, every function name known to the package's catalogue. Match rules
must start `FROM <index> METADATA _id, _index, _version` (Kibana's alert
deduplication needs them) and have no STATS. A STATS per document (a
cluster's words gathered back) groups by both `_id` and `_index`, read from
METADATA. Aggregating queries judge
the slot ending at NOW() less the lateness bound, are grouped by the
window (`tripline_window_start_ms`) or compute a new value's first event
(`tripline_first_ms`), and use no estimating aggregate (COUNT_DISTINCT,
PERCENTILE, MEDIAN). Wrong queries (an unknown field, an unknown function,
a syntax error, an estimate, ...) must fail.

No ES|QL engine runs offline: this proves the queries are well formed for
the package's ES|QL grammar and reference only mapped fields, not what
Elasticsearch returns for them.

Lookup indexes (`elasticsearch/lookup_index/<index>.json`, the body of
`PUT /<index>`, and `<index>.ndjson`, its `_bulk` body): each must be in
`index.mode: lookup` with a strict mapping of keyword/boolean fields, and
its bulk body must index into that index documents of exactly the mapped
fields, each `_id` once and equal to the document's keyword field (so the
join key is unique: a row is never multiplied by the join). The analyzer
knows each index's fields only after its `LOOKUP JOIN`, and every index a
query joins must be emitted.
"""

import json
import sys
from pathlib import Path

import esql
from esql import ast as esql_ast

METADATA = {"_id", "_index", "_version"}

# Operators the tree builder represents as calls (RLIKE, IS NOT NULL, NOT, IN lists).
OPERATORS = {"rlike", "like", "is_null", "is_not_null", "not", "__values__"}


def lookup_indexes(compile_dir):
    """The emitted lookup indexes as {name: mapping}, and their problems."""
    indexes, problems = {}, []
    directory = compile_dir / "elasticsearch" / "lookup_index"
    if not directory.is_dir():
        return indexes, problems
    for path in sorted(directory.glob("*.json")):
        name = path.stem
        body = json.loads(path.read_text())
        if body.get("settings", {}).get("index", {}).get("mode") != "lookup":
            problems.append(f"{name}: not index.mode lookup")
        mappings = body.get("mappings", {})
        if mappings.get("dynamic") != "strict":
            problems.append(f"{name}: the mapping is not strict")
        properties = mappings.get("properties", {})
        types = {field: spec.get("type") for field, spec in properties.items()}
        keys = [field for field, kind in types.items() if kind == "keyword"]
        if len(keys) != 1 or sorted(types.values()) != ["boolean", "keyword"]:
            problems.append(f"{name}: expected one keyword key and one boolean field, got {types}")
            continue
        key = keys[0]
        bulk = path.with_suffix(".ndjson")
        if not bulk.is_file():
            problems.append(f"{name}: no bulk body {bulk.name}")
            continue
        text = bulk.read_text()
        lines = text.split("\n")
        if lines[-1] != "" or (len(lines) - 1) % 2:
            problems.append(f"{name}: the bulk body is not action/document line pairs ended by a newline")
            continue
        seen = set()
        for action_line, document_line in zip(lines[0:-1:2], lines[1:-1:2]):
            action, document = json.loads(action_line), json.loads(document_line)
            target = action.get("index", {})
            if target.get("_index") != name:
                problems.append(f"{name}: an action indexes into {target.get('_index')}")
            if set(document) != set(types):
                problems.append(f"{name}: a document's fields {sorted(document)} are not the mapping's")
                continue
            if target.get("_id") != document[key] or not isinstance(document[key], str):
                problems.append(f"{name}: an _id differs from its key {document[key]!r}")
            if document[key] in seen:
                problems.append(f"{name}: the key {document[key]!r} is indexed twice")
            seen.add(document[key])
            for field, kind in types.items():
                if kind == "boolean" and document[field] is not True:
                    problems.append(f"{name}: {field} is not true")
        if not seen:
            problems.append(f"{name}: no documents")
        indexes[name] = {"properties": properties}
    return indexes, problems


def flat_fields(properties, prefix=""):
    fields = {}
    for name, body in properties.items():
        full = f"{prefix}{name}"
        if "properties" in body:
            fields.update(flat_fields(body["properties"], f"{full}."))
        else:
            fields[full] = body.get("type")
    return fields


def nodes(value, seen=None):
    """Every AST node reachable from value (dataclass-like attributes, lists)."""
    if seen is None:
        seen = set()
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, esql_ast.BaseNode):
        yield value
        for attribute in vars(value).values():
            yield from nodes(attribute, seen)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from nodes(item, seen)


def check_query(text, schema, fields, lookups):
    """The problems of one query (empty when it passes)."""
    problems = []
    try:
        tree = esql.parse_query(text)
    except esql.EsqlError as error:
        return [f"does not parse: {error}"]
    try:
        esql.analyze(tree, schema)
    except esql.EsqlError as error:
        problems.append(f"analysis: {error}")
    defined = set(esql.get_defined_columns(tree))
    for target in esql.get_lookup_join_targets(tree):
        if target not in lookups:
            problems.append(f"LOOKUP JOIN of {target}, which is not an emitted lookup index")
        else:
            defined |= set(flat_fields(lookups[target]["properties"]))
    for name in esql.get_unique_fields(tree):
        if name not in fields and name not in METADATA and name not in defined:
            problems.append(f"unmapped field `{name}`")
    for node in nodes(tree):
        if isinstance(node, esql_ast.FunctionCall):
            name = getattr(node, "name", None)
            if not name or not (name.lower() in OPERATORS or esql.is_known_function(name.lower())):
                problems.append(f"unknown function `{name}`")
    if not esql.is_aggregate_query(tree):
        metadata = set(esql.get_metadata_fields(tree))
        if not METADATA <= metadata:
            problems.append(f"a non-aggregating query without METADATA {sorted(METADATA)}")
    else:
        # Window rules: grouped by the epoch-aligned window; new values: the
        # first event of the slot per key and value. Both judge the slot
        # ending at NOW() less the lateness bound.
        # Every STATS: a cluster first gathers each event's words back per
        # document (`BY _id, _index, ...`), then groups by the window.
        groupings = [list(node.grouping) for node in nodes(tree) if isinstance(node, esql_ast.StatsCommand)]
        grouping = {field for fields in groupings for field in fields}
        if "tripline_window_start_ms" not in grouping and "tripline_first_ms" not in defined:
            problems.append(
                "an aggregating query neither grouped by tripline_window_start_ms nor computing tripline_first_ms"
            )
        per_document = [fields for fields in groupings if "_id" in fields or "_index" in fields]
        if per_document:
            metadata = set(esql.get_metadata_fields(tree))
            if not {"_id", "_index"} <= metadata or any(not {"_id", "_index"} <= set(fields) for fields in per_document):
                problems.append("a STATS per document without both METADATA _id and _index in its BY")
        calls = {getattr(node, "name", "").lower() for node in nodes(tree) if isinstance(node, esql_ast.FunctionCall)}
        if "now" not in calls or "tripline_slot_end_ms" not in set(esql.get_unique_fields(tree)):
            problems.append("an aggregating query without the NOW() slot filter")
        if "count_distinct" in calls:
            problems.append("COUNT_DISTINCT is an estimate; distinct counts must be exact")
        if calls & {"percentile", "median", "median_absolute_deviation"}:
            problems.append("PERCENTILE and MEDIAN are estimates; percentiles must be exact ranks")
    return problems


def main():
    # The package's tree builder recurses once per operator of a left-deep chain.
    sys.setrecursionlimit(20000)
    compile_dir = Path(sys.argv[1])
    lookups, problems = lookup_indexes(compile_dir)
    mapping = json.loads(Path(sys.argv[2]).read_text())["template"]["mappings"]
    schema = esql.Schema({"properties": mapping["properties"]}, lookups=lookups)
    fields = flat_fields(mapping["properties"])
    failures = 0
    for problem in problems:
        print(f"FAIL lookup index {problem}")
        failures += 1
    checked = 0
    rules = [json.loads(line) for line in (compile_dir / "rules.ndjson").read_text().splitlines() if line]
    for rule in rules:
        rule_id = rule["rule_id"]
        file_text = (compile_dir / "queries" / f"{rule_id}.esql").read_text()
        body = "\n".join(line for line in file_text.splitlines() if not line.startswith("//"))
        if body.strip() != rule["query"].strip():
            print(f"FAIL {rule_id}: the .esql file and the NDJSON query differ")
            failures += 1
        if rule.get("type") != "esql" or rule.get("language") != "esql":
            print(f"FAIL {rule_id}: type/language are not esql")
            failures += 1
        for label, text in (("file", file_text), ("ndjson", rule["query"])):
            checked += 1
            for problem in check_query(text, schema, fields, lookups):
                print(f"FAIL {rule_id} ({label}): {problem}")
                failures += 1
    # The check must reject what is wrong.
    index = "logs-tripline.llm_application-*"
    wrong = {
        "unknown field": f"FROM {index} METADATA _id, _index, _version | WHERE tripline.no_such_field == \"x\"",
        "unknown function": f"FROM {index} METADATA _id, _index, _version | WHERE NO_SUCH_FN(user.id)",
        "syntax error": f"FROM {index} METADATA _id, _index, _version | WHERE user.id == ",
        "missing metadata": f"FROM {index} | WHERE user.id == \"x\"",
        "window without slot filter": f"FROM {index} | EVAL tripline_window_start_ms = TO_LONG(@timestamp) | STATS count = COUNT(*) BY tripline_window_start_ms, user.id | WHERE count >= 5",
        "approximate percentile": f"FROM {index} | EVAL tripline_window_start_ms = TO_LONG(@timestamp) | STATS c = COUNT(*) BY tripline_window_start_ms, user.id | INLINE STATS p = PERCENTILE(c, 99) BY tripline_window_start_ms | EVAL tripline_slot_end_ms = TO_LONG(NOW()) | WHERE c > p",
        "per-document STATS by _id alone": f"FROM {index} METADATA _id, _index | STATS t = MIN(@timestamp) BY _id | EVAL tripline_window_start_ms = TO_LONG(t) | STATS c = COUNT(*) BY tripline_window_start_ms | EVAL tripline_slot_end_ms = TO_LONG(NOW()) | WHERE c > tripline_slot_end_ms",
        "aggregating query with neither windows nor first events": f"FROM {index} | STATS c = COUNT(*) BY user.id | EVAL tripline_slot_end_ms = TO_LONG(NOW()) | WHERE c > tripline_slot_end_ms",
        "approximate distinct": f"FROM {index} | EVAL tripline_window_start_ms = TO_LONG(@timestamp) | STATS d = COUNT_DISTINCT(user.id) BY tripline_window_start_ms | EVAL tripline_slot_end_ms = TO_LONG(NOW()) | WHERE d > tripline_slot_end_ms",
    }
    # A join needs an emitted lookup index, and its fields exist only after it.
    join = "EVAL tripline_user_scopes_key = TO_LOWER(user.id) | LOOKUP JOIN {} ON tripline_user_scopes_key"
    wrong["join of an index not emitted"] = f"FROM {index} METADATA _id, _index, _version | {join.format('tripline_no_such_lookup')}"
    if "tripline_user_scopes" in lookups:
        wrong["a lookup field before its join"] = f"FROM {index} METADATA _id, _index, _version | WHERE tripline_user_scopes_found IS NULL | {join.format('tripline_user_scopes')}"
        right = f"FROM {index} METADATA _id, _index, _version | {join.format('tripline_user_scopes')} | WHERE tripline_user_scopes_found IS NULL"
        for problem in check_query(right, schema, fields, lookups):
            print(f"FAIL the check rejected a right query ({problem}): {right}")
            failures += 1
    for label, text in wrong.items():
        if not check_query(text, schema, fields, lookups):
            print(f"FAIL the check accepted a wrong query ({label}): {text}")
            failures += 1
    print(f"elastic_esql: {len(rules)} rules, {checked} queries checked, {len(lookups)} lookup indexes, {failures} failures")
    sys.exit(1 if failures or not rules else 0)


if __name__ == "__main__":
    main()
