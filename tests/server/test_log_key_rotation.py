"""Log key rotation without downtime (`c11 db rotate-log-key`, docs/log.md section 9): appends continue while it
runs, clients that pinned the old key follow the signed hand-over, and a key change without one is refused."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from srvkit import BACKENDS, run_cli, server_config, start_server

from c11.client import Client
from c11.errors import LogKeyChangedError, ProofError
from c11.log._note import NoteSigner, sign_note
from c11.log.handover import Handover
from c11.server.context import ServerContext
from c11.server.db import Database
from c11.server.logsrv.models import LogState
from c11.server.logsrv.service import REFRESH_SECONDS, LogService


def _svc(config: Any) -> LogService:
    return LogService(ServerContext(config=config, db=Database(config.database_url), passwords=None))  # type: ignore[arg-type]


def _client(url: str, state: Path) -> Client:
    c = Client(url)
    c.state_dir = state
    return c


@pytest.mark.parametrize("backend", BACKENDS)
def test_rotation_without_downtime_and_clients_follow(backend: str, empty_db: Any, tmp_path: Path) -> None:
    url = empty_db(backend)
    server = start_server(server_config(tmp_path / "data", url), backend)
    svc = _svc(server.config)
    c = _client(server.url, tmp_path / "client")
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            try:
                svc.append("test", {"n": n})
            except BaseException as e:  # any failure during the rotation is downtime
                errors.append(e)
            n += 1
            time.sleep(0.01)

    try:
        svc.append("test", {"n": -1})
        first = c.log.verify()
        old_key = c.log.trust.pinned_key()
        t = threading.Thread(target=writer)
        t.start()
        try:
            done = run_cli(
                ["db", "rotate-log-key", "--data-dir", str(server.data_dir), "--json"],
                tmp_path / "cli",
                {"C11_DATABASE_URL": url},
            )
            time.sleep(REFRESH_SECONDS * 2 + 0.2)  # running processes notice the new key file
        finally:
            stop.set()
            t.join()
        assert done.returncode == 0, done.stderr
        assert errors == []
        out = json.loads(done.stdout)
        assert out["old"] == old_key and out["new"] != old_key
        assert c.log.server_key() == out["new"]  # the server signs with the new key now
        check = c.log.verify()  # follows the hand-over, proves it in the log, and checks consistency
        assert check.previous is not None and check.previous.size >= first.current.size
        assert c.log.trust.pinned_key() == out["new"]
        assert c.log.trust.retired_keys() == [old_key]
        entry = json.loads(c.log.entries(out["log_index"], out["log_index"] + 1)[0][1])
        assert entry["kind"] == "logkey" and entry["old"] == old_key and entry["new"] == out["new"]
        assert c.log.prove(out["log_index"]).index == out["log_index"]
        # a process started now checks the database's key against log.key: both name the new key
        svc2 = _svc(server.config)
        assert svc2.verifier_key == out["new"]
        svc2.db.dispose()
    finally:
        c.close()
        svc.db.dispose()
        server.stop()


def test_key_change_without_a_valid_hand_over_is_refused(empty_db: Any, tmp_path: Path) -> None:
    url = empty_db("sqlite")
    server = start_server(server_config(tmp_path / "data", url), "sqlite")
    svc = _svc(server.config)
    c = _client(server.url, tmp_path / "client")
    try:
        svc.append("test", {"n": 0})
        c.log.verify()
        pinned = c.log.trust.pinned_key()
        secrets = server.data_dir / "secrets"
        old = NoteSigner.parse((secrets / "log.key").read_text().strip())
        evil = NoteSigner.generate(old.name)
        # someone with the database but not the old key records a hand-over signed by the new key only
        forged = sign_note(Handover(old.name, old.verifier, evil.verifier).to_text(), [evil])
        with svc.transaction() as (s, log):
            log.append("logkey", {"handover": forged.decode(), "new": str(evil.verifier), "old": str(old.verifier)})
            s.execute(sa.update(LogState).where(LogState.id == 1).values(verifier_key=str(evil.verifier)))
        # ... and swaps the key file: the running server signs with it (no database check while running)
        (secrets / "log.key").write_text(evil.signer_key() + "\n")
        time.sleep(REFRESH_SECONDS * 2 + 0.2)
        with pytest.raises(ProofError, match="not signed by the old key"):
            c.log.verify()
        assert c.log.trust.pinned_key() == pinned  # not followed
        # without any hand-over entry at all, the known "key changed" error
        c2 = _client(server.url, tmp_path / "other")
        (tmp_path / "other").mkdir()
        other = tmp_path / "other" / "logs" / (tmp_path / "client" / "logs").iterdir().__next__().name
        other.mkdir(parents=True)
        (other / "log.pub").write_text(str(NoteSigner.generate(old.name).verifier) + "\n")
        with pytest.raises(LogKeyChangedError):
            c2.log.verify()
        c2.close()
    finally:
        c.close()
        svc.db.dispose()
        server.stop()


def test_a_retired_key_vouches_only_up_to_its_hand_over(empty_db: Any, tmp_path: Path) -> None:
    """A rotated-away key (perhaps leaked: why it was rotated) signs a larger checkpoint: the client refuses it
    and the server refuses it as a report (no freeze)."""
    import httpx

    from c11.log._tree import MemoryHashStore, MerkleTree
    from c11.log.checkpoint import Checkpoint, sign_checkpoint

    url = empty_db("sqlite")
    server = start_server(server_config(tmp_path / "data", url), "sqlite")
    svc = _svc(server.config)
    c = _client(server.url, tmp_path / "client")
    try:
        for i in range(3):
            svc.append("test", {"n": i})
        c.log.verify()
        old_key = c.log.trust.pinned_key()
        _handover, index = svc.rotate_key()
        time.sleep(REFRESH_SECONDS * 2 + 0.2)
        svc.append("test", {"n": 99})
        n = c.log.verify().current.size
        assert c.log.trust.retired_bounds() == {old_key: index + 1}
        stolen = NoteSigner.parse(next((server.data_dir / "secrets").glob("log.key.retired-*")).read_text().strip())
        tree = MerkleTree(MemoryHashStore())
        tree.append([t.encode() for _, t in c.log.entries(0, n)])
        tree.append([b'{"kind":"key","evil":"attacker key for alice"}'])
        forged = sign_checkpoint(Checkpoint(stolen.name, n + 1, tree.root(n + 1)), stolen)
        before = c.log.trust.stored_note()
        with pytest.raises(ProofError, match="retired log key"):
            c.log.accept(forged, tree.consistency_proof(n), n)
        assert c.log.trust.stored_note() == before
        # an old checkpoint of the retired key (up to the hand-over) still verifies
        old_tree = MerkleTree(MemoryHashStore())
        old_tree.append([t.encode() for _, t in c.log.entries(0, index)])
        old_note = sign_checkpoint(Checkpoint(stolen.name, index, old_tree.root(index)), stolen)
        assert c.log.open(old_note).size == index
        assert svc.witness(old_note) == "consistent"
        # anonymously reporting a large checkpoint signed by the retired key changes nothing
        big = MerkleTree(MemoryHashStore())
        big.append([b"x"] * 5000)
        r = httpx.post(
            server.url + "/api/v1/log/checkpoints",
            content=sign_checkpoint(Checkpoint(stolen.name, 5000, big.root(5000)), stolen),
        )
        assert r.status_code in (400, 422), r.text
        time.sleep(REFRESH_SECONDS * 2 + 0.2)
        svc._refresh()
        assert svc.frozen is None
        svc.append("test", {"n": 100})
    finally:
        c.close()
        svc.db.dispose()
        server.stop()


def test_restoring_a_backup_from_before_a_rotation_is_a_clear_error(empty_db: Any, tmp_path: Path) -> None:
    """The kept high-water mark is signed by the new key; a backup from before the rotation only has the old
    (retired, perhaps leaked) one: `c11 db restore` refuses in one line, and so does a server start on such a
    folder (a ConfigError naming what to do, not a ProofError)."""
    from dataclasses import replace

    from srvkit import db_from_template

    from c11.errors import ConfigError

    url = empty_db("sqlite")
    db_from_template(url)
    mark = tmp_path / "other-disk" / "log-highwater"
    config = server_config(tmp_path / "data", url, log_highwater_file=str(mark))
    svc = _svc(config)
    env = {"C11_DATABASE_URL": url, "C11_LOG_HIGHWATER_FILE": str(mark)}
    try:
        svc.append("test", {"n": 0})
        made = run_cli(
            ["db", "backup", str(tmp_path / "b.tar"), "--data-dir", str(config.data_dir)], tmp_path / "cli", env
        )
        assert made.returncode == 0, made.stderr
        svc.rotate_key()
        with svc.db.session() as s:
            svc.current_checkpoint(s)  # the mark: signed by the new key
    finally:
        svc.db.dispose()
    url2 = f"sqlite:///{tmp_path / 'data2' / 'c11.db'}"
    done = run_cli(
        ["db", "restore", str(tmp_path / "b.tar"), "--data-dir", str(tmp_path / "data2")],
        tmp_path / "cli",
        {**env, "C11_DATABASE_URL": url2},
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "rotated its log key after this backup" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    # restored anyway without the mark check (mark put back afterwards): the server refuses to start, clearly
    done = run_cli(
        ["db", "restore", str(tmp_path / "b.tar"), "--data-dir", str(tmp_path / "data2")],
        tmp_path / "cli",
        {**env, "C11_DATABASE_URL": url2, "C11_LOG_HIGHWATER_FILE": str(tmp_path / "none")},
    )
    assert done.returncode == 0, done.stderr
    with pytest.raises(ConfigError, match="rotated its log key after this backup"):
        _svc(replace(server_config(tmp_path / "data2", url2, log_highwater_file=str(mark)), migrate=False))


def test_a_replica_left_with_the_old_key_stops_signing(empty_db: Any, tmp_path: Path) -> None:
    """A replica on its own data folder whose secrets/ was not updated after a rotation elsewhere refuses to sign
    a new checkpoint with the retired key (503) instead of going on with it."""
    import shutil

    from srvkit import db_from_template

    from c11.server.problems import Problem

    url = empty_db("sqlite")
    db_from_template(url)
    primary = _svc(server_config(tmp_path / "a", url))
    shutil.copytree(tmp_path / "a" / "secrets", tmp_path / "b" / "secrets")
    replica = _svc(server_config(tmp_path / "b", url))
    try:
        primary.append("test", {"n": 0})
        with replica.db.session() as s:
            replica.current_checkpoint(s)  # same key: signs
        primary.rotate_key()
        primary.append("test", {"n": 1})
        with replica.db.session() as s, pytest.raises(Problem) as refused:
            replica.current_checkpoint(s)
        assert refused.value.status == 503 and "log.key" in str(refused.value.detail)
        # once the operator copies the key files, it signs with the new key
        for f in (tmp_path / "a" / "secrets").glob("log.key*"):
            shutil.copy2(f, tmp_path / "b" / "secrets" / f.name)
        with replica.db.session() as s:
            replica.current_checkpoint(s)
        assert replica.verifier_key == primary.verifier_key
    finally:
        primary.db.dispose()
        replica.db.dispose()
