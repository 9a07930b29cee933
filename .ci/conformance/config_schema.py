"""The shipped tripline.yaml schema under an independent validator.

Input: docs/tripline.schema.json and tripline.yaml files. Output: exit 0 when
the schema is a valid draft 2020-12 schema, every given file conforms to it,
and the deliberately broken variants of the first file do not (so the check
can fail); otherwise the problems, and exit 1.
"""

import copy
import json
import sys
from pathlib import Path

import jsonschema
import yaml


def main():
    schema = json.loads(Path(sys.argv[1]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    documents = []
    for name in sys.argv[2:]:
        document = yaml.safe_load(Path(name).read_text())
        documents.append(document)
        for error in validator.iter_errors(document):
            problems.append(f"{name}: {'/'.join(map(str, error.path))}: {error.message}")
    first = documents[0]
    broken = {
        "a misspelt top-level key": {**first, "parmas": {}},
        "a lookup with both extend and replace": {
            **first,
            "lookups": {"x": {"extend": "a.csv", "replace": "b.csv"}},
        },
        "an empty data source": {**first, "mappings": {"sigma": {"data_source": []}}},
        "neither packs nor rules": {
            key: value for key, value in first.items() if key not in ("packs", "rules")
        },
    }
    for label, document in broken.items():
        if validator.is_valid(copy.deepcopy(document)):
            problems.append(f"the schema accepts {label}")
    for problem in problems:
        print(problem)
    print(f"config_schema: {len(documents)} file(s) conform, {len(broken)} broken variants rejected"
          if not problems else f"config_schema: {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
