"""The log service on SQLite and PostgreSQL: concurrent batched appends (also from two "workers" on one
database), atomic transactions, entry rules, the log key file, and the migration from revision 0002."""

from __future__ import annotations

import json
import stat
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from srvkit import db_from_template

from c11.errors import ConfigError
from c11.log.checkpoint import open_checkpoint
from c11.log.merkle import MerkleTree, root_from_leaves, verify_consistency, verify_inclusion
from c11.server import migrate
from c11.server.logsrv.service import LogService, SqlHashStore, append, default_origin, log_service

BACKENDS = ["sqlite", "postgresql"]


def _ctx(url: str, data_dir: Path, **kw):  # type: ignore[no-untyped-def]
    from c11.server.config import Config
    from c11.server.context import ServerContext
    from c11.server.db import Database
    from c11.server.passwords import Passwords

    db_from_template(url)  # a new database starts as a copy of a migrated one (srvkit)
    migrate.upgrade(url)
    config = Config(data_dir=data_dir, database_url=url, public_url="https://c11.example.com", **kw)
    return ServerContext(config=config, db=Database(url), passwords=Passwords())


def _entries(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    with ctx.db.engine.connect() as c:
        return [d for (d,) in c.execute(sa.text("SELECT data FROM log_entries ORDER BY idx"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_appends_from_two_workers(backend, empty_db, tmp_path):
    url = empty_db(backend)
    a = _ctx(url, tmp_path / "data")
    b = _ctx(url, tmp_path / "data")  # a second "worker process": own service, same key and database
    assert log_service(a) is not log_service(b) and log_service(a).verifier_key == log_service(b).verifier_key
    got: list[int] = []
    lock = threading.Lock()

    def work(ctx, k: int) -> None:  # type: ignore[no-untyped-def]
        mine = [append(ctx, "test", {"worker": k, "n": i}, subject=f"w{k}") for i in range(40)]
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=work, args=(a if k % 2 else b, k)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(12 * 40))
    data = _entries(a)
    assert len(data) == 480
    svc = log_service(a)
    with a.db.session() as s:
        size, root = svc.state(s)
        assert size == 480 and root == root_from_leaves([d.encode() for d in data])
        assert MerkleTree(SqlHashStore(s), size).root() == root
        proofs, consistency = svc.proofs(s, size, [0, 17, 479], 100)
        for i, p in zip([0, 17, 479], proofs, strict=True):
            verify_inclusion(MerkleTree(SqlHashStore(s), size).leaf_hash(i), i, size, p, root)
        verify_consistency(100, size, consistency, root_from_leaves([d.encode() for d in data[:100]]), root)
        cp = open_checkpoint(svc.current_checkpoint(s)[1], svc.verifier_key)
        assert (cp.size, cp.root_hash, cp.origin) == (480, root, "c11.example.com/log")
    for d in data:
        e = json.loads(d)
        assert d == json.dumps(e, sort_keys=True, separators=(",", ":")) and e["kind"] == "test"
    a.db.dispose()
    b.db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_transaction_is_atomic(backend, empty_db, tmp_path):
    ctx = _ctx(empty_db(backend), tmp_path / "data")
    svc = log_service(ctx)
    append(ctx, "test", {"n": 0})
    with pytest.raises(RuntimeError), svc.transaction() as (s, log):
        assert log.append("test", {"n": 1}) == 1
        raise RuntimeError("the caller's own change failed")
    with svc.transaction() as (s, log):
        assert [log.append("test", {"n": n}) for n in (2, 3)] == [1, 2]
    assert [json.loads(d)["n"] for d in _entries(ctx)] == [0, 2, 3]
    ctx.db.dispose()


def test_entries_never_hold_emails_and_kinds_are_names(empty_db, tmp_path):
    ctx = _ctx(empty_db("sqlite"), tmp_path / "data")
    for fields in (
        {"who": "alice@example.com"},
        {"x": ["a", {"y": "Bob <bob@example.org>"}]},
        {"kind": "key"},
        {"time": "now"},
    ):
        with pytest.raises(ValueError):
            append(ctx, "test", fields)
    for kind in ("", "Key", "a b", "x" * 40):
        with pytest.raises(ValueError):
            append(ctx, kind, {})
    with pytest.raises(ValueError):
        append(ctx, "test", {}, subject="s" * 65)
    assert append(ctx, "test", {"email_hash": "ab" * 32}) == 0
    ctx.db.dispose()


def test_log_key_file_origin_and_restart(empty_db, tmp_path):
    url = empty_db("sqlite")
    data = tmp_path / "data"
    ctx = _ctx(url, data)
    svc = log_service(ctx)
    key = data / "secrets" / "log.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert key.read_text().startswith("PRIVATE+KEY+c11.example.com/log+")
    assert svc.origin == "c11.example.com/log" == default_origin("https://c11.example.com")
    assert default_origin("http://127.0.0.1:8000") == "127.0.0.1:8000/log"
    # a restart (another service object) keeps the key; the origin cannot change any more
    assert LogService(ctx).verifier_key == svc.verifier_key
    assert LogService(replace(ctx, config=replace(ctx.config, log_origin="c11.example.com/log"))).origin == svc.origin
    with pytest.raises(ConfigError):
        LogService(replace(ctx, config=replace(ctx.config, log_origin="other.example/log")))
    # an explicit origin at first start
    other = _ctx(empty_db("sqlite"), tmp_path / "data2", log_origin="audit.example.org/c11")
    assert log_service(other).origin == "audit.example.org/c11"
    # a database logged under one key refuses a data dir with another key
    with pytest.raises(ConfigError):
        LogService(_ctx(url, tmp_path / "data3"))
    ctx.db.dispose()
    other.db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_0002_keeps_data(backend, empty_db):
    url = empty_db(backend)
    migrate.upgrade(url, "0002")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(
                sa.text("INSERT INTO users (id, email, created_at) VALUES ('u1', 'old@example.com', :t)"),
                {"t": "2026-01-01 00:00:00+00:00"},
            )
            assert "log_entries" not in sa.inspect(c).get_table_names()
        migrate.upgrade(url, "0010")
        assert migrate.current(url) == "0010"
        migrate.upgrade(url)
        assert migrate.current(url) == migrate.head()
        with engine.connect() as c:
            names = set(sa.inspect(c).get_table_names())
            assert {
                "log_entries",
                "log_nodes",
                "log_state",
                "registry_keys",
                "registry_used_proofs",
                "encryption_policies",
            } <= names
            assert c.execute(sa.text("SELECT email FROM users WHERE id='u1'")).scalar() == "old@example.com"
    finally:
        engine.dispose()
