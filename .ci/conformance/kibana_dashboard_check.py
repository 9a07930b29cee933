"""Conformance check for the Kibana dashboards of the elastic_esql target.

Usage: kibana_dashboard_check.py <compile dir> <index template json>

Every `kibana/dashboards/*.ndjson` file is a saved-objects import body. Each
line must be an object Kibana's import accepts, checked against the saved
object types Kibana declares:

- every object: `id` and `type` strings, `attributes` an object,
  `references` a list;
- `index-pattern` (a data view): `title` and `timeFieldName`;
- `dashboard`: the attribute set of Kibana's `dashboardAttributesSchema`
  (v1/v2 of the dashboard saved-object type, unknown keys forbidden):
  `title` (string), `description`, `timeRestore` (bool), `timeFrom`/`timeTo`,
  `refreshInterval {pause, value}`, `panelsJSON` and `optionsJSON` (strings
  holding JSON), `kibanaSavedObjectMeta.searchSourceJSON` (a string holding
  JSON), and nothing else;
- each panel of `panelsJSON`: `type`, `panelIndex`, `gridData {x, y, w, h, i}`
  inside the 48-column grid with `i` equal to `panelIndex`, unique indexes,
  `embeddableConfig` an object;
- each Lens panel by value: `visualizationType` one of Lens's, a `textBased`
  layer whose ES|QL query equals the state's query, whose columns name what
  the visualisation reads, and an ad hoc data view the layer points at.

Every panel's ES|QL query parses with Elastic's offline ES|QL parser
(PyPI `detection-rules-esql-py`) and passes its analysis: panels over events
against a schema from the emitted index template, the alerts panel against
the alert fields it reads (`@timestamp`, `kibana.alert.rule.rule_id`, from
Elastic's alert schema). Each query's output columns (its last KEEP) must be
the layer's columns. Estimating aggregates (COUNT_DISTINCT, PERCENTILE,
MEDIAN) are refused. Broken objects must fail: the check mutates a good
dashboard and expects a failure for each mutation.

No Kibana runs offline: this proves the objects have the shape Kibana's
saved-object types declare and that the queries are well formed ES|QL over
mapped fields, not how Kibana draws them.
"""

import copy
import json
import sys
from pathlib import Path

import esql
from esql import ast as esql_ast

# The mapping flattener and the tree walk of the rules' ES|QL check (same folder).
from esql_check import flat_fields, nodes

DASHBOARD_ATTRIBUTES = {
    "title",
    "description",
    "timeRestore",
    "timeFrom",
    "timeTo",
    "refreshInterval",
    "panelsJSON",
    "optionsJSON",
    "kibanaSavedObjectMeta",
    "controlGroupInput",
    "hits",
    "version",
}
LENS_TYPES = {"lnsXY", "lnsMetric", "lnsPie", "lnsDatatable", "lnsLegacyMetric", "lnsHeatmap"}
ALERT_FIELDS = {
    "@timestamp": {"type": "date"},
    "kibana": {"properties": {"alert": {"properties": {"rule": {"properties": {"rule_id": {"type": "keyword"}}}}}}},
}
ALERTS_INDEX = ".alerts-security.alerts-default"
ESTIMATES = {"count_distinct", "percentile", "median", "median_absolute_deviation"}


def last_keep(text):
    """The column names of the query's last KEEP command."""
    commands = [part.strip() for part in text.split("\n| ")]
    keeps = [command for command in commands if command.startswith("KEEP ")]
    if not keeps:
        return None
    return [column.strip() for column in keeps[-1][len("KEEP "):].split(",")]


def check_query(text, schemas):
    try:
        tree = esql.parse_query(text)
    except esql.EsqlError as error:
        return [f"does not parse: {error}"]
    source = ALERTS_INDEX if text.startswith(f"FROM {ALERTS_INDEX}") else "events"
    schema, fields = schemas[source]
    problems = []
    try:
        esql.analyze(tree, schema)
    except esql.EsqlError as error:
        problems.append(f"analysis: {error}")
    defined = set(esql.get_defined_columns(tree))
    for name in esql.get_unique_fields(tree):
        if name not in fields and name not in defined:
            problems.append(f"unmapped field `{name}`")
    calls = {getattr(node, "name", "").lower() for node in nodes(tree) if isinstance(node, esql_ast.FunctionCall)}
    if calls & ESTIMATES:
        problems.append(f"an estimating aggregate: {sorted(calls & ESTIMATES)}")
    return problems


def json_string(value, what, problems):
    if not isinstance(value, str):
        problems.append(f"{what} is not a string")
        return None
    try:
        return json.loads(value)
    except ValueError as error:
        problems.append(f"{what} is not JSON: {error}")
        return None


def check_lens(attributes, where, schemas, problems):
    if attributes.get("visualizationType") not in LENS_TYPES:
        problems.append(f"{where}: visualizationType {attributes.get('visualizationType')!r}")
    state = attributes.get("state", {})
    query = state.get("query", {}).get("esql")
    if not isinstance(query, str):
        problems.append(f"{where}: no ES|QL query")
        return 0
    layers = state.get("datasourceStates", {}).get("textBased", {}).get("layers", {})
    if len(layers) != 1:
        problems.append(f"{where}: expected one textBased layer, got {len(layers)}")
        return 0
    (layer_id, layer), = layers.items()
    if layer.get("query", {}).get("esql") != query:
        problems.append(f"{where}: the layer's query is not the state's")
    if layer.get("index") not in state.get("adHocDataViews", {}):
        problems.append(f"{where}: the layer's data view is not among the ad hoc data views")
    columns = [column.get("columnId") for column in layer.get("columns", [])]
    for column in layer.get("columns", []):
        if column.get("columnId") != column.get("fieldName") or column.get("meta", {}).get("type") not in {"date", "number", "string", "boolean"}:
            problems.append(f"{where}: column {column}")
    keep = last_keep(query)
    if keep != columns:
        problems.append(f"{where}: the query returns {keep}, the layer declares {columns}")
    visualization = state.get("visualization", {})
    read = set()
    for layer_state in visualization.get("layers", [visualization]):
        if layer_state.get("layerId") != layer_id:
            problems.append(f"{where}: the visualisation reads layer {layer_state.get('layerId')!r}")
        for key in ("xAccessor", "splitAccessor", "metricAccessor"):
            if layer_state.get(key) is not None:
                read.add(layer_state[key])
        for key in ("accessors", "primaryGroups", "metrics"):
            read.update(layer_state.get(key, []))
        read.update(column.get("columnId") for column in layer_state.get("columns", []))
    if not read or not read <= set(columns):
        problems.append(f"{where}: the visualisation reads {sorted(read)}, the layer has {columns}")
    for problem in check_query(query, schemas):
        problems.append(f"{where}: {problem}")
    return 1


def check_dashboard(obj, schemas, problems):
    attributes = obj.get("attributes", {})
    unknown = set(attributes) - DASHBOARD_ATTRIBUTES
    if unknown:
        problems.append(f"dashboard attributes Kibana forbids: {sorted(unknown)}")
    if not isinstance(attributes.get("title"), str) or not attributes["title"]:
        problems.append("dashboard without a title")
    if not isinstance(attributes.get("timeRestore"), bool):
        problems.append("timeRestore is not a boolean")
    refresh = attributes.get("refreshInterval", {})
    if not isinstance(refresh.get("pause"), bool) or not isinstance(refresh.get("value"), int):
        problems.append("refreshInterval is not {pause, value}")
    json_string(attributes.get("optionsJSON"), "optionsJSON", problems)
    json_string(attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON"), "searchSourceJSON", problems)
    panels = json_string(attributes.get("panelsJSON"), "panelsJSON", problems)
    if not isinstance(panels, list) or not panels:
        problems.append("panelsJSON is not a non-empty list")
        return 0
    queries = 0
    indexes = set()
    for panel in panels:
        index = panel.get("panelIndex")
        grid = panel.get("gridData", {})
        where = f"panel {index!r}"
        if not isinstance(index, str) or index in indexes:
            problems.append(f"{where}: panelIndex missing or repeated")
        indexes.add(index)
        if grid.get("i") != index:
            problems.append(f"{where}: gridData.i differs from panelIndex")
        if not all(isinstance(grid.get(key), int) for key in "xywh"):
            problems.append(f"{where}: gridData is not {{x, y, w, h}} numbers")
        elif grid["x"] < 0 or grid["w"] <= 0 or grid["x"] + grid["w"] > 48 or grid["h"] <= 0:
            problems.append(f"{where}: outside the 48-column grid")
        if not isinstance(panel.get("type"), str) or not isinstance(panel.get("embeddableConfig"), dict):
            problems.append(f"{where}: no type or embeddableConfig")
            continue
        if panel["type"] == "lens":
            queries += check_lens(panel["embeddableConfig"].get("attributes", {}), where, schemas, problems)
    return queries


def check_file(path, schemas):
    problems = []
    queries = 0
    lines = path.read_text().split("\n")
    if lines[-1] != "":
        problems.append("the file does not end with a newline")
    objects = []
    for number, line in enumerate(lines[:-1], 1):
        try:
            objects.append(json.loads(line))
        except ValueError as error:
            problems.append(f"line {number} is not JSON: {error}")
    types = [obj.get("type") for obj in objects]
    if "dashboard" not in types:
        problems.append("no dashboard object")
    for obj in objects:
        if not isinstance(obj.get("id"), str) or not isinstance(obj.get("type"), str):
            problems.append(f"an object without id/type: {str(obj)[:80]}")
            continue
        if not isinstance(obj.get("attributes"), dict) or not isinstance(obj.get("references"), list):
            problems.append(f"{obj['type']} {obj['id']}: attributes/references")
            continue
        if obj["type"] == "index-pattern":
            if not obj["attributes"].get("title") or not obj["attributes"].get("timeFieldName"):
                problems.append("a data view without title or timeFieldName")
        elif obj["type"] == "dashboard":
            queries += check_dashboard(obj, schemas, problems)
        else:
            problems.append(f"an object of unexpected type {obj['type']}")
    return problems, queries


def mutations(good):
    """Broken copies of a good dashboard file, each of which must fail."""
    lines = good.read_text().split("\n")
    index = next(i for i, line in enumerate(lines) if '"type":"dashboard"' in line or '"type": "dashboard"' in line)
    obj = json.loads(lines[index])
    panels = json.loads(obj["attributes"]["panelsJSON"])

    def with_object(change):
        broken = copy.deepcopy(obj)
        change(broken)
        copy_lines = list(lines)
        copy_lines[index] = json.dumps(broken)
        return "\n".join(copy_lines)

    def with_panels(change):
        broken_panels = copy.deepcopy(panels)
        change(broken_panels)
        return with_object(lambda o: o["attributes"].__setitem__("panelsJSON", json.dumps(broken_panels)))

    def query_of(panel):
        return panel["embeddableConfig"]["attributes"]["state"]

    def set_query(panels_, text):
        state = query_of(panels_[0])
        state["query"]["esql"] = text
        for layer in state["datasourceStates"]["textBased"]["layers"].values():
            layer["query"]["esql"] = text

    yield "an attribute Kibana forbids", with_object(lambda o: o["attributes"].__setitem__("panels", []))
    yield "panelsJSON as a list", with_object(lambda o: o["attributes"].__setitem__("panelsJSON", panels))
    yield "a repeated panelIndex", with_panels(lambda p: p[1].__setitem__("panelIndex", p[0]["panelIndex"]))
    yield "a panel past the grid", with_panels(lambda p: p[0]["gridData"].__setitem__("x", 40))
    yield "an unknown field", with_panels(
        lambda p: set_query(p, query_of(p[0])["query"]["esql"].replace("FROM logs", "FROM logs", 1) + "\n| WHERE no.such.field == 1")
    )
    yield "a syntax error", with_panels(lambda p: set_query(p, query_of(p[0])["query"]["esql"] + "\n| WHERE"))
    yield "an estimate", with_panels(
        lambda p: set_query(p, query_of(p[0])["query"]["esql"] + "\n| STATS x = COUNT_DISTINCT(bucket_start)")
    )
    yield "a visual reading a column the layer lacks", with_panels(
        lambda p: query_of(p[0])["visualization"].__setitem__("metricAccessor", "no_such_column")
        if "metricAccessor" in query_of(p[0])["visualization"]
        else query_of(p[0])["visualization"]["layers"][0].__setitem__("accessors", ["no_such_column"])
    )


def main():
    sys.setrecursionlimit(20000)
    compile_dir = Path(sys.argv[1])
    mapping = json.loads(Path(sys.argv[2]).read_text())["template"]["mappings"]
    schemas = {
        "events": (esql.Schema({"properties": mapping["properties"]}), flat_fields(mapping["properties"])),
        ALERTS_INDEX: (esql.Schema({"properties": ALERT_FIELDS}), flat_fields(ALERT_FIELDS)),
    }
    files = sorted((compile_dir / "kibana" / "dashboards").glob("*.ndjson"))
    failures = 0
    queries = 0
    for path in files:
        problems, checked = check_file(path, schemas)
        queries += checked
        for problem in problems:
            print(f"FAIL {path.name}: {problem}")
            failures += 1
    if files:
        scratch = compile_dir.parent / "kibana-dashboard-mutation.ndjson"
        for label, text in mutations(files[0]):
            scratch.write_text(text if text.endswith("\n") else text + "\n")
            problems, _ = check_file(scratch, schemas)
            if not problems:
                print(f"FAIL the check accepted a broken dashboard ({label})")
                failures += 1
        scratch.unlink()
    print(f"kibana dashboards: {len(files)} files, {queries} panel queries checked, {failures} failures")
    sys.exit(1 if failures or not files or not queries else 0)


if __name__ == "__main__":
    main()
