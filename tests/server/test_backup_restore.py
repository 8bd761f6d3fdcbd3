"""Backup and restore (`c11 db backup|restore`) on SQLite and PostgreSQL, and what the restored log does: it
verifies against checkpoints clients kept before the backup, and refuses to sign a fork of a history a client saw
after it (docs/server.md, "Backup and restore")."""

from __future__ import annotations

import json
import shutil
import stat
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from srvkit import BACKENDS, PG_ADMIN_URL, db_from_template, run_cli, server_config, start_server

from c11.client import Client
from c11.client.transparency import server_slug
from c11.errors import OutputExistsError, ProofError
from c11.server import migrate
from c11.server.backup import BackupError, backup, restore
from c11.server.context import ServerContext
from c11.server.db import Database
from c11.server.logsrv.service import LogService
from c11.server.problems import Problem


def _svc(config: Any) -> LogService:
    """A second "worker" on the server's database and data folder (appends as the server would)."""
    return LogService(ServerContext(config=config, db=Database(config.database_url), passwords=None))  # type: ignore[arg-type]


def _client(url: str, state: Path) -> Client:
    c = Client(url)
    c.state_dir = state
    return c


def _cli(args: list[str], tmp: Path, url: str) -> Any:
    done = run_cli(args, tmp / "cli-config", env={"C11_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def _empty_target(backend: str, url: str, tmp: Path) -> str:
    """The database of the "new machine": a new SQLite file, or the same PostgreSQL schema dropped and made again
    empty (pg_restore recreates a schema under its dumped name)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'data2' / 'c11.db'}"
    schema = url.rsplit("%3D", 1)[1]
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return url


@pytest.mark.parametrize("backend", BACKENDS)
def test_backup_restore_keeps_the_log_and_refuses_forks(backend: str, empty_db: Any, tmp_path: Path) -> None:
    url = empty_db(backend)
    server = start_server(server_config(tmp_path / "data", url), backend)
    svc = _svc(server.config)
    early, late = _client(server.url, tmp_path / "early"), _client(server.url, tmp_path / "late")
    try:
        for i in range(5):
            svc.append("test", {"n": i})
        assert early.log.verify().current.size == 5
        out = tmp_path / "backups" / "c11.tar"
        made = _cli(["db", "backup", str(out), "--data-dir", str(server.data_dir), "--json"], tmp_path, url)
        assert made["log_size"] == 5 and made["database"] == backend and "log.key" in made["secrets"]
        assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds the secret keys
        with tarfile.open(out) as tar:
            assert {"manifest.json", "secrets/log.key"} <= set(tar.getnames())
        for i in range(5, 8):  # written after the backup: a client sees them, the backup does not hold them
            svc.append("test", {"n": i})
        assert late.log.verify().current.size == 8
        # an existing file is never overwritten
        with pytest.raises(OutputExistsError):
            backup(server.config, out)
    finally:
        svc.db.dispose()
        server.stop()

    # the old machine is gone (its high-water mark with it); restore onto a fresh data folder
    url2 = _empty_target(backend, url, tmp_path)
    data2 = tmp_path / "data2"
    restored = _cli(["db", "restore", str(out), "--data-dir", str(data2), "--json"], tmp_path, url2)
    assert restored["log_size"] == 5
    assert stat.S_IMODE((data2 / "secrets" / "log.key").stat().st_mode) == 0o600
    with pytest.raises(BackupError, match="fresh data folder"):  # never over a live one
        restore(server_config(data2, url2), out)

    config2 = replace(server_config(data2, url2), migrate=False)
    server2 = start_server(config2, backend)
    svc2 = _svc(server2.config)
    early.close(), late.close()
    for who in ("early", "late"):  # the same host name on the new machine: the clients' kept state applies
        logs = tmp_path / who / "logs"
        shutil.copytree(logs / server_slug(server.url), logs / server_slug(server2.url))
    early, late = _client(server2.url, tmp_path / "early"), _client(server2.url, tmp_path / "late")
    try:
        # the same log key, and the log verifies against the checkpoint kept before the backup
        assert early.log.verify().current.size == 5
        # the client that saw entries 5..7 detects the rollback loudly, and tells the server
        with pytest.raises(ProofError, match="shrank from 8 to 5"):
            late.log.verify()
        kept = (tmp_path / "late" / "logs" / server_slug(server2.url) / "checkpoint").read_bytes()
        assert svc2.witness(kept) == "rolled-back"
        # the server now refuses to append (which would fork what `late` saw) ...
        with pytest.raises(Problem) as frozen:
            svc2.append("test", {"n": "fork"})
        assert frozen.value.status == 503 and "older backup" in str(frozen.value)
        # ... and to sign any checkpoint beyond the backup, while the backup's own one still serves readers
        with svc2.db.session() as s:
            size, root = svc2.state(s)
        assert size == 5
        with pytest.raises(Problem):
            svc2.signed_checkpoint(6, bytes(32))
        assert early.log.verify().current.size == 5
        r = early._core._http.post("/api/v1/log/checkpoints", content=b"not a checkpoint")
        assert r.status_code == 400 and r.json()["type"].endswith("bad-checkpoint")
        # the operator cannot activate it over what `late` saw
        done = run_cli(
            ["db", "activate", "--data-dir", str(data2)], tmp_path / "cli-config", {"C11_DATABASE_URL": url2}
        )
        assert done.returncode != 0 and "not activated" in done.stderr and "Traceback" not in done.stderr
    finally:
        early.close(), late.close()
        svc2.db.dispose()
        server2.stop()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_kept_high_water_mark_freezes_the_restored_log_at_start(backend: str, empty_db: Any, tmp_path: Path) -> None:
    """With C11_LOG_HIGHWATER_FILE on another disk (kept when the database is lost), no client report is
    needed: the restored server starts refusing to append."""
    url = empty_db(backend)
    mark = tmp_path / "elsewhere" / "log-highwater"
    config = server_config(tmp_path / "data", url, log_highwater_file=str(mark))
    server = start_server(config, backend)
    svc = _svc(server.config)
    c = _client(server.url, tmp_path / "client")
    try:
        svc.append("test", {"n": 0})
        _cli(["db", "backup", str(tmp_path / "b.tar"), "--data-dir", str(server.data_dir)], tmp_path, url)
        svc.append("test", {"n": 1})
        assert c.log.verify().current.size == 2  # signing it raised the mark
    finally:
        c.close()
        svc.db.dispose()
        server.stop()
    assert b"\n2\n" in mark.read_bytes()
    url2 = f"sqlite:///{tmp_path / 'data2' / 'c11.db'}"
    _cli(["db", "restore", str(tmp_path / "b.tar"), "--data-dir", str(tmp_path / "data2")], tmp_path, url2)
    svc2 = _svc(replace(server_config(tmp_path / "data2", url2, log_highwater_file=str(mark))))
    try:
        assert svc2.frozen is not None and "holds 1 log entries" in svc2.frozen
        with pytest.raises(Problem):
            svc2.append("test", {"n": "fork"})
    finally:
        svc2.db.dispose()
    # the operator who finds the entries elsewhere, or accepts a new log, removes the mark: not done silently
    shutil.move(str(mark), str(tmp_path / "mark.old"))
    config3 = server_config(tmp_path / "data2", url2, log_highwater_file=str(mark))
    svc3 = _svc(config3)
    assert svc3.frozen is not None and "not active yet" in svc3.frozen  # restored: read-only until activated
    svc3.db.dispose()
    out = run_cli(
        ["db", "activate", "--data-dir", str(tmp_path / "data2"), "--json"],
        tmp_path / "cli-config",
        {"C11_DATABASE_URL": url2, "C11_LOG_HIGHWATER_FILE": str(mark)},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["activated"] is True
    svc3 = _svc(config3)
    assert svc3.frozen is None
    svc3.append("test", {"n": "new history"})
    svc3.db.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])  # the live and the drill database side by side
def test_restored_server_is_inactive_and_reports_do_not_freeze_an_active_one(
    backend: str, empty_db: Any, tmp_path: Path
) -> None:
    """A restored copy (a restore drill, a staging copy) starts read-only: it appends nothing and signs nothing past
    the backup, so it never hands out checkpoints that disagree with the live log. A report of a disagreeing
    checkpoint (here: signed by an activated copy) to a live, active server is recorded and alerted, not a freeze:
    the live server keeps appending and signing. Reported to a restored, not yet active server, a fork is
    evidence that keeps it frozen."""
    url = empty_db(backend)
    config = server_config(tmp_path / "data", url)
    db_from_template(url)
    svc = _svc(config)
    try:
        svc.append("test", {"n": 0})
        with svc.db.session() as s:
            backup(config, tmp_path / "b.tar", checkpoint=svc.current_checkpoint(s)[1])  # as `c11 db backup` does
        for i in range(1, 4):
            svc.append("test", {"n": i})
        with svc.db.session() as s:
            live_note = svc.current_checkpoint(s)[1]  # a client of the live server kept 4 entries
    finally:
        svc.db.dispose()
    url2 = _empty_target(backend, url, tmp_path)
    config2 = server_config(tmp_path / "data2", url2)
    restore(config2, tmp_path / "b.tar")
    migrate.upgrade(url2)
    drill = _svc(config2)
    try:
        assert drill.frozen is not None and "not active yet" in drill.frozen
        mark = drill.highwater.read()  # seeded from the backup's checkpoint
        assert mark is not None and mark.checkpoint.size == 1
        with pytest.raises(Problem) as refused:
            drill.append("test", {"n": "drill"})
        assert refused.value.status == 503
        with drill.db.session() as s:
            assert drill.current_checkpoint(s)[0] == 1  # it still serves the backup's own checkpoint
        # a client of the live server reports its checkpoint to the restored (inactive) copy: the mark rises
        assert drill.witness(live_note) == "rolled-back"
        assert drill.frozen is not None and "older backup" in drill.frozen
        # the drill's operator moves the mark away and activates it anyway: a different history from entry 1 on
        drill.highwater.path.unlink()
        (config2.data_dir / "log-inactive").unlink()
        drill._check_highwater()
        assert drill.frozen is None
        drill.append("test", {"n": "drill 1"})
        with drill.db.session() as s:
            drill_small = drill.current_checkpoint(s)[1]  # 2 entries: the live tree of 4 contradicts it
        for i in range(2, 6):
            drill.append("test", {"n": f"drill {i}"})
        with drill.db.session() as s:
            drill_big = drill.current_checkpoint(s)[1]  # 6 entries: larger than the live tree
    finally:
        drill.db.dispose()
    live = _svc(config)
    try:
        # anyone posts the drill's checkpoints to the live server: recorded, alerted, not frozen
        assert live.witness(drill_small) == "forked"
        assert live.witness(drill_big) == "rolled-back"
        assert live.witness(drill_big) == "rolled-back"  # deduplicated
        assert live.frozen is None and live.reports_seen == 3
        assert [r["verdict"] for r in live.highwater.reports()] == ["forked", "rolled-back"]
        live.append("test", {"n": 4})
        with live.db.session() as s:
            assert live.current_checkpoint(s)[0] == 5
    finally:
        live.db.dispose()


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    bad = tmp_path / "x.tar"
    with tarfile.open(bad, "w") as tar:
        tar.add(__file__, arcname="../../etc/passwd")
    config = server_config(tmp_path / "d", f"sqlite:///{tmp_path / 'd' / 'c11.db'}")
    with pytest.raises(BackupError, match="not a c11 backup"):
        restore(config, bad)
    (tmp_path / "y.tar").write_bytes(b"garbage")
    with pytest.raises(BackupError):
        restore(config, tmp_path / "y.tar")
    assert not (tmp_path / "d" / "c11.db").exists()


def test_backup_cli_error_is_one_line(tmp_path: Path) -> None:
    done = run_cli(["db", "backup", str(tmp_path / "o.tar"), "--data-dir", str(tmp_path / "none")], tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_pg_backup_needs_pg_dump(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from c11.server import backup as b

    monkeypatch.setattr(b.shutil, "which", lambda _n: None)
    with pytest.raises(b.BackupError, match="postgresql-client"):
        b._run(["pg_dump"], {})


def test_planted_partial_or_mark_temp_files_receive_nothing(empty_db: Any, tmp_path: Path) -> None:
    """Another local user of a shared backup folder plants `.c11.tar.partial` (a hard link to a 0666 file of
    theirs) or a symlink where the mark's temporary file goes: neither receives a byte."""
    import os

    from c11.log.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
    from c11.log.merkle import EMPTY_ROOT
    from c11.server.logsrv.highwater import HighWater

    url = empty_db("sqlite")
    db_from_template(url)
    cfg = server_config(tmp_path / "data", url)
    LogService(ServerContext(config=cfg, db=Database(url), passwords=None)).close()  # type: ignore[arg-type]
    shared = tmp_path / "backups"
    shared.mkdir()
    spy = tmp_path / "attacker-copy"
    spy.write_bytes(b"")
    os.chmod(spy, 0o666)
    os.link(spy, shared / ".c11.tar.partial")
    backup(cfg, shared / "c11.tar")
    assert spy.read_bytes() == b""
    assert stat.S_IMODE((shared / "c11.tar").stat().st_mode) == 0o600
    with tarfile.open(shared / "c11.tar") as tar:
        assert "secrets/log.key" in tar.getnames()
    # the mark: no predictable temporary name to plant (pid-named before), and a planted one is never followed
    mark = HighWater(tmp_path / "hw" / "log-highwater")
    mark.path.parent.mkdir()
    (mark.path.parent / f".log-highwater.{os.getpid()}.tmp").symlink_to(spy)
    signer = NoteSigner.generate("example.org/log")
    checkpoint = Checkpoint(signer.name, 0, EMPTY_ROOT)
    note = sign_checkpoint(checkpoint, signer)
    assert mark.raise_to(checkpoint, note)
    assert spy.read_bytes() == b"" and mark.path.read_bytes() == note and not mark.path.is_symlink()


def test_the_mark_never_lags_a_checkpoint_handed_out(empty_db: Any, tmp_path: Path) -> None:
    """Every larger checkpoint is in the (fsynced) mark before its note leaves the process: a kill -9 right after
    a burst (no close()) loses nothing the clients were handed."""
    url = empty_db("sqlite")
    db_from_template(url)
    svc = _svc(server_config(tmp_path / "data", url))
    try:
        for i in range(5):
            svc.append("test", {"n": i})
            with svc.db.session() as s:
                handed_out, note = svc.current_checkpoint(s)
            mark = svc.highwater.read()
            assert mark is not None and mark.checkpoint.size == handed_out == i + 1 and mark.note == note
        # the same checkpoint again (cached signature) writes nothing
        stamp = svc.highwater.stamp()
        with svc.db.session() as s:
            svc.current_checkpoint(s)
        assert svc.highwater.stamp() == stamp
    finally:
        svc.db.dispose()
