"""Write a tie-heavy variant of generated traffic, for the SQL conformance.

Usage: tie_traffic.py IN.jsonl OUT.jsonl

Timestamps are cut to whole seconds (many events share one), two events in
three lose their `event_id`, and the lines are shuffled (seeded) within
blocks of ten seconds, inside the evaluator's default lateness. The
evaluator and the SQL runners must then agree on the processing order of
equal timestamps: by `event_id`, and for events without one by the MD5
digest of the line; the order of the lines in the file must not matter.
"""

import json
import random
import sys


def main(source, target):
    shuffle = random.Random(7)
    blocks = {}
    with open(source, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if not line.strip():
                continue
            event = json.loads(line)
            event["timestamp"] = event["timestamp"][:19] + "Z"
            if number % 3:
                event.pop("event_id", None)
            blocks.setdefault(event["timestamp"][:18], []).append(event)
    with open(target, "w", encoding="utf-8") as out:
        for key in blocks:
            block = blocks[key]
            shuffle.shuffle(block)
            for event in block:
                out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
