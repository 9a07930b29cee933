#!/usr/bin/env python3
"""The dashboard preview, opened in a real browser (headless Chromium).

Runs `tripline dashboard preview` on generated events, loads the page in
headless Chromium, and checks the DOM the browser built (not the file's
text): every panel the dashboard's rule file declares is on the page and drew
with data: `data-points` above 0, and the marks of its visual in the DOM
(one SVG circle per point of a line chart, one SVG rect per bar besides the
background, one SVG polygon per pie slice, one table row per row, a number
for a single value). Saves a screenshot.

usage: dashboard_preview_check.py TRIPLINE RULES DASHBOARD_FILE DASHBOARD_ID EVENTS OUT_DIR SCREENSHOT
"""

import html.parser
import os
import re
import shutil
import subprocess
import sys


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("error: no Chromium on the PATH (.ci/run installs Debian's `chromium`)")


BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-extensions",
    # Nothing may be fetched: the page is self-contained.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def declared_panels(path, dashboard_id):
    """Panel ids of `dashboard ID { ... }` in a rule file, read with a regex
    (independently of the compiler): every `panel NAME {` inside the block."""
    text = open(path, encoding="utf-8").read()
    start = re.search(r"\bdashboard\s+" + re.escape(dashboard_id) + r"\s*\{", text)
    if not start:
        sys.exit(f"error: {path} declares no dashboard {dashboard_id}")
    depth, index = 0, start.end() - 1
    for index in range(start.end() - 1, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                break
    body = text[start.end() : index]
    # Strings may hold braces or the word panel; drop them first.
    body = re.sub(r'"(?:[^"\\]|\\.)*"', '""', body)
    return re.findall(r"^\s*panel\s+([a-z][a-z0-9_]*)\s*\{", body, re.M)


class Panels(html.parser.HTMLParser):
    """Per `<section data-panel>`: its attributes and the tags inside it."""

    def __init__(self):
        super().__init__()
        self.panels = {}
        self.current = None
        self.depth = 0
        self.in_tbody = False
        self.in_single = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-panel" in attrs:
            self.current = {
                "visual": attrs.get("data-visual"),
                "points": int(attrs.get("data-points", "-1")),
                "tags": {},
                "rows": 0,
                "single": "",
            }
            self.panels[attrs["data-panel"]] = self.current
            self.depth = 1
            return
        if self.current is None:
            return
        if tag == "section":
            self.depth += 1
        tags = self.current["tags"]
        tags[tag] = tags.get(tag, 0) + 1
        if tag == "tbody":
            self.in_tbody = True
        if tag == "tr" and self.in_tbody:
            self.current["rows"] += 1
        if tag == "p" and "single" in (attrs.get("class") or "").split():
            self.in_single = True

    def handle_endtag(self, tag):
        if self.current is None:
            return
        if tag == "tbody":
            self.in_tbody = False
        if tag == "p":
            self.in_single = False
        if tag == "section":
            self.depth -= 1
            if self.depth == 0:
                self.current = None

    def handle_data(self, data):
        if self.current is not None and self.in_single:
            self.current["single"] += data


def check_panel(name, panel):
    """The problems of one panel, or none."""
    points, tags = panel["points"], panel["tags"]
    if points <= 0:
        return [f"{name}: data-points={points}, nothing drawn"]
    visual = panel["visual"]
    if visual == "line":
        if tags.get("svg", 0) != 1 or tags.get("circle", 0) != points:
            return [f"{name}: {points} points but {tags.get('circle', 0)} SVG circles"]
    elif visual == "bar":
        # One background rect, then one rect per bar.
        if tags.get("svg", 0) != 1 or tags.get("rect", 0) != points + 1:
            return [f"{name}: {points} bars but {tags.get('rect', 0)} SVG rects"]
    elif visual == "pie":
        if tags.get("svg", 0) != 1 or tags.get("polygon", 0) != points:
            return [f"{name}: {points} slices but {tags.get('polygon', 0)} SVG polygons"]
    elif visual == "table":
        if panel["rows"] != points:
            return [f"{name}: {points} rows claimed, {panel['rows']} in the table"]
    elif visual == "single":
        if not re.fullmatch(r"-?[0-9][0-9.]*", panel["single"].strip()):
            return [f"{name}: the single value is {panel['single']!r}"]
    else:
        return [f"{name}: unknown visual {visual!r}"]
    return []


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    tripline, rules, dashboard_file, dashboard_id, events, out_dir, screenshot = sys.argv[1:]
    subprocess.run(
        [tripline, "dashboard", "preview", rules, "--events", events, "--out", out_dir,
         "--dashboard", dashboard_id],
        check=True,
    )
    page = os.path.abspath(os.path.join(out_dir, "index.html"))
    url = "file://" + page
    browser = chromium()
    dom = subprocess.run(
        [browser, *BROWSER_FLAGS, "--dump-dom", url],
        check=True, capture_output=True, text=True, timeout=180,
    ).stdout
    if "data-panel" not in dom:
        sys.exit("error: the browser's DOM has no panels:\n" + dom[:2000])
    parser = Panels()
    parser.feed(dom)
    expected = declared_panels(dashboard_file, dashboard_id)
    if not expected:
        sys.exit(f"error: {dashboard_file} declares no panels in {dashboard_id}")
    problems = []
    for name in expected:
        if name not in parser.panels:
            problems.append(f"{name}: declared but not on the page")
            continue
        problems.extend(check_panel(name, parser.panels[name]))
    for name in parser.panels:
        if name not in expected:
            problems.append(f"{name}: on the page but not declared")
    if os.path.exists(screenshot):
        os.remove(screenshot)
    subprocess.run(
        [browser, *BROWSER_FLAGS, "--window-size=1400,2600", f"--screenshot={os.path.abspath(screenshot)}", url],
        check=True, capture_output=True, timeout=180,
    )
    if not os.path.exists(screenshot) or os.path.getsize(screenshot) < 10_000:
        problems.append(f"no screenshot at {screenshot}")
    for name in expected:
        panel = parser.panels.get(name)
        if panel:
            print(f"  {name}: {panel['visual']}, {panel['points']} drawn")
    if problems:
        print("\n".join("FAIL " + problem for problem in problems))
        print(f"0 passed, {len(problems)} failed")
        sys.exit(1)
    print(f"dashboard preview: {len(expected)} panels drew with data in Chromium; screenshot {screenshot}")


if __name__ == "__main__":
    main()
