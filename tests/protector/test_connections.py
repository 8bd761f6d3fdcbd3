"""Connections: the list file, secrets in the environment, the OS keyring and the encrypted file, and the CLI.

Who could abuse it: someone reading the protector's folder (backups, another account) must find no secret in
clear; a wrong passphrase must not open the secrets file; `list` and errors must never print a secret.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from keyring.backend import KeyringBackend

from c11.errors import ConfigError, UsageError
from c11.protector.connections import (
    SECRETS_AAD,
    Connection,
    ConnectionError_,
    ConnectionStore,
    env_var,
    open_secrets,
    seal_secrets,
)

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
VECTOR = Path(__file__).parent / "vectors" / "secrets-v1.json"


class MemoryKeyring(KeyringBackend):  # type: ignore[misc]
    """A keyring backend (the `keyring` package's own interface) that keeps passwords in memory."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


def _s3(name: str = "docs", source: Any = "file") -> Connection:
    return Connection(
        name=name,
        url="s3://bucket/prefix",
        options={"access_key_id": "AKIAEXAMPLE", "endpoint": "http://127.0.0.1:1"},
        secrets={"secret_access_key": SECRET},
        secrets_from=source,
        secret_names=("secret_access_key",),
    )


def _no_secret_on_disk(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), p
            assert p.stat().st_mode & 0o077 == 0, p


def test_secrets_file(tmp_path: Path) -> None:
    st = ConnectionStore(folder=tmp_path, env={"C11_PROTECTOR_PASSPHRASE": "correct horse"})
    st.add(_s3())
    _no_secret_on_disk(tmp_path)
    got = ConnectionStore(folder=tmp_path, env={"C11_PROTECTOR_PASSPHRASE": "correct horse"}).get("docs")
    assert got.secrets == {"secret_access_key": SECRET} and got.options["access_key_id"] == "AKIAEXAMPLE"
    assert SECRET not in repr(got) and SECRET not in json.dumps(got.public())
    with pytest.raises(ConfigError, match="wrong passphrase"):
        ConnectionStore(folder=tmp_path, env={"C11_PROTECTOR_PASSPHRASE": "wrong"}).get("docs")
    with pytest.raises(ConnectionError_, match="C11_PROTECTOR_PASSPHRASE"):
        ConnectionStore(folder=tmp_path, env={}).get("docs")
    with pytest.raises(ConnectionError_, match="exists"):
        st.add(_s3())
    st.add(_s3("other"))
    assert st.remove("docs").name == "docs"
    assert open_secrets(st.secrets_path.read_bytes(), "correct horse") == {"other": {"secret_access_key": SECRET}}
    assert st.names() == ["other"]


def test_secrets_file_vector() -> None:
    """The committed vector (docs/protector.md#secrets-file) opens to its plaintext; one flipped bit fails."""
    v = json.loads(VECTOR.read_text())
    blob = json.dumps(v["file"]).encode()
    assert open_secrets(blob, v["passphrase"]) == v["plaintext"]
    again = seal_secrets(
        v["plaintext"], v["passphrase"], salt=bytes.fromhex(v["salt_hex"]), nonce=bytes.fromhex(v["nonce_hex"])
    )
    assert json.loads(again) == v["file"]
    assert SECRETS_AAD == v["aad"].encode()
    bad = dict(
        v["file"],
        ciphertext=v["file"]["ciphertext"][:-4] + ("AAAA" if v["file"]["ciphertext"][-4:] != "AAAA" else "BBBB"),
    )
    with pytest.raises(ConfigError):
        open_secrets(json.dumps(bad).encode(), v["passphrase"])


def test_env_and_keyring(tmp_path: Path) -> None:
    var = env_var("docs", "secret_access_key")
    assert var == "C11_PROTECTOR_DOCS_SECRET_ACCESS_KEY"
    st = ConnectionStore(folder=tmp_path, env={})
    st.add(Connection(name="docs", url="s3://b", secrets_from="env", secret_names=("secret_access_key",)))
    with pytest.raises(ConnectionError_, match=var):
        st.get("docs")
    assert ConnectionStore(folder=tmp_path, env={var: SECRET}).get("docs").secrets == {"secret_access_key": SECRET}

    kr = MemoryKeyring()
    st = ConnectionStore(folder=tmp_path / "k", env={}, keyring=kr)
    st.add(_s3(source="keyring"))
    assert kr.items == {("c11-protector", "docs/secret_access_key"): SECRET}
    _no_secret_on_disk(tmp_path / "k")
    assert st.get("docs").secrets["secret_access_key"] == SECRET
    st.remove("docs")
    assert kr.items == {}
    with pytest.raises(ConnectionError_, match="keyring"):
        ConnectionStore(folder=tmp_path / "k2", env={}).add(_s3(source="keyring"))


def test_names_are_checked(tmp_path: Path) -> None:
    st = ConnectionStore(folder=tmp_path, env={})
    for bad in ("", "Docs", "../x", "a b", "x" * 64):
        with pytest.raises(UsageError):
            st.add(Connection(name=bad, url="file:///tmp"))
    (tmp_path / "connections.json").write_text("[]")
    with pytest.raises(ConfigError, match="not a c11 connections file"):
        st.names()


def _c11(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c11.cli.main", "protector", *args],
        # never the developer's own keyring: the fail backend, so secrets go to the encrypted file
        env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", **env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_cli_connect_list_test_remove(tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "hr").mkdir(parents=True)
    (share / "hr" / "a.txt").write_text("x")
    env = {"C11_PROTECTOR_DIR": str(tmp_path / "p"), "C11_PROTECTOR_PASSPHRASE": "pw"}
    r = _c11(["connect", "local", share.as_uri(), "--json"], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["url"] == share.as_uri()
    r = _c11(["list", "--json"], env)
    assert [c["name"] for c in json.loads(r.stdout)["connections"]] == ["local"]
    r = _c11(["test", "local", "--write", "--json"], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "name": "local",
        "ok": True,
        "listed": 1,
        "versioning": False,
        "changes_feed": False,
        "write": True,
    }
    assert sorted(p.name for p in share.iterdir()) == ["hr"]  # the probe object is gone
    # an S3 connection whose secret is not given: one line, exit 2, no traceback
    r = _c11(["connect", "s3docs", "s3://bucket", "-o", "access_key_id=AK"], env)
    assert r.returncode == 2 and "C11_PROTECTOR_S3DOCS_SECRET_ACCESS_KEY" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _c11(["connect", "bad", "ftp://x/y"], env)
    assert r.returncode == 2 and "unsupported storage URL" in r.stderr
    r = _c11(["connect", "gone", (tmp_path / "missing").as_uri()], env)
    assert r.returncode == 1 and "no such folder" in r.stderr
    r = _c11(["remove", "local"], env)
    assert r.returncode == 0
    r = _c11(["test", "local"], env)
    assert r.returncode != 0 and "no connection named 'local'" in r.stderr


def test_cli_scan(tmp_path: Path) -> None:
    """`c11 protector scan`: JSON and CSV reports, progress on stderr, and no matched secret in clear anywhere."""
    from _contract import CLEAR, PLANTED

    share = tmp_path / "share"
    for k, v in PLANTED.items():
        (share / k).parent.mkdir(parents=True, exist_ok=True)
        (share / k).write_bytes(v)
    env = {"C11_PROTECTOR_DIR": str(tmp_path / "p"), "C11_PROTECTOR_PASSPHRASE": "pw"}
    assert _c11(["connect", "local", share.as_uri()], env).returncode == 0
    r = _c11(["scan", "local", "--json", "--csv", str(tmp_path / "r.csv")], env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["files_with_findings"] == 4 and "scanning local: 6 objects" in r.stderr
    csv_text = (tmp_path / "r.csv").read_text()
    assert csv_text.splitlines()[0] == "folder,key,size,detector,count,examples,fingerprints"
    assert "hr,hr/staff.csv,39,us_ssn,2,***-**-8726; ***-**-7398," in csv_text
    for secret in CLEAR:
        for out in (r.stdout, r.stderr, csv_text):
            assert secret not in out and secret.replace(" ", "") not in out
    # the fingerprints are keyed by the protector's own scan key: stable across scans
    again = json.loads(_c11(["scan", "local", "--path", "hr/", "--json", "-q"], env).stdout)
    assert again["objects"] == 2
    fp = {e["fingerprint"] for f in doc["files"] for e in f["examples"] if f["key"] == "hr/staff.csv"}
    assert fp == {e["fingerprint"] for f in again["files"] for e in f["examples"] if f["key"] == "hr/staff.csv"}
    r = _c11(["scan", "local", "--path", "../etc"], env)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    human = _c11(["scan", "local", "-q"], env)
    assert "local: 6 objects" in human.stdout and "us_ssn" in human.stdout
