"""Key server, online policy (F6): encrypt --online, release, revoke/restore, expiry, recipients, access
history with log proofs, one refusal for all reasons, rate limits; through the real CLI and SDK, on SQLite
and PostgreSQL (the `server` fixture)."""

from __future__ import annotations

import base64
import io
import json
import stat
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from srvkit import PASSWORD, authed, confirm_email, new_email, outbox_message, run_cli, verification_link

from c11 import files, online
from c11.client import Client
from c11.errors import AccessRefusedError, IntegrityError, OnlinePolicyError, ProofError, ServerError
from c11.format import online as fmt
from c11.format.header import read_header
from c11.keys.identity import Identity
from c11.log.entries import email_hash


def verified_user(server, tag: str = "user") -> tuple[str, str]:
    """A signed-up user with a verified email: (email, bearer token)."""
    addr = new_email(tag)
    with Client(server.url) as c:
        c.signup(addr, PASSWORD)
        confirm_email(verification_link(outbox_message(server.data_dir, addr)))
        return addr, c.login(addr, PASSWORD).token


@pytest.fixture
def people(server, tmp_path):
    """Alice (author), Bob (recipient) and Eve (not a recipient), each with an identity and a client."""
    out = {}
    for name in ("alice", "bob", "eve"):
        addr, token = verified_user(server, name)
        c = Client(server.url, token)
        c.state_dir = tmp_path / f"state-{name}"
        out[name] = {"email": addr, "token": token, "client": c, "id": Identity.generate(addr)}
    yield out
    for p in out.values():
        p["client"].close()


def _encrypt(people, data: bytes = b"secret plans", expires: int | None = None, to=("bob",)) -> bytes:
    a = people["alice"]
    recips = [(people[n]["email"], people[n]["id"].public) for n in to]
    seal = online.prepare(a["client"], a["id"], recips, expires=expires)
    out = io.BytesIO()
    files.encrypt(io.BytesIO(data), out, [k for _, k in recips], a["id"], options=seal.options())
    return out.getvalue()


def _decrypt(person, blob: bytes) -> bytes:
    with online.releasing(person["client"]) as release:
        return files.decrypt_bytes(blob, [person["id"], release]).plaintext


def _doc(blob: bytes) -> str:
    return str(uuid.UUID(bytes=read_header(io.BytesIO(blob))[0].doc_id))


def test_server_key_is_public_and_private_key_file_is_0600(server):
    d = httpx.get(f"{server.url}/api/v1/keyserver/key").json()
    assert d["public_key"].startswith("c11:mlkem768x25519:") and len(d["fingerprint"]) == 32
    path = server.data_dir / "secrets" / "keyserver.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_release_revoke_restore_and_refusals_are_identical(server, people):
    blob = _encrypt(people)
    assert _decrypt(people["bob"], blob) == b"secret plans"
    assert _decrypt(people["alice"], blob) == b"secret plans"  # the author is a recipient
    # a recipient cannot open it without the key server
    with pytest.raises(OnlinePolicyError, match="online policy"):
        files.decrypt_bytes(blob, [people["bob"]["id"]])
    # Eve has Bob's file but is no recipient: even with Bob's client she has no recipient key
    problems = []
    with pytest.raises(AccessRefusedError) as e:
        people["eve"]["client"].keyserver.release(
            fmt.find_stanza(read_header(io.BytesIO(blob))[0]), people["eve"]["id"]
        )
    problems.append(e.value.problem)
    doc = _doc(blob)
    people["alice"]["client"].keyserver.revoke(doc)
    with pytest.raises(AccessRefusedError) as e:
        _decrypt(people["bob"], blob)
    assert "revoked" in str(e.value) and doc in str(e.value)
    problems.append(e.value.problem)
    people["alice"]["client"].keyserver.restore(doc)
    assert _decrypt(people["bob"], blob) == b"secret plans"
    # expiry in the past refuses; --never brings it back
    people["alice"]["client"].keyserver.set_expiry(doc, datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(AccessRefusedError) as e:
        _decrypt(people["bob"], blob)
    problems.append(e.value.problem)
    people["alice"]["client"].keyserver.set_expiry(doc, None)
    assert _decrypt(people["bob"], blob) == b"secret plans"
    # no oracle: the same answer for "not a recipient", "revoked" and "expired"
    for p in problems:
        p.pop("instance", None)
    assert problems[0] == problems[1] == problems[2]
    assert problems[0]["status"] == 403 and problems[0]["type"].endswith(":access-refused")


def test_policy_expired_at_encryption_refuses(server, people):
    blob = _encrypt(people, expires=int(datetime.now(UTC).timestamp()) + 1)
    people["alice"]["client"].keyserver.set_expiry(_doc(blob), datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(AccessRefusedError):
        _decrypt(people["bob"], blob)


def test_recipients_of_the_server_part_change_without_touching_the_file(server, people):
    blob = _encrypt(people)
    doc = _doc(blob)
    ks = people["alice"]["client"].keyserver
    ks.change_recipients(doc, remove=[people["bob"]["email"]])
    with pytest.raises(AccessRefusedError):
        _decrypt(people["bob"], blob)
    assert people["bob"]["email"] not in {r.email for r in ks.document(doc).recipients}
    ks.change_recipients(doc, add=[people["bob"]["id"].public])  # by key this time
    assert _decrypt(people["bob"], blob) == b"secret plans"


def test_only_the_author_controls_a_document(server, people):
    doc = _doc(_encrypt(people))
    for who in ("bob", "eve"):
        with pytest.raises(ServerError) as e:
            people[who]["client"].keyserver.revoke(doc)
        assert e.value.status == 404
        with pytest.raises(ServerError):
            people[who]["client"].keyserver.accesses(doc)


def test_moved_or_edited_share_is_refused(server, people):
    blob = _encrypt(people)
    header = read_header(io.BytesIO(blob))[0]
    stanza = fmt.find_stanza(header)
    policy, raw, sealed = fmt.parse_body(stanza.body)
    bob = people["bob"]
    # the policy edited in the file (say, Eve added): the server's seal no longer opens, and the digest differs
    forged = fmt.Policy(
        policy.doc_id,
        policy.server,
        policy.server_key,
        policy.author,
        policy.recipients + (fmt.PolicyRecipient(email_hash(people["eve"]["email"]), None),),
        policy.expires,
    )
    with pytest.raises(AccessRefusedError):
        bob["client"].keyserver.release(fmt.encode_body(forged.encode(), sealed), bob["id"])
    # the share moved into another document: the reader refuses it before asking
    other = _encrypt(people, b"other")
    oh, _ = read_header(io.BytesIO(other))
    oh.stanzas = [stanza if s.type == fmt.ONLINE else s for s in oh.stanzas]
    with online.releasing(bob["client"]) as release, pytest.raises(IntegrityError):
        files.open_header(oh, [bob["id"], release])


def test_every_release_is_logged_and_proven(server, people):
    blob = _encrypt(people)
    doc = _doc(blob)
    for _ in range(3):
        _decrypt(people["bob"], blob)
    people["alice"]["client"].keyserver.revoke(doc)
    with pytest.raises(AccessRefusedError):
        _decrypt(people["bob"], blob)
    items = people["alice"]["client"].keyserver.accesses(doc)  # verifies each entry and proof
    assert [a.result for a in items] == ["allowed"] * 3 + ["denied"]
    assert {a.email for a in items} == {people["bob"]["email"]}
    assert all(a.key == people["bob"]["id"].fingerprint and a.address == "127.0.0.1" for a in items)
    # the log entries themselves hold no email and no address
    for a in items:
        entry = json.loads(a.entry)
        assert entry["kind"] == "release" and entry["v"] == 2 and a.by == "account"
        assert "who" not in entry and "key" not in entry  # v2: who and which key are in the actor commitment
        assert email_hash(people["bob"]["email"]) not in a.entry and people["bob"]["id"].fingerprint not in a.entry
        assert "@" not in a.entry and "127.0.0.1" not in a.entry
    # a forged access record is caught
    ks = people["alice"]["client"].keyserver
    with pytest.raises(ProofError):
        ks._verify_access(
            doc,
            {
                **items[0].to_dict(),
                "result": "denied",
                "salt": "00" * 16,
                "address": items[0].address,
                "inclusion_proof": [],
            },
            people["alice"]["client"].log.checkpoint(),
        )


def test_database_never_holds_key_parts(server, people):
    """B lives only in the file (sealed to the key server): no column of the key server's tables holds it."""
    blob = _encrypt(people)
    header = read_header(io.BytesIO(blob))[0]
    from c11.keys import keyfile

    ident = keyfile.load(server.data_dir / "secrets" / "keyserver.key").unlock()
    _, b = fmt.open_share(ident.kem_private, fmt.find_stanza(header).body)
    _decrypt(people["bob"], blob)
    import sqlalchemy as sa

    engine = sa.create_engine(server.config.database_url)
    try:
        with engine.connect() as c:
            for table in ("online_documents", "online_recipients", "online_accesses", "log_entries"):
                for row in c.execute(sa.text(f"SELECT * FROM {table}")):
                    for v in row:
                        raw = v if isinstance(v, bytes) else str(v).encode()
                        for form in (b, b.hex().encode(), base64.b64encode(b)):
                            assert form not in raw
    finally:
        engine.dispose()


def test_register_requires_authorship_and_a_valid_stanza(server, people, unverified_user):
    with Client(server.url, unverified_user["token"]) as unverified:
        with pytest.raises(ServerError) as e:
            unverified.keyserver.register(unverified.keyserver.prepare(unverified_user["email"], []))
        assert e.value.status == 403 and e.value.problem["type"].endswith("email-unverified")
    a, eve = people["alice"], people["eve"]
    seal = a["client"].keyserver.prepare(a["email"], [(None, a["id"].public)])
    with pytest.raises(ServerError) as e:
        eve["client"].keyserver.register(seal)  # Eve is not the policy's author
    assert e.value.status == 403
    with authed(server, a["token"]) as h:
        r = h.post("/api/v1/documents", json={"stanza": base64.b64encode(b"\0\0\0\2{}" + bytes(2000)).decode()})
        assert r.status_code == 422
    a["client"].keyserver.register(seal)
    a["client"].keyserver.register(seal)  # idempotent
    other = a["client"].keyserver.prepare(a["email"], [(None, eve["id"].public)])
    clash = fmt.make(
        server.url,
        a["client"].keyserver.server_key(),
        email_hash(a["email"]),
        other.policy.recipients,
        None,
        doc_id=seal.policy.doc_id,
    )
    with pytest.raises(ServerError) as e:
        a["client"].keyserver.register(clash)
    assert e.value.status == 409


def test_release_rate_limit_answers_429(fresh_server, tmp_path):
    srv = fresh_server(keyserver_release_limit=2)
    addr, token = verified_user(srv)
    with Client(srv.url, token) as c:
        c.state_dir = tmp_path
        me = Identity.generate(addr)
        seal = online.prepare(c, me, [])
        stanza = seal.stanza
        c.keyserver.release(stanza, me)
        c.keyserver.release(stanza, me)
        with authed(srv, token) as h:
            r = h.post(
                "/api/v1/keyserver/release",
                json={"stanza": base64.b64encode(stanza.body).decode(), "public_key": me.public.line()},
            )
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_reencrypt_adds_a_recipient_to_an_online_file(server, people, tmp_path):
    blob = _encrypt(people)
    path = tmp_path / "doc.c11"
    path.write_bytes(blob)
    a, eve = people["alice"], people["eve"]
    with online.releasing(a["client"]) as release:
        files.reencrypt(path, a["id"], add=[eve["id"].public], using=[release])
    with pytest.raises(AccessRefusedError):
        _decrypt(eve, path.read_bytes())  # in the file, but not yet allowed by the key server
    a["client"].keyserver.change_recipients(_doc(blob), add=[eve["email"]])
    assert _decrypt(eve, path.read_bytes()) == b"secret plans"
    with online.releasing(a["client"]) as release, pytest.raises(Exception, match="online policy"):
        files.reencrypt(path, a["id"], rotate=True, using=[release])


# -- the CLI ---------------------------------------------------------------------------------------------


def _cli_user(server, tmp_path, name):
    addr, _ = verified_user(server, name)
    cfg = tmp_path / name
    env = {"C11_PASSWORD": PASSWORD}
    r = run_cli(["login", "--server", server.url, "--email", addr], cfg, env)
    assert r.returncode == 0, r.stderr
    return addr, cfg


def test_cli_online_encrypt_revoke_expire_access(server, tmp_path):
    alice, acfg = _cli_user(server, tmp_path, "alice")
    bob, bcfg = _cli_user(server, tmp_path, "bob")
    src = tmp_path / "report.txt"
    src.write_text("quarterly numbers")
    r = run_cli(["encrypt", "--online", "--expires", "7d", "-r", bob, str(src)], acfg)
    assert r.returncode == 0, r.stderr
    enc = tmp_path / "report.txt.c11"
    r = run_cli(["inspect", "--json", str(enc)], acfg)
    ext = json.loads(r.stdout)["extensions"]
    assert ext[0]["type"] == "c11-online/v1" and ext[0]["critical"] and ext[0]["server"] == server.url
    out = tmp_path / "bob.txt"
    r = run_cli(["decrypt", "-o", str(out), str(enc)], bcfg)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "quarterly numbers"
    r = run_cli(["revoke", str(enc)], acfg)
    assert r.returncode == 0 and "REVOKED" in r.stdout, r.stderr
    r = run_cli(["decrypt", "-o", str(tmp_path / "again.txt"), str(enc)], bcfg)
    assert r.returncode != 0 and "revoked" in r.stderr and not (tmp_path / "again.txt").exists()
    r = run_cli(["restore", str(enc)], acfg)
    assert r.returncode == 0, r.stderr
    r = run_cli(["expire", str(enc), "--at", "2020-01-01"], acfg)
    assert r.returncode == 0, r.stderr
    r = run_cli(["decrypt", "-o", str(tmp_path / "late.txt"), str(enc)], bcfg)
    assert r.returncode != 0 and "expired" in r.stderr
    r = run_cli(["expire", str(enc), "--never"], acfg)
    assert r.returncode == 0 and "never" in r.stdout
    r = run_cli(["deny", str(enc), "-r", bob], acfg)
    assert r.returncode == 0 and bob not in r.stdout
    r = run_cli(["decrypt", "-o", str(tmp_path / "denied.txt"), str(enc)], bcfg)
    assert r.returncode != 0
    r = run_cli(["allow", str(enc), "-r", bob], acfg)
    assert r.returncode == 0 and bob in r.stdout
    assert run_cli(["decrypt", "-o", str(tmp_path / "ok.txt"), str(enc)], bcfg).returncode == 0
    r = run_cli(["access", "--json", str(enc)], acfg)
    assert r.returncode == 0, r.stderr
    results = [a["result"] for a in json.loads(r.stdout)["accesses"]]
    assert results == ["allowed", "denied", "denied", "denied", "allowed"]
    r = run_cli(["access", str(enc)], acfg)
    assert r.returncode == 0 and r.stdout.count(bob) >= 5 and "verified" in r.stdout
    # Bob is no author: refused; a file without online policy is named as such
    r = run_cli(["revoke", str(enc)], bcfg)
    assert r.returncode != 0 and "404" in r.stderr
    r = run_cli(["encrypt", "-r", bob, "-o", str(tmp_path / "plain.c11"), str(src)], acfg)
    assert r.returncode == 0, r.stderr
    r = run_cli(["revoke", str(tmp_path / "plain.c11")], acfg)
    assert r.returncode == 2 and "no online policy" in r.stderr


def test_cli_decrypt_online_file_without_login_says_so(server, tmp_path):
    alice, acfg = _cli_user(server, tmp_path, "alice")
    src = tmp_path / "a.txt"
    src.write_text("x")
    assert run_cli(["encrypt", "--online", str(src)], acfg).returncode == 0
    key = next((acfg / "keys").glob("*.key"))
    r = run_cli(
        ["decrypt", "-i", str(key), "-o", str(tmp_path / "b.txt"), str(tmp_path / "a.txt.c11")], tmp_path / "nobody"
    )
    assert r.returncode != 0 and "c11 login" in r.stderr
    r = run_cli(["encrypt", "--expires", "1d", str(src), "-o", str(tmp_path / "x.c11")], acfg)
    assert r.returncode == 2 and "--online" in r.stderr


def test_concurrent_releases_are_each_logged_once(server, people):
    """Group commit: many releases at once, each answered with its own log entry, all in the access list."""
    from concurrent.futures import ThreadPoolExecutor

    blob = _encrypt(people)
    doc = _doc(blob)
    stanza = fmt.find_stanza(read_header(io.BytesIO(blob))[0])
    bob = people["bob"]

    def one(_: int) -> int:
        with Client(server.url, bob["token"]) as c:
            c.keyserver.release(stanza, bob["id"])
        return 1

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(one, range(48))) == 48
    items = people["alice"]["client"].keyserver.accesses(doc)
    assert len(items) == 48 and len({a.index for a in items}) == 48 and all(a.allowed for a in items)


def test_cli_online_bundle_message_and_docid(server, tmp_path):
    alice, acfg = _cli_user(server, tmp_path, "alice")
    bob, bcfg = _cli_user(server, tmp_path, "bob")
    folder = tmp_path / "project"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.txt").write_text("B")
    bundle = tmp_path / "project.c11.zip"
    r = run_cli(["encrypt", "--online", "-r", bob, "-o", str(bundle), str(folder)], acfg)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "restored"
    r = run_cli(["decrypt", "-o", str(out), str(bundle)], bcfg)
    assert r.returncode == 0 and (out / "sub" / "b.txt").read_text() == "B", r.stderr
    r = run_cli(["encrypt", "--online", "-r", bob, "--armor"], acfg, input="meet at 5")
    assert r.returncode == 0 and r.stdout.startswith("-----BEGIN C11 MESSAGE-----"), r.stderr
    block = r.stdout
    r = run_cli(["decrypt"], bcfg, input=block)
    assert r.returncode == 0 and r.stdout == "meet at 5", r.stderr
    doc = json.loads(run_cli(["inspect", "--json", str(bundle)], acfg).stdout)["doc_id"]
    assert run_cli(["revoke", doc], acfg).returncode == 0  # by document ID
    r = run_cli(["decrypt", "-o", str(tmp_path / "again"), str(bundle)], bcfg)
    assert r.returncode != 0 and "revoked" in r.stderr and not (tmp_path / "again").exists()
    r = run_cli(["access", "--json", doc], acfg)
    assert [a["result"] for a in json.loads(r.stdout)["accesses"]] == ["allowed", "denied"]
