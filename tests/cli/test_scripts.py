"""CLI tests as scripts of commands with expected output, in the style of Go's testscript (as age does).

Each file in scripts/ runs in a fresh folder. Lines:
  exec CMD ARGS... [> FILE]   run; must exit 0 (`! exec` must fail; `? exec` any status)
  stdin FILE                  the next exec reads FILE on stdin
  stdout REGEX / ! stdout REGEX, stderr REGEX / ! stderr REGEX   match the last exec's output
  exists FILE / ! exists FILE, cmp A B, write FILE TEXT, env NAME=VALUE, mkdir DIR, chmod MODE FILE
`c11` runs this checkout's CLI. No command may ever print a Python traceback.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import clifork
import pytest

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.txt"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_script(script: Path, tmp_path: Path) -> None:
    run_script(script, tmp_path)


def run_script(script: Path, work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    env.update(
        C11_CONFIG_DIR=str(work / ".config"),
        HOME=str(work),
        WORK=str(work),
        NO_COLOR="1",
        VECTORS=str(Path(__file__).resolve().parents[1] / "vectors"),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    last: subprocess.CompletedProcess | None = None
    stdin_file: Path | None = None
    for n, raw in enumerate(script.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{script.name}:{n}: {line}"
        neg = line.startswith("! ")
        maybe = line.startswith("? ")
        if neg or maybe:
            line = line[2:]
        words = shlex.split(line.replace("$WORK", str(work)).replace("$VECTORS", env["VECTORS"]))
        cmd, args = words[0], words[1:]
        if cmd == "exec":
            out_file = None
            if len(args) >= 2 and args[-2] == ">":
                out_file, args = work / args[-1], args[:-2]
            stdin = open(work / stdin_file, "rb") if stdin_file else subprocess.DEVNULL
            try:
                if args[0] == "c11":  # `python -m c11.cli.main`, forked from a warmed-up process (clifork.py)
                    last = clifork.run(args[1:], cwd=work, env=env, stdin=stdin, timeout=120)
                else:
                    last = subprocess.run(args, cwd=work, env=env, stdin=stdin, capture_output=True, timeout=120)
            finally:
                if stdin_file:
                    stdin.close()
            stdin_file = None
            if out_file:
                out_file.write_bytes(last.stdout)
            err = last.stderr.decode(errors="replace")
            assert "Traceback" not in err, f"{where}\n{err}"
            if not maybe:
                ok = last.returncode == 0
                assert ok != neg, f"{where}\nexit {last.returncode}\nstdout: {last.stdout[:2000]!r}\nstderr: {err}"
            if neg and not maybe:
                lines = [x for x in err.splitlines() if x.strip()]
                assert len(lines) == 1 or err.startswith("Usage:"), f"{where}: error must be one line:\n{err}"
        elif cmd in ("stdout", "stderr"):
            assert last is not None, where
            text = (last.stdout if cmd == "stdout" else last.stderr).decode(errors="replace")
            found = re.search(args[0], text, re.MULTILINE) is not None
            assert found != neg, f"{where}\n{cmd} was:\n{text[:3000]}"
        elif cmd == "stdin":
            stdin_file = Path(args[0])
        elif cmd == "exists":
            there = [(work / a).exists() for a in args]
            assert (not any(there)) if neg else all(there), where
        elif cmd == "cmp":
            same = (work / args[0]).read_bytes() == (work / args[1]).read_bytes()
            assert same != neg, where
        elif cmd == "write":
            (work / args[0]).parent.mkdir(parents=True, exist_ok=True)
            (work / args[0]).write_text(args[1].encode().decode("unicode_escape"))
        elif cmd == "env":
            k, v = args[0].split("=", 1)
            env[k] = v
        elif cmd == "mkdir":
            for a in args:
                (work / a).mkdir(parents=True, exist_ok=True)
        elif cmd == "chmod":
            os.chmod(work / args[1], int(args[0], 8))
        else:
            raise AssertionError(f"{where}: unknown script command {cmd!r}")
