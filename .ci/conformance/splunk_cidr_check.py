"""Agreement check: `in cidr` in splunk_spl against `tripline eval`.

Usage:
    python splunk_cidr_check.py TRIPLINE SCHEMA_PACK

Nothing offline runs Splunk. This check compiles the probe rules and the
address texts of `sql_cidr_check.py` (valid and invalid addresses of every
kind, white space around them, mapped and dotted forms, missing fields) for
`splunk_spl`, and runs each saved search's `eval` and `where` lines on every
event with `spl_eval.py`, an interpreter of the SPL functions the searches
use, as the search reference documents them, with real PCRE2. For each rule the events that
pass must be exactly those `tripline eval` alerts on. An empty text is left
out: Splunk drops empty JSON strings at extraction (a documented divergence
of the target, docs/targets.md), so there it is a missing field.

The check then proves it can fail: each of a few wrong spellings of the
address steps (octets not zero-padded, groups padded to three digits, IPv4
not written as IPv4-mapped, a network's prefix one digit short) must make
some text disagree.
"""

import json
import os
import random
import subprocess
import sys
import tempfile

# spl_eval.py and the probes live beside this script, which Python puts on the path.
import spl_eval
import sql_cidr_check as probes


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    tripline, schema = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    texts = probes.address_texts(random.Random(13), 4000)
    with tempfile.TemporaryDirectory() as scratch:
        events_path, by_id = probes.write_probes(scratch, schema, texts)
        expected = probes.evaluator_alerts(tripline, scratch, events_path, len(by_id))
        if expected is None:
            return 1
        with open(events_path, encoding="utf-8") as handle:
            events = {event["event_id"]: event for event in map(json.loads, handle)}
        for ref, text in by_id.items():
            if text == "":
                del events[ref]
                for ids in expected.values():
                    ids.discard(ref)
        out = os.path.join(scratch, "out")
        subprocess.run(
            [tripline, "compile", "--target=splunk_spl", "--out", out],
            cwd=scratch,
            check=True,
            capture_output=True,
        )
        conf_path = os.path.join(out, "splunk_spl")
        app = os.listdir(conf_path)[0]
        with open(os.path.join(conf_path, app, "default", "savedsearches.conf"), encoding="utf-8") as handle:
            conf = handle.read()
        ok = agree(conf, events, expected, verbose=True)
        for wrong, right in MUTANTS:
            if right not in conf:
                print(f"mutant {wrong!r}: {right!r} is not in the searches")
                return 1
            if agree(conf.replace(right, wrong), events, expected, verbose=False):
                print(f"mutant {wrong!r} (for {right!r}) agrees with the evaluator: the check is blind to it")
                ok = False
            else:
                print(f"mutant {wrong!r} (for {right!r}) disagrees, as it must")
    return 0 if ok else 1


# Wrong spellings of the address steps, each with the text it replaces.
MUTANTS = [
    ('"%x%x:%x%x"', '"%02x%02x:%02x%02x"'),
    ('"00\\\\1"', '"000\\\\1"'),
    ('"::")', '"::ffff:")'),
    ("|00000000000000000000ffff0|", "|00000000000000000000ffff0a|"),
]


def agree(conf, events, expected, verbose):
    """Whether every probe's search passes exactly the evaluator's events."""
    ok = True
    for rule_id in probes.RULES:
            lines = spl_eval.search_lines(conf, f"Tripline - {rule_id}")
            if not any(line.startswith("| eval ") and "_hex = " in line for line in lines):
                print(f"{rule_id}: the search computes no address: {lines[:2]}")
                return False
            actual = set()
            for ref, event in events.items():
                fields = {key: value for key, value in event.items() if value is not None}
                try:
                    passed = spl_eval.run(lines, fields)
                except spl_eval.Ambiguous as problem:
                    if verbose:
                        print(f"AMBIGUOUS {rule_id} {ref} {json.dumps(event.get('target_ip'))}: {problem}")
                    ok = False
                    continue
                if passed:
                    actual.add(ref)
            wrong = sorted(expected[rule_id] ^ actual, key=lambda ref: int(ref[1:]))
            ok &= not wrong
            if not verbose:
                if wrong:
                    return False
                continue
            for ref in wrong[:20]:
                side = "evaluator only" if ref in expected[rule_id] else "search only"
                print(f"DISAGREE {rule_id} {ref} {json.dumps(events[ref].get('target_ip'))}: {side}")
            print(
                f"splunk_spl: {rule_id}: {len(actual)} of {len(events)} texts alerted, "
                f"evaluator {len(expected[rule_id])}, {len(wrong)} disagreements"
            )
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv))
