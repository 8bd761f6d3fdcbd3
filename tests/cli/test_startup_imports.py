"""Start-up of offline `c11 encrypt` / `c11 decrypt` (issue 17): the modules they import exclude the heavy ones
made lazy (the transparency log, the organization-policy client, zip, in-document handlers), checked in
sys.modules of a child process that ran the command, not by timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from c11 import files
from c11.keys import keyfile
from c11.keys.identity import Identity

#: run the CLI in this process, then write the names of the imported modules to argv[1]
_CHILD = (
    "import json, sys\n"
    "from c11.cli.main import main\n"
    "status = main(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(json.dumps({'status': status, 'modules': sorted(sys.modules)}))\n"
)

#: imported by neither command offline (a key file and key lines, no login)
NEVER = (
    "zipfile",  # c11.format.bundle: only for .c11.zip bundles
    "c11.indoc",  # in-document protection: only for a Word/Excel/PDF/... input
    "cryptography.hazmat.primitives.serialization.ssh",  # c11.log._note uses the raw-bytes methods instead
    "httpx",
    "c11.client.client",
)
#: imported by neither offline `c11 encrypt` (the organization policy and its log proofs need a login)
NOT_BY_ENCRYPT = (
    "c11.log",
    "c11.log.checkpoint",
    "c11.log.entries",
    "c11.client.transparency",
    "c11.client.recovery",
    "c11.client._http",
)
#: nor, writing to stdout, these standard modules (key-file warnings, temporary outputs)
NOT_BY_ENCRYPT_TO_STDOUT = ("logging", "shutil", "tempfile")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    w = tmp_path_factory.mktemp("startup")
    me, friend = Identity.generate("me@example.com"), Identity.generate("friend@example.com")
    keyfile.write(w / "me.key", me, None)
    keyfile.write(w / "friend.key", friend, None)
    (w / "empty").write_bytes(b"")
    (w / "small.txt").write_bytes(b"hello\n" * 100)
    with open(w / "small.txt", "rb") as fin, open(w / "small.c11", "wb") as fout:
        files.encrypt(fin, fout, [friend.public], me)
    (w / "config").mkdir()
    return {"dir": w, "line": friend.public.line()}


def _modules(world: dict[str, Path | str], args: list[str], stdin: str = "empty") -> set[str]:
    """The modules a child imported running `c11 ARGS` (offline: a fresh config folder, no token)."""
    w = Path(world["dir"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    env["C11_CONFIG_DIR"] = str(w / "config")
    out = w / "modules.json"
    with open(w / stdin, "rb") as fin:
        r = subprocess.run(
            [sys.executable, "-c", _CHILD, str(out), *args],
            stdin=fin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=w,
            timeout=120,
        )
    assert r.returncode == 0, r.stderr.decode()
    got = json.loads(out.read_text())
    assert got["status"] == 0, r.stderr.decode()
    return set(got["modules"])


def _heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)]


def test_offline_encrypt_imports_no_log_client_zip_or_documents(world):
    w = Path(world["dir"])
    for args, stdin in (
        (["encrypt", "-i", str(w / "me.key"), "-r", str(world["line"])], "empty"),  # stdin to stdout
        (["encrypt", "-i", str(w / "me.key"), "-r", str(world["line"]), "-o", str(w / "o.c11"), "small.txt"], "empty"),
    ):
        modules = _modules(world, args, stdin)
        assert "c11.format.envelope" in modules and "c11.client.sending" in modules  # the check sees the path
        assert _heavy(modules, NEVER + NOT_BY_ENCRYPT) == [], args
        if "-o" not in args:
            assert _heavy(modules, NOT_BY_ENCRYPT_TO_STDOUT) == []
    assert (w / "o.c11").stat().st_size > 0


def test_decrypt_of_a_file_imports_no_zip_documents_or_ssh(world):
    w = Path(world["dir"])
    for args, stdin in (
        (["decrypt", "-i", str(w / "friend.key")], "small.c11"),  # stdin to stdout
        (["decrypt", "-i", str(w / "friend.key"), "-o", str(w / "back.txt"), "small.c11"], "empty"),
    ):
        modules = _modules(world, args, stdin)
        assert "c11.format.envelope" in modules
        assert _heavy(modules, NEVER) == [], args
    assert (w / "back.txt").read_bytes() == (w / "small.txt").read_bytes()


def test_the_check_sees_a_heavy_import(world):
    """A bundle input does import zip (the list above names modules that can be imported on this path)."""
    w = Path(world["dir"])
    (w / "folder").mkdir()
    (w / "folder" / "a.txt").write_bytes(b"a")
    args = ["encrypt", "-i", str(w / "me.key"), "-r", str(world["line"]), "-o", str(w / "f.c11.zip"), "folder"]
    assert _heavy(_modules(world, args), NEVER) == ["zipfile"]
