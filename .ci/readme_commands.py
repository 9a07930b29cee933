"""Runs the command lines of the README's ```sh blocks, so the README cannot
drift from what the commands accept and print.

Each block runs as one shell session (so `cd` and `tripline init` carry over
to the next lines) in a scratch copy of the repository's tracked files, with
`tripline` the given binary, `HOME` and `/tmp/` inside the scratch folder, and
`cargo` building from this checkout into its own `target/`. Of a block, the
lines that start with `tripline`, `cargo`, `cd` or `mkdir` run; synopses
(`[...]` option lists, `PATH...`, `ID`, `FILE` placeholders) and the lines of
other tools (`curl`, `az`, `splunk`, `pip`, `python`, `spark-submit`), which
need a SIEM, a cluster or the network, are listed as skipped. `cargo test` and
`cargo install` are skipped: CI runs them in their own steps. A line must exit
0, or 0 or 1 for `tripline check --target` (findings are its output).

Quoted output. The README quotes what a command prints in the comment after
it, between double quotes:

    tripline test                  # "test result: ok. 2 passed, 0 failed"

Every `"..."` in such a trailing comment (two or more spaces, then `#`) is a
line the command must print, whole and verbatim: stdout and stderr together,
without colour (`NO_COLOR=1`), trailing spaces ignored. A missing line fails
the block and shows what the command printed, so a quote cannot go stale.
Words outside the quotes are prose and are not checked, so a comment that
describes output without quoting it (`# exit 1 and a list of files`) is not
a check: quote the line instead. A quote on a line that is not run (skipped,
or not a command) is an error, since nothing would ever check it. Output of
several lines is not quoted in an ```sh block; a test holds such examples
(the E0201 example: tests/error_fixtures.rs).

usage: readme_commands.py README.md TRIPLINE_BINARY
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile

PLACEHOLDER = re.compile(r"\[|\.\.\.|\bID\b|\bFILE\b|\bDIR\b|\bSHELL\b|<[a-z]")
RUNNABLE = ("tripline", "cargo", "cd", "mkdir")


QUOTE = re.compile(r'"([^"]*)"')


def blocks(text):
    """The ```sh blocks of `text`: per block, its command lines, each with
    the quoted output of its trailing comment."""
    current = None
    pending, pending_quotes = "", []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            if current is None and stripped in ("```sh", "```bash"):
                current = []
            elif current is not None:
                yield current
                current = None
            pending, pending_quotes = "", []
            continue
        if current is None or not stripped or stripped.startswith("#"):
            continue
        # A comment after a command (two spaces, then #) is not part of it;
        # its quotes are the output the command must print.
        parts = re.split(r"\s{2,}#", raw, maxsplit=1)
        line = parts[0].rstrip()
        quotes = QUOTE.findall(parts[1]) if len(parts) > 1 else []
        if line.endswith("\\"):
            pending += line[:-1] + " "
            pending_quotes += quotes
            continue
        current.append(((pending + line).strip(), pending_quotes + quotes))
        pending, pending_quotes = "", []


def main():
    readme, binary = sys.argv[1:]
    repository = os.path.abspath(os.path.dirname(readme) or ".")
    binary = os.path.abspath(binary)
    ran, skipped, failed, unchecked = 0, [], [], []
    for block in blocks(open(readme, encoding="utf-8").read()):
        with tempfile.TemporaryDirectory(prefix="tripline-readme-") as scratch:
            work = os.path.join(scratch, "repo")
            os.makedirs(os.path.join(scratch, "tmp"))
            os.makedirs(os.path.join(scratch, "home"))
            subprocess.run(
                ["bash", "-c", f"mkdir -p {shlex.quote(work)} && cd {shlex.quote(repository)} && "
                 f"git ls-files -z | xargs -0 cp --parents -t {shlex.quote(work)}"],
                check=True,
            )
            script = [
                "set -u",
                f"tripline() {{ {shlex.quote(binary)} \"$@\"; }}",
                # cargo builds this checkout (no second build of a copy) and
                # runs its binaries here, in the copy.
                f"cargo() {{ local sub=$1; shift; CARGO_TARGET_DIR={shlex.quote(repository)}/target "
                f"command cargo \"$sub\" --manifest-path {shlex.quote(repository)}/Cargo.toml \"$@\"; }}",
                f"cd {shlex.quote(work)}",
            ]
            lines = []
            out = shlex.quote(f"{scratch}/out")
            for line, quotes in block:
                words = line.split()
                if (
                    words[0] == "alias"
                    or words[0] not in RUNNABLE
                    or PLACEHOLDER.search(line)
                    or words[:2] in (["cargo", "test"], ["cargo", "install"])
                ):
                    if quotes:
                        unchecked.append((line, quotes))
                    elif words[0] != "alias":
                        skipped.append(line)
                    continue
                command = line.replace("/tmp/", f"{scratch}/tmp/")
                allowed = "0|1" if words[:2] == ["tripline", "check"] and "--target" in words else "0"
                failed_line = f"tail -c 2000 {out}; exit 1"
                step = [
                    # A group, not a subshell: `cd` carries over to the next line.
                    f"{{ {command}\n}} >{out} 2>&1; code=$?",
                    f"case $code in {allowed}) ;; "
                    f"*) echo \"  FAILED  \"{shlex.quote(line)}\" (exit $code)\"; {failed_line};; esac",
                ]
                for quote in quotes:
                    # The output's lines without trailing spaces; the quote, whole.
                    missing = f'  FAILED  {line}: printed no line "{quote}"; it printed:'
                    step.append(
                        f"sed 's/[[:space:]]*$//' {out} | grep -qxF -e {shlex.quote(quote.rstrip())} || "
                        f"{{ echo {shlex.quote(missing)}; {failed_line}; }}"
                    )
                step.append(f"echo \"      ok  \"{shlex.quote(line)}")
                script.append("\n".join(step))
                lines.append(line)
            if not lines:
                continue
            real_home = os.path.expanduser("~")
            env = dict(
                os.environ,
                HOME=os.path.join(scratch, "home"),
                NO_COLOR="1",
                RUSTUP_HOME=os.environ.get("RUSTUP_HOME", os.path.join(real_home, ".rustup")),
                CARGO_HOME=os.environ.get("CARGO_HOME", os.path.join(real_home, ".cargo")),
            )
            result = subprocess.run(["bash", "-c", "\n".join(script)], env=env, text=True, capture_output=True)
            sys.stdout.write(result.stdout)
            ran += result.stdout.count("      ok  ")
            if result.returncode != 0:
                failed.append(block)
    for line in skipped:
        print(f"{'skipped':>8}  {line}")
    for line, quotes in unchecked:
        print(f"{'FAILED':>8}  {line}: quotes output ({', '.join(quotes)}) but is not run, so nothing checks it")
    quoted = sum(len(quotes) for block in blocks(open(readme, encoding="utf-8").read()) for _, quotes in block)
    print(
        f"README commands: {ran} ran, {len(failed)} blocks failed, {len(skipped)} skipped, "
        f"{quoted} quoted outputs ({len(unchecked)} on lines not run)"
    )
    return 1 if failed or unchecked or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
