"""What the registry refuses (bad proofs of possession, other people's emails, replays, unverified
emails, missing scopes) and what clients detect (edited log rows, a changed log key, a rolled-back log)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from regkit import Device, ok, signup_verified, sql
from srvkit import PASSWORD, anon, authed, http_login, new_email

from c11.client import Client
from c11.errors import AuthError, LogKeyChangedError, NoKeyPublishedError, ProofError, ServerError
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey
from c11.log.entries import email_hash, publish_message, rfc3339


def _login(server, email: str, state_dir) -> Client:
    c = Client(server.url)
    c.login(email, PASSWORD)
    c.state_dir = state_dir
    return c


def _body(identity: Identity, email: str, when: datetime | None = None, line: str | None = None) -> dict:
    line = line or identity.public.line()
    stamp = rfc3339(when or datetime.now(UTC), precise=True)
    sig = identity.sign(publish_message(email, line, stamp))
    return {"email": email, "public_key": line, "timestamp": stamp, "signature": base64.b64encode(sig).decode()}


def _problem(r) -> str:
    assert r.headers["content-type"] == "application/problem+json", r.text
    return r.json()["type"].rsplit(":", 1)[-1]


def test_publish_refuses_bad_proofs_and_other_emails(reg_server, tmp_path):
    me = signup_verified(reg_server, "pop")
    other = signup_verified(reg_server, "victim")
    ident, stranger = Identity.generate(me), Identity.generate(me)
    with _login(reg_server, me, tmp_path) as c, authed(reg_server, c.token) as h:
        # signed by another key than the one published
        body = _body(ident, me)
        body["signature"] = _body(stranger, me, line=ident.public.line())["signature"]
        body["signature"] = base64.b64encode(
            stranger.sign(publish_message(me, ident.public.line(), body["timestamp"]))
        ).decode()
        r = h.post("/api/v1/keys", json=body)
        assert r.status_code == 400 and _problem(r) == "bad-proof"
        # a signature over other data (another email in the message)
        body = _body(ident, me)
        body["signature"] = _body(ident, other)["signature"]
        assert _problem(h.post("/api/v1/keys", json=body)) == "bad-proof"
        # garbage signature
        assert _problem(h.post("/api/v1/keys", json={**_body(ident, me), "signature": "!!"})) == "bad-proof"
        # for someone else's email, even with a valid proof
        r = h.post("/api/v1/keys", json=_body(ident, other))
        assert r.status_code == 403 and _problem(r) == "not-your-email"
        # stale or future timestamps
        for delta in (timedelta(minutes=-11), timedelta(minutes=11)):
            r = h.post("/api/v1/keys", json=_body(ident, me, datetime.now(UTC) + delta))
            assert r.status_code == 400 and _problem(r) == "stale-proof"
        assert _problem(h.post("/api/v1/keys", json={**_body(ident, me), "timestamp": "yesterday"})) == "bad-proof"
        # a key line without a signing key
        no_sig = PublicKey(ident.public.kem, ident.public.enc).line()
        r = h.post("/api/v1/keys", json=_body(ident, me, line=no_sig))
        assert r.status_code == 422 and _problem(r) == "bad-public-key"
        # a valid proof is accepted once; replaying it is refused
        good = _body(ident, me)
        r = h.post("/api/v1/keys", json=good)
        assert r.status_code == 200 and r.json()["action"] == "publish"
        r = h.post("/api/v1/keys", json=good)
        assert r.status_code == 409 and _problem(r) == "replayed-proof"
        # publishing the same key again (fresh proof) changes nothing and logs nothing
        before = c.log.checkpoint().current.size
        assert c.registry.publish(ident).action == "unchanged"
        assert c.log.checkpoint().current.size == before
        assert c.registry.lookup(me).fingerprint == ident.public.fingerprint
        with pytest.raises(NoKeyPublishedError):
            c.registry.lookup(other)


def test_unverified_email_and_scopes(reg_server, tmp_path):
    addr = new_email("unverified")
    with Client(reg_server.url) as c:
        c.signup(addr, PASSWORD)
        c.login(addr, PASSWORD)
        c.state_dir = tmp_path
        with pytest.raises(AuthError) as e:
            c.registry.publish(Identity.generate(addr))
        assert e.value.problem["type"].endswith("email-unverified")
    me = signup_verified(reg_server, "scoped")
    with _login(reg_server, me, tmp_path) as c:
        read_only = c.tokens.create("ro", ["keys:read"], 1).token
    with Client(reg_server.url, read_only) as ro:
        ro.state_dir = tmp_path
        with pytest.raises(AuthError):
            ro.registry.publish(Identity.generate(me), me)
        with pytest.raises(NoKeyPublishedError):
            ro.registry.lookup(me)  # reading is allowed
        with pytest.raises(AuthError):
            ro.policies.list()
    with anon(reg_server) as h:
        assert h.get("/api/v1/keys", params={"email": me}).status_code == 401
        assert h.get("/api/v1/log/checkpoint").status_code == 200  # auditors need no account


def test_remove_is_logged_and_lookups_stop(reg_server, tmp_path):
    me = signup_verified(reg_server, "leaver")
    with _login(reg_server, me, tmp_path) as c:
        c.registry.publish(Identity.generate(me))
        c.registry.remove()
        with pytest.raises(NoKeyPublishedError):
            c.registry.lookup(me)
        assert [h.action for h in c.registry.history(me)] == ["publish", "remove"]
        with pytest.raises(ServerError) as e:
            c.registry.remove()
        assert e.value.status == 404


def test_log_entries_are_canonical_and_name_no_email(reg_server, tmp_path):
    me = signup_verified(reg_server, "entries")
    with _login(reg_server, me, tmp_path) as c:
        published = c.registry.publish(Identity.generate(me))
        entries = dict(c.log.entries(0, published.log_index + 1))
    text = entries[published.log_index]
    d = json.loads(text)
    assert text == json.dumps(d, sort_keys=True, separators=(",", ":"))
    assert d["kind"] == "key" and d["email_hash"] == email_hash(me) and d["action"] == "publish"
    assert all("@" not in t for t in entries.values())
    with anon(reg_server) as h:
        assert h.get("/api/v1/log/entries", params={"start": 0, "end": 10**9}).status_code == 400
        page = h.get("/api/v1/log/entries", params={"start": 0, "end": published.log_index + 1}).json()
        assert len(page["entries"]) == min(published.log_index + 1, 1000)
        assert h.get("/api/v1/log/proof/inclusion", params={"index": 10**9}).status_code == 400
        assert h.get("/api/v1/log/proof/consistency", params={"from": 10**9}).status_code == 400
        assert h.get("/api/v1/log/key").text.startswith(d and h.get("/api/v1/log/checkpoint").text.split("\n")[0])


# -- tampering: a private server per test -------------------------------------------------------------------


def _two_users(server, tmp_path) -> tuple[Device, str, int]:
    alice = Device(server, signup_verified(server, "alice"), tmp_path / "alice")
    bob = Device(server, signup_verified(server, "bob"), tmp_path / "bob")
    alice.login()
    bob.login()
    with alice.client() as c:
        index = c.registry.lookup_record(bob.email).log_index
    return alice, bob.email, index


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_edited_entry_is_detected(backend, own_server, empty_db, tmp_path):
    server = own_server(empty_db(backend))
    alice, bob, index = _two_users(server, tmp_path)
    sql(server, "UPDATE log_entries SET data = REPLACE(data, '\"publish\"', '\"change\"') WHERE idx = :i", i=index)
    r = alice.run("registry", "lookup", bob)
    assert r.returncode == 1 and "does not verify" in r.stderr, r.stderr
    with alice.client() as c, pytest.raises(ProofError):
        c.registry.lookup(bob)
    r = alice.run("encrypt", "-r", bob, "-o", str(tmp_path / "x.c11"), input="secret")
    assert r.returncode == 1 and not (tmp_path / "x.c11").exists()
    assert alice.run("log", "prove", str(index)).returncode == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_edited_node_hash_is_detected(backend, own_server, empty_db, tmp_path):
    server = own_server(empty_db(backend))
    alice, bob, index = _two_users(server, tmp_path)
    ok(alice.run("log", "verify"))
    sql(server, "UPDATE log_nodes SET hash = :h WHERE level = 0 AND idx = :i", h=b"\x07" * 32, i=index ^ 1)
    # the lookup in _two_users left bob's proof in the server's in-process proof cache; a restarted server (or
    # one that never cached it) reads the edited node: drop the cache as a restart would
    server._server.config.app.state.ctx._services.pop("registry_proofs", None)
    r = alice.run("registry", "lookup", bob)
    assert r.returncode == 1 and "does not verify" in r.stderr, r.stderr
    # a rewritten interior node makes the next checkpoint inconsistent with the one alice stored
    sql(server, "UPDATE log_nodes SET hash = :h WHERE level = 1 AND idx = 0", h=b"\x09" * 32)
    carol = Device(server, signup_verified(server, "carol"), tmp_path / "carol")
    carol.login()  # appends entry 2 on top of the forged node
    r = alice.run("log", "verify")
    assert r.returncode == 1 and "c11: error" in r.stderr, r.stderr
    with alice.client() as c, pytest.raises(ProofError):
        c.log.verify()


def test_rolled_back_log_is_detected(own_server, tmp_path):
    server = own_server()
    alice, bob, _ = _two_users(server, tmp_path)
    ok(alice.run("log", "verify"))
    sql(server, "UPDATE log_state SET size = 1, root_hash = (SELECT leaf_hash FROM log_entries WHERE idx = 0)")
    r = alice.run("log", "verify")
    assert r.returncode == 1 and "shrank" in r.stderr, r.stderr


def test_changed_log_key_is_detected(own_server, tmp_path):
    server = own_server()
    alice, bob, _ = _two_users(server, tmp_path)
    with alice.client() as c:
        pinned = c.log.trust.key_path
        assert pinned.read_text().strip() == c.log.server_key()
        # pretend the server now signs with another key: the pinned one is not it
        from c11.log.checkpoint import generate_log_key

        _, other = generate_log_key(c.log.verifier().name)
        real = pinned.read_text()
        pinned.write_text(other + "\n")
        with pytest.raises(LogKeyChangedError) as e:
            c.registry.lookup(bob)
        assert "changed" in str(e.value) and str(pinned) in str(e.value)
        r = alice.run("log", "verify")
        assert r.returncode == 1 and "log key" in r.stderr and "changed" in r.stderr
        pinned.write_text(real)
        assert c.registry.lookup(bob)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_server_refuses_a_database_of_another_log_key(own_server, tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first = own_server(url, tmp_path / "data-a")
    first.stop()
    with pytest.raises(RuntimeError):
        own_server(url, tmp_path / "data-b")  # a fresh data dir: a new log key, refused for this database
    second = own_server(url, tmp_path / "data-a")
    with anon(second) as h:
        assert h.get("/api/v1/log/checkpoint").status_code == 200


def test_lookup_authentication_matches_the_server_rules(reg_server, tmp_path):
    """The lookup routes check login sessions on a fast path; it must agree with `require_user`."""
    me = signup_verified(reg_server, "authn")
    with _login(reg_server, me, tmp_path) as c:
        c.registry.publish(Identity.generate(me))
        token = c.token
    with authed(reg_server, token) as h:
        assert h.get("/api/v1/keys", params={"email": me}).status_code == 200
        assert h.get("/api/v1/keys/history", params={"email": me}).status_code == 200
        assert h.get("/api/v1/keys", params={"email": "x" * 400}).status_code == 422  # validated after auth
    # an expired session, then a logged-out one, are refused like everywhere else
    sql(
        reg_server,
        "UPDATE login_sessions SET expires_at = :t WHERE user_id = (SELECT id FROM users WHERE email = :e)",
        t=datetime(2020, 1, 1, tzinfo=UTC),
        e=me,
    )
    with authed(reg_server, token) as h:
        for path in ("/api/v1/keys", "/api/v1/keys/history", "/api/v1/account"):
            r = h.get(path, params={"email": me})
            assert r.status_code == 401 and _problem(r) == "unauthorized", path
    with _login(reg_server, me, tmp_path) as c:
        token = c.token
        c.logout()
    with authed(reg_server, token) as h:
        assert h.get("/api/v1/keys", params={"email": me}).status_code == 401
    # a web session cookie is not a bearer token, and the other way round
    with anon(reg_server) as h:
        r = http_login(h, me, PASSWORD, kind="cookie")
        assert r.status_code == 201
        assert h.get("/api/v1/keys", params={"email": me}).status_code == 200  # the cookie works
        cookie = h.cookies.get("c11_session")
    with authed(reg_server, cookie) as h:
        assert h.get("/api/v1/keys", params={"email": me}).status_code == 401


def test_lookup_fast_path_refuses_an_unverified_account_past_its_time(reg_server, tmp_path):
    """An account never verified within `unverified_account_hours` is refused on the lookup fast path too
    (as `auth._session` refuses it), while its session is otherwise valid."""
    me = signup_verified(reg_server, "lapsed")
    with _login(reg_server, me, tmp_path) as c:
        token = c.token
    with authed(reg_server, token) as h:
        assert h.get("/api/v1/keys", params={"email": me}).status_code in (200, 404)  # allowed while verified
    old = datetime.now(UTC) - timedelta(hours=reg_server.config.unverified_account_hours + 1)
    sql(reg_server, "UPDATE users SET email_verified_at = NULL, created_at = :t WHERE email = :e", t=old, e=me)
    with authed(reg_server, token) as h:
        for path in ("/api/v1/keys", "/api/v1/keys/history", "/api/v1/account"):
            r = h.get(path, params={"email": me})
            assert r.status_code == 401 and _problem(r) == "unauthorized", path
