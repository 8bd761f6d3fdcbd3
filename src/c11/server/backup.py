"""Backup and restore of a c11 server: the database (SQLite online backup API, or pg_dump) and the secrets folder.

A backup is one tar file (mode 0600: it holds the server's secret keys): `manifest.json`, `database.sqlite` or
`database.pgdump` (pg_dump custom format), and `secrets/<file>`. Restore writes them into a *fresh* data folder
and an empty database; what it means for the transparency log is in docs/server.md, "Backup and restore".
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from c11.errors import ConfigError, OutputExistsError
from c11.server.config import Config

FORMAT = "c11-backup/v1"
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"
#: Largest manifest or secret file read from a backup (they are a few KiB).
MAX_SMALL = 1 << 20
Progress = Callable[[str], None]


class BackupError(ConfigError):
    """A backup cannot be made or restored; the message says what to do."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: its database kind, schema revision and the log's size and checkpoint at backup."""

    created: str
    database: str
    revision: str | None
    log_size: int | None
    checkpoint: str | None
    secrets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created": self.created,
            "database": self.database,
            "revision": self.revision,
            "log_size": self.log_size,
            "checkpoint": self.checkpoint,
            "secrets": list(self.secrets),
        }


def _kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {name} database (SQLite and PostgreSQL only)")
    return name


def _sqlite_path(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(db)


def _libpq(url: str) -> tuple[str, dict[str, str], str | None]:
    """(libpq connection URI without the password, environment with PGPASSWORD, schema from search_path)."""
    u: URL = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    schema = None
    options = u.query.get("options")
    for opt in [options] if isinstance(options, str) else list(options or ()):
        for part in opt.split():
            if part.startswith("-csearch_path="):
                schema = part.split("=", 1)[1].split(",")[0].strip('"')
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env, schema


def _log_state(url: str) -> tuple[str | None, int | None]:
    """(alembic revision, log size) read from the live database (None if absent)."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            names = set(inspect(c).get_table_names())
            rev = (
                c.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if "alembic_version" in names
                else None
            )
            size = c.execute(text("SELECT size FROM log_state WHERE id = 1")).scalar() if "log_state" in names else None
    finally:
        engine.dispose()
    return rev, size


def backup(config: Config, out: Path, *, checkpoint: bytes | None = None, progress: Progress | None = None) -> Manifest:
    """Write a backup of the server at `config` to `out` (a new file); returns its manifest.

    The server may keep running: SQLite's online backup API and pg_dump both copy one consistent snapshot.
    `checkpoint` (the log's signed checkpoint before the copy) is stored in the manifest for the record."""
    say = progress or (lambda _m: None)
    if out.exists():
        raise OutputExistsError(f"{out} exists; choose a new file name")
    kind = _kind(config.database_url)
    secrets_dir = config.data_dir / "secrets"
    if not (secrets_dir / "log.key").is_file():
        raise BackupError(f"{secrets_dir} has no log.key: is --data-dir the server's data folder?")
    out.parent.mkdir(parents=True, exist_ok=True)
    revision, size = _log_state(config.database_url)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".c11-backup-") as tmp:
        work = Path(tmp)
        if kind == "sqlite":
            member = SQLITE_MEMBER
            say("copying the SQLite database (online backup API)")
            src = sqlite3.connect(f"file:{_sqlite_path(config.database_url)}?mode=ro", uri=True)
            dst = sqlite3.connect(work / member)
            try:
                src.backup(dst, pages=4096)
            finally:
                dst.close()
                src.close()
        else:
            member = PG_MEMBER
            uri, env, schema = _libpq(config.database_url)
            say("dumping the PostgreSQL database (pg_dump)")
            cmd = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(work / member)]
            cmd += [f"--schema={schema}"] if schema else []
            _run([*cmd, "--dbname", uri], env)
        names = []
        for path in sorted(secrets_dir.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                names.append(path.name)
        manifest = Manifest(
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            database=kind,
            revision=revision,
            log_size=size,
            checkpoint=checkpoint.decode("utf-8") if checkpoint else None,
            secrets=tuple(names),
        )
        say(f"writing {out}")
        # inside the 0700 work folder, created exclusively (never a file or link someone planted), then linked
        partial = work / f".{out.name}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w") as tar:
                _add_bytes(tar, "manifest.json", json.dumps(manifest.to_dict(), indent=2).encode() + b"\n")
                tar.add(work / member, arcname=member, recursive=False)
                for name in names:
                    tar.add(secrets_dir / name, arcname=f"secrets/{name}", recursive=False)
            os.link(partial, out)  # never overwrites (a file made meanwhile wins)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _run(cmd: list[str], env: dict[str, str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt install postgresql-client)")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackupError(f"{cmd[0]} failed: {last}")


def read_manifest(archive: Path) -> Manifest:
    """The manifest of backup `archive`; BackupError if it is not a c11 backup."""
    try:
        with tarfile.open(archive, mode="r:") as tar:
            return _manifest(tar)
    except (OSError, tarfile.TarError) as e:
        raise BackupError(f"{archive} is not a c11 backup ({e})") from None


def _manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        info = tar.getmember("manifest.json")
        if not info.isfile() or info.size > MAX_SMALL:
            raise ValueError("bad manifest.json")
        f = tar.extractfile(info)
        d = json.loads(f.read() if f else b"")
        if d.get("format") != FORMAT or d.get("database") not in ("sqlite", "postgresql"):
            raise ValueError(f"not a {FORMAT} manifest")
        return Manifest(
            created=str(d["created"]),
            database=d["database"],
            revision=d.get("revision"),
            log_size=d.get("log_size"),
            checkpoint=d.get("checkpoint"),
            secrets=tuple(str(n) for n in d.get("secrets", [])),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise BackupError(f"not a c11 backup: {e}") from None


def restore(config: Config, archive: Path, *, progress: Progress | None = None) -> Manifest:
    """Restore backup `archive` into the server at `config`: its data folder must have no secrets yet and its
    database no tables (a fresh machine, or a schema/database made empty). Returns the manifest."""
    say = progress or (lambda _m: None)
    kind = _kind(config.database_url)
    secrets_dir = config.data_dir / "secrets"
    if secrets_dir.exists() and any(secrets_dir.iterdir()):
        raise BackupError(f"{secrets_dir} is not empty: restore into a fresh data folder")
    try:
        tar = tarfile.open(archive, mode="r:")
    except (OSError, tarfile.TarError) as e:
        raise BackupError(f"{archive} is not a c11 backup ({e})") from None
    with tar:
        manifest = _manifest(tar)
        if manifest.database != kind:
            raise BackupError(f"this backup holds a {manifest.database} database, the server is configured for {kind}")
        member = SQLITE_MEMBER if kind == "sqlite" else PG_MEMBER
        secrets: dict[str, bytes] = {}
        db_info = None
        for info in tar.getmembers():
            name = info.name
            if name == "manifest.json":
                continue
            if name == member and info.isfile():
                db_info = info
            elif name.startswith("secrets/") and info.isfile() and _safe(name[8:]) and info.size <= MAX_SMALL:
                f = tar.extractfile(info)
                secrets[name[8:]] = f.read() if f else b""
            else:
                raise BackupError(f"unexpected member {name!r} in the backup")
        if db_info is None or "log.key" not in secrets:
            raise BackupError("the backup lacks its database or secrets/log.key")
        _check_mark_key(config, secrets)
        _require_empty(config.database_url)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=config.data_dir, prefix=".c11-restore-") as tmp:
            dump = Path(tmp) / member
            src = tar.extractfile(db_info)
            assert src is not None
            with open(dump, "wb") as f:
                shutil.copyfileobj(src, f, 1 << 20)
            if kind == "sqlite":
                say("restoring the SQLite database")
                _restore_sqlite(dump, _sqlite_path(config.database_url))
            else:
                say("restoring the PostgreSQL database (pg_restore)")
                uri, env, schema = _libpq(config.database_url)
                _drop_empty_schema(config.database_url, schema)
                cmd = ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
                _run([*cmd, "--dbname", uri, str(dump)], env)  # one transaction: all or nothing
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(secrets_dir, 0o700)
    for name, data in secrets.items():
        fd = os.open(secrets_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    _mark_restored(config, manifest)
    return manifest


def _mark_path(config: Config) -> Path:
    hw = getattr(config, "log_highwater_file", None)
    return Path(hw) if hw else config.data_dir / "log-highwater"


def _check_mark_key(config: Config, secrets: dict[str, bytes]) -> None:
    """A kept high-water mark signed by a key the backup lacks: the log key was rotated after this backup."""
    from c11.errors import ProofError
    from c11.log.checkpoint import NoteSigner, open_checkpoint
    from c11.server.logsrv.highwater import HighWater

    try:
        mark = HighWater(_mark_path(config)).read()
    except ValueError as e:
        raise BackupError(str(e)) from None
    if mark is None:
        return
    for name, data in secrets.items():
        if name == "log.key" or name.startswith("log.key.retired-"):
            try:
                open_checkpoint(mark.note, NoteSigner.parse(data.decode("ascii").strip()).verifier)
                return
            except (ProofError, ValueError):
                continue
    raise BackupError(
        f"the high-water mark {_mark_path(config)} is signed by a log key "
        "this backup lacks: the live server rotated its log key after this backup; restore a backup made after "
        "the rotation"
    )


def _mark_restored(config: Config, manifest: Manifest) -> None:
    """A restored server starts inactive (no appends, nothing signed past its tree) until `c11 db activate`: a
    restore drill or a staging copy never signs checkpoints the real server's clients could be shown. The
    high-water mark is seeded from the backup's checkpoint when there is none (docs/server.md)."""
    from c11.log.checkpoint import Checkpoint
    from c11.server.logsrv.highwater import INACTIVE_FILE, HighWater

    mark = HighWater(_mark_path(config))
    if manifest.checkpoint and not mark.path.exists():
        note = manifest.checkpoint.encode("utf-8")
        try:
            checkpoint = Checkpoint.from_text(note[: note.rfind(b"\n\n") + 1])
        except Exception:  # a damaged manifest checkpoint seeds nothing; the server verifies any mark anyway
            checkpoint = None
        if checkpoint is not None:
            mark.raise_to(checkpoint, note)
    fd = os.open(config.data_dir / INACTIVE_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"restored from the backup of {manifest.created}, {manifest.log_size} log entries\n")


def _safe(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")


def _require_empty(url: str) -> None:
    kind = _kind(url)
    if kind == "sqlite":
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            raise BackupError(f"{path} exists: restore into a fresh data folder (or move the old database away)")
        return
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            if inspect(c).get_table_names():
                raise BackupError("the target database (schema) has tables: restore into an empty one")
    finally:
        engine.dispose()


def _drop_empty_schema(url: str, schema: str | None) -> None:
    """pg_restore creates the dumped schema itself; an empty one of that name (checked above) is dropped first."""
    if not schema:
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema.replace(chr(34), "")}"'))
    except SQLAlchemyError as e:
        raise BackupError(
            f"the target schema {schema} is not empty ({type(e).__name__}): restore into an empty one"
        ) from None
    finally:
        engine.dispose()


def _restore_sqlite(dump: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    try:
        if src.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise BackupError("the backup's SQLite database is damaged (integrity check failed)")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        except BaseException:
            dst.close()
            target.unlink(missing_ok=True)  # never a half-restored database
            raise
        dst.close()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"the backup's SQLite database cannot be read ({e})") from None
    finally:
        src.close()


__all__ = ["BackupError", "Manifest", "backup", "read_manifest", "restore"]
