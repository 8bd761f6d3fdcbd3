"""The log service: appends entries to the Merkle log (serialised, batched), signs checkpoints, serves proofs.

Other services write to the log in two ways:

* `append(ctx, kind, fields) -> index`: queue one entry; concurrent callers are committed together in one
  transaction (group commit), so the log sustains thousands of appends per second;
* `log_service(ctx).transaction()`: a database session in which the caller changes its own rows *and*
  appends entries, all committed atomically (the registry does this).

An entry about a person (a release, a shard action, a policy change...) is written in v2 form: pass
`person=` (their email hash, or None) and `private=` (the fields that would name them); the entry then
carries only the hiding commitment `actor` and the opening goes to `log_openings`, in the same transaction
(docs/log.md section 7). `admin` entries are sealed here whatever the caller passes (`admin_parts`: the
actor and every email hash go private). Registry key entries stay v1: anyone asking about an email must
verify them.

Appends are serialised by an in-process lock and, across processes, by a write lock on the state row
(`SELECT ... FOR UPDATE` on PostgreSQL; an UPDATE, which takes SQLite's write lock, on SQLite).
Entries are canonical JSON (sorted keys, no spaces, ASCII) and never contain a plain email address.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.orm import Session

from c11.errors import ConfigError, ProofError
from c11.log.checkpoint import Checkpoint, NoteSigner, NoteVerifier, open_checkpoint, sign_checkpoint
from c11.log.entries import canonical_json, email_hash, rfc3339
from c11.log.handover import Handover, open_handover, sign_handover
from c11.log.merkle import EMPTY_ROOT, MerkleTree, leaf_hash
from c11.log.openings import ENTRY_VERSION, NONCE_SIZE, actor_commitment, admin_parts, private_text
from c11.server.context import ServerContext
from c11.server.db import make_engine, utcnow
from c11.server.logsrv.highwater import INACTIVE_FILE, HighWater
from c11.server.logsrv.models import LogEntry, LogNode, LogOpening, LogState
from c11.server.problems import Problem

_log = logging.getLogger("c11.server.log")
__all__ = ["LogService", "LogWriter", "SqlHashStore", "append", "canonical_json", "email_hash", "log_service"]

KEY_FILE = "log.key"
#: The next log key, written before a rotation's log entry commits (docs/server.md, "Key rotation").
NEXT_KEY_FILE = "log.key.next"
#: Retired log keys keep their file as `log.key.retired-<key id>`: their checkpoints still verify.
RETIRED_PREFIX = "log.key.retired-"
#: The log entry kind of a key hand-over (docs/log.md section 9).
HANDOVER_KIND = "logkey"
#: How often (seconds) a server process looks for a new key file or a new high-water mark.
REFRESH_SECONDS = 0.5
#: Most entries one transaction of the append queue commits.
MAX_BATCH = 2000
#: Most entries one page of GET /log/entries returns.
MAX_PAGE = 1000
#: Core inserts (one executemany each): the ORM's bulk insert path costs more than the rows it writes.
_ENTRY_INSERT = LogEntry.__table__.insert()  # type: ignore[attr-defined]
_OPENING_INSERT = LogOpening.__table__.insert()  # type: ignore[attr-defined]
_NODE_INSERT = LogNode.__table__.insert()  # type: ignore[attr-defined]
_EMAIL = re.compile(r"[^\s@\"<>]+@[^\s@\"<>]+\.[^\s@\"<>]+")
_KIND = re.compile(r"[a-z][a-z0-9_.-]{0,31}")


def encode_entry(kind: str, fields: Mapping[str, Any], at: datetime) -> str:
    """The canonical entry text for `kind` and `fields` (plus `kind` and `time`)."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"bad entry kind {kind!r}")
    if "kind" in fields or "time" in fields:
        raise ValueError("entry fields may not be named kind or time")
    _refuse_emails(fields)
    return canonical_json({**fields, "kind": kind, "time": rfc3339(at)})


def seal_entry(
    kind: str, fields: Mapping[str, Any], at: datetime, person: str | None, private: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The v2 entry text of `kind` (public `fields` + the `actor` commitment to `private`) and its opening
    row (without `log_index`): {"person", "nonce", "private"}."""
    _refuse_emails(private)
    overlap = set(private) & (set(fields) | {"kind", "time", "v", "actor"})
    if overlap:
        raise ValueError(f"private fields may not also be public: {sorted(overlap)}")
    if "v" in fields or "actor" in fields:
        raise ValueError("entry fields may not be named v or actor")
    secret = private_text(person, dict(private))
    nonce = os.urandom(NONCE_SIZE)
    data = encode_entry(kind, {**fields, "v": ENTRY_VERSION, "actor": actor_commitment(nonce, secret)}, at)
    return data, {"person": person, "nonce": nonce, "private": secret}


def _refuse_emails(value: Any) -> None:
    if isinstance(value, str):
        if _EMAIL.search(value):
            raise ValueError("log entries must not contain email addresses (use email_hash)")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _refuse_emails(k)
            _refuse_emails(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _refuse_emails(v)


class SqlHashStore:
    """`HashStore` over the `log_nodes` table, inside one session."""

    def __init__(self, session: Session | Connection) -> None:
        self._s = session

    def get_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        if not ids:
            return []
        by_level: dict[int, set[int]] = {}
        for lv, ix in ids:
            by_level.setdefault(lv, set()).add(ix)
        # One query, an index lookup per node: (level = ? AND idx IN (...)) OR ... per level. SQLite scans
        # the whole table for a row-value IN; and building this as an SQLAlchemy expression costs more
        # than the query, so it is plain SQL (integers only, all as parameters).
        conn = self._s.connection() if isinstance(self._s, Session) else self._s
        ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        clauses, params = [], []
        for lv, ixs in by_level.items():
            clauses.append(f"(level = {ph} AND idx IN ({', '.join([ph] * len(ixs))}))")
            params.append(lv)
            params.extend(ixs)
        sql = f"SELECT level, idx, hash FROM log_nodes WHERE {' OR '.join(clauses)}"
        found = {(lv, ix): bytes(h) for lv, ix, h in conn.exec_driver_sql(sql, tuple(params))}
        try:
            return [found[(lv, ix)] for lv, ix in ids]
        except KeyError as e:
            raise KeyError(e.args[0]) from None

    def put_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        if nodes:
            self._s.execute(_NODE_INSERT, [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in nodes])


class _Recorder:
    """A stand-in store that notes which nodes a proof needs (first pass of `LogService.proofs`)."""

    def __init__(self) -> None:
        self.ids: list[tuple[int, int]] = []

    def get_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        self.ids.extend(ids)
        return [bytes(32)] * len(ids)

    def put_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        raise TypeError("a proof-time node store is read-only: appends go through LogService")


class _Prefetched:
    """The nodes read by one query (second pass of `LogService.proofs`)."""

    def __init__(self, hashes: list[bytes], ids: list[tuple[int, int]]) -> None:
        self._d = dict(zip(ids, hashes, strict=True))

    def get_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        return [self._d[i] for i in ids]

    def put_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        raise TypeError("a proof-time node store is read-only: appends go through LogService")


# -- the log key ------------------------------------------------------------------------------------------


def default_origin(base_url: str) -> str:
    """`<host[:port]>[/path]/log` of the server's public URL."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/log"


def load_or_create_key(secrets_dir: Path, origin: str | None, base_url: str) -> NoteSigner:
    """The log's note signer from `<secrets>/log.key`, created (mode 0600) at first start.

    The origin is fixed by the key: a configured origin that differs from the stored key's name is an error.
    """
    path = secrets_dir / KEY_FILE
    if not path.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(secrets_dir, 0o700)
        signer = NoteSigner.generate(origin or default_origin(base_url))
        tmp = secrets_dir / f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(signer.signer_key() + "\n")
        try:
            os.link(tmp, path)  # atomic; loses to a concurrent first start without clobbering it
            _log.info("log: created the log signing key %s (origin %s)", path, signer.name)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        signer = NoteSigner.parse(path.read_text("ascii").strip())
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read the log key {path}: {e}") from None
    if origin and origin != signer.name:
        raise ConfigError(
            f"C11_LOG_ORIGIN is {origin!r} but the log key {path} is for {signer.name!r}; a log's origin cannot change"
        )
    return signer


# -- the service ------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    kind: str
    data: str
    subject: str | None
    at: datetime
    opening: dict[str, Any] | None = None
    index: int = -1
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class LogWriter:
    """Appends entries inside one transaction; `LogService.transaction()` hands it out."""

    service: LogService
    session: Session
    size: int
    at: datetime = field(default_factory=utcnow)
    _entries: list[dict[str, Any]] = field(default_factory=list)
    _openings: list[dict[str, Any]] = field(default_factory=list)

    def append(
        self,
        kind: str,
        fields: Mapping[str, Any],
        subject: str | None = None,
        *,
        person: str | None = None,
        private: Mapping[str, Any] | None = None,
    ) -> int:
        """Add an entry; returns its index (valid once the transaction commits).

        With `private` (and `person`, an email hash or None), a v2 entry whose `actor` commits to them."""
        if private is None and kind == "admin":
            fields, person, private = admin_parts(dict(fields))
        if private is None:
            return self._append_encoded(kind, encode_entry(kind, fields, self.at), subject, self.at)
        data, opening = seal_entry(kind, fields, self.at, person, private)
        return self._append_encoded(kind, data, subject, self.at, opening)

    def _append_encoded(
        self, kind: str, data: str, subject: str | None, at: datetime, opening: dict[str, Any] | None = None
    ) -> int:
        if subject is not None and len(subject) > 64:
            raise ValueError("log entry subjects are at most 64 characters")
        index = self.size + len(self._entries)
        self._entries.append(
            {
                "idx": index,
                "kind": kind,
                "subject": subject,
                "data": data,
                "leaf_hash": leaf_hash(data.encode("ascii")),
                "created_at": at,
            }
        )
        if opening is not None:
            self._openings.append({**opening, "log_index": index})
        return index

    def _flush(self) -> None:
        if not self._entries:
            return
        tree = MerkleTree(SqlHashStore(self.session), self.size)
        tree.append_leaf_hashes([e["leaf_hash"] for e in self._entries])
        self.session.execute(_ENTRY_INSERT, self._entries)
        if self._openings:
            self.session.execute(_OPENING_INSERT, self._openings)
        self.session.execute(
            update(LogState).where(LogState.id == 1).values(size=tree.size, root_hash=tree.root(), updated_at=self.at)
        )
        self.size = tree.size
        self._entries, self._openings = [], []


class LogService:
    """One per application (see `log_service(ctx)`): the key, the write lock, the queue, caches."""

    def __init__(self, ctx: ServerContext) -> None:
        cfg = ctx.config
        self.db = ctx.db
        self.secrets = cfg.data_dir / "secrets"
        self.signer = load_or_create_key(self.secrets, getattr(cfg, "log_origin", None) or None, cfg.base_url)
        self.verifier: NoteVerifier = self.signer.verifier
        self.origin = self.signer.name
        #: Retired keys with the largest tree each may vouch for (its hand-over entry's index + 1), newest first.
        self.retired: list[tuple[NoteVerifier, int]] = []
        self._retired_stamp: tuple[Any, ...] | None = None
        #: Held while signing and while a rotation installs the new key: no checkpoint past a hand-over is
        #: signed with the key it retires.
        self._sign_lock = threading.Lock()
        self._key_stamp = _stamp(self.secrets / KEY_FILE)
        hw = getattr(cfg, "log_highwater_file", None)
        self.highwater = HighWater(Path(hw) if hw else cfg.data_dir / "log-highwater", cfg.data_dir / INACTIVE_FILE)
        #: Disagreeing checkpoints reported to this process while active (alerts: see `witness`).
        self.reports_seen = 0
        self._hw_stamp: tuple[Any, ...] | None = None
        self._hw_size = -1
        #: Serialises writes of the mark by this process (a waiting caller whose tree is no larger skips its own).
        self._mark_lock = threading.Lock()
        self._refreshed = 0.0
        #: Why the log refuses to append (and to sign past `_frozen_max`), or None (docs/server.md).
        self.frozen: str | None = None
        self._frozen_max = -1
        self._lock = threading.Lock()
        self._key_lock = threading.Lock()
        self._inbox: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._signed: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()
        self._consistency: OrderedDict[tuple[int, int], list[bytes]] = OrderedDict()
        self._postgres = self.db.engine.dialect.name == "postgresql"
        self._read_engine: Engine | None = None
        #: Hot reads run on the event loop when the database is near (SQLite, or PostgreSQL on this host: a
        #: query costs less than a thread hop); with a remote database, in the thread pool.
        host = self.db.engine.url.host
        self.inline_reads = (
            not self._postgres or not host or host in ("localhost", "127.0.0.1", "::1") or host.startswith("/")
        )
        self._init_state()
        self._load_retired()
        self._check_highwater()

    @property
    def verifier_key(self) -> str:
        """The current verifier key (a rotated key file is picked up first)."""
        self._refresh()
        return str(self.verifier)

    @property
    def verifiers(self) -> list[NoteVerifier]:
        """Every key of this log: the current one first, then the retired ones (their checkpoints still count,
        up to their hand-over: see `_verify_own`)."""
        return [self.verifier, *(v for v, _ in self.retired)]

    def _load_retired(self) -> None:
        """The retired key files, each bounded by its hand-over entry in the database: a retired key vouches only
        for trees of at most (hand-over index + 1) entries. A retired key without a hand-over here vouches for
        nothing (docs/log.md section 9)."""
        keys = _retired_keys(self.secrets)
        bounds: dict[str, int] = {}
        if keys:
            with self.db.session() as s:
                for index, text in self.handovers(s, limit=1000):
                    try:
                        old = json.loads(text)["old"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    bounds.setdefault(str(old), index + 1)
        self.retired = [(v, bounds.get(str(v), -1)) for v in keys]

    def _init_state(self) -> None:
        with self.db.session() as s:
            state = s.get(LogState, 1)
            if state is None:
                s.add(
                    LogState(
                        id=1,
                        size=0,
                        root_hash=EMPTY_ROOT,
                        origin=self.origin,
                        verifier_key=str(self.verifier),
                        updated_at=utcnow(),
                    )
                )
            elif state.verifier_key != str(self.verifier) and not self._finish_rotation(state.verifier_key):
                raise ConfigError(
                    f"the database's log is signed by {state.verifier_key.split('+')[0]}+"
                    f"{state.verifier_key.split('+')[1]}, not by the key in {KEY_FILE} of this data folder; "
                    "copy the right secrets/log.key here"
                )

    # -- key rotation and the high-water mark ----------------------------------------------------------------

    def _refresh(self) -> None:
        """At most every REFRESH_SECONDS: load a rotated key file, re-check a high-water mark another process
        (or a client's report) wrote. Cheap otherwise (two stat calls)."""
        now = time.monotonic()
        if now - self._refreshed < REFRESH_SECONDS:
            return
        self._refreshed = now
        stamp = _stamp(self.secrets / KEY_FILE)
        if stamp != self._key_stamp:
            self._reload_key()
        if self.highwater.stamp() != self._hw_stamp:
            self._check_highwater()

    def _reload_key(self) -> None:
        with self._key_lock:
            signer = load_or_create_key(self.secrets, self.origin, "")
            self._key_stamp = _stamp(self.secrets / KEY_FILE)
            if signer.signer_key() != self.signer.signer_key():
                _log.info("log: now signing with %s+%08x", signer.name, signer.key_id)
                self.signer, self.verifier = signer, signer.verifier
                self._signed.clear()
            self._load_retired()

    def _finish_rotation(self, state_key: str) -> bool:
        """The database names the key in `log.key.next` (a rotation stopped after its log entry): install it."""
        nxt = self.secrets / NEXT_KEY_FILE
        try:
            signer = NoteSigner.parse(nxt.read_text("ascii").strip())
        except (OSError, ValueError):
            return False
        if str(signer.verifier) != state_key:
            return False
        _install_key(self.secrets, self.signer, nxt)
        self._reload_key()
        return True

    def _check_highwater(self) -> None:
        """Compare the tree with the high-water mark (and any recorded fork): set `frozen` accordingly."""
        stamp = self.highwater.stamp()
        try:
            mark, fork = self.highwater.read(), self.highwater.read_fork()
        except ValueError as e:
            raise ConfigError(str(e)) from None
        with self.db.session() as s:
            size, root = self.state(s)
            frozen, frozen_max = None, -1
            if fork is not None:
                frozen = (
                    f"a client reported a checkpoint of {fork.checkpoint.size} entries signed by this log that this "
                    f"database's tree contradicts (the log forked); see {self.highwater.fork_path}"
                )
            elif mark is not None:
                cp = mark.checkpoint
                try:
                    self._verify_own(mark.note)
                except ProofError:
                    raise ConfigError(
                        f"the high-water mark {self.highwater.path} is not signed by this data folder's log key "
                        f"({self.verifier.name}+{self.verifier.key_id:08x}): the live server rotated its log key after "
                        "this backup was made; restore a backup made after the rotation (with its secrets/log.key*)"
                    ) from None
                if cp.size > size:
                    frozen, frozen_max = (
                        f"the database holds {size} log entries but this log signed a checkpoint of {cp.size} "
                        f"({self.highwater.path}): it was restored from an older backup; appending now would fork "
                        "the log clients have seen",
                        size,
                    )
                elif (root if cp.size == size else MerkleTree(SqlHashStore(s), size).root(cp.size)) != cp.root_hash:
                    frozen = (
                        f"the database's tree of {cp.size} entries differs from the checkpoint in "
                        f"{self.highwater.path}: this is not the log it signed"
                    )
            inactive = self.highwater.inactive()
            if frozen is None and inactive is not None:
                frozen, frozen_max = (
                    f"this server was restored from a backup and is not active yet ({inactive[:200]}); once the "
                    "high-water mark or the clients show it holds every entry they saw, run `c11 db activate`",
                    size,
                )
        if frozen != self.frozen:
            (_log.error if frozen else _log.warning)("log: %s", frozen or "no longer frozen")
        self.frozen, self._frozen_max = frozen, frozen_max
        self._hw_stamp = stamp
        self._hw_size = mark.checkpoint.size if mark is not None else -1

    def _verify_own(self, note: bytes) -> Checkpoint:
        """Open a checkpoint signed by any key of this log (current or retired); ProofError otherwise."""
        error: Exception | None = None
        for key, bound in [(self.verifier, None), *self.retired]:
            try:
                cp = open_checkpoint(note, key, origin=self.origin)
            except ProofError as e:
                error = e
                continue
            if bound is not None and cp.size > bound:
                # a retired key (perhaps leaked: why it was rotated) never vouches past its hand-over
                raise ProofError(
                    f"not a checkpoint of this log: signed by a retired key for {cp.size} entries, but that key "
                    f"was handed over at {bound}"
                )
            return cp
        raise ProofError(f"not a checkpoint of this log ({error})")

    def witness(self, note: bytes) -> str:
        """A checkpoint a client or witness kept: "consistent" with this tree, else "rolled-back" (larger than
        the tree) or "forked" (a different tree). ProofError if it is not a checkpoint signed by this log.

        A restored server that is not active yet (`c11 db activate`) records it as what clients saw: the mark
        rises, or the fork is kept as evidence, and the log stays frozen past it. An active server only records
        and alerts (`<mark>.reports`, an error in the log, the `c11_log_disagreeing_reports` metric, operator
        health): it wrote its own mark before handing out any checkpoint, so a checkpoint it signed cannot be
        above its mark; one that disagrees was signed by another copy holding this key (a restore drill, a
        staging copy, a stolen backup), and an anonymous report of it must not stop the real server
        (docs/server.md, "Backup and restore")."""
        cp = self._verify_own(note)
        with self.db.session() as s:
            size, root = self.state(s)
            if cp.size <= size:
                at = root if cp.size == size else MerkleTree(SqlHashStore(s), size).root(cp.size)
                if at == cp.root_hash:
                    return "consistent"
        verdict = "rolled-back" if cp.size > size else "forked"
        if self.highwater.inactive() is not None:
            if verdict == "rolled-back":
                self.highwater.raise_to(cp, note)
            else:
                self.highwater.record_fork(note)
            self._check_highwater()
            return verdict
        self.reports_seen += 1
        if self.highwater.record_report(note, verdict, rfc3339(utcnow())):
            _log.error(
                "log: a checkpoint of %d entries signed by this log's key was reported that this tree of %d "
                "entries contradicts (%s): another copy of this server signs with its key (a restore drill or "
                "staging copy?); recorded in %s, not frozen",
                cp.size,
                size,
                verdict,
                self.highwater.reports_path,
            )
        return verdict

    def rotate_key(self) -> tuple[Handover, int]:
        """Replace the log key without stopping: the old and new keys sign a hand-over that is appended to the
        log (entry kind `logkey`) with the database's key in one transaction, then the new key file replaces
        the old (kept as `log.key.retired-<id>`). Running server processes switch within REFRESH_SECONDS.
        Returns the hand-over and its log index."""
        self._reload_key()
        old = self.signer
        new = NoteSigner.generate(old.name)
        note = sign_handover(old, new)
        handover = open_handover(note, old.verifier)
        nxt = self.secrets / NEXT_KEY_FILE
        try:
            fd = os.open(nxt, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConfigError(
                f"{nxt} exists: another rotation is running or stopped half-way; start the server "
                "once (it finishes a rotation whose entry committed) or remove the file"
            ) from None
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(new.signer_key() + "\n")
        with self._sign_lock:  # no checkpoint past the hand-over is signed with the old key in this process
            try:
                with self.transaction() as (s, log):
                    index = log.append(
                        HANDOVER_KIND,
                        {"handover": note.decode("utf-8"), "new": str(new.verifier), "old": str(old.verifier)},
                    )
                    s.execute(update(LogState).where(LogState.id == 1).values(verifier_key=str(new.verifier)))
            except BaseException:
                nxt.unlink(missing_ok=True)
                raise
            _install_key(self.secrets, old, nxt)
            self._reload_key()
        return handover, index

    def handovers(self, s: Session | Connection, limit: int = 100) -> list[tuple[int, str]]:
        """The `logkey` entries (index, entry text), oldest first."""
        rows = s.execute(
            select(LogEntry.idx, LogEntry.data)
            .where(LogEntry.kind == HANDOVER_KIND)
            .order_by(LogEntry.idx)
            .limit(limit)
        ).all()
        return [(int(i), str(d)) for i, d in rows]

    # -- writing ------------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[tuple[Session, LogWriter]]:
        """A session whose changes and log appends commit together; appends are serialised."""
        with self._lock, self.db.session() as s:
            writer = LogWriter(self, s, self._lock_state(s))
            yield s, writer
            writer._flush()

    def _lock_state(self, s: Session) -> int:
        self._refresh()
        if self.frozen is not None:
            raise _frozen_problem(self.frozen)
        if self._postgres:
            return s.execute(select(LogState.size).where(LogState.id == 1).with_for_update()).scalar_one()
        # SQLite: a write first takes the database write lock (waiting for other processes), then read.
        s.execute(update(LogState).where(LogState.id == 1).values(size=LogState.size))
        return s.execute(select(LogState.size).where(LogState.id == 1)).scalar_one()

    def append(
        self,
        kind: str,
        fields: Mapping[str, Any],
        subject: str | None = None,
        *,
        person: str | None = None,
        private: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one entry and wait until it is committed; concurrent calls share a transaction.

        The entry goes to a queue that one writer thread commits in batches (group commit). `person` and
        `private` make it a v2 entry, as in `LogWriter.append`.
        """
        at = utcnow()
        if private is None and kind == "admin":
            fields, person, private = admin_parts(dict(fields))
        if private is None:
            item = _Pending(kind, encode_entry(kind, fields, at), subject, at)  # bad entries fail here
        else:
            data, opening = seal_entry(kind, fields, at, person, private)
            item = _Pending(kind, data, subject, at, opening)
        if subject is not None and len(subject) > 64:
            raise ValueError("log entry subjects are at most 64 characters")
        self._inbox.put(item)
        self._start_writer()
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.index

    def _start_writer(self) -> None:
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_loop, name="c11-log-writer", daemon=True)
                    self._writer.start()

    def _write_loop(self) -> None:
        while True:
            batch = [self._inbox.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            with self._lock:
                self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Pending]) -> None:
        """Commit queued entries in one transaction (the caller holds the lock); wake their callers."""
        try:
            with self.db.session() as s:
                writer = LogWriter(self, s, self._lock_state(s))
                for p in batch:
                    p.index = writer._append_encoded(p.kind, p.data, p.subject, p.at, p.opening)
                writer._flush()
        except BaseException as e:  # every waiter of this batch sees the failure
            for p in batch:
                p.error = e
        finally:
            for p in batch:
                p.done.set()

    # -- reading ------------------------------------------------------------------------------------------

    @property
    def read_engine(self) -> Engine:
        """An engine for the hot read paths (lookups, proofs): autocommit, so no BEGIN/ROLLBACK round
        trips, and on PostgreSQL its own pool without a ping at every checkout. Reads need no
        transaction: the tree only grows and its nodes are written once."""
        if self._read_engine is None:
            url = self.db.engine.url
            if self._postgres:
                # make_engine: after a database restart its pooled connections are replaced, not used and failed
                self._read_engine = make_engine(
                    url, isolation_level="AUTOCOMMIT", pool_size=10, max_overflow=20, pool_recycle=600
                )
            else:
                self._read_engine = self.db.engine.execution_options(isolation_level="AUTOCOMMIT")
        return self._read_engine

    def close(self) -> None:
        """Release the read engine's connections (at application shutdown; the mark is always written already)."""
        if self._read_engine is not None and self._read_engine is not self.db.engine and self._postgres:
            self._read_engine.dispose()
        self._read_engine = None

    def state(self, s: Session) -> tuple[int, bytes]:
        """Current (size, root hash)."""
        size, root = s.execute(select(LogState.size, LogState.root_hash).where(LogState.id == 1)).one()
        return size, bytes(root)

    def signed_checkpoint(self, size: int, root: bytes) -> bytes:
        """The signed checkpoint of (size, root), cached (Ed25519 signatures are deterministic)."""
        self._refresh()
        if self.frozen is not None and size > self._frozen_max:
            raise _frozen_problem(self.frozen)
        key = (size, root)
        note = self._signed.get(key)
        if note is None:
            with self._sign_lock:
                if _stamp(self.secrets / KEY_FILE) != self._key_stamp:  # another process rotated the key just now
                    self._reload_key()
                self._check_database_key()
                checkpoint = Checkpoint(self.origin, size, root)
                note = sign_checkpoint(checkpoint, self.signer)
            self._signed[key] = note
            while len(self._signed) > 64:
                self._signed.popitem(last=False)
        if size > self._hw_size:
            self._write_mark(Checkpoint(self.origin, size, root), note)
        return note

    def _check_database_key(self) -> None:
        """Before a new signature: the database must name this process's key as the log's (one indexed read,
        next to the Ed25519 signature and the mark write). A replica whose secrets/ was not updated after a
        rotation would otherwise go on signing with the retired key: it refuses (503) instead."""
        with self.read_engine.connect() as c:  # plain SQL: a Core select costs more than the query here
            key = c.exec_driver_sql("SELECT verifier_key FROM log_state WHERE id = 1").scalar()
        if key is None or key == str(self.verifier):
            return
        self._reload_key()
        if key != str(self.verifier):
            _log.error("log: the database names the log key %s, this process has %s", key, self.verifier)
            raise Problem(
                503,
                "Transparency log unavailable",
                "This server process's log key is not the log's current key (rotated elsewhere): copy "
                "secrets/log.key and secrets/log.key.retired-* from the server that rotated it.",
                "log-frozen",
            )

    def _write_mark(self, checkpoint: Checkpoint, note: bytes) -> None:
        """Raise the high-water mark to `checkpoint` (fsynced) before its note leaves this process: a crash never
        leaves a handed-out checkpoint above the mark. Concurrent callers coalesce: after waiting, a caller
        whose tree is no larger than the mark written meanwhile writes nothing."""
        with self._mark_lock:
            if checkpoint.size <= self._hw_size:
                return
            try:
                self.highwater.raise_to(checkpoint, note)
            except OSError as e:
                _log.error("log: cannot write the high-water mark %s: %s", self.highwater.path, e)
                raise Problem(
                    503, "Transparency log unavailable", "The log cannot record its high-water mark.", "log-frozen"
                ) from None
            self._hw_size = checkpoint.size
            self._hw_stamp = self.highwater.stamp()

    def current_checkpoint(self, s: Session) -> tuple[int, bytes]:
        """(size, signed checkpoint note) of the log now."""
        size, root = self.state(s)
        return size, self.signed_checkpoint(size, root)

    def proofs(
        self, s: Session | Connection, size: int, indexes: Sequence[int] = (), known: int | None = None
    ) -> tuple[list[list[bytes]], list[bytes] | None]:
        """Inclusion proofs of `indexes` and a consistency proof from `known`, all in the tree of `size`
        entries, read with one query.

        Consistency proofs are cached per (known, size): every client that saw the same checkpoint asks
        for the same one, and it depends only on committed, write-once nodes. Inclusion proofs are always
        read from the database.
        """
        consistency = self._consistency.get((known, size)) if known is not None else None
        plan = _Recorder()
        tree = MerkleTree(plan, size)
        for i in indexes:
            tree.inclusion_proof(i)
        if known is not None and consistency is None:
            tree.consistency_proof(known)
        store = _Prefetched(SqlHashStore(s).get_nodes(plan.ids) if plan.ids else [], plan.ids)
        tree = MerkleTree(store, size)
        if known is not None and consistency is None:
            consistency = tree.consistency_proof(known)
            self._consistency[(known, size)] = consistency
            while len(self._consistency) > 256:
                self._consistency.popitem(last=False)
        return [tree.inclusion_proof(i) for i in indexes], consistency

    @staticmethod
    def inclusion_proof(s: Session, index: int, size: int) -> list[bytes]:
        return MerkleTree(SqlHashStore(s), size).inclusion_proof(index)

    @staticmethod
    def consistency_proof(s: Session, size1: int, size2: int) -> list[bytes]:
        return MerkleTree(SqlHashStore(s), size2).consistency_proof(size1)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _retired_keys(secrets_dir: Path) -> list[NoteVerifier]:
    """The verifier keys of the retired key files, newest first."""
    found = []
    for path in secrets_dir.glob(RETIRED_PREFIX + "*"):
        try:
            found.append((path.stat().st_mtime_ns, NoteSigner.parse(path.read_text("ascii").strip()).verifier))
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read the retired log key {path}: {e}") from None
    return [v for _, v in sorted(found, key=lambda x: -x[0])]


def _install_key(secrets_dir: Path, old: NoteSigner, nxt: Path) -> None:
    """Keep the old key as retired, then put `nxt` in place of log.key (atomically: never no key file)."""
    retired = secrets_dir / f"{RETIRED_PREFIX}{old.key_id:08x}"
    if not retired.exists():
        fd = os.open(retired, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(old.signer_key() + "\n")
    os.replace(nxt, secrets_dir / KEY_FILE)


def _frozen_problem(why: str) -> Problem:
    return Problem(503, "Transparency log frozen", f"The log refuses to sign or append: {why}.", "log-frozen")


def log_service(ctx: ServerContext) -> LogService:
    """The application's log service (created, with its key, on first use or at start)."""
    return ctx.service("log_service", LogService)


def append(
    ctx: ServerContext,
    kind: str,
    fields: Mapping[str, Any],
    subject: str | None = None,
    *,
    person: str | None = None,
    private: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry of `kind` (e.g. "key", "release") to the log; returns its index once committed.

    `fields` must be JSON values without plain email addresses (use `email_hash`); `subject` (optional,
    at most 64 characters, e.g. a document ID) lets the entries about one thing be found again. An entry
    about a person passes `person` (email hash) and `private` (what names them): a v2 entry (section 7).
    """
    return log_service(ctx).append(kind, fields, subject, person=person, private=private)
