"""Every Lucene regex the Elastic targets emit can be built by Lucene.

Elasticsearch turns the pattern of EQL's `regex` / `regex~` and of ES|QL's
`RLIKE` into a Lucene automaton and determinizes it with Lucene's default
work limit; a pattern over the limit fails the query with
TooComplexToDeterminizeException, so the rule never runs. The compiler
refuses such patterns by an estimate (src/targets/lucene/effort.rs); this
check runs every emitted pattern through Lucene itself (LuceneCheck.java).

Usage: lucene_check.py CLASSPATH WORKDIR COMPILE_DIR...

Each COMPILE_DIR is a `tripline compile` output directory of elastic_eql or
elastic_esql. The regexes are read from the query files (`queries/*.eql`,
`queries/*.esql`) and from the `query` of every NDJSON rule object; every
`regex`/`RLIKE` in them must yield its string literals, so a form this
script does not know fails the check instead of going unchecked. A control
regex that Lucene refuses (the shape the compiler refuses) must fail, so
the check can fail.
"""

import glob
import json
import os
import re
import subprocess
import sys

# Lucene 9.9.1 refuses this one (a key of exactly 35 characters after `.*`).
CONTROL = r"(.*[^0-9A-Z_a-z])?AIza[\-0-9A-Z\_a-z]{35}(([^\-0-9A-Z\_a-z]).*)?"

# A string literal of either language: triple-quoted (raw) or escaped.
STRING = r'"""(?:.|\n)*?"""|"(?:[^"\\\n]|\\.)*"'
EQL_REGEX = re.compile(r"\bregex(~?)\s*(\((?:\s*(?:" + STRING + r")\s*,?)+\s*\)|" + STRING + ")")
ESQL_REGEX = re.compile(r"\bRLIKE\s+(" + STRING + r"|\((?:\s*(?:" + STRING + r")\s*,?)+\s*\))")


def unescape(literal, eql):
    """The value of a string literal: triple-quoted ones are raw."""
    if literal.startswith('"""'):
        return literal[3:-3]
    body = literal[1:-1]
    out = []
    index = 0
    while index < len(body):
        character = body[index]
        if character != "\\":
            out.append(character)
            index += 1
            continue
        escaped = body[index + 1]
        if escaped == "u" and eql and body[index + 2] == "{":
            end = body.index("}", index)
            out.append(chr(int(body[index + 3 : end], 16)))
            index = end + 1
        elif escaped == "u":
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        else:
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(escaped, escaped))
            index += 2
    return "".join(out)


def regexes(query, eql):
    """(fold, regex) of every regex test in a query; fails on one it cannot read."""
    pattern = EQL_REGEX if eql else ESQL_REGEX
    keyword = r"\bregex~?(?=\s*[(\"])" if eql else r"\bRLIKE\b"
    found = []
    matches = list(pattern.finditer(query))
    if len(matches) != len(re.findall(keyword, query)):
        raise SystemExit(f"error: a regex test this check cannot read in:\n{query[:400]}")
    for match in matches:
        fold = eql and match.group(1) == "~"
        literals = match.group(2) if eql else match.group(1)
        for literal in re.findall(STRING, literals):
            found.append((fold, unescape(literal, eql)))
    return found


def queries(directory):
    """(label, is EQL, query text) of a compile output directory."""
    for path in sorted(glob.glob(os.path.join(directory, "queries", "*"))):
        if path.endswith((".eql", ".esql")):
            with open(path, encoding="utf-8", newline="") as handle:
                yield path, path.endswith(".eql"), handle.read()
    ndjson = os.path.join(directory, "rules.ndjson")
    if os.path.exists(ndjson):
        with open(ndjson, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                rule = json.loads(line)
                if "query" in rule:
                    yield f"{ndjson}:{number}", rule.get("language") == "eql", rule["query"]


def main():
    classpath, workdir, directories = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(workdir, exist_ok=True)
    seen = {}
    for directory in directories:
        for label, eql, text in queries(directory):
            for fold, regex in regexes(text, eql):
                seen.setdefault((fold, regex), label)
    if not seen:
        raise SystemExit("error: no regex found; the check would prove nothing")

    def run(entries, name):
        path = os.path.join(workdir, name)
        with open(path, "w", encoding="utf-8") as handle:
            for label, fold, regex in entries:
                handle.write(f"{label}\t{1 if fold else 0}\t{regex.encode('utf-8').hex()}\n")
        return subprocess.run(
            ["java", "-cp", classpath, "LuceneCheck", path], capture_output=True, text=True
        )

    control = run([("control", False, CONTROL)], "control.txt")
    if control.returncode != 1 or "FAIL\tcontrol" not in control.stdout:
        raise SystemExit(f"error: Lucene accepted the control regex:\n{control.stdout}{control.stderr}")
    result = run([(label, fold, regex) for (fold, regex), label in seen.items()], "regexes.txt")
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit("error: Elasticsearch would fail the queries above (TooComplexToDeterminizeException)")
    print(f"{len(seen)} distinct regexes of {', '.join(directories)}: every one determinizes; the control fails")


if __name__ == "__main__":
    main()
