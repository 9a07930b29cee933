"""Agreement check: `in cidr` in duckdb_sql and spark_sql against `tripline eval`.

Usage:
    python sql_cidr_check.py TRIPLINE SCHEMA_PACK [TARGET...]

Writes a content repository with four rules on `tool_call.target_ip` (`in
cidr`, `not in cidr`, `not (... in cidr)` and one on networks that cover
IPv4-mapped space from the IPv6 side), and a few thousand events whose
`target_ip` texts are valid and invalid addresses of every kind: IPv4, IPv6
with `::` at every position, mapped and compatible forms, a dotted tail,
upper case, leading zeros, too many groups, five-digit groups, zones,
brackets, Unicode white space around (U+00A0, U+2003, U+0085) and inside,
characters that are not white space (U+200B, U+FEFF), non-ASCII digits,
empty texts and missing fields. Each target (default: both) compiles the
rules and runs them through its own run.py on the events; for each rule the
events it alerts on must be exactly those `tripline eval` alerts on. Any
difference fails, printing the texts the two sides disagree on.
"""

import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile

NETWORKS = [
    "127.0.0.0/8",
    "169.254.0.0/16",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "0.0.0.0/8",
    "203.0.113.7/32",
    "::1/128",
    "fe80::/10",
    "fc00::/7",
    "2001:db8:85a3::/48",
]
# IPv6 networks that reach into ::ffff:0:0/96, so IPv4 texts fall in them.
MAPPED_NETWORKS = ["::ffff:100.64.0.0/106", "::ffff:8.8.8.8/128", "::/3", "ff00::/8"]


def rule(rule_id, test):
    return f"""rule {rule_id} {{
  title: "cidr probe {rule_id}"
  description: "An address test the SQL targets must answer as the evaluator does."
  severity: low
  category: behavioral
  guide: "A conformance probe."
  match tool_call where {test}
}}
"""


def networks(items):
    return ", ".join(json.dumps(item) for item in items)


RULES = {
    "probe.cidr.in": f"target_ip in cidr({networks(NETWORKS)})",
    "probe.cidr.not_in": f"target_ip not in cidr({networks(NETWORKS)})",
    "probe.cidr.negated": f"not (target_ip in cidr({networks(NETWORKS)}))",
    "probe.cidr.mapped": f"target_ip in cidr({networks(MAPPED_NETWORKS)})",
}

SPACES = ["\u00a0", "\u2003", "\u0085", " ", "\t", "\n", "\u3000", "\u2028"]
NOT_SPACES = ["\u200b", "\ufeff", "\u180e"]


def ipv4(rng):
    first = rng.choice([10, 127, 169, 172, 192, 0, 203, 100, 8, rng.randrange(256)])
    second = {169: 254, 192: 168, 172: rng.randrange(10, 40), 100: rng.randrange(60, 70)}.get(
        first, rng.randrange(256)
    )
    return [first, second, rng.randrange(256), rng.choice([0, 1, 7, 255, rng.randrange(256)])]


def ipv6_groups(rng):
    kind = rng.randrange(6)
    if kind == 0:
        head = [0xFE80 + rng.randrange(0x40)]
    elif kind == 1:
        head = [0xFC00 + rng.randrange(0x200)]
    elif kind == 2:
        head = [0x2001, 0xDB8, 0x85A3 + rng.randrange(2)]
    elif kind == 3:
        head = [0, 0, 0, 0, 0, 0, 0]
    elif kind == 4:
        head = [rng.choice([0x1FFF, 0x2000, 0x3FFF, 0xFF00, 0xFEFF])]
    else:
        head = []
    groups = head + [rng.choice([0, 0, 1, rng.randrange(0x10000)]) for _ in range(8 - len(head))]
    return groups[:8]


def written_group(rng, value):
    text = format(value, "x")
    if rng.random() < 0.2:
        text = text.zfill(rng.randrange(len(text), 5))
    if rng.random() < 0.3:
        text = text.upper()
    return text


def ipv6_text(rng, groups, dotted=False):
    words = [written_group(rng, value) for value in groups]
    if dotted:
        low = (groups[6] << 16) | groups[7]
        quad = ".".join(str((low >> shift) & 0xFF) for shift in (24, 16, 8, 0))
        words = words[:6] + [quad]
    count = len(words)
    # `::` for a run of groups at any position (never for a dotted tail).
    form = rng.randrange(3)
    if form == 0:
        return ":".join(words)
    limit = 6 if dotted else 8
    start = rng.randrange(0, limit + 1)
    length = rng.randrange(1, limit - start + 1) if start < limit else 0
    if length == 0:
        return ":".join(words)
    if form == 2 and any(groups[start : start + length]):
        # Only zero groups may be left out for the text to stay the address.
        pass
    return ":".join(words[:start]) + "::" + ":".join(words[start + length : count])


def address_texts(rng, count):
    texts = [
        "",
        " ",
        "::",
        ":::",
        "::1",
        "::0.0.0.0",
        "::ffff:10.1.2.3",
        "::FFFF:10.1.2.3",
        "::ffff:a01:203",
        "::ffff:0a01:0203",
        "0:0:0:0:0:ffff:10.1.2.3",
        "::10.1.2.3",
        "1::10.1.2.3",
        "fe80::1%eth0",
        "[::1]",
        "[10.0.0.1]",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7::",
        "::1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8::",
        "12345::",
        "::12345",
        "1::2::3",
        "::1.2.3",
        "1.2.3",
        "1.2.3.4.5",
        "010.0.0.1",
        "10.0.0.01",
        "256.0.0.1",
        "10.0.0.256",
        "10.0.0.1/8",
        "10.0.0.1:80",
        "+10.0.0.1",
        "10.0.0.1 x",
        "１０.0.0.1",
        "١٠.0.0.1",
        "10.0.0.١",
        "fe80::ｆ",
        "g::1",
        "FE80::ABCD",
        "fe80:0000:0000:0000:0000:0000:0000:0001",
        "fe80:00000::1",
        "::ffff:999.1.1.1",
        "::ffff:1.2.3.4:5",
        "1.2.3.4::",
        "ffff::1.2.3.4",
        "203.0.113.7",
        "203.0.113.8",
        "::ffff:203.0.113.7",
        "8.8.8.8",
        "::ffff:8.8.8.8",
        "100.64.0.1",
        "100.127.255.255",
        "100.128.0.0",
    ]
    while len(texts) < count:
        pick = rng.randrange(10)
        if pick < 3:
            text = ".".join(str(octet) for octet in ipv4(rng))
        elif pick < 6:
            text = ipv6_text(rng, ipv6_groups(rng))
        elif pick == 6:
            octets = ipv4(rng)
            groups = [0, 0, 0, 0, 0, 0xFFFF, (octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]]
            text = ipv6_text(rng, groups, dotted=rng.random() < 0.6)
        elif pick == 7:
            # A valid text made invalid by one edit.
            base = rng.choice(texts)
            edit = rng.randrange(6)
            if edit == 0:
                text = base + rng.choice(["%eth0", "%1", ":", ".", ":0", "0"])
            elif edit == 1:
                text = "[" + base + "]"
            elif edit == 2:
                text = "0" + base
            elif edit == 3 and base:
                position = rng.randrange(len(base))
                text = base[:position] + rng.choice(NOT_SPACES + SPACES) + base[position:]
            elif edit == 4:
                text = base.replace("::", ":", 1)
            else:
                text = base + ":" + base
        elif pick == 8:
            text = ipv6_text(rng, ipv6_groups(rng), dotted=True)
        else:
            text = rng.choice(texts)
        if rng.random() < 0.25:
            text = "".join(rng.choice(SPACES) for _ in range(rng.randrange(1, 3))) + text
        if rng.random() < 0.25:
            text = text + "".join(rng.choice(SPACES) for _ in range(rng.randrange(1, 3)))
        if rng.random() < 0.03:
            text = rng.choice(NOT_SPACES) + text
        texts.append(text)
    return texts


def load_runner(directory, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(directory, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_probes(scratch, schema, texts):
    """Writes a content repository with the probe rules into `scratch`, and
    events.jsonl: one `tool_call` per text (two more without `target_ip`,
    one of them `null`). Returns the events file and each event's text by id."""
    os.makedirs(os.path.join(scratch, "rules"))
    with open(os.path.join(scratch, "tripline.yaml"), "w", encoding="utf-8") as handle:
        handle.write(f"packs: [{json.dumps(schema)}]\nrules: [rules]\n")
    with open(os.path.join(scratch, "rules", "probes.tdl"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(rule(rule_id, test) for rule_id, test in RULES.items()))
    events_path = os.path.join(scratch, "events.jsonl")
    by_id = {}
    with open(events_path, "w", encoding="utf-8") as handle:
        for number, text in enumerate(texts + [None, None]):
            event = {
                "event_id": f"e{number}",
                "timestamp": f"2026-03-03T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}Z",
                "event_type": "tool_call",
                "session_id": "s1",
                "tool_name": "http_get",
            }
            if text is not None:
                event["target_ip"] = text
            elif number % 2:
                event["target_ip"] = None
            by_id[event["event_id"]] = text
            handle.write(json.dumps(event) + "\n")
    return events_path, by_id


def evaluator_alerts(tripline, scratch, events_path, count):
    """The ids of the events `tripline eval` alerts on, per probe rule; None
    (after saying why) when a rule alerts on none or on all of `count`."""
    evaluated = subprocess.run(
        [tripline, "eval", "--events", events_path],
        cwd=scratch,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    expected = {rule_id: set() for rule_id in RULES}
    for line in evaluated.splitlines():
        if line.strip():
            alert = json.loads(line)
            expected[alert["rule_id"]].update(alert["event_ids"])
    for rule_id, ids in expected.items():
        if not ids or len(ids) == count:
            print(f"the evaluator alerts on {len(ids)} of {count} events for {rule_id}: no test")
            return None
    return expected


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    tripline, schema = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    targets = argv[3:] or ["duckdb_sql", "spark_sql"]
    rng = random.Random(13)
    texts = address_texts(rng, 4000)
    with tempfile.TemporaryDirectory() as scratch:
        events_path, by_id = write_probes(scratch, schema, texts)
        expected = evaluator_alerts(tripline, scratch, events_path, len(by_id))
        if expected is None:
            return 1
        out = os.path.join(scratch, "out")
        subprocess.run(
            [tripline, "compile", *(f"--target={target}" for target in targets), "--out", out],
            cwd=scratch,
            check=True,
            capture_output=True,
        )
        ok = True
        for target in targets:
            runner = load_runner(os.path.join(out, target), f"runner_{target}")
            actual = {rule_id: set() for rule_id in RULES}
            for alert in runner.alerts([events_path]):
                actual[alert["rule_id"]].update(alert["event_ids"])
            for rule_id in RULES:
                wrong = sorted(expected[rule_id] ^ actual[rule_id], key=lambda ref: int(ref[1:]))
                for ref in wrong[:20]:
                    side = "evaluator only" if ref in expected[rule_id] else "runner only"
                    print(f"DISAGREE {target} {rule_id} {ref} {json.dumps(by_id[ref])}: {side}")
                ok &= not wrong
                print(
                    f"{target}: {rule_id}: {len(actual[rule_id])} of {len(by_id)} texts alerted, "
                    f"evaluator {len(expected[rule_id])}, {len(wrong)} disagreements"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
