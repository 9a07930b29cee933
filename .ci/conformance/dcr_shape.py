"""The sentinel_kql target's data collection rule against the published model
of the Azure Monitor REST API (api-version 2023-03-11), as Azure's SDK
generator writes it in the PyPI package `azure-mgmt-monitor`.

Usage: python dcr_shape.py <compile output>/sentinel_kql

Every `dcr/*.json` ARM template's `Microsoft.Insights/dataCollectionRules`
resource is walked against `DataCollectionRuleResource`: every key must be
one the model declares (flattened `properties.x` names included), no
read-only property may be set, every required one must be present, values
have the declared types, and stream columns use `KnownColumnDefinitionType`.
Wrong variants must be rejected (the walker is really checking). It proves
the object has the REST API's shape; it cannot prove a deployment succeeds
(no Azure here). The transformation's KQL is checked by kusto_check.mjs.
"""

import json
import pathlib
import sys

from azure.mgmt.monitor import models
from azure.mgmt.monitor.models import KnownColumnDefinitionType

API_VERSION = "2023-03-11"
PRIMITIVES = {"str": str, "bool": bool, "int": int, "float": (int, float)}


def walk(type_name, value, where, problems):
    """Appends to `problems` what in `value` does not fit `type_name`."""
    if value is None:
        return
    if type_name.startswith("[") and type_name.endswith("]"):
        if not isinstance(value, list):
            problems.append(f"{where}: not an array")
            return
        for index, item in enumerate(value):
            walk(type_name[1:-1], item, f"{where}[{index}]", problems)
        return
    if type_name.startswith("{") and type_name.endswith("}"):
        if not isinstance(value, dict):
            problems.append(f"{where}: not an object")
            return
        for key, item in value.items():
            walk(type_name[1:-1], item, f"{where}.{key}", problems)
        return
    if type_name in PRIMITIVES:
        if not isinstance(value, PRIMITIVES[type_name]) or (
            type_name != "bool" and isinstance(value, bool)
        ):
            problems.append(f"{where}: {json.dumps(value)} is not {type_name}")
        return
    if type_name == "object":
        return
    model = getattr(models, type_name, None)
    if model is None:
        problems.append(f"{where}: the model has no type {type_name}")
        return
    if not isinstance(value, dict):
        problems.append(f"{where}: not an object")
        return
    walk_model(model, value, where, problems)


def walk_model(model, value, where, problems):
    attributes = model._attribute_map
    validation = getattr(model, "_validation", {})
    known = set()
    for attribute, spec in attributes.items():
        path = spec["key"].replace("\\.", "\0").split(".")
        path = [part.replace("\0", ".") for part in path]
        for depth in range(1, len(path)):
            known.add(tuple(path[:depth]))
        known.add(tuple(path))
        item = value
        for part in path:
            item = item.get(part) if isinstance(item, dict) else None
        rules = validation.get(attribute, {})
        at = f"{where}.{spec['key']}"
        if item is None:
            if rules.get("required"):
                problems.append(f"{at}: required")
            continue
        if rules.get("readonly"):
            problems.append(f"{at}: read-only, set by the service")
        walk(spec["type"], item, at, problems)

    def unknown(node, prefix):
        for key, item in node.items():
            path = prefix + (key,)
            if path not in known:
                problems.append(f"{where}.{'.'.join(path)}: not in {model.__name__}")
            elif isinstance(item, dict) and any(
                len(other) > len(path) and other[: len(path)] == path for other in known
            ):
                unknown(item, path)

    unknown(value, ())


def check_resource(resource, where):
    problems = []
    if resource.get("type") != "Microsoft.Insights/dataCollectionRules":
        problems.append(f"{where}: type {resource.get('type')}")
    if resource.get("apiVersion") != API_VERSION:
        problems.append(f"{where}: apiVersion {resource.get('apiVersion')}, not {API_VERSION}")
    if not resource.get("name"):
        problems.append(f"{where}: no name")
    body = {key: item for key, item in resource.items() if key not in ("type", "apiVersion", "name")}
    walk_model(models.DataCollectionRuleResource, body, where, problems)
    allowed = {member.value for member in KnownColumnDefinitionType}
    for stream, declaration in (resource.get("properties", {}).get("streamDeclarations") or {}).items():
        if not stream.startswith("Custom-"):
            problems.append(f"{where}: stream {stream} does not start with Custom-")
        for column in declaration.get("columns", []):
            if column.get("type") not in allowed:
                problems.append(f"{where}: stream column {column.get('name')}: type {column.get('type')}")
    return problems


def main():
    output = pathlib.Path(sys.argv[1])
    files = sorted((output / "dcr").glob("*.json"))
    if not files:
        sys.exit(f"FAIL {output}/dcr: no data collection rule emitted")
    failures = []
    resources = 0
    for file in files:
        template = json.loads(file.read_text())
        for resource in template["resources"]:
            resources += 1
            failures += check_resource(resource, file.name)
            # The walker must reject wrong variants of this very resource.
            wrong = json.loads(json.dumps(resource))
            wrong["properties"]["dataFlows"][0]["transformKQL"] = "source"
            variants = [wrong]
            wrong = json.loads(json.dumps(resource))
            wrong["properties"]["immutableId"] = "dcr-0"
            variants.append(wrong)
            wrong = json.loads(json.dumps(resource))
            del wrong["location"]
            variants.append(wrong)
            wrong = json.loads(json.dumps(resource))
            wrong["properties"]["dataFlows"][0]["streams"] = "Custom-X"
            variants.append(wrong)
            wrong = json.loads(json.dumps(resource))
            next(iter(wrong["properties"]["streamDeclarations"].values()))["columns"][0]["type"] = "ip"
            variants.append(wrong)
            for index, variant in enumerate(variants):
                if not check_resource(variant, f"{file.name} variant {index}"):
                    failures.append(f"{file.name}: the walker accepted wrong variant {index}")
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    if failures:
        sys.exit(f"{len(failures)} failure(s)")
    print(f"sentinel_kql: {resources} data collection rule(s) fit DataCollectionRuleResource ({API_VERSION}): 0 problems")


if __name__ == "__main__":
    main()
