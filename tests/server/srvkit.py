"""Helpers of the server tests: start servers, PostgreSQL schemas, outbox reading, running the CLI.

Imported by conftest.py and the test modules (named uniquely, as tests/*/ folders share sys.path).
"""

from __future__ import annotations

import email
import email.message
import functools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import clifork
import httpx

SRC = Path(__file__).resolve().parents[2] / "src"
PG_ADMIN_URL = os.environ.get("C11_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]  # storage and migration tests: every database the server supports
# Live-server (end-to-end) fixtures: PostgreSQL only; SQLite keeps its end-to-end check in
# tests/server/test_sqlite_smoke.py and its storage checks through BACKENDS.
E2E_BACKENDS = ["postgresql"]
PASSWORD = "correct horse battery staple"
# Test-only scrypt cost of key files written by the CLI runs and in-process (tests/conftest.py sets it for the
# whole test process); pass env={TEST_SCRYPT_ENV: ""} for the production cost.
TEST_SCRYPT_ENV = "C11_TEST_ONLY_INSECURE_SCRYPT_LOG_N"
TEST_SCRYPT_LOG_N = "10"


def pg_unreachable_reason() -> str | None:
    """None if the test PostgreSQL answers, else why not."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as e:  # any connection problem
        return f"{type(e).__name__}: {e}"


class PgSchemas:
    """Creates uniquely named schemas in the test database and drops them all at the end."""

    def __init__(self) -> None:
        import sqlalchemy as sa

        self._engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def new(self) -> str:
        """A fresh empty schema; returns a database URL whose search_path is that schema. (A migrating test server
        on it starts from a copy of a migrated schema: `pg_from_template`.)"""
        import sqlalchemy as sa

        name = f"c11_test_{uuid.uuid4().hex[:12]}"
        with self._engine.connect() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        self.names.append(name)
        return f"{PG_ADMIN_URL}?options=-csearch_path%3D{name}"

    def drop_all(self) -> None:
        import sqlalchemy as sa

        with self._engine.connect() as c:
            for name in self.names:
                c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self._engine.dispose()


@dataclass
class RunningServer:
    """A server listening on loopback, with its config and a way to stop it."""

    url: str
    config: Any
    backend: str
    _server: Any
    _thread: threading.Thread

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def serve_in_thread(app: Any, sock: socket.socket) -> tuple[Any, threading.Thread]:
    """Run an ASGI app on uvicorn in a daemon thread on a bound socket; return once it listens."""
    import uvicorn

    # as `c11 serve`: no proxy headers at the uvicorn level (the server's trusted_proxies setting decides)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return server, thread


def loopback_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def start_server(config: Any, backend: str = "sqlite") -> RunningServer:
    """Start `create_app(config)` on a free loopback port (the port is chosen before the config is final)."""
    from c11.server.app import create_app

    sock = loopback_socket()
    config = replace(config, port=sock.getsockname()[1])
    _db_from_template(config)
    server, thread = serve_in_thread(create_app(config), sock)
    return RunningServer(f"http://127.0.0.1:{config.port}", config, backend, server, thread)


def _db_from_template(config: Any) -> None:
    """A new database of a migrating server starts as a copy of one migrated once per process (the
    migrations cost seconds each time; tests/server/test_migrations.py runs them for real)."""
    if config.migrate:
        db_from_template(config.database_url)


def db_from_template(url: str) -> None:
    """Bring a new test database to the newest revision by copying a template migrated once per test process:
    a SQLite file that does not exist yet (`sqlite_from_template`) or an empty PostgreSQL schema made by
    `PgSchemas.new` (`pg_from_template`). Any other database is left as it is."""
    sqlite_from_template(url)
    pg_from_template(url)


def sqlite_from_template(url: str) -> None:
    """If `url` names a SQLite file that does not exist yet, create it as a copy of an empty database at the
    newest revision (migrated once per test process)."""
    if url.startswith("sqlite:///") and not (path := Path(url.removeprefix("sqlite:///"))).exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_sqlite(), path)


@functools.cache
def _migrated_sqlite() -> Path:
    """An empty SQLite database at the newest revision, in this test process's temporary home."""
    from c11.server import migrate

    home = os.environ.get("HOME") if os.environ.get("C11_TEST_REAL_HOME") else None  # tests/conftest.py
    path = Path(tempfile.mkdtemp(prefix="c11-sqlite-template-", dir=home)) / "c11.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


_PG_SCHEMA_URL = re.compile(re.escape(PG_ADMIN_URL) + r"\?options=-csearch_path%3D(c11_test_[0-9a-f]{12})")


def pg_from_template(url: str) -> None:
    """If `url` is a schema of `PgSchemas.new` that is still empty, fill it with a copy of a schema at the newest
    revision: the `pg_dump` (DDL and the rows the migrations insert) of a schema migrated once per test process,
    with that schema's name replaced; milliseconds instead of seconds. tests/server/test_pg_template.py checks
    that a copy dumps as a freshly migrated schema does."""
    import sqlalchemy as sa

    found = _PG_SCHEMA_URL.fullmatch(url)
    if found is None or os.environ.get("C11_TEST_PG_TEMPLATE") == "0":  # 0: every schema runs the migrations
        return
    name = found.group(1)
    template, script = _pg_template()
    with _pg_admin().connect() as c:
        objects = "SELECT count(*) FROM pg_class WHERE relnamespace = CAST(:n AS regnamespace)"
        if c.execute(sa.text(objects), {"n": name}).scalar():
            return
        # Without parameters psycopg sends the statements as one simple query: one implicit transaction. The
        # dump's own session settings (search_path '' and others) are reset for the pooled connection.
        c.connection.driver_connection.execute(script.replace(template, name) + "\nRESET ALL;\n")


@functools.cache
def _pg_admin() -> Any:
    import sqlalchemy as sa

    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def pg_dump(schema: str, *args: str) -> str:
    """`pg_dump -n schema` of the test database as SQL text (raises with pg_dump's message if it fails)."""
    import sqlalchemy as sa

    exe = shutil.which("pg_dump")
    if exe is None:
        raise RuntimeError("pg_dump is not installed (Debian package postgresql-client, deps/apt.txt)")
    url = sa.make_url(PG_ADMIN_URL).set(drivername="postgresql")
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    cmd = [exe, "--no-password", "-n", schema, *args, url.set(password=None).render_as_string(hide_password=False)]
    for attempt in range(3):  # a schema dropped at the same moment by another test process can fail a dump
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode == 0:
            return done.stdout
        time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"pg_dump -n {schema} failed: {done.stderr.strip()}")


@functools.cache
def _pg_template() -> tuple[str, str]:
    """(name, SQL) of a PostgreSQL schema at the newest revision: migrated once per test process, dumped as DDL
    and INSERTs without its CREATE SCHEMA, owners or grants (and without psql's \\restrict lines), then dropped."""
    import sqlalchemy as sa

    from c11.server import migrate

    name = f"c11_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin().connect() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    try:
        migrate.upgrade(f"{PG_ADMIN_URL}?options=-csearch_path%3D{name}")
        dump = pg_dump(name, "--no-owner", "--no-privileges", "--inserts")
    finally:
        with _pg_admin().connect() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    lines = [line for line in dump.splitlines() if not line.startswith("\\")]
    script = "\n".join(lines).replace(f"CREATE SCHEMA {name};", "", 1)
    assert f"CREATE TABLE {name}.alembic_version" in script, script[:2000]
    return name, script


@contextmanager
def backend_server(request: Any, tmp_path_factory: Any, tag: str, **kw: Any) -> Iterator[RunningServer]:
    """A running server on the backend `request.param` (a fresh SQLite file or PostgreSQL schema); for the
    per-backend fixtures of the test folders."""
    tmp = tmp_path_factory.mktemp(f"{tag}-{request.param}")
    url = f"sqlite:///{tmp / 'c11.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_schemas").new()
    running = start_server(server_config(tmp / "data", url, **kw), request.param)
    try:
        yield running
    finally:
        running.stop()


def server_config(data_dir: Path, database_url: str, **kw: Any) -> Any:
    """A loopback server's Config with test-only Argon2id costs (pass `password_hashing=PasswordHashing()`
    for production ones)."""
    from c11.server.config import Config, PasswordHashing

    kw.setdefault("login_max_failures_ip", 10_000)
    kw.setdefault("password_hashing", PasswordHashing.test_only())
    return Config(data_dir=data_dir, database_url=database_url, host="127.0.0.1", port=0, **kw)


def new_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def outbox_messages(
    data_dir: Path, recipient: str, count: int = 1, timeout: float = 10.0
) -> list[email.message.Message]:
    """Wait until the outbox-folder transport has written `count` emails to `recipient`; return them."""
    deadline = time.monotonic() + timeout
    folder = data_dir / "outbox"
    while True:
        found = (
            [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))] if folder.is_dir() else []
        )
        mine = [m for m in found if m["To"] == recipient]
        if len(mine) >= count:
            return mine
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(mine)} of {count} emails to {recipient} in {folder}")
        time.sleep(0.05)


def outbox_message(data_dir: Path, recipient: str, timeout: float = 10.0) -> email.message.Message:
    """The (first) email to `recipient`, once the outbox-folder transport has written it."""
    return outbox_messages(data_dir, recipient, 1, timeout)[0]


def text_body(msg: email.message.Message) -> str:
    """The plain-text body of an email, whether it is multipart/alternative or text only."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError(f"no text/plain part in the email {msg['Subject']!r}")


def verification_link(msg: email.message.Message) -> str:
    body = text_body(msg)
    found = re.search(r"(https?://\S+/verify#token=\S+)", body)
    assert found, body
    return found.group(1)


def http_signup(h: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    """Sign up over raw HTTP as a client does: an OPAQUE registration (the password is never sent). `h` has the
    server as base_url. Returns the answer of `POST /api/v1/accounts` (201 when made)."""
    from c11._web import pake

    reg = pake.ClientRegistration.start(password)
    start = h.post("/api/v1/accounts/signup/start", json={"email": email, "request": pake.b64u(reg.request)})
    if start.status_code != 200:
        return start
    upload = reg.finish(pake.unb64u(start.json()["response"]))
    return h.post(
        "/api/v1/accounts",
        json={"email": email, "signup_id": start.json()["signup_id"], "registration": pake.b64u(upload)},
    )


def http_login(h: httpx.Client, email: str, password: str = PASSWORD, kind: str = "bearer") -> httpx.Response:
    """Log in over raw HTTP by OPAQUE (`kind` bearer or cookie); the answer of `/sessions/opaque/finish`."""
    from c11._web import pake

    attempt = pake.ClientLogin.start(password)
    start = h.post("/api/v1/sessions/opaque/start", json={"email": email, "request": pake.b64u(attempt.request)})
    if start.status_code != 200:
        return start
    final, _ = attempt.finish(pake.unb64u(start.json()["response"]))
    return h.post(
        "/api/v1/sessions/opaque/finish",
        json={"login_id": start.json()["login_id"], "finalization": pake.b64u(final), "kind": kind},
    )


def confirm_email(link: str, password: str = PASSWORD, email: str | None = None) -> httpx.Response:
    """Confirm an address as its owner does: open the emailed link's page (it names the address), log in to
    that account by OPAQUE with `password` (the password is never sent), then send the link's token under
    that session. Returns the confirmation's answer (200 when confirmed; the page's answer when the link is
    not valid); a wrong password raises AuthError at the login."""
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    from c11.client import Client

    with httpx.Client(timeout=30) as http:  # one client: each new one loads the CA bundle
        if "#token=" in link:  # the app's link: its page names nobody; the server's link page does
            base_url, token_part = link.split("/verify#token=", 1)
            link = f"{base_url}/api/v1/accounts/verify?token={token_part}"
        page = http.get(link)
        if page.status_code != 200:
            return page
        found = re.search(r'data-email="([^"]+)"', page.text)
        assert found or email, page.text
        addr = email or unescape(found.group(1))
        base = link.split("/api/v1/", 1)[0]
        token = parse_qs(urlsplit(link).query)["token"][0]
        with Client(base) as c:
            session = c.login(addr, password).token
        return http.post(
            f"{base}/api/v1/account/verify", json={"token": token}, headers={"Authorization": f"Bearer {session}"}
        )


def cli_env(config_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    full.update(
        {
            "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "C11_CONFIG_DIR": str(config_dir),
            TEST_SCRYPT_ENV: TEST_SCRYPT_LOG_N,
            **(env or {}),
        }
    )
    return full


def run_cli(
    args: list[str], config_dir: Path, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (`python -m c11.cli.main`) with its own config dir, as a fresh process forked from a
    warmed-up one (clifork.py: the same process without re-importing third-party packages every run)."""
    return clifork.run(list(args), env=cli_env(config_dir, env), input=input, text=True, timeout=timeout)


def anon(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def authed(server: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, headers={"authorization": f"Bearer {token}"})
