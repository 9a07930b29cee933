"""A small interpreter of SPL `eval` and `where` expressions, for agreement checks.

Nothing offline runs Splunk, so the checks that use this module hold an emitted
search's expressions to the evaluator by running them here. It covers only the
functions tripline's address steps and tests use, each as the search reference
documents it:

- text: `len`, `lower`, `replace` (PCRE, every match, `\\1` group references),
  `substr` (1-based start, length), `like` (`%` and `_`), `match` (a match
  anywhere);
- conversion: `tonumber`, `printf` (C's flags, widths and `%x`);
- multivalue: `split`, `mvindex` (0-based, null out of range);
- comparison and conditional: `if`, `case`, `isnull`, `isnotnull`, `true`,
  `false`, `null`;
- operators: `.` (concatenation), `+ - * / %`, `== = != < > <= >=`, `AND`, `OR`,
  `NOT`, parentheses.

Null is Python's None. A function of a null argument is null, as in Splunk.
`where` keeps the results whose expression is TRUE, so a null there drops
the result; `AND` with a null operand is null unless the other is false. A
null that reaches `NOT`, `OR` (beside anything but false) or the condition
of an `if` whose branches differ raises `Ambiguous`: the search reference
does not say what SPL makes of it, so an emitted search must never depend
on it.

Patterns run on real PCRE2 (10.47), through the PyPI `pcre2` package (0.7.1),
compiled as Splunk compiles them: without Unicode properties (UCP), so `\\b`
and `\\w` are ASCII, with `\\x{...}` escapes, and in UTF mode (the package's
`str` patterns; tripline writes `(*UTF)` where it matters). The package's
public `compile` always adds UCP and Python's `\\uhhhh` syntax, so the
compiled code is made with its lower-level `_cy.compile`, those two options
turned off.
"""

import functools
import math
import os
import re


# The time `now()` returns: the scheduled run's time, set by `run_search`.
NOW = [None]


class Ambiguous(Exception):
    """A null reached a place whose meaning SPL does not document."""


TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<quoted>'[^']*')
    | (?P<number>\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|[=<>()+\-*/%.,])
    )""",
    re.VERBOSE,
)


def tokenize(text):
    tokens = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = TOKEN.match(text, position)
        if not found:
            raise SyntaxError(f"cannot read SPL at {text[position:position + 40]!r}")
        position = found.end()
        kind = found.lastgroup
        value = found.group(kind)
        if kind == "string":
            value = unquote(value)
        elif kind == "quoted":
            kind, value = "name", value[1:-1]
        elif kind == "number":
            value = float(value) if "." in value else int(value)
        elif kind == "name" and value in ("AND", "OR", "NOT"):
            kind = "op"
        tokens.append((kind, value))
    return tokens


def unquote(literal):
    """An SPL string literal's value: `\\\\` is a backslash and `\\"` a quote;
    any other backslash stays, with the character after it."""
    body = literal[1:-1]
    out = []
    index = 0
    while index < len(body):
        character = body[index]
        if character == "\\" and index + 1 < len(body) and body[index + 1] in "\\\"":
            out.append(body[index + 1])
            index += 2
        else:
            out.append(character)
            index += 1
    return "".join(out)


try:
    import pcre2
    from pcre2 import _cy
except ImportError:  # pragma: no cover - the checks install it
    pcre2 = None

# PCRE2_UCP and PCRE2_ALT_BSUX (pcre2.h: 0x00020000 and 0x00000002).
SPLUNK_OFF = 0x00020000 | 0x00000002


@functools.lru_cache(maxsize=None)
def pcre(pattern):
    """A PCRE pattern compiled by PCRE2 as Splunk compiles it."""
    if pcre2 is None:
        raise SystemExit("spl_eval needs the PyPI package pcre2==0.7.1 (real PCRE2)")
    return pcre2.Pattern(_cy.compile(pattern, 0, SPLUNK_OFF), pattern, 0, False, None)


class Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None)

    def take(self, value=None):
        token = self.peek()
        if value is not None and token[1] != value:
            raise SyntaxError(f"expected {value!r}, found {token[1]!r}")
        self.index += 1
        return token

    def done(self):
        return self.index >= len(self.tokens)

    def expression(self):
        return self.disjunction()

    def disjunction(self):
        left = self.conjunction()
        while self.peek() == ("op", "OR"):
            self.take()
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self):
        left = self.negation()
        while self.peek() == ("op", "AND"):
            self.take()
            left = ("and", left, self.negation())
        return left

    def negation(self):
        if self.peek() == ("op", "NOT"):
            self.take()
            return ("not", self.negation())
        return self.comparison()

    def comparison(self):
        left = self.additive()
        if self.peek()[0] == "op" and self.peek()[1] in ("==", "=", "!=", "<", ">", "<=", ">="):
            operator = self.take()[1]
            return ("compare", operator, left, self.additive())
        return left

    def additive(self):
        left = self.multiplicative()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-", "."):
            operator = self.take()[1]
            left = ("arith", operator, left, self.multiplicative())
        return left

    def multiplicative(self):
        left = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "%"):
            operator = self.take()[1]
            left = ("arith", operator, left, self.unary())
        return left

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return ("arith", "-", ("const", 0), self.unary())
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind in ("string", "number"):
            return ("const", value)
        if kind == "op" and value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take()
                arguments = []
                if self.peek() != ("op", ")"):
                    arguments.append(self.expression())
                    while self.peek() == ("op", ","):
                        self.take()
                        arguments.append(self.expression())
                self.take(")")
                return ("call", value, arguments)
            return ("field", value)
        raise SyntaxError(f"unexpected {value!r}")


def parse_where(text):
    parser = Parser(text)
    tree = parser.expression()
    if not parser.done():
        raise SyntaxError(f"trailing SPL after the expression: {parser.peek()}")
    return tree


def parse_eval(text):
    """`name = expression, ...` as a list of (name, tree)."""
    parser = Parser(text)
    assignments = []
    while True:
        kind, name = parser.take()
        if kind != "name":
            raise SyntaxError(f"expected a field name, found {name!r}")
        parser.take("=")
        assignments.append((name, parser.expression()))
        if parser.done():
            return assignments
        parser.take(",")


def truth(value):
    if value is None:
        raise Ambiguous("a null in a boolean context")
    if not isinstance(value, bool):
        raise Ambiguous(f"a non-boolean {value!r} in a boolean context")
    return value


def passes(value):
    """`where` keeps the results whose expression is TRUE; null is not."""
    return False if value is None else truth(value)


def like_pattern(pattern):
    parts = []
    for character in pattern:
        parts.append(".*" if character == "%" else "." if character == "_" else re.escape(character))
    return re.compile("".join(parts), re.DOTALL)


def printf(form, arguments):
    if any(argument is None for argument in arguments):
        return None
    return form % tuple(arguments)


def evaluate(tree, event):
    kind = tree[0]
    if kind == "const":
        return tree[1]
    if kind == "field":
        return event.get(tree[1])
    if kind == "and":
        # Null AND anything is never TRUE, whatever SPL's three-valued
        # logic: it is null here, and only `where` and `if` read it.
        left = evaluate(tree[1], event)
        if left is False:
            return False
        right = evaluate(tree[2], event)
        if right is False:
            return False
        if left is None or right is None:
            return None
        return truth(left) and truth(right)
    if kind == "or":
        left, right = evaluate(tree[1], event), evaluate(tree[2], event)
        if left is None or right is None:
            if left is False or right is False:
                return None
            raise Ambiguous("OR of a null and a value that is not false")
        return truth(left) or truth(right)
    if kind == "not":
        return not truth(evaluate(tree[1], event))
    if kind == "compare":
        _, operator, left, right = tree
        left, right = evaluate(left, event), evaluate(right, event)
        if left is None or right is None:
            return None
        if isinstance(left, str) != isinstance(right, str):
            raise Ambiguous(f"a comparison of {left!r} with {right!r}")
        return {
            "==": left == right,
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[operator]
    if kind == "arith":
        _, operator, left, right = tree
        left, right = evaluate(left, event), evaluate(right, event)
        if left is None or right is None:
            return None
        if operator == ".":
            return f"{left}{right}"
        if isinstance(left, str) or isinstance(right, str):
            raise Ambiguous(f"arithmetic on text: {left!r} {operator} {right!r}")
        return {
            "+": lambda: left + right,
            "-": lambda: left - right,
            "*": lambda: left * right,
            "/": lambda: left / right,
            "%": lambda: left % right,
        }[operator]()
    if kind == "call":
        return call(tree[1], tree[2], event)
    raise ValueError(kind)


def call(name, arguments, event):
    if name == "if":
        condition, then, otherwise = arguments
        decided = evaluate(condition, event)
        if decided is None:
            # Whatever SPL makes of a null condition, both branches agree.
            both = evaluate(then, event), evaluate(otherwise, event)
            if both[0] == both[1]:
                return both[0]
        return evaluate(then if truth(decided) else otherwise, event)
    if name == "mvmap":
        # The expression sees the field named by the first argument as each
        # of its values in turn.
        field = arguments[0]
        if field[0] != "field":
            raise SyntaxError("mvmap over an expression is not emulated")
        items = values_of(evaluate(field, event))
        mapped = []
        for item in items:
            scope = dict(event)
            scope[field[1]] = item
            value = evaluate(arguments[1], scope)
            if value is not None:
                mapped.extend(values_of(value))
        return mapped[0] if len(mapped) == 1 else (mapped or None)
    if name == "case":
        for index in range(0, len(arguments), 2):
            if truth(evaluate(arguments[index], event)):
                return evaluate(arguments[index + 1], event)
        return None
    values = [evaluate(argument, event) for argument in arguments]
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "null":
        return None
    if name == "isnull":
        return values[0] is None
    if name == "isnotnull":
        return values[0] is not None
    if name == "printf":
        return printf(values[0], values[1:])
    if name == "coalesce":
        return next((value for value in values if value is not None), None)
    if name == "now":
        return NOW[0]
    if name == "mvappend":
        items = []
        for value in values:
            if isinstance(value, list):
                items.extend(value)
            elif value is not None:
                items.append(value)
        return items[0] if len(items) == 1 else (items or None)
    if any(value is None for value in values):
        return None
    if name == "len":
        return len(values[0])
    if name == "floor":
        return math.floor(values[0])
    if name == "round":
        return round(values[0]) if len(values) == 1 else round(values[0], values[1])
    if name == "min":
        return min(values)
    if name == "md5":
        import hashlib

        return hashlib.md5(values[0].encode("utf-8")).hexdigest()
    if name == "mvcount":
        return len(values_of(values[0]))
    if name == "mvdedup":
        items = list(dict.fromkeys(values_of(values[0])))
        return items[0] if len(items) == 1 else (items or None)
    if name == "mvsort":
        items = sorted(values_of(values[0]), key=str)
        return items[0] if len(items) == 1 else (items or None)
    if name == "mvjoin":
        return values[1].join(str(item) for item in values_of(values[0]))
    if name == "exact":
        return values[0]
    if name == "lower":
        return values[0].lower()
    if name == "replace":
        text, pattern, replacement = values
        return pcre(pattern).sub(replacement, text)
    if name == "substr":
        text, start = values[0], values[1]
        end = None if len(values) < 3 else start - 1 + values[2]
        return text[start - 1 : end]
    if name == "like":
        return like_pattern(values[1]).fullmatch(values[0]) is not None
    if name == "match":
        return pcre(values[1]).search(values[0]) is not None
    if name == "tonumber":
        text = values[0]
        return int(text) if re.fullmatch(r"-?\d+", text) else None
    if name == "split":
        return values[0].split(values[1])
    if name == "mvindex":
        items = values[0] if isinstance(values[0], list) else [values[0]]
        index = values[1]
        if len(values) == 3:
            end = values[2]
            picked = items[index : end + 1] if 0 <= index <= end < len(items) else []
            return picked[0] if len(picked) == 1 else (picked or None)
        return items[index] if -len(items) <= index < len(items) else None
    raise NotImplementedError(f"the SPL function {name}() is not emulated")


def search_lines(conf_text, stanza):
    """The lines of a saved search's `search =` value in a savedsearches.conf
    (continuation backslashes joined), each starting with `|` or the macro."""
    lines = conf_text.split("\n")
    start = lines.index(f"[{stanza}]")
    value = []
    collecting = False
    for line in lines[start + 1 :]:
        if line.startswith("["):
            break
        if line.startswith("search = "):
            collecting = True
            line = line[len("search = ") :]
        if collecting:
            if line.endswith(" \\"):
                value.append(line[:-2])
            else:
                value.append(line)
                break
    return value


def read_lookups(app):
    """The rows of every lookup of a Splunk app, by transforms.conf stanza:
    (case_sensitive, [row dict, ...])."""
    import csv

    lookups = {}
    path = os.path.join(app, "default", "transforms.conf")
    if not os.path.exists(path):
        return lookups
    stanza, settings = None, {}
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n") + ["[]"]
    for line in lines:
        if line.startswith("["):
            if stanza and "filename" in settings:
                with open(os.path.join(app, "lookups", settings["filename"]), encoding="utf-8", newline="") as csv_file:
                    rows = list(csv.DictReader(csv_file))
                lookups[stanza] = (settings.get("case_sensitive_match", "1") == "1", rows)
            stanza, settings = line.strip("[]"), {}
        elif " = " in line:
            key, value = line.split(" = ", 1)
            settings[key.strip()] = value.strip()
    return lookups


LOOKUP = re.compile(r"\| lookup (\S+) (.+?) OUTPUT (.+)$")
PAIR = re.compile(r"(\S+)(?: AS (\S+))?(?:, |\s|$)")


def lookup(line, event, lookups):
    """`| lookup NAME field [AS event_field] ... OUTPUT field [AS event_field] ...`:
    the first row whose input fields equal the event's (compared as text,
    without regard to case unless the lookup is case-sensitive) writes its
    output fields; with no such row, or a null input, they are null."""
    found = LOOKUP.match(line)
    if not found:
        raise SyntaxError(f"cannot read the lookup command {line!r}")
    name, inputs, outputs = found.groups()
    inputs = [(m.group(1), m.group(2) or m.group(1)) for m in PAIR.finditer(inputs)]
    outputs = [(m.group(1), m.group(2) or m.group(1)) for m in PAIR.finditer(outputs)]
    case_sensitive, rows = lookups[name]
    values = [event.get(field) for _, field in inputs]
    match = None
    if all(value is not None for value in values):
        fold = (lambda text: text) if case_sensitive else str.lower
        for row in rows:
            if all(fold(row[column]) == fold(str(value)) for (column, _), value in zip(inputs, values)):
                match = row
                break
    for column, field in outputs:
        event[field] = None if match is None else match[column]


def run(lines, event, lookups=None):
    """Runs the `eval`, `lookup` and `where` lines of a search on one event
    (a dict of field values, changed in place); True when the event passes
    every `where`. The time-slot filter (it reads `_time` and `now()`) is
    skipped."""
    for line in lines:
        if line.startswith("| eval "):
            for name, tree in parse_eval(line[len("| eval ") :]):
                event[name] = evaluate(tree, event)
        elif line.startswith("| lookup "):
            if lookups is None:
                raise SyntaxError("the search reads a lookup and no app was given")
            lookup(line, event, lookups)
        elif line.startswith("| where ") and "_time" not in line:
            if not passes(evaluate(parse_where(line[len("| where ") :]), event)):
                return False
    return True


STATS = re.compile(r"\| stats (.+) by (.+)$")
AGGREGATE = re.compile(r"(count|dc|sum|values|min|max|avg)(?:\((\w+)\))?(?: AS (\w+))?$")


def values_of(value):
    """A field's values: a multivalue field's list, a single value, or none."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def stats(line, rows):
    """`| stats AGG [AS name], ... by f, ...`: one row per combination of
    the by-fields' values (a multivalue field puts a row in the group of
    each of its values; a row without a by-field is in no group)."""
    found = STATS.match(line)
    if not found:
        raise SyntaxError(f"cannot read the stats command {line!r}")
    aggregates = []
    for text in found.group(1).split(", "):
        parsed = AGGREGATE.match(text.strip())
        if not parsed:
            raise SyntaxError(f"the aggregate {text!r} is not emulated")
        function, field, name = parsed.groups()
        aggregates.append((function, field, name or (f"{function}({field})" if field else function)))
    by = [field.strip() for field in found.group(2).split(",")]
    groups = {}
    for row in rows:
        keys = [[]]
        for field in by:
            keys = [key + [value] for key in keys for value in dict.fromkeys(values_of(row.get(field)))]
        for key in keys:
            groups.setdefault(tuple(key), []).append(row)
    out = []
    for key, members in groups.items():
        result = dict(zip(by, key))
        for function, field, name in aggregates:
            items = [] if field is None else [item for member in members for item in values_of(member.get(field))]
            if function == "count":
                result[name] = len(members) if field is None else len(items)
            elif function == "dc":
                result[name] = len({str(item) for item in items})
            elif function == "sum":
                numbers = [item for item in items if isinstance(item, (int, float))]
                result[name] = sum(numbers) if numbers else None
            elif function == "values":
                distinct = sorted({str(item) for item in items})
                result[name] = None if not distinct else distinct[0] if len(distinct) == 1 else distinct
            else:
                numbers = [item for item in items if isinstance(item, (int, float))]
                if not numbers:
                    result[name] = None
                elif function == "min":
                    result[name] = min(numbers)
                elif function == "max":
                    result[name] = max(numbers)
                else:
                    result[name] = sum(numbers) / len(numbers)
        out.append(result)
    return out


def run_search(lines, events, now, lookups=None):
    """Runs a search's lines after its first (the data source and event-type
    terms, which the exact `where` repeats) over `events` (dicts with
    `_time` in seconds) as a run at `now` does; returns the result rows.
    The dispatch window is the caller's to apply."""
    NOW[0] = now
    rows = [dict(event) for event in events]
    for line in lines[1:]:
        if line.startswith("| eval "):
            assignments = parse_eval(line[len("| eval ") :])
            for row in rows:
                for name, tree in assignments:
                    row[name] = evaluate(tree, row)
        elif line.startswith("| where "):
            tree = parse_where(line[len("| where ") :])
            rows = [row for row in rows if passes(evaluate(tree, row))]
        elif line.startswith("| where-not "):
            # Not SPL: the checks' opposite of a `where`, the results it drops.
            tree = parse_where(line[len("| where-not ") :])
            rows = [row for row in rows if not passes(evaluate(tree, row))]
        elif line.startswith("| lookup "):
            for row in rows:
                lookup(line, row, lookups)
        elif line.startswith("| stats "):
            rows = stats(line, rows)
        elif line.startswith("| eventstats "):
            rows = eventstats(line, rows)
        elif line.startswith("| sort 0 "):
            rows = sort(line[len("| sort 0 ") :], rows)
        elif line.startswith("| accum "):
            accum(line[len("| accum ") :], rows)
        elif line.startswith("| autoregress "):
            autoregress(line[len("| autoregress ") :], rows)
        elif line.startswith("| mvexpand "):
            field = line[len("| mvexpand ") :].strip()
            rows = [dict(row, **{field: item}) for row in rows for item in values_of(row.get(field))]
        elif line.startswith("| filldown "):
            for field in line[len("| filldown ") :].split():
                previous = None
                for row in rows:
                    if row.get(field) is None:
                        row[field] = previous
                    previous = row.get(field)
        elif line.startswith("| fields ") and not line.startswith("| fields - "):
            keep = [field.strip() for field in line[len("| fields ") :].split(",")]
            rows = [{field: row[field] for field in keep if field in row} for row in rows]
        elif line.startswith("| rex "):
            rex(line, rows)
        elif line.startswith("| fields - "):
            for row in rows:
                for field in line[len("| fields - ") :].split(", "):
                    row.pop(field.strip(), None)
        elif line.startswith("| `") and line.endswith("`"):
            continue
        else:
            raise NotImplementedError(f"the SPL command of {line[:40]!r} is not emulated")
    return rows


def cron_times(cron, start, end):
    """The times in [start, end) (epoch seconds, UTC) that a five-field cron
    schedule of the forms tripline writes (`*/N`, a number or `*` per field)
    selects."""
    import datetime

    fields = cron.split()

    def matches(spec, value):
        if spec == "*":
            return True
        if spec.startswith("*/"):
            return value % int(spec[2:]) == 0
        return value == int(spec)

    minute = (int(start) // 60) * 60
    times = []
    while minute < end:
        moment = datetime.datetime.fromtimestamp(minute, datetime.timezone.utc)
        weekday = (moment.weekday() + 1) % 7
        if (
            minute >= start
            and matches(fields[0], moment.minute)
            and matches(fields[1], moment.hour)
            and matches(fields[2], moment.day)
            and matches(fields[3], moment.month)
            and matches(fields[4], weekday)
        ):
            times.append(minute)
        minute += 60
    return times


def stanza_settings(conf_text, stanza):
    """The `key = value` settings of one stanza of a .conf file."""
    settings = {}
    lines = conf_text.split("\n")
    start = lines.index(f"[{stanza}]")
    for line in lines[start + 1 :]:
        if line.startswith("["):
            break
        if " = " in line and not line.startswith(" "):
            key, value = line.split(" = ", 1)
            settings[key] = value
    return settings


def eventstats(line, rows):
    """`| eventstats AGG AS name, ... by f, ...`: each row gets its group's
    aggregates (a row without a by-field gets none)."""
    found = re.match(r"\| eventstats (.+) by (.+)$", line)
    if not found:
        raise SyntaxError(f"cannot read the eventstats command {line!r}")
    by = [field.strip() for field in found.group(2).split(",")]
    results = stats(f"| stats {found.group(1)} by {found.group(2)}", rows)
    names = [AGGREGATE.match(text.strip()).group(3) for text in found.group(1).split(", ")]
    table = {tuple(json_key(result.get(field)) for field in by): result for result in results}
    for row in rows:
        if any(isinstance(row.get(field), list) for field in by):
            raise NotImplementedError("eventstats by a multivalue field is not emulated")
        result = table.get(tuple(json_key(row.get(field)) for field in by))
        for name in names:
            row[name] = None if result is None else result[name]
    return rows


def json_key(value):
    return repr(value)


def sort(spec, rows):
    """`| sort 0 [-]field, [-]num(field), [-]str(field), ...` (stable). A
    null sort value is ambiguous: where SPL puts it is not documented."""
    keys = []
    for item in spec.split(","):
        item = item.strip()
        descending = item.startswith("-")
        item = item.lstrip("-")
        found = re.fullmatch(r"(num|str)\((\w+)\)", item)
        kind, field = (found.group(1), found.group(2)) if found else ("auto", item)
        keys.append((kind, field, descending))
    for kind, field, descending in reversed(keys):
        def key(row, kind=kind, field=field):
            value = row.get(field)
            if value is None or isinstance(value, list):
                raise Ambiguous(f"sort by {field} meets {value!r}")
            if kind == "num" or (kind == "auto" and isinstance(value, (int, float))):
                if not isinstance(value, (int, float)):
                    raise Ambiguous(f"num({field}) of text {value!r}")
                return value
            return str(value).encode("utf-8")
        rows = sorted(rows, key=key, reverse=descending)
    return rows


def accum(spec, rows):
    """`| accum f [AS g]`: the running sum of f."""
    parts = spec.split()
    field, target = parts[0], parts[2] if len(parts) == 3 else parts[0]
    total = 0
    for row in rows:
        if row.get(field) is not None:
            total += row[field]
        row[target] = total


def autoregress(spec, rows):
    """`| autoregress f [AS g] [p=N | p=M-N]`: g is f of the N-th previous
    row; with a range, `f_pK` is f of the K-th previous row for each K."""
    found = re.fullmatch(r"(\w+)(?: AS (\w+))?(?: p=(\d+)(?:-(\d+))?)?", spec.strip())
    if not found:
        raise SyntaxError(f"cannot read autoregress {spec!r}")
    field, target, start, end = found.groups()
    start = int(start or 1)
    if end is None:
        targets = [(target or f"{field}_p{start}", start)]
    else:
        if target:
            raise SyntaxError(f"autoregress with AS and a range: {spec!r}")
        targets = [(f"{field}_p{back}", back) for back in range(start, int(end) + 1)]
    previous = [row.get(field) for row in rows]
    for index, row in enumerate(rows):
        for name, back in targets:
            row[name] = previous[index - back] if index >= back else None


def rex(line, rows):
    """`| rex field=f max_match=0 "(?<name>PATTERN)"`: every match, left to
    right and without overlap, as a multivalue field (none: null)."""
    found = re.fullmatch(r'\| rex field=(\w+) max_match=0 "\(\?<(\w+)>(.*)\)"', line)
    if not found:
        raise SyntaxError(f"cannot read the rex command {line!r}")
    field, name, pattern = found.groups()
    compiled = pcre(unquote(f'"({pattern})"'))
    for row in rows:
        text = row.get(field)
        matches = [] if text is None else [match.group(0) for match in compiled.finditer(text)]
        row[name] = matches[0] if len(matches) == 1 else (matches or None)


def split_local(lines):
    """The lines after the first that act on each event alone and do not
    read `now()` (run once per event), and the rest (run per scheduled run)."""
    local = []
    for index, line in enumerate(lines[1:], start=1):
        if line.startswith(("| eval ", "| where ", "| lookup ", "| rex ")) and "now()" not in line:
            local.append(line)
        else:
            return local, lines[index:]
    return local, []
