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


def blocks(text):
    current = None
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            if current is None and stripped in ("```sh", "```bash"):
                current = []
            elif current is not None:
                yield current
                current = None
            pending = ""
            continue
        if current is None or not stripped or stripped.startswith("#"):
            continue
        # A comment after a command (two spaces, then #) is not part of it.
        line = re.split(r"\s{2,}#", raw)[0].rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        current.append((pending + line).strip())
        pending = ""


def main():
    readme, binary = sys.argv[1:]
    repository = os.path.abspath(os.path.dirname(readme) or ".")
    binary = os.path.abspath(binary)
    ran, skipped, failed = 0, [], []
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
            for line in block:
                words = line.split()
                if words[0] == "alias":
                    continue
                if (
                    words[0] not in RUNNABLE
                    or PLACEHOLDER.search(line)
                    or words[:2] in (["cargo", "test"], ["cargo", "install"])
                ):
                    skipped.append(line)
                    continue
                command = line.replace("/tmp/", f"{scratch}/tmp/")
                allowed = "0|1" if words[:2] == ["tripline", "check"] and "--target" in words else "0"
                script.append(
                    f"( {command} ) >/dev/null 2>{shlex.quote(scratch)}/err; code=$?; "
                    f"case $code in {allowed}) echo \"      ok  \"{shlex.quote(line)};; "
                    f"*) echo \"  FAILED  \"{shlex.quote(line)}\" (exit $code)\"; tail -c 2000 {shlex.quote(scratch)}/err; exit 1;; esac"
                )
                lines.append(line)
            if not lines:
                continue
            real_home = os.path.expanduser("~")
            env = dict(
                os.environ,
                HOME=os.path.join(scratch, "home"),
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
    print(f"README commands: {ran} ran, {len(failed)} blocks failed, {len(skipped)} skipped")
    return 1 if failed or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
