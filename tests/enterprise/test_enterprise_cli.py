"""`c11 enterprise-keyserver` as processes: the entry point the container runs, its one-line start-up errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from entkit import AUDIENCE, Hsm, mint

from c11 import files
from c11.client.enterprise import EnterpriseKey
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

C11 = [sys.executable, "-m", "c11.cli.main"]


def _env(hsm: Hsm, data: Path, **more: str) -> dict[str, str]:
    return {**os.environ, **hsm.env(), "C11E_DATA_DIR": str(data), "C11E_KEK": "pkcs11:cli-kek", **more}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI as a fresh process (forked from a warmed-up one: tests/server/clifork.py)."""
    from srvkit import run_cli

    return run_cli(args, Path(env["C11E_DATA_DIR"]) / "cli", env, timeout=120)


def test_wrong_pin_and_missing_key_fail_in_one_line(hsm: Hsm, tmp_path: Path) -> None:
    r = _run(["enterprise-keyserver", "serve", "--port", "1"], _env(hsm, tmp_path, C11E_PKCS11_PIN="0000"))
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "wrong PIN" in r.stderr, r.stderr
    r = _run(["enterprise-keyserver", "serve"], _env(hsm, tmp_path, C11E_KEK="pkcs11:no-such-key"))
    assert r.returncode != 0 and r.stderr.startswith("c11: error: no AES key labelled 'no-such-key'"), r.stderr
    assert "Traceback" not in r.stderr


def test_serve_as_a_process(hsm: Hsm, idp: Any, tmp_path: Path) -> None:
    env = _env(hsm, tmp_path, C11E_OIDC_ISSUER=idp.issuer, C11E_OIDC_AUDIENCE=AUDIENCE)
    assert _run(["enterprise-keyserver", "kek", "create"], env).returncode == 0
    r = _run(["enterprise-keyserver", "member", "add", "--json", "pat@corp.example"], env)
    assert r.returncode == 0, r.stderr
    pub = PublicKey.parse(json.loads(r.stdout)["public_key"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "server.log").open("w+")
    proc = subprocess.Popen([*C11, "enterprise-keyserver", "serve", "--port", str(port)], env=env, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.1)
        blob = files.encrypt_bytes(b"from a process", [pub], Identity.generate())
        key = EnterpriseKey(url, pub, lambda: mint(idp, "pat@corp.example"))
        assert files.decrypt_bytes(blob, [key]).plaintext == b"from a process"
        records = [json.loads(x) for x in _run(["enterprise-keyserver", "audit", "--json"], env).stdout.splitlines()]
        assert [(a["outcome"], a["member"]) for a in records] == [("released", "pat@corp.example")]
        r2 = _run(["enterprise-keyserver", "member", "deactivate", "pat@corp.example"], env)
        assert r2.returncode == 0, r2.stderr
        assert httpx.get(f"{url}/v1/members/pat@corp.example/key").status_code == 404
        listed = json.loads(_run(["enterprise-keyserver", "member", "list", "--json"], env).stdout)
        assert listed == [
            {"email": "pat@corp.example", "active": False, "key_id": pub.key_id.hex(), "kek": "pkcs11:cli-kek"}
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = [json.loads(line) for line in Path(log.name).read_text().splitlines() if line.startswith("{")]
    unwraps = [rec["log"] for rec in lines if rec["log"].get("event") == "unwrap"]
    assert unwraps == [
        {
            "event": "unwrap",
            "outcome": "released",
            "reason": "ok",
            "member": "pat@corp.example",
            "doc_id": unwraps[0]["doc_id"],
        }
    ]


def test_container_files_run_the_tested_entry_point() -> None:
    """The Containerfile (not built here: no container engine) is multi-stage, non-root, checks /readyz, and runs
    the command the test above runs; the compose sample keeps the root filesystem read-only."""
    import yaml

    root = Path(__file__).resolve().parents[2] / "deploy" / "enterprise"
    lines = [ln.strip() for ln in (root / "Containerfile").read_text().splitlines() if ln and not ln.startswith("#")]
    assert sum(ln.startswith("FROM ") for ln in lines) >= 2
    user = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    assert any(ln.startswith("HEALTHCHECK") for ln in lines) and any("/readyz" in ln for ln in lines)
    assert 'ENTRYPOINT ["c11", "enterprise-keyserver"]' in lines and 'CMD ["serve"]' in lines
    compose = yaml.safe_load((root / "compose.yaml").read_text())
    ks = compose["services"]["keyserver"]
    assert ks["read_only"] is True and ks["environment"]["C11E_DATABASE_URL"].startswith("postgresql")


def test_c11_decrypt_through_the_enterprise_key_server(idp: Any, tmp_path: Path) -> None:
    """A member with no key of their own: `c11 decrypt` opens the file through the key server, and says so when
    the server refuses or cannot be reached."""
    from entkit import enterprise_config, start_enterprise

    ent = start_enterprise(enterprise_config(idp, None, tmp_path / "ent"))
    try:
        r = httpx.post(
            f"{ent.url}/v1/admin/members",
            json={"email": "lee@corp.example"},
            headers={"authorization": "Bearer admin-secret"},
        )
        pub = PublicKey.parse(r.json()["public_key"])
        src = tmp_path / "plan.txt.c11"
        src.write_bytes(
            files.encrypt_bytes(b"the plan", [pub], Identity.generate("boss@corp.example"), name="plan.txt")
        )
        token = tmp_path / "token"
        token.write_text(mint(idp, "lee@corp.example"))
        env = {
            "C11E_DATA_DIR": str(tmp_path),
            "C11_ENTERPRISE_KEYSERVER": ent.url,
            "C11_ENTERPRISE_TOKEN_FILE": str(token),
        }
        r = _run(["decrypt", "-o", str(tmp_path / "plan.txt"), str(src)], env)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "plan.txt").read_bytes() == b"the plan"
        shown = _run(["inspect", str(src)], env)
        assert (
            f"{pub.fingerprint}  mlkem768x25519  ENTERPRISE KEY: held by your organization's key server" in shown.stdout
        )
        recipients = json.loads(_run(["inspect", "--json", str(src)], env).stdout)["recipients"]
        assert [r.get("key_type") for r in recipients if r["fingerprint"] == pub.fingerprint] == ["enterprise"]
        assert [r.get("key_type") for r in recipients if r["fingerprint"] != pub.fingerprint] == [None]
        token.write_text(mint(idp, "lee@corp.example", aud="someone-else"))
        r = _run(["decrypt", "-o", "-", str(src)], env)
        assert r.returncode != 0 and "refused to open this file" in r.stderr and r.stdout == ""
        assert "Traceback" not in r.stderr
    finally:
        ent.stop()
    r = _run(["decrypt", "-o", "-", str(src)], env)
    assert r.returncode != 0 and "cannot be reached" in r.stderr and "Traceback" not in r.stderr
