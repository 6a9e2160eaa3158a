#!/usr/bin/env python3
"""The table of every flag of mutex-edge and mutex-mgmt, with its variable and default, read
from the binaries' own --help.

    deploy/flags_table.py                                print the table (Markdown)
    deploy/flags_table.py --check docs/configuration.md  exit 1 when the table between the
                                                         markers of docs/configuration.md
                                                         differs from --help (a diff says how)
    deploy/flags_table.py --write docs/configuration.md  replace the table between the markers
    --bin-dir DIR                                        where the binaries are (default build/bin)

The markers are the two lines

    <!-- flags-table:begin (deploy/flags_table.py --write docs/configuration.md) -->
    <!-- flags-table:end -->

Other scripts import parse_help() (deploy/kubernetes/validate.py checks the manifests' flags
and variables with it). Standard library only.
"""
import argparse
import difflib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- flags-table:begin (deploy/flags_table.py --write docs/configuration.md) -->"
END = "<!-- flags-table:end -->"
BINARIES = (("mutex-edge", "MUTEX_EDGE_"), ("mutex-mgmt", "MUTEX_MGMT_"))


class Flag:
    def __init__(self, name, arg, description, default, variable):
        self.name, self.arg, self.description = name, arg, description
        self.default, self.variable = default, variable

    def __repr__(self):
        return f"Flag({self.name!r}, {self.arg!r}, default={self.default!r}, {self.variable!r})"


class Help:
    """What one binary's --help says: its flags and its environment variables."""

    def __init__(self, binary, prefix, flags, variables):
        self.binary, self.prefix = binary, prefix
        self.flags = flags  # name without dashes -> Flag (help excluded)
        self.variables = variables  # name -> description ("" for a flag's own variable)

    def env_only(self):
        own = {f.variable for f in self.flags.values()}
        return {v: d for v, d in self.variables.items() if v not in own}


def run_help(path):
    done = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f"{path} --help exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def _split_default(text):
    """'... (default 10s)' -> ('...', '10s'); the last parenthesised default of the text."""
    text = text.strip()
    at = text.rfind("(default")
    if at < 0 or not text.endswith(")"):
        return text, ""
    inner = text[at + len("(default"):-1]
    if inner.count("(") != inner.count(")"):
        return text, ""
    return text[:at].rstrip(), inner.lstrip(":").strip()


def parse_help(text, binary, prefix):
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("Options"))
        env_start = next(i for i, l in enumerate(lines) if l.startswith("Environment variables"))
    except StopIteration:
        raise ValueError(f"{binary} --help: no 'Options' or 'Environment variables' section")
    option_lines = [l for l in lines[start + 1:env_start] if l.strip()]
    # Boost aligns every description on one column: that of the continuation lines.
    indents = [len(l) - len(l.lstrip(" ")) for l in option_lines if not l.lstrip().startswith("-")]
    if not indents:
        raise ValueError(f"{binary} --help: cannot find the description column")
    column = min(indents)
    entries = []
    for line in option_lines:
        if line.lstrip().startswith("-") and len(line) - len(line.lstrip(" ")) < column:
            entries.append([line[:column].strip(), line[column:].strip()])
        else:
            entries[-1][1] += " " + line.strip()
    flags = {}
    for head, description in entries:
        m = re.fullmatch(r"(?:-\w \[ )?--([\w-]+)(?: \])?(?: (.+))?", head)
        if not m:
            raise ValueError(f"{binary} --help: cannot read the option '{head}'")
        name, arg = m.group(1), (m.group(2) or "")
        if name == "help":
            continue
        if arg.startswith("[=BOOL"):
            arg = "[=BOOL]"
        description, default = _split_default(description)
        flags[name] = Flag(name, arg, description, default, prefix + name.upper().replace("-", "_"))
    variables, current = {}, None
    for line in lines[env_start + 1:]:
        if not line.strip():
            continue
        m = re.match(r"  (" + re.escape(prefix) + r"[A-Z0-9_]+)(?:\s{2,}(.*))?$", line)
        if m:
            current = m.group(1)
            variables[current] = (m.group(2) or "").strip()
        elif current and line.startswith("    "):
            variables[current] = (variables[current] + " " + line.strip()).strip()
    for flag in flags.values():
        if flag.variable not in variables:
            raise ValueError(f"{binary} --help lists --{flag.name} but not {flag.variable}")
    return Help(binary, prefix, flags, variables)


def load(bin_dir):
    helps = []
    for binary, prefix in BINARIES:
        path = os.path.join(bin_dir, binary)
        helps.append(parse_help(run_help(path), binary, prefix))
    return helps


def _cell(text):
    """Prose in a table cell: | ends a cell, and <key> would be read as an HTML tag."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _code(text):
    return "`" + text.replace("|", "\\|") + "`" if text else ""


def table(helps):
    rows = ["| command | flag | variable | default | what it sets |", "|---|---|---|---|---|"]
    for h in helps:
        for f in h.flags.values():
            flag = f"--{f.name}" + ((" " if not f.arg.startswith("[") else "") + f.arg if f.arg else "")
            rows.append(f"| {h.binary} | {_code(flag)} | {_code(f.variable)} | {_code(f.default)} "
                        f"| {_cell(f.description)} |")
        for v, d in h.env_only().items():
            rows.append(f"| {h.binary} | (environment only) | {_code(v)} |  | {_cell(d)} |")
    return "\n".join(rows) + "\n"


def _between(text, path):
    if BEGIN not in text or END not in text:
        raise SystemExit(f"flags_table.py: {path} has no markers:\n  {BEGIN}\n  {END}")
    head, rest = text.split(BEGIN, 1)
    body, tail = rest.split(END, 1)
    return head, body.strip("\n") + "\n", tail


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", metavar="FILE")
    mode.add_argument("--write", metavar="FILE")
    args = ap.parse_args()
    try:
        generated = table(load(args.bin_dir))
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
        print(f"flags_table.py: {e}", file=sys.stderr)
        return 2
    if args.check or args.write:
        path = args.check or args.write
        with open(path, encoding="utf-8") as f:
            text = f.read()
        head, current, tail = _between(text, path)
        if args.write:
            with open(path, "w", encoding="utf-8") as f:
                f.write(head + BEGIN + "\n" + generated + END + tail)
            return 0
        if current != generated:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), generated.splitlines(True),
                f"{path} (flags table)", "--help of the binaries"))
            print(f"flags_table.py: the flags table of {path} differs from --help; "
                  f"update it with: deploy/flags_table.py --write {path}", file=sys.stderr)
            return 1
        print(f"flags_table.py: the flags table of {path} matches --help "
              f"({generated.count(chr(10)) - 2} rows)")
        return 0
    sys.stdout.write(generated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
