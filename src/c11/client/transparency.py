"""Client side of the transparency log: the pinned log key, the last checkpoint seen, and proof checks.

Per server, the config dir holds `logs/<server>/log.pub` (the log's verifier key, pinned on first use)
and `logs/<server>/checkpoint` (the last signed checkpoint this client accepted). Every checkpoint the
server shows must verify with the pinned key and extend the stored one (consistency proof); every entry
the client relies on must be included in it (inclusion proof). Any failure raises `ProofError`.

    from c11.client import Client
    with Client.from_environment() as c:
        check = c.log.verify()            # fetch the newest checkpoint, prove it extends the stored one
        print(check.current.size)
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from c11.client._http import HttpCore
from c11.errors import LogKeyChangedError, ProofError, ServerError
from c11.log.checkpoint import (
    Checkpoint,
    NoteVerifier,
    open_checkpoint,
    verify_checkpoint_consistency,
    verify_checkpoint_inclusion,
)
from c11.log.entries import email_hash
from c11.log.handover import Handover, follow_handovers
from c11.log.merkle import leaf_hash, root_from_inclusion_proof, verify_consistency, verify_inclusion
from c11.log.openings import verify_opening


def server_slug(server: str) -> str:
    """A folder name for a server URL: scheme_host_port[_path]."""
    parts = urlsplit(server.rstrip("/"))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    raw = f"{parts.scheme}_{parts.hostname or ''}_{port}{parts.path}"
    return re.sub(r"[^A-Za-z0-9.-]+", "_", raw).strip("_")


def decode_hashes(values: Any) -> list[bytes]:
    """A JSON list of base64 hashes; ProofError if it is anything else."""
    if not isinstance(values, list):
        raise ProofError("proof is not a list")
    try:
        return [base64.b64decode(v, validate=True) for v in values]
    except (binascii.Error, TypeError, ValueError):
        raise ProofError("proof hash is not base64") from None


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class TrustStore:
    """The files that remember a server's log key and last checkpoint (and keys published from here)."""

    _locks: dict[str, threading.Lock] = {}

    def __init__(self, folder: Path, server: str) -> None:
        self.folder = folder / "logs" / server_slug(server)
        self.key_path = self.folder / "log.pub"
        self.retired_path = self.folder / "log.retired"
        self.checkpoint_path = self.folder / "checkpoint"
        self.published_path = self.folder / "published.json"
        self.group_keys_path = self.folder / "group-keys.json"
        self._lock = self._locks.setdefault(str(self.folder), threading.Lock())

    def pinned_key(self) -> str | None:
        try:
            return self.key_path.read_text("ascii").strip() or None
        except FileNotFoundError:
            return None

    def pin_key(self, vkey: str) -> None:
        _write_private(self.key_path, (vkey + "\n").encode("ascii"))

    def retired_keys(self) -> list[str]:
        """Keys this log handed over from (docs/log.md section 9): their old checkpoints still verify."""
        return list(self.retired_bounds())

    def retired_bounds(self) -> dict[str, int]:
        """Each retired key and the largest tree it may vouch for (its hand-over entry's index + 1); a line
        without a bound (a file written before bounds were kept) vouches for nothing."""
        try:
            lines = self.retired_path.read_text("ascii").splitlines()
        except FileNotFoundError:
            return {}
        found: dict[str, int] = {}
        for line in lines:
            parts = line.split()
            if parts:
                found[parts[0]] = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
        return found

    def follow(self, new_key: str, old_keys: list[str] | dict[str, int]) -> None:
        """Pin `new_key` after verified hand-overs from `old_keys` (kept as retired, each with the tree size it
        may vouch for at most: its hand-over's index + 1)."""
        bounds = self.retired_bounds()
        for k, bound in old_keys.items() if isinstance(old_keys, dict) else ((k, -1) for k in old_keys):
            if k not in bounds or bounds[k] < 0:
                bounds[k] = bound
        _write_private(self.retired_path, "".join(f"{k} {b}\n" for k, b in bounds.items()).encode("ascii"))
        self.pin_key(new_key)

    def stored_note(self) -> bytes | None:
        try:
            return self.checkpoint_path.read_bytes()
        except FileNotFoundError:
            return None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise checkpoint updates of this server (threads, and processes through a lock file)."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock, open(self.folder / ".lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def store_note(self, note: bytes) -> None:
        _write_private(self.checkpoint_path, note)

    def published(self) -> list[dict[str, Any]]:
        """Keys this device published to this server: [{fingerprint, public_key, email, log_index}]."""
        try:
            data = json.loads(self.published_path.read_text("utf-8"))
            return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
        except (FileNotFoundError, ValueError):
            return []

    def remember_published(self, record: dict[str, Any]) -> None:
        with self._lock:
            items = [d for d in self.published() if d.get("fingerprint") != record.get("fingerprint")]
            items.append(record)
            _write_private(self.published_path, json.dumps(items, indent=2).encode())

    def group_keys(self) -> dict[str, list[Any]]:
        """group ID -> [highest key version seen, its fingerprint] (group keys proven in this server's log)."""
        try:
            data = json.loads(self.group_keys_path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            raise ProofError(
                f"{self.group_keys_path}: unreadable; delete it to trust the server's next answer"
            ) from None
        if not isinstance(data, dict):
            raise ProofError(f"{self.group_keys_path}: not a list of seen group keys; delete it")
        return {
            k: v
            for k, v in data.items()
            if isinstance(v, list) and len(v) == 2 and isinstance(v[0], int) and isinstance(v[1], str)
        }

    def remember_group_key(self, group_id: str, version: int, fingerprint: str) -> None:
        with self._lock:
            seen = self.group_keys()
            if group_id not in seen or seen[group_id][0] < version:
                seen[group_id] = [version, fingerprint]
                _write_private(self.group_keys_path, json.dumps(seen, indent=2).encode())


@dataclass(frozen=True)
class LogCheck:
    """Result of `LogAPI.verify()`: the checkpoint stored before (None at first use) and the new one."""

    previous: Checkpoint | None
    current: Checkpoint
    note: bytes


@dataclass(frozen=True)
class InclusionCheck:
    """A verified entry: its text, index, the tree size it was proven in and the proof."""

    index: int
    tree_size: int
    entry: str
    proof: list[bytes]


@dataclass(frozen=True)
class OpenedEntry:
    """A v2 log entry about a person, proven in the log and opened: `fields` is the entry with its private
    fields (what its `actor` commits to) merged in; `person` the email hash it names (None: nobody)."""

    index: int
    kind: str
    person: str | None
    fields: dict[str, Any]
    entry: str
    tree_size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "person": self.person,
            "fields": self.fields,
            "entry": self.entry,
            "tree_size": self.tree_size,
        }


#: Most openings pages `LogAPI.openings` reads (500 each).
MAX_OPENING_PAGES = 200
#: Most key hand-overs a client follows from one answer.
MAX_HANDOVERS = 100


class LogAPI:
    """The /api/v1/log routes, with every answer checked against the pinned key and stored checkpoint."""

    def __init__(self, core: HttpCore, state_dir: Callable[[], Path]) -> None:
        self._core = core
        self._state_dir = state_dir

    @property
    def trust(self) -> TrustStore:
        return TrustStore(self._state_dir(), self._core.server)

    # -- raw reads --------------------------------------------------------------------------------------

    def _text(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """GET a text/plain answer (the JSON-only `HttpCore.request` does not fit), errors mapped alike."""
        import httpx

        from c11.client._http import _error

        try:
            r = self._core._http.get(path, params=params)
        except httpx.HTTPError as e:
            raise ServerError(
                f"cannot reach {self._core.server} ({type(e).__name__}): is the server running, and is the URL right?",
                0,
            ) from None
        if not r.is_success:
            raise _error(r)
        return r.content

    def server_key(self) -> str:
        """The verifier key the server announces now (not trusted by itself)."""
        return self._text("/api/v1/log/key").decode("ascii", "replace").strip()

    def verifier(self) -> NoteVerifier:
        """The pinned verifier key; pinned now from the server on first use (trust on first use)."""
        trust = self.trust
        pinned = trust.pinned_key()
        if pinned is None:
            pinned = self.server_key()
            try:
                NoteVerifier.parse(pinned)
            except (ProofError, ValueError):
                raise ProofError(f"{self._core.server} announces a malformed log key") from None
            trust.pin_key(pinned)
        return NoteVerifier.parse(pinned)

    def entries(self, start: int = 0, end: int | None = None) -> list[tuple[int, str]]:
        """A page of raw entries `[start, end)` as (index, text); not verified by itself."""
        d = self._core.request(
            "GET",
            "/api/v1/log/entries",
            auth=False,
            params={"start": start, **({"end": end} if end is not None else {})},
        )
        return [(e["index"], e["data"]) for e in d["entries"]]

    # -- verification -----------------------------------------------------------------------------------

    def open(self, note: bytes, *, follow: bool = True) -> Checkpoint:
        """Open a signed checkpoint with the pinned key (or a key it took over from); a checkpoint signed by a
        new key is accepted after a verified hand-over chain from the pinned key (docs/log.md section 9); any
        other changed server key is `LogKeyChangedError`."""
        verifier = self.verifier()
        try:
            return open_checkpoint(note, verifier)
        except ProofError as e:
            for old, bound in self.trust.retired_bounds().items():
                try:
                    cp = open_checkpoint(note, old, origin=verifier.name)
                except (ProofError, ValueError):
                    continue
                if cp.size > bound:  # a retired (perhaps leaked) key never vouches past its hand-over
                    raise ProofError(
                        f"bad checkpoint from {self._core.server}: signed by a retired log key for {cp.size} "
                        f"entries, but that key was handed over at {max(bound, 0)}"
                    ) from None
                return cp
            if follow and self._follow_handovers(verifier):
                return self.open(note, follow=False)
            try:
                announced = self.server_key()
            except Exception:
                announced = None
            if announced and announced != str(verifier):
                raise LogKeyChangedError(
                    f"the log key of {self._core.server} changed: pinned {_short(str(verifier))}, server now "
                    f"shows {_short(announced)}; if its operator really replaced the key, delete "
                    f"{self.trust.key_path} and run `c11 log verify`"
                ) from None
            raise ProofError(f"bad checkpoint from {self._core.server}: {e}") from None

    def _follow_handovers(self, pinned: NoteVerifier) -> bool:
        """Follow the server's key hand-overs from `pinned`: each signed by the key before it, each entry proven
        in a checkpoint signed by the last key. True if the pinned key moved; ProofError on a bad hand-over."""
        try:
            d = self._core.request("GET", "/api/v1/log/handovers", auth=False)
        except ServerError:
            return False
        notes, rows = [], []
        for h in d.get("handovers", [])[:MAX_HANDOVERS] if isinstance(d, dict) else []:
            try:
                entry = json.loads(h["entry"])
                notes.append(entry["handover"].encode("utf-8"))
                rows.append(h)
            except (KeyError, TypeError, ValueError, AttributeError):
                raise ProofError("malformed key hand-over entry from the server") from None
        chain = follow_handovers(pinned, notes)
        if not chain:
            return False
        newest = chain[-1].new
        checkpoint = open_checkpoint(str(d.get("checkpoint", "")).encode("utf-8"), newest)
        if d.get("tree_size") != checkpoint.size:
            raise ProofError("hand-over answer's tree size differs from its checkpoint")
        used = {n: r for n, r in zip(notes, rows, strict=True)}
        for step in chain:
            row = used[_step_note(step, notes)]
            verify_checkpoint_inclusion(
                checkpoint, leaf_hash(row["entry"].encode("utf-8")), row["index"], decode_hashes(row["inclusion_proof"])
            )
        self.trust.follow(
            str(newest), {str(step.old): int(used[_step_note(step, notes)]["index"]) + 1 for step in chain}
        )
        return True

    def report(self, note: bytes) -> str | None:
        """Tell the server about a checkpoint it signed that its tree no longer extends (so that it refuses to
        sign a fork, docs/server.md "Backup and restore"); the server's verdict, or None if it did not answer."""
        import httpx

        try:
            r = self._core._http.post(
                "/api/v1/log/checkpoints", content=note, headers={"content-type": "text/plain; charset=utf-8"}
            )
            d = r.json()
        except (httpx.HTTPError, ValueError):
            return None
        return str(d.get("verdict")) if isinstance(d, dict) and d.get("verdict") else None

    def accept(self, note: bytes, consistency: list[bytes] | None = None, known_size: int | None = None) -> LogCheck:
        """Accept a signed checkpoint: it must verify and extend the stored one; then it is stored.

        `consistency` is a proof from `known_size` (the stored size when it was asked) to the new size;
        when it is missing or for another size, it is fetched.
        """
        new = self.open(note)
        trust = self.trust
        with trust.locked():
            stored = trust.stored_note()
            try:
                old = self.open(stored) if stored is not None else None
            except LogKeyChangedError:
                raise
            except ProofError as e:
                raise ProofError(
                    f"the checkpoint stored in {trust.checkpoint_path} does not verify ({e}); "
                    "if the file was damaged on this device, delete it"
                ) from None
            if old is not None:
                if new.size < old.size:
                    self.report(stored or b"")
                    raise ProofError(
                        f"the log of {self._core.server} shrank from {old.size} to {new.size} "
                        "entries: it was rolled back or forked"
                    )
                try:
                    if consistency is None or known_size != old.size:
                        consistency = self.consistency_proof(old.size, new.size)
                    verify_checkpoint_consistency(old, new, consistency)
                except ProofError:
                    self.report(stored or b"")
                    raise
            if old is None or new.size > old.size:
                trust.store_note(note)
        return LogCheck(old, new, note)

    def accept_answer(self, d: Any, known: int | None, what: str = "answer") -> LogCheck:
        """Accept the checkpoint an answer carries (`checkpoint`, `tree_size`, and `consistency_proof` from
        `known_size` when it asked with `known`): as `accept`, and the tree size must be the checkpoint's.
        Registry lookups and organization policies are checked with it."""
        note = d.get("checkpoint") if isinstance(d, dict) else None
        if not isinstance(note, str):
            raise ProofError(f"{what} has no checkpoint")
        proof = decode_hashes(d["consistency_proof"]) if d.get("consistency_proof") is not None else None
        check = self.accept(note.encode("utf-8"), proof, d.get("known_size") if proof is not None else None)
        if d.get("tree_size") != check.current.size:
            raise ProofError(f"{what}'s tree size differs from its checkpoint")
        return check

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        if first == 0 or first == second:
            return []
        try:
            d = self._core.request(
                "GET", "/api/v1/log/proof/consistency", auth=False, params={"from": first, "to": second}
            )
        except ServerError as e:
            if e.status in (400, 404, 409, 422):
                raise ProofError(
                    f"the log cannot prove that its tree of {second} entries extends the tree of {first} entries ({e})"
                ) from None
            raise
        return decode_hashes(d.get("proof"))

    def known_size(self) -> int | None:
        """Size of the stored checkpoint (to ask the server for a consistency proof from it), if any."""
        note = self.trust.stored_note()
        if note is None:
            return None
        try:
            return Checkpoint.from_text(note.split(b"\n\n", 1)[0] + b"\n").size
        except ProofError:
            return None

    def checkpoint(self) -> LogCheck:
        """The newest checkpoint, verified with the pinned key and against the stored one (then stored)."""
        return self.accept(self._text("/api/v1/log/checkpoint"))

    def verify(self) -> LogCheck:
        """`c11 log verify`: fetch the newest checkpoint, prove it extends the stored one, store it."""
        return self.checkpoint()

    def check_inclusion(self, check: LogCheck, entry: str, index: int, proof: list[bytes]) -> None:
        """Check that `entry` is entry `index` of the tree `check.current` commits to."""
        verify_inclusion(leaf_hash(entry.encode("utf-8")), index, check.current.size, proof, check.current.root_hash)

    def prove(self, index: int, size: int | None = None) -> InclusionCheck:
        """Fetch entry `index` and prove it is in the log: in the newest verified tree, or in the tree of
        `size` entries, itself proven to be a prefix of the newest verified tree."""
        check = self.checkpoint()
        current = check.current.size
        size = current if size is None else size
        if not 0 <= index < size <= current:
            raise ProofError(f"need 0 <= index < size <= {current} (the verified tree size)")
        found = [d for i, d in self.entries(index, index + 1) if i == index]
        if not found:
            raise ProofError(f"the server did not return entry {index}")
        d = self._core.request("GET", "/api/v1/log/proof/inclusion", auth=False, params={"index": index, "size": size})
        if d.get("index") != index or d.get("tree_size") != size:
            raise ProofError("the server answered a proof for another entry or size")
        proof = decode_hashes(d.get("proof"))
        leaf = leaf_hash(found[0].encode("utf-8"))
        if size == current:
            verify_inclusion(leaf, index, size, proof, check.current.root_hash)
        else:
            root = root_from_inclusion_proof(leaf, index, size, proof)
            verify_consistency(size, current, self.consistency_proof(size, current), root, check.current.root_hash)
        return InclusionCheck(index, size, found[0], proof)

    # -- openings of v2 entries (docs/log.md section 7) -------------------------------------------------

    def openings(self, email: str | None = None, *, org: bool = False) -> list[OpenedEntry]:
        """The v2 entries about you (`email`: your account's verified email) or, with `org`, about your
        organization's members (you need read:events-org), each proven in a checkpoint signed by the pinned
        key that extends the stored one and opened against its `actor` commitment; ProofError otherwise."""
        want = email_hash(email) if email is not None else None
        path = "/api/v1/log/openings/org" if org else "/api/v1/log/openings"
        out: list[OpenedEntry] = []
        after = -1
        for _ in range(MAX_OPENING_PAGES):
            d = self._core.request("GET", path, params={"after": after})
            note = d.get("checkpoint") if isinstance(d, dict) else None
            if not isinstance(note, str):
                raise ProofError("openings page has no checkpoint")
            check = self.accept(note.encode("utf-8"))
            if d.get("tree_size") != check.current.size:
                raise ProofError("openings page's tree size differs from its checkpoint")
            for item in d.get("openings") or []:
                got = self._open(check, item)
                if (want is not None and got.person != want) or (
                    want is None and got.person is None and got.kind != "admin"
                ):
                    raise ProofError(f"log entry {got.index} is not about {'you' if want else 'a person'}")
                if out and got.index <= out[-1].index:
                    raise ProofError("openings pages are out of order")
                out.append(got)
            after = d.get("next_after")
            if after is None:
                return out
            if not isinstance(after, int) or after < (out[-1].index if out else -1):
                raise ProofError("openings pages are out of order")
        raise ProofError(f"more than {MAX_OPENING_PAGES} pages of openings")

    def _open(self, check: LogCheck, item: Any) -> OpenedEntry:
        try:
            index, text = int(item["index"]), str(item["entry"])
            nonce = base64.b64decode(item["nonce"], validate=True)
            proof = decode_hashes(item["inclusion_proof"])
            private = item["private"]
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise ProofError("malformed opening") from None
        self.check_inclusion(check, text, index, proof)
        opened = verify_opening(text, nonce, private)
        fields = {**{k: v for k, v in opened.entry.items() if k not in ("actor", "v")}, **opened.private}
        return OpenedEntry(index, opened.kind, opened.person, fields, text, check.current.size)


def _step_note(step: Handover, notes: list[bytes]) -> bytes:
    """The note among `notes` that states `step` (the hand-over from `step.old`)."""
    for n in notes:
        if n.split(b"\n")[2:3] == [str(step.old).encode("ascii")]:
            return n
    raise ProofError("hand-over note missing")


def _short(vkey: str) -> str:
    parts = vkey.split("+")
    return "+".join(parts[:2]) if len(parts) >= 2 else vkey[:40]
