"""Conformance: the JSON Schema that `tripline schema` prints is a valid draft
2020-12 schema for the reference implementation (the `jsonschema` package),
accepts every line of generated traffic, and rejects broken events.

usage: json_schema.py SCHEMA.json EVENTS.jsonl
"""

import json
import sys

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError


def main() -> int:
    schema_path, events_path = sys.argv[1], sys.argv[2]
    with open(schema_path, encoding="utf-8") as handle:
        schema = json.load(handle)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        print(f"{schema_path}: not a valid draft 2020-12 schema: {error.message}")
        return 1
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    accepted = 0
    with open(events_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            event = json.loads(line)
            errors = sorted(validator.iter_errors(event), key=lambda error: list(error.path))
            if errors:
                print(f"{events_path}:{number}: rejected: {errors[0].message}")
                return 1
            accepted += 1

    broken = [
        ({"event_type": "inference"}, "missing timestamp"),
        ({"timestamp": "2026-03-02T10:00:00Z"}, "missing event_type"),
        ({"timestamp": "2026-03-02T10:00:00Z", "event_type": "inference", "output_tokens": "many"}, "string tokens"),
        ({"timestamp": "yesterday", "event_type": "inference"}, "timestamp not RFC 3339"),
        ({"timestamp": "2026-03-02T10:00:00Z", "event_type": "tool_call", "status": "maybe"}, "status outside its values"),
        ({"timestamp": "2026-03-02T10:00:00Z", "event_type": "auth", "src_ip": "not-an-address"}, "src_ip not an address"),
        ({"timestamp": "2026-03-02T10:00:00Z", "event_type": "auth", "src_ip": "300.1.2.3"}, "src_ip out of range"),
    ]
    for event, why in broken:
        if validator.is_valid(event):
            print(f"the schema accepts a broken event ({why}): {json.dumps(event)}")
            return 1
    print(f"json schema conformance: {accepted} generated events accepted, {len(broken)} broken events rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
