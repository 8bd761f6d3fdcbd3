"""Two `c11 protector worker` processes on the real queue (procrastinate on PostgreSQL): one is SIGKILLed while it
protects an object; its job is retried by the other; every object ends up protected exactly once, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from c11 import files
from c11.format.header import read_header
from c11.keys import keyfile
from c11.keys.identity import Identity
from c11.protector import state as S
from c11.protector.storage._file import FileStorage

N_FILES = 6
SIZE = 2 << 20  # big enough that protecting one takes a while: the kill lands inside it


def _cli(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c11.cli.main", *args], env=env, capture_output=True, text=True, timeout=300, **kw
    )


def _worker(env: dict[str, str], app_name: str, queue: str, state: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", "protector", "worker", "--stalled-after", "2"],
        env={**env, "C11_PROTECTOR_QUEUE": queue, "C11_PROTECTOR_STATE": f"{state}&application_name={app_name}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_killed_worker_job_retried_object_protected_once(tmp_path: Path, pg_schemas) -> None:
    me, bob = Identity.generate("protector@example.com"), Identity.generate("bob@example.com")
    keyfile.write(tmp_path / "protector.key", me, "pw")
    root = tmp_path / "share"
    root.mkdir()
    originals = {}
    for i in range(N_FILES):
        data = (b"lorem ipsum dolor sit amet " * (SIZE // 27))[
            : SIZE - 64
        ] + f"\nssn 123-45-{6700 + i} {os.urandom(8).hex()}\n".encode()
        originals[f"f{i}.txt"] = data
        (root / f"f{i}.txt").write_bytes(data)
    (tmp_path / "rules.toml").write_text(
        f'[[rules]]\nname = "all"\naction = "protect-file"\nrecipients = ["{bob.public.line()}"]\n'
    )
    url = pg_schemas.new()  # one schema holds the queue and the state
    env = {
        **os.environ,
        "C11_PROTECTOR_DIR": str(tmp_path / "protector"),
        "C11_IDENTITY": str(tmp_path / "protector.key"),
        "C11_PASSPHRASE": "pw",
        "NO_COLOR": "1",
    }
    made = _cli(["protector", "connect", "share", root.as_uri(), "--json"], env)
    assert made.returncode == 0, made.stderr
    queued = _cli(
        [
            "protector",
            "run",
            "share",
            "--rules",
            str(tmp_path / "rules.toml"),
            "--queue",
            url,
            "--batch",
            "2",
            "--json",
        ],
        env,
    )
    assert queued.returncode == 0, queued.stderr
    assert f'"queued": {N_FILES}' in queued.stdout
    S.open_state(url).close()  # migrated before the workers start
    engine = sa.create_engine(url)
    workers = {name: _worker(env, name, url, url) for name in ("wa", "wb")}
    killed = None
    try:
        # find a worker holding an object's lock while the state says it is being protected, and kill it there
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline:
            with engine.connect() as c:
                row = c.execute(
                    sa.text(
                        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.granted AND EXISTS (SELECT 1 FROM protector_objects o "
                        "WHERE o.status IN ('protecting', 'verified'))"
                    )
                ).first()
            if row is not None and row[0] in workers:
                killed = row[0]
                workers[killed].send_signal(signal.SIGKILL)
                workers[killed].wait(10)
            time.sleep(0.005)
        assert killed is not None, "no worker was caught protecting an object"
        # the other worker finishes everything, the killed one's job included (retried once stalled)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with engine.connect() as c:
                left = c.execute(
                    sa.text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
                ).scalar()
            if left == 0:
                break
            time.sleep(0.5)
        assert left == 0, "jobs left unfinished"
    finally:
        for w in workers.values():
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers.values():
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
    with engine.connect() as c:
        retried = c.execute(
            sa.text("SELECT count(*) FROM procrastinate_events WHERE type = 'deferred_for_retry'")
        ).scalar()
        statuses = dict(c.execute(sa.text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status")).all())
    engine.dispose()
    assert retried >= 1 and statuses == {"succeeded": N_FILES // 2}
    # every object protected exactly once: one .c11 each, from the attempt the state recorded; no original,
    # no temporary file left; each opens for bob to the original bytes
    # (a write the kill interrupted may leave a hidden temporary file of the file:// backend: never an object)
    assert sorted(o.key for o in FileStorage(root).list()) == sorted(f"{k}.c11" for k in originals)
    db = S.open_state(url)
    try:
        for k, data in originals.items():
            row = db.get("share", k)
            assert row is not None and row.status == S.PROTECTED, (k, row)
            blob = (root / f"{k}.c11").read_bytes()
            import io
            import uuid

            assert str(uuid.UUID(bytes=read_header(io.BytesIO(blob))[0].doc_id)) == row.doc_id
            assert files.decrypt_bytes(blob, [bob]).plaintext == data
    finally:
        db.close()
