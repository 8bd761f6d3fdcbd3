"""Progress bars appear on a terminal for large work, and never in pipes or logs."""

import os
import pty
import subprocess
import sys


def _run(args, cwd, tty: bool):
    env = dict(os.environ, COLUMNS="100", TERM="xterm")
    if not tty:
        return subprocess.run(
            [sys.executable, "-m", "c11.cli.main", *args], cwd=cwd, env=env, capture_output=True, timeout=120
        ).stderr
    master, slave = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=120)
    os.close(master)
    assert p.returncode == 0, out
    return out


def test_progress_bar_on_terminal_only(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "c11.cli.main", "keygen", "--no-passphrase", "-o", "me.key"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    (tmp_path / "big.bin").write_bytes(os.urandom(24 << 20))
    err = _run(["encrypt", "-i", "me.key", "-o", "big.c11", "big.bin"], tmp_path, tty=True)
    assert b"encrypting" in err
    err = _run(["decrypt", "-i", "me.key", "-o", "big.out", "big.c11"], tmp_path, tty=False)
    assert b"decrypting" not in err and b"signature valid" in err
    assert (tmp_path / "big.out").read_bytes() == (tmp_path / "big.bin").read_bytes()
