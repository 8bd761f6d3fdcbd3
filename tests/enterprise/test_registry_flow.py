"""End to end with a real c11 server (PostgreSQL) and a real enterprise key server (PostgreSQL + SoftHSM2): a member
publishes their enterprise key to the c11 registry with a proof of possession signed inside the enterprise key
server; another user finds it by email (log-proven), encrypts; the member opens it through the key server. Then
every row of the c11 server's database and every file of its data folder is searched for the key's private seeds.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from entkit import Hsm, enterprise_config, mint, start_enterprise

from c11 import files
from c11.client.enterprise import EnterpriseKey, publish_proof
from c11.enterprise import members
from c11.enterprise.models import Member
from c11.errors import AuthError
from c11.keys.identity import Identity


def _values(url: str) -> list[bytes]:
    """Every value of every row of every table, as bytes (text also base64-decoded when it is base64)."""
    engine = sa.create_engine(url)
    out: list[bytes] = []
    try:
        with engine.connect() as c:
            meta = sa.MetaData()
            meta.reflect(c)
            assert {"users", "registry_keys", "log_entries"} <= set(meta.tables)
            for table in meta.sorted_tables:
                for row in c.execute(sa.select(table)):
                    for v in row:
                        if isinstance(v, (bytes, bytearray, memoryview)):
                            out.append(bytes(v))
                        elif isinstance(v, str):
                            out.append(v.encode())
                            try:
                                out.append(base64.b64decode(v + "=" * (-len(v) % 4), altchars=b"-_"))
                            except (binascii.Error, ValueError):
                                pass
    finally:
        engine.dispose()
    return out


def test_publish_encrypt_open_and_the_c11_server_holds_no_private_key(
    idp: Any, hsm: Hsm, tmp_path: Path, pg_schemas: Any
) -> None:
    from accountkit import client, signup
    from srvkit import PASSWORD, run_cli, server_config, start_server

    c11 = start_server(server_config(tmp_path / "c11", pg_schemas.new()), "postgresql")
    ent = start_enterprise(enterprise_config(idp, hsm, tmp_path / "ent", pg_schemas.new(), kek="pkcs11:reg-kek"))
    try:
        member = signup(c11, "ent-member")
        r = httpx.post(
            f"{ent.url}/v1/admin/members",
            json={"email": member.email},
            headers={"authorization": "Bearer admin-secret"},
        )
        assert r.status_code == 201, r.text
        # the proof is refused without a valid token, like an unwrap
        with pytest.raises(AuthError):
            publish_proof(ent.url, mint(idp, member.email, aud="other"))
        # the member publishes with the CLI: logged in to the c11 server, the proof signed by the key server
        token = tmp_path / "token"
        token.write_text(mint(idp, member.email))
        cfg, env = tmp_path / "member-cli", {"C11_PASSWORD": PASSWORD, "C11_PASSPHRASE": ""}
        login = run_cli(["login", "--server", c11.url, "--email", member.email], cfg, env)
        assert login.returncode == 0, login.stderr
        env |= {"C11_ENTERPRISE_KEYSERVER": ent.url, "C11_ENTERPRISE_TOKEN_FILE": str(token)}
        done = run_cli(["registry", "publish", "--enterprise", "--json"], cfg, env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["public"] == r.json()["public_key"]

        sender = signup(c11, "sender")
        with client(c11, sender.email) as c:
            key = c.registry.lookup(member.email)  # checked against the log
        blob = files.encrypt_bytes(b"board minutes", [key], Identity.generate(sender.email))
        opener = EnterpriseKey(ent.url, key, lambda: mint(idp, member.email))
        assert files.decrypt_bytes(blob, [opener]).plaintext == b"board minutes"

        with ent.services.db.session() as s:
            row = s.scalar(sa.select(Member).where(Member.email == member.email))
        ident = members.identity(ent.services.ring, row)
        secrets = [ident.enc_seed, ident.sig_seed, ident.signing_key.private_bytes_raw()]
        values = _values(c11.config.database_url)
        assert any(key.line().encode() in v for v in values)  # the scan sees the public key: it reads everything
        for secret in secrets:
            assert not any(secret in v or secret.hex().encode() in v for v in values)
            for p in Path(c11.config.data_dir).rglob("*"):
                if p.is_file():
                    data = p.read_bytes()
                    assert secret not in data and secret.hex().encode() not in data, p
    finally:
        ent.stop()
        c11.stop()
