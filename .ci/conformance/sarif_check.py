"""Validates SARIF logs written by `tripline check --sarif` and `tripline test --sarif`
against the published SARIF 2.1.0 JSON Schema (draft-04), and checks that the logs
carry results where the run had findings.

usage: sarif_check.py SCHEMA LOG[:MIN_RESULTS] ...
"""

import json
import sys

import jsonschema


def main() -> int:
    schema_path, *logs = sys.argv[1:]
    with open(schema_path, encoding="utf-8") as handle:
        schema = json.load(handle)
    validator = jsonschema.Draft4Validator(schema)
    failed = False
    for argument in logs:
        path, _, minimum = argument.partition(":")
        with open(path, encoding="utf-8") as handle:
            log = json.load(handle)
        errors = sorted(validator.iter_errors(log), key=lambda error: list(error.path))
        for error in errors[:20]:
            where = "/".join(str(part) for part in error.path)
            print(f"{path}: /{where}: {error.message}")
        results = sum(len(run.get("results", [])) for run in log.get("runs", []))
        if minimum and results < int(minimum):
            print(f"{path}: {results} results, expected at least {minimum}")
            failed = True
        for run in log.get("runs", []):
            ids = {rule["id"] for rule in run["tool"]["driver"].get("rules", [])}
            for result in run.get("results", []):
                if result["ruleId"] not in ids:
                    print(f"{path}: result rule {result['ruleId']} has no descriptor")
                    failed = True
                for location in result.get("locations", []):
                    uri = location["physicalLocation"]["artifactLocation"]["uri"]
                    if uri.startswith("/") or "\\" in uri:
                        print(f"{path}: location {uri} is not a relative URI")
                        failed = True
        failed = failed or bool(errors)
        print(f"{path}: {'INVALID' if errors else 'valid'} SARIF 2.1.0, {results} results")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
