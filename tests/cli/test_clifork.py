"""The CLI fork server (tests/server/clifork.py) answers as `python -m c11.cli.main` in a new interpreter does:
same exit status, stdout and stderr, with the run's environment, working folder and stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import clifork


def test_fork_answers_as_a_new_interpreter(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    env.update(C11_CONFIG_DIR=str(tmp_path / "cfg"), NO_COLOR="1", C11_PASSPHRASE="pw")
    for args in (["--version"], ["no-such-command"], ["decrypt", "-i", "missing.key", "x.c11"]):
        real = subprocess.run(
            [sys.executable, "-m", "c11.cli.main", *args], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        fork = clifork.run(args, env=env, cwd=tmp_path, text=True)
        assert (fork.returncode, fork.stdout, fork.stderr) == (real.returncode, real.stdout, real.stderr), args
    # the working folder, the environment (the key's passphrase) and stdin reach the run; bytes stay bytes
    made = clifork.run(["keygen", "-o", "me.key", "--label", "me@example.com"], env=env, cwd=tmp_path)
    assert made.returncode == 0 and (tmp_path / "me.key").exists(), made.stderr
    enc = clifork.run(["encrypt", "-i", "me.key", "-R", "me.key", "-o", "-"], env=env, cwd=tmp_path, input=b"memo")
    assert enc.returncode == 0 and enc.stdout, enc.stderr
    dec = subprocess.run(
        [sys.executable, "-m", "c11.cli.main", "decrypt", "-i", "me.key", "-o", "-"],
        env=env,
        cwd=tmp_path,
        input=enc.stdout,
        capture_output=True,
    )
    assert (dec.returncode, dec.stdout) == (0, b"memo"), dec.stderr
    wrong = clifork.run(
        ["decrypt", "-i", "me.key", "-o", "-"], env={**env, "C11_PASSPHRASE": "no"}, cwd=tmp_path, input=enc.stdout
    )
    assert wrong.returncode != 0 and wrong.stdout == b"" and len(wrong.stderr.splitlines()) == 1, wrong.stderr
