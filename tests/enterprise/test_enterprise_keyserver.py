"""The enterprise key server end to end: members' keys under SoftHSM2, tokens from the test IdP, unwraps over HTTP.

SQLite with a key-file master key (smoke), PostgreSQL with SoftHSM2 (the production shape): refusals, audit, key
rotation under load, and what the database alone gives away (nothing).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from entkit import AUDIENCE, Hsm, enterprise_config, mint, start_enterprise
from sqlalchemy import func, select, text

from c11 import files
from c11.client.enterprise import EnterpriseKey
from c11.enterprise import members
from c11.enterprise.kek import KekError, KekSource, Pkcs11Kek, UnwrapError
from c11.enterprise.models import AuditRecord, Member
from c11.errors import AuthError, NoMatchingKeyError, ServerError
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

ADMIN = {"authorization": "Bearer admin-secret"}


def _add(url: str, email: str) -> PublicKey:
    r = httpx.post(f"{url}/v1/admin/members", json={"email": email}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return PublicKey.parse(r.json()["public_key"])


def _audit(svc: Any) -> list[AuditRecord]:
    with svc.db.session() as s:
        return list(s.scalars(select(AuditRecord).order_by(AuditRecord.id)))


def test_sqlite_key_file_smoke(idp: Any, tmp_path: Path) -> None:
    ent = start_enterprise(enterprise_config(idp, None, tmp_path / "ent"))
    try:
        assert httpx.get(f"{ent.url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{ent.url}/readyz").json()["kek"] == "file:kek-1"
        pub = _add(ent.url, "Ann@Corp.example")
        author = Identity.generate("author@example.com")
        blob = files.encrypt_bytes(b"quarterly numbers", [pub], author)
        key = EnterpriseKey(ent.url, pub, lambda: mint(idp, "ann@corp.example"))
        assert files.decrypt_bytes(blob, [key]).plaintext == b"quarterly numbers"
        [rec] = _audit(ent.services)
        assert (rec.outcome, rec.email, rec.key_id) == ("released", "ann@corp.example", pub.key_id.hex())
        assert 'c11e_unwraps_total{outcome="released"} 1.0' in httpx.get(f"{ent.url}/metrics").text
    finally:
        ent.stop()


@pytest.fixture
def pg_ent(idp: Any, hsm: Hsm, tmp_path: Path, pg_schemas: Any, request: pytest.FixtureRequest) -> Any:
    label = f"kek-{request.node.name[-20:].strip('[]_')}"
    ent = start_enterprise(enterprise_config(idp, hsm, tmp_path / "ent", pg_schemas.new(), kek=f"pkcs11:{label}"))
    yield ent
    ent.stop()


def test_postgresql_hsm_refusals_are_one_403_and_audited(idp: Any, pg_ent: Any) -> None:
    url, svc = pg_ent.url, pg_ent.services
    pub = _add(url, "bob@corp.example")
    author = Identity.generate("author@example.com")
    blob = files.encrypt_bytes(b"secret plan", [pub], author)
    good = mint(idp, "bob@corp.example")
    assert files.decrypt_bytes(blob, [EnterpriseKey(url, pub, lambda: good)]).plaintext == b"secret plan"

    from joserfc.jwk import RSAKey

    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    from joserfc import jwt

    forged = jwt.encode({"alg": "RS256", "kid": "k1"}, {"iss": idp.issuer, "aud": AUDIENCE}, stranger)
    other_doc = files.encrypt_bytes(b"not for bob", [Identity.generate("x@y.example").public], author)
    revoked = files.encrypt_bytes(b"revoked", [pub], author)
    revoked_id = files.inspect(__import__("io").BytesIO(revoked)).doc_id
    assert httpx.post(f"{url}/v1/admin/documents/{revoked_id}/revoke", headers=ADMIN).status_code == 204
    cases = {
        "other audience": (blob, mint(idp, "bob@corp.example", aud="another-service")),
        "other issuer": (blob, mint(idp, "bob@corp.example", iss="https://evil.example")),
        "expired": (blob, mint(idp, "bob@corp.example", iat=1_000_000, exp=1_000_300)),
        "unverified email": (blob, mint(idp, "bob@corp.example", email_verified=False)),
        "forged signature": (blob, forged),
        "no token": (blob, ""),
        "not a member": (blob, mint(idp, "eve@corp.example")),
        "not a recipient": (other_doc, good),
        "revoked document": (revoked, good),
    }
    bodies = set()
    for name, (data, token) in cases.items():
        key = EnterpriseKey(url, pub, lambda t=token: t)
        # (a client does not even ask for a file its key is not a recipient of)
        with pytest.raises(NoMatchingKeyError if name == "not a recipient" else AuthError):
            files.decrypt_bytes(data, [key])
        from c11.format.enterprise import UnwrapRequest
        from c11.format.header import read_header

        header, raw = read_header(__import__("io").BytesIO(data))
        req = UnwrapRequest(raw, pub.key_id, "x25519", Identity.generate(kem="x25519").public.enc)
        auth = {"authorization": f"Bearer {token}"} if token else {}
        r = httpx.post(f"{url}/v1/unwrap", content=req.to_json(), headers=auth)
        assert r.status_code == 403, name
        bodies.add(r.content)
    assert len(bodies) == 1  # the same answer for every refusal: nothing tells them apart
    # deactivation (as SCIM or the admin would): the next unwrap is refused
    assert httpx.post(f"{url}/v1/admin/members/bob@corp.example/deactivate", headers=ADMIN).status_code == 204
    with pytest.raises(AuthError):
        files.decrypt_bytes(blob, [EnterpriseKey(url, pub, lambda: good)])
    recs = _audit(svc)
    assert len(recs) == 1 + 2 * len(cases) - 1 + 1  # exactly one record per request, released or refused
    assert [r.outcome for r in recs].count("released") == 1
    reasons = {r.reason for r in recs}
    assert {"document revoked", "member deactivated", "not a member"} <= reasons
    assert any("NoMatchingKeyError" in r for r in reasons)


def test_idp_key_rotation_is_followed(idp: Any, pg_ent: Any) -> None:
    from joserfc.jwk import RSAKey

    pub = _add(pg_ent.url, "cy@corp.example")
    blob = files.encrypt_bytes(b"x", [pub], Identity.generate())
    key = EnterpriseKey(pg_ent.url, pub, lambda: mint(idp, "cy@corp.example"))
    assert files.decrypt_bytes(blob, [key]).plaintext == b"x"
    old = idp.key
    idp.key = RSAKey.generate_key(2048, parameters={"kid": "k-rotated"}, private=True)
    try:
        pg_ent.services.verifier._fetched = 0.0  # the 30 s refresh floor has passed
        assert files.decrypt_bytes(blob, [key]).plaintext == b"x"
    finally:
        idp.key = old


def test_database_alone_opens_nothing(hsm: Hsm, pg_ent: Any) -> None:
    """Every column of the database, tried as a key or searched for the seeds: no private key material."""
    svc = pg_ent.services
    pub = _add(pg_ent.url, "dee@corp.example")
    with svc.db.session() as s:
        row = s.scalar(select(Member).where(Member.email == "dee@corp.example"))
        dump = repr([tuple(r) for t in ("ent_members", "ent_audit") for r in s.execute(text(f"SELECT * FROM {t}"))])
    ident = members.identity(svc.ring, row)  # with the HSM
    assert ident.public.key_id == pub.key_id
    for secret in (ident.enc_seed, ident.sig_seed):
        assert secret.hex() not in dump and repr(secret)[2:-1] not in dump
    # without the HSM key: another AES key (a key file) does not open the rows
    from c11.enterprise.kek import FileKek, aad

    stranger = FileKek(hsm.conf.parent / "stranger", "x", create=True)
    with pytest.raises(UnwrapError):
        stranger.unwrap(row.enc_wrapped, aad(row.id, row.kek_id, "enc"))
    # the HSM key itself cannot be read out of the token
    import pkcs11
    from pkcs11 import Attribute, KeyType

    tok = pkcs11.lib(hsm.module).get_token(token_label=hsm.token)
    with tok.open() as sess:  # the server in this process is logged in (PKCS#11 logins are per process)
        k = sess.get_key(label=row.kek_id.split(":", 1)[1], key_type=KeyType.AES)
        assert k[Attribute.EXTRACTABLE] is False and k[Attribute.SENSITIVE] is True
        with pytest.raises(pkcs11.exceptions.PKCS11Error):
            k[Attribute.VALUE]


def test_kek_rotation_under_unwrap_load_loses_nothing(idp: Any, hsm: Hsm, pg_ent: Any) -> None:
    url, svc = pg_ent.url, pg_ent.services
    author = Identity.generate()
    people = []
    for i in range(6):
        pub = _add(url, f"m{i}@corp.example")
        people.append((pub, files.encrypt_bytes(f"doc {i}".encode(), [pub], author), f"m{i}@corp.example"))
    errors: list[BaseException] = []
    done = threading.Event()
    count = [0]

    def load(pub: PublicKey, blob: bytes, email: str) -> None:
        key = EnterpriseKey(url, pub, lambda: mint(idp, email))
        while not done.is_set():
            try:
                files.decrypt_bytes(blob, [key])
                count[0] += 1
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

    threads = [threading.Thread(target=load, args=p) for p in people]
    for t in threads:
        t.start()
    new = Pkcs11Kek(svc.ring.source.token, f"{svc.ring.current.kek_id.split(':')[1]}-next", create=True)
    # the rotation runs elsewhere (as `c11 enterprise-keyserver rotate-kek`): its own ring, the same DB and HSM
    from c11.enterprise.kek import KeyRing

    other_ring = KeyRing(svc.ring.source, svc.ring.get(svc.ring.current.kek_id))
    try:
        moved = members.rotate(svc.db, other_ring, new)
    finally:
        new.close()  # PKCS#11 logins are per process: no session of this test outlives it
    done.set()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[:3]
    assert moved == 6 and count[0] > 6
    with svc.db.session() as s:
        assert set(s.scalars(select(Member.kek_id))) == {new.kek_id}
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.outcome != "released")) == 0
    # the server opens rows under the new KEK it had never seen (from the HSM, by label)
    assert files.decrypt_bytes(people[0][1], [EnterpriseKey(url, people[0][0], lambda: mint(idp, "m0@corp.example"))])


def test_missing_hsm_key_and_wrong_pin_are_one_line_errors(hsm: Hsm) -> None:
    from c11.enterprise.kek import Pkcs11Token

    with pytest.raises(KekError, match="wrong PIN"):
        Pkcs11Kek(Pkcs11Token(hsm.module, hsm.token, "0000"), "kek-1")
    with pytest.raises(KekError, match="no AES key labelled 'absent'"):
        Pkcs11Kek(Pkcs11Token(hsm.module, hsm.token, hsm.pin), "absent")
    with pytest.raises(KekError, match="not reachable"):
        KekSource(None, None).open("pkcs11:kek-1")


def test_unreachable_key_server_is_a_clear_client_error() -> None:
    pub = Identity.generate().public
    blob = files.encrypt_bytes(b"x", [pub], Identity.generate())
    with pytest.raises(ServerError, match="cannot be reached"):
        files.decrypt_bytes(blob, [EnterpriseKey("http://127.0.0.1:9", pub, lambda: "t")])


def test_bad_bodies_are_4xx_problems(idp: Any, tmp_path: Path) -> None:
    ent = start_enterprise(enterprise_config(idp, None, tmp_path / "ent"))
    try:
        r = httpx.post(f"{ent.url}/v1/unwrap", content=b"not json")
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == "unwrap request: not JSON"
        r = httpx.post(f"{ent.url}/v1/unwrap", content=b"x" * (2 * 1024 * 1024 + 1))
        assert r.status_code == 413
        r = httpx.post(f"{ent.url}/v1/admin/members", json={"email": "a@b.example"})
        assert r.status_code == 403  # no admin token
        assert _audit(ent.services) == []  # nothing was an unwrap attempt
    finally:
        ent.stop()


def test_cross_origin_requests_only_from_the_organizations_web_origin(idp: Any, tmp_path: Path) -> None:
    ent = start_enterprise(enterprise_config(idp, None, tmp_path / "ent", cors_origin="https://c11.corp.example"))
    try:
        ask = {"access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type"}
        ok = httpx.options(f"{ent.url}/v1/unwrap", headers={"origin": "https://c11.corp.example", **ask})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://c11.corp.example"
        other = httpx.options(f"{ent.url}/v1/unwrap", headers={"origin": "https://evil.example", **ask})
        assert "access-control-allow-origin" not in other.headers
        r = httpx.post(f"{ent.url}/v1/unwrap", content=b"{}", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers  # a browser on another origin cannot read answers
    finally:
        ent.stop()
