"""The c11 server never sees a password (issue 12, docs/server.md "Password flows (OPAQUE)"): every request body
of sign-up, confirmation, login, `c11 passwd` and reset is captured on the wire and holds neither the password
nor a simple encoding of it; a new account has no Argon2 hash. An account made before OPAQUE sends its password
once, at its next login, which registers OPAQUE and deletes the hash."""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse

import httpx
import pytest
import sqlalchemy as sa
from srvkit import PASSWORD, anon, new_email, outbox_message, outbox_messages, text_body, verification_link

from c11.client import Client, opaque_login
from c11.errors import AuthError

SECRET = "Tr0ub4dor&3 wire-check passphrase"
NEW_SECRET = "another wire-check passphrase 77"


def _encodings(password: str) -> set[bytes]:
    """The password and simple encodings of it: UTF-8, UTF-16, hex, URL and JSON escapes, base64 and base64url
    at each of the three alignments (the middle part, which any base64 text containing it holds)."""
    raw = password.encode()
    out = {
        raw,
        password.encode("utf-16-le"),
        raw.hex().encode(),
        raw.hex().upper().encode(),
        urllib.parse.quote(password).encode(),
        urllib.parse.quote_plus(password).encode(),
        json.dumps(password).encode()[1:-1],
        password[::-1].encode(),
    }
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            text = enc(b"\0" * pad + raw)
            out.add(text[4:-4])  # skip the groups that mix in padding or neighbours
    return {e for e in out if len(e) >= 8}


class _Wire:
    """Every request a client sends: method, URL and body, as they leave the process."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []

    def attach(self, c: Client) -> Client:
        c._core._http.event_hooks["request"].append(self._hook)
        return c

    def _hook(self, request: httpx.Request) -> None:
        self.seen.append((request.method, str(request.url), request.read()))

    def paths(self) -> set[str]:
        return {f"{m} {urllib.parse.urlsplit(u).path}" for m, u, _ in self.seen}

    def assert_never(self, *passwords: str) -> None:
        needles = set().union(*(_encodings(p) for p in passwords))
        for method, url, body in self.seen:
            blob = url.encode() + b"\n" + body
            for n in needles:
                assert n not in blob, (method, url)


def _db(server, sql: str, **params):  # type: ignore[no-untyped-def]
    from c11.server.db import make_engine

    engine = make_engine(server.config.database_url)
    try:
        with engine.begin() as c:
            r = c.execute(sa.text(sql), params)
            return r.all() if r.returns_rows else None
    finally:
        engine.dispose()


def test_no_request_of_any_password_flow_carries_the_password(server):
    wire = _Wire()
    addr = new_email("wire")
    with wire.attach(Client(server.url)) as c:
        c.signup(addr, SECRET)  # sign-up: an OPAQUE registration
        c.login(addr, SECRET)  # login (unverified: it may log in, then only verify)
        token = verification_link(outbox_message(server.data_dir, addr)).split("token=")[1]
        c.verify_email(token)  # confirm: the link's token under that session
        assert c.whoami().user.email_verified
        c.change_password(SECRET, NEW_SECRET)  # c11 passwd: OPAQUE login + new registration
        c.request_password_reset(addr)
    mail = [m for m in outbox_messages(server.data_dir, addr, 2) if "Reset" in m["Subject"]][0]
    reset_token = text_body(mail).split("token=")[1].split()[0]
    final = "the reset wire-check passphrase"
    with wire.attach(Client(server.url)) as c:
        c.reset_password(reset_token, final)  # reset: a new registration under the link's token
        c.login(addr, final)
    assert wire.paths() >= {
        "POST /api/v1/accounts/signup/start",
        "POST /api/v1/accounts",
        "POST /api/v1/sessions/opaque/start",
        "POST /api/v1/sessions/opaque/finish",
        "POST /api/v1/account/verify",
        "POST /api/v1/account/opaque/start",
        "PUT /api/v1/account/opaque",
        "POST /api/v1/accounts/password-reset/start",
        "POST /api/v1/accounts/password-reset/complete",
    }
    assert "POST /api/v1/sessions" not in wire.paths()  # the password login is never used
    wire.assert_never(SECRET, NEW_SECRET, final)
    # the control: the same check finds a password when one is sent (the old password login's body)
    probe = _Wire()
    with probe.attach(Client(server.url)) as c, pytest.raises(AuthError):
        c._core.request("POST", "/api/v1/sessions", {"email": addr, "password": SECRET}, auth=False)
    with pytest.raises(AssertionError):
        probe.assert_never(SECRET)
    # the server holds an OPAQUE record and no Argon2 hash
    [(pw_hash, records)] = _db(
        server,
        "SELECT u.password_hash, (SELECT count(*) FROM opaque_credentials o "
        "WHERE o.user_id = u.id) FROM users u WHERE u.email = :e",
        e=addr,
    )
    assert pw_hash is None and records == 1
    with anon(server) as h:  # and the password login finds nothing to check
        assert h.post("/api/v1/sessions", json={"email": addr, "password": final}).status_code == 401


def test_encodings_cover_base64_at_every_alignment():
    for pad in range(3):
        wrapped = base64.b64encode(b"x" * pad + SECRET.encode() + b"y")
        assert any(e in wrapped for e in _encodings(SECRET)), pad
    assert any(e in binascii.hexlify(SECRET.encode()) for e in _encodings(SECRET))


def test_an_account_made_before_opaque_sends_its_password_once_then_never(server):
    """A legacy account (Argon2 hash, no OPAQUE record): the OPAQUE login fails with the hint; only the login the
    user asks for (`legacy_password`) sends the password, this last time, and registers OPAQUE; the server deletes the hash; from then on only OPAQUE logs in."""
    from c11.server.accounts.service import create_user
    from c11.server.context import ServerContext
    from c11.server.db import Database
    from c11.server.passwords import Passwords

    addr = new_email("legacy")
    db = Database(server.config.database_url)
    try:
        ctx = ServerContext(server.config, db, Passwords(server.config.password_hashing))
        with db.session() as s:
            create_user(ctx, s, addr, SECRET, verified=True)  # as sign-up did before OPAQUE
    finally:
        db.dispose()
    [(before,)] = _db(server, "SELECT password_hash FROM users WHERE email = :e", e=addr)
    assert before and before.startswith("$argon2id$")
    first = _Wire()
    with first.attach(Client(server.url)) as c:  # never on its own: the OPAQUE login fails, with the hint
        with pytest.raises(AuthError, match="--legacy-password"):
            c.login(addr, SECRET)
        with pytest.raises(AuthError):
            opaque_login.login(c, addr, SECRET)
    assert "POST /api/v1/sessions" not in first.paths()
    first.assert_never(SECRET)
    wire = _Wire()
    with wire.attach(Client(server.url)) as c:
        c.login(addr, SECRET, legacy_password=True)  # asked for by the user
    assert {"POST /api/v1/sessions", "PUT /api/v1/account/opaque"} <= wire.paths()
    [(after,)] = _db(server, "SELECT password_hash FROM users WHERE email = :e", e=addr)
    assert after is None
    again = _Wire()
    with again.attach(Client(server.url)) as c:
        c.login(addr, SECRET)
        assert c.whoami().email == addr
    assert "POST /api/v1/sessions" not in again.paths()
    again.assert_never(SECRET)
    with anon(server) as h:
        assert h.post("/api/v1/sessions", json={"email": addr, "password": SECRET}).status_code == 401


def test_cli_signup_verify_passwd_and_reset(server, tmp_path):
    """The CLI: `c11 signup`, `c11 verify LINK` (an OPAQUE login, then the token), `c11 passwd`, and
    `c11 password reset`; a wrong password confirms nothing; bad links are one-line errors."""
    from srvkit import run_cli

    addr, cfg = new_email("cliv"), tmp_path / "cfg"
    env = {"C11_PASSWORD": PASSWORD, "C11_SERVER": server.url}
    assert run_cli(["signup", "--email", addr], cfg, env).returncode == 0
    link = verification_link(outbox_message(server.data_dir, addr))
    wrong = run_cli(["verify", link, "--email", addr], cfg, {**env, "C11_PASSWORD": "not the password at all"})
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    bad = run_cli(["verify", server.url + "/api/v1/accounts/verify?token=nope"], cfg, env)
    assert bad.returncode != 0 and "verification link" in bad.stderr and "Traceback" not in bad.stderr
    r = run_cli(["verify", link], cfg, env)
    assert r.returncode == 0 and "is confirmed" in r.stderr, r.stderr
    assert "(verified)" in run_cli(["whoami"], cfg, env).stdout
    r = run_cli(["passwd"], cfg, {**env, "C11_NEW_PASSWORD": NEW_SECRET})
    assert r.returncode == 0, r.stderr
    assert "(verified)" in run_cli(["whoami"], cfg, env).stdout  # the stored login is the new session
    with Client(server.url) as c:
        with pytest.raises(AuthError):
            c.login(addr, PASSWORD)
        c.login(addr, NEW_SECRET)
        c.request_password_reset(addr)
    mail = [m for m in outbox_messages(server.data_dir, addr, 2) if "Reset" in m["Subject"]][0]
    reset_link = next(w for w in text_body(mail).split() if "password-reset?token=" in w)
    r = run_cli(
        ["password", "reset", "--email", addr, "--have-link"],
        cfg,
        {**env, "C11_RESET_LINK": reset_link, "C11_NEW_PASSWORD": SECRET},
    )
    assert r.returncode == 0, r.stderr
    with Client(server.url) as c:
        c.login(addr, SECRET)
    [(pw_hash,)] = _db(server, "SELECT password_hash FROM users WHERE email = :e", e=addr)
    assert pw_hash is None


# -- attacker review: no fallback, no account probe, no lockout by started logins -----------------------------


def _legacy_account(server, addr: str) -> None:
    """An account as sign-up made it before OPAQUE: an Argon2 hash, no OPAQUE record."""
    from c11.server.accounts.service import create_user
    from c11.server.context import ServerContext
    from c11.server.db import Database
    from c11.server.passwords import Passwords

    db = Database(server.config.database_url)
    try:
        ctx = ServerContext(server.config, db, Passwords(server.config.password_hashing))
        with db.session() as s:
            create_user(ctx, s, addr, SECRET, verified=True)
    finally:
        db.dispose()


def _problem_json(status: int, kind: str) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": "application/problem+json"},
        json={"type": f"urn:c11:problem:{kind}", "title": kind, "status": status, "detail": kind},
    )


@pytest.mark.parametrize(
    "answer",
    [
        lambda: _problem_json(404, "not-registered"),
        lambda: _problem_json(404, "not-found"),
        lambda: _problem_json(401, "bad-credentials"),
        lambda: _problem_json(500, "internal"),
        lambda: httpx.Response(200, json={"response": "AAAA", "login_id": "x"}),
        lambda: httpx.Response(
            200, json={"response": base64.urlsafe_b64encode(bytes(320)).decode().rstrip("="), "login_id": "x"}
        ),
    ],
)
def test_no_server_answer_makes_the_client_send_the_password(answer):
    """Whatever a server (or anyone on the way) answers the OPAQUE start with, the client never falls back to
    sending the password: the login fails, and every request it made holds no encoding of the password."""
    wire = _Wire()
    client = Client("https://c11.example")
    client._core._http._transport = httpx.MockTransport(lambda request: answer())
    with wire.attach(client) as c, pytest.raises(Exception) as e:  # noqa: PT011 - any failure, never a login
        c.login(new_email("probe"), SECRET)
    assert "Traceback" not in str(e.value)
    assert wire.paths() <= {"POST /api/v1/sessions/opaque/start", "POST /api/v1/sessions/opaque/finish"}
    assert wire.seen and "POST /api/v1/sessions" not in wire.paths()
    wire.assert_never(SECRET)


def _start(h: httpx.Client, email: str) -> httpx.Response:
    from c11._web import pake

    return h.post(
        "/api/v1/sessions/opaque/start",
        json={"email": email, "request": pake.b64u(pake.ClientLogin.start(SECRET).request)},
    )


def test_unknown_legacy_and_real_accounts_answer_the_start_alike(server, user):
    """An unknown email, an account made before OPAQUE and a real one get the same start answer (200, the same
    fields and sizes): a probe learns nothing; the fake login then fails at finish as a wrong password does."""
    legacy = new_email("legacy-probe")
    _legacy_account(server, legacy)
    with anon(server) as h:
        answers = [_start(h, e) for e in (new_email("nobody"), legacy, user["email"], new_email("nobody"))]
        assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
        shapes = {tuple(sorted((k, len(v)) for k, v in r.json().items())) for r in answers}
        assert len(shapes) == 1, shapes
        assert answers[0].json()["response"] != answers[3].json()["response"]
        for r in answers:  # a KE3 that proves nothing: the same 401, real or fake
            f = h.post(
                "/api/v1/sessions/opaque/finish", json={"login_id": r.json()["login_id"], "finalization": "A" * 86}
            )
            assert f.status_code == 401 and f.json()["type"].endswith(":bad-credentials"), f.text


def test_the_fake_answer_of_an_email_is_the_same_oprf_key_each_time(server):
    """Repeated probes of one unknown email meet the same OPRF key (the blinded element is answered the same,
    as for a real account), and two unknown emails different ones (RFC 9807 §10.9)."""
    import opaque_ke_py as ok

    from c11._web import pake

    ke1 = bytes(ok.client_login_start(b"any guess at all").get_message())
    with anon(server) as h:

        def evaluated(email: str) -> bytes:
            r = h.post("/api/v1/sessions/opaque/start", json={"email": email, "request": pake.b64u(ke1)})
            return pake.unb64u(r.json()["response"])[:32]  # KE2 opens with the evaluated element

        a, b = new_email("same"), new_email("other")
        assert evaluated(a) == evaluated(a) != evaluated(b)


def test_started_logins_alone_do_not_lock_the_account(server, user):
    """Anyone may start logins for an email: that alone never holds the owner back (a new device, no device
    token); failures count at finish (wrong passwords, which the client reports with a KE3 that fails)."""
    with anon(server) as h:
        for _ in range(server.config.login_max_failures_account + 3):
            assert _start(h, user["email"]).status_code == 200
    with Client(server.url) as c:
        c.login(user["email"], PASSWORD)


def test_cli_login_with_legacy_password_only_when_asked(server, tmp_path):
    """`c11 login` on a legacy account fails with the hint (no password sent); `--legacy-password` says the
    password is sent once, logs in, and leaves an OPAQUE record and no Argon2 hash."""
    from srvkit import run_cli

    addr, cfg = new_email("legacy-cli"), tmp_path / "cfg"
    _legacy_account(server, addr)
    env = {"C11_PASSWORD": SECRET, "C11_SERVER": server.url}
    r = run_cli(["login", "--email", addr, "--device"], cfg, env)
    assert r.returncode != 0 and "--legacy-password" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert _db(server, "SELECT password_hash FROM users WHERE email = :e", e=addr)[0][0]  # still legacy
    r = run_cli(["login", "--email", addr, "--device", "--legacy-password"], cfg, env)
    assert r.returncode == 0, r.stderr
    assert "sent to the server this once" in r.stderr
    [(pw_hash, records)] = _db(
        server,
        "SELECT u.password_hash, (SELECT count(*) FROM opaque_credentials o "
        "WHERE o.user_id = u.id) FROM users u WHERE u.email = :e",
        e=addr,
    )
    assert pw_hash is None and records == 1
