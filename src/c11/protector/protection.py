"""Protection in place: one object of a connection classified, then protected by the first matching rule with a
replacement that is safe at every step (docs/protector.md "Safe replacement").

Whole file (`protect-file`): `KEY.c11` is written (conditional create), read back and opened with the file key this
process still holds (header MAC and signature checked, payload decrypted, plaintext SHA-256 compared with the
original's), recorded as `verified`, and only then is the original deleted, on condition that it did not change
(`if_match`). Parts (`protect-parts`): the protected document is written to a temporary key beside it, read back and
checked (same bytes, a valid envelope, the detectors no longer find what was protected), recorded, then written
over the original on condition that it did not change, read back again, and the temporary key removed.

The state database records each step before the next begins, so a crash anywhere leaves the original or the
verified protected object (never neither, never half of one: every backend's write is all-or-nothing), and the next
attempt finishes or undoes what the crashed one left.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import posixpath
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from c11.errors import C11Error
from c11.protector import state as S
from c11.protector.rules import PROTECT_FILE, PROTECT_PARTS, REPORT, Rule, Rules
from c11.protector.storage import NotFound, ObjectInfo, PreconditionFailed, Storage, StorageError, read_all

if TYPE_CHECKING:
    from c11.client.sending import Sending, SendPlan
    from c11.keys.identity import Identity
    from c11.protector.detect import DetectRules

#: `Outcome.status` of an object another worker holds (left to it)
BUSY = "busy"
#: the suffix of a whole-file protected object
SUFFIX = ".c11"
#: the name prefix of temporary objects (parts protection); the file:// backend never lists them
TMP_PREFIX = ".c11-tmp-"
#: largest object read (bytes); larger ones are skipped with a reason
DEFAULT_MAX_SIZE = 256 << 20
#: formats `protect-parts` handles (c11.indoc)
PART_FORMATS = (".docx", ".xlsx", ".pdf", ".json", ".csv", ".yaml", ".yml", ".md")


class VerificationError(C11Error):
    """The protected object read back is not what was written (or does not open to the original)."""


@dataclass(frozen=True)
class Classification:
    """What the detectors found in one object: detector names, and the matched texts (kept in memory only, to
    protect them in place; never stored, logged or reported)."""

    detectors: tuple[str, ...] = ()
    texts: tuple[str, ...] = field(default=(), repr=False)


#: classify(key, content) -> Classification
Classifier = Callable[[str, bytes], Classification]


@dataclass(frozen=True)
class Outcome:
    """What `Protector.process` did with one key: `status` (a c11.protector.state status, or "unchanged",
    "would-protect" in a dry run, "ignored" for the protector's own objects)."""

    key: str
    status: str
    action: str | None = None
    detectors: tuple[str, ...] = ()
    target: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status,
            "action": self.action,
            "detectors": list(self.detectors),
            "target": self.target,
            "reason": self.reason,
        }


def ignored(key: str) -> bool:
    """Objects the protector never classifies: its own outputs (`.c11`) and temporary objects."""
    return key.endswith(SUFFIX) or posixpath.basename(key).startswith(TMP_PREFIX)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Protector:
    """Protects the objects of one connection. Capabilities come in as arguments: the opened `storage`, the
    `state` database, the `rules`, the `sender` identity that signs, the SDK's `sending` planner (organization
    rules: recovery keys always added), a `classify` function and `record_event(plan)` (a usage event on the
    c11 server; None when not logged in)."""

    connection: str
    storage: Storage
    state: S.StateDB
    rules: Rules
    sender: Identity
    sending: Sending
    classify: Classifier
    record_event: Callable[[SendPlan], None] | None = None
    max_size: int = DEFAULT_MAX_SIZE
    dry_run: bool = False
    #: lock(key) -> context manager yielding whether this process may work on `key` (workers sharing a state)
    lock: Callable[[str], contextlib.AbstractContextManager[bool]] | None = None
    _plans: dict[str, SendPlan] = field(default_factory=dict, repr=False)
    _new: bool = field(default=False, repr=False)

    # -- one object ---------------------------------------------------------------------------------------

    def process(self, key: str, listed: ObjectInfo | None = None) -> Outcome:
        """Classify `key` and apply the first matching rule (or finish what a crashed attempt left). `listed`:
        the object's info from a listing (saves asking the backend again; every replacement is still conditional
        on the ETag, so a stale listing cannot make it overwrite newer content)."""
        if ignored(key):
            return Outcome(key, "ignored")
        prior = self.state.get(self.connection, key)
        if prior is not None and not self.dry_run and prior.status in (S.PROTECTING, S.VERIFIED):
            with self._locked(key) as got:
                if not got:
                    return Outcome(key, BUSY, reason="another worker is on it")
                prior = self.state.get(self.connection, key)
                if prior is not None and prior.status in (S.PROTECTING, S.VERIFIED):
                    done = self._resume(key, prior)
                    if done is not None:
                        return done
            prior = self.state.get(self.connection, key)
        if listed is not None and listed.key == key and listed.etag is not None:
            info = listed
        else:
            try:
                info = self.storage.stat(key)
            except NotFound:
                return Outcome(key, "unchanged", reason="no longer exists")
        if prior is not None and prior.status in S.FINAL and info.etag is not None:
            if info.etag in (prior.etag, prior.target_etag):
                return Outcome(key, "unchanged", prior.action, prior.detectors, prior.target)
        self._new = prior is None
        if info.size > self.max_size:
            return self._record(key, info, S.SKIPPED, reason=f"larger than {self.max_size} bytes")
        try:
            data = read_all(self.storage, key, limit=self.max_size)
        except NotFound:
            return Outcome(key, "unchanged", reason="no longer exists")
        found = self.classify(key, data)
        if not found.detectors:
            return self._record(key, info, S.SKIPPED, reason="nothing found")
        rule = self.rules.choose(key, found.detectors)
        if rule is None or rule.action == REPORT:
            why = "no rule applies" if rule is None else f"rule {rule.name}: report only"
            return self._record(key, info, S.REPORTED, detectors=found.detectors, reason=why)
        if rule.action == PROTECT_PARTS and posixpath.splitext(key)[1].lower() not in PART_FORMATS:
            return self._record(
                key,
                info,
                S.SKIPPED,
                detectors=found.detectors,
                reason=f"rule {rule.name}: format not protectable in parts",
            )
        if self.dry_run:
            target = key + SUFFIX if rule.action == PROTECT_FILE else key
            return Outcome(key, "would-protect", rule.action, found.detectors, target)
        if info is listed:  # a listing has no content type: the backend's full metadata, and the same content
            try:
                info = self.storage.stat(key)
            except NotFound:
                return Outcome(key, "unchanged", reason="no longer exists")
            if info.etag != listed.etag:
                return Outcome(key, "unchanged", reason="changed since listed: looked at again by the next run")
        with self._locked(key) as got:
            if not got or self.state.get(self.connection, key) != prior:
                return Outcome(key, BUSY, rule.action, found.detectors, reason="another worker is on it")
            self.state.begin_attempt(self.connection, key, info.etag)
            try:
                if rule.action == PROTECT_FILE:
                    return self._protect_file(key, info, data, rule, found)
                return self._protect_parts(key, info, data, rule, found)
            except (C11Error, OSError) as e:
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                self.state.set(self.connection, key, S.FAILED, reason=msg[:500], etag=None, action=rule.action)
                return Outcome(key, S.FAILED, rule.action, found.detectors, reason=msg)

    def _locked(self, key: str) -> contextlib.AbstractContextManager[bool]:
        """The per-object lock of workers sharing a state database (always taken without one)."""
        return self.lock(key) if self.lock is not None else contextlib.nullcontext(True)

    def _record(self, key: str, info: ObjectInfo, status: str, **fields: Any) -> Outcome:
        if not self.dry_run:
            self.state.set(
                self.connection, key, status, new=self._new, etag=info.etag, mtime=info.mtime, size=info.size, **fields
            )
        return Outcome(key, status, detectors=fields.get("detectors", ()), reason=fields.get("reason"))

    # -- whole file -----------------------------------------------------------------------------------------

    def _protect_file(self, key: str, info: ObjectInfo, data: bytes, rule: Rule, found: Classification) -> Outcome:
        from c11.files import read_payload, seal_header, write_payload
        from c11.format.envelope import Metadata

        plan = self._plan(rule)
        options, _seal = self.sending.header_options(plan, self.sender, include_sender=False)
        meta = Metadata(
            posixpath.basename(key),
            info.content_type,
            len(data),
            int(info.mtime.timestamp()) if info.mtime else None,
        )
        kw = options.seal_kw() if options is not None else {}
        header, file_key = seal_header(list(plan.keys), self.sender, metadata=meta, **kw)
        buf = io.BytesIO()
        buf.write(header.encode())
        write_payload(header, file_key, self.sender, io.BytesIO(data), buf)
        blob = buf.getvalue()
        target = key + SUFFIX
        with contextlib.suppress(NotFound):
            self.storage.stat(target)
            raise StorageError(f"{target} already exists: move it away, then run again")
        sha = _sha(data)
        doc_id = str(uuid.UUID(bytes=header.doc_id))
        self.state.set(
            self.connection,
            key,
            S.PROTECTING,
            etag=info.etag,
            mtime=info.mtime,
            size=info.size,
            action=PROTECT_FILE,
            detectors=found.detectors,
            target=target,
            target_etag=None,
            sha256=sha,
            doc_id=doc_id,
            reason=None,
        )
        try:
            written = self.storage.write(
                target, blob, content_type="application/octet-stream", if_none_match=True, mtime=info.mtime
            )
        except PreconditionFailed:
            raise StorageError(f"{target} already exists: move it away, then run again") from None
        # read back and open with the file key we still hold: MAC, signature, every segment, then the hash
        back = read_all(self.storage, target, limit=len(blob))
        from c11.format import envelope
        from c11.format.header import read_header

        src = io.BytesIO(back)
        try:
            h, _ = read_header(src)
            envelope.verify_signature(h)
            envelope.read_metadata(h, file_key)
            out = io.BytesIO()
            read_payload(h, file_key, src, out)
        except C11Error as e:
            raise VerificationError(f"{target}: the object read back does not open ({e})") from None
        if _sha(out.getvalue()) != sha or h.doc_id != header.doc_id:
            raise VerificationError(f"{target}: the object read back does not decrypt to the original")
        self.state.set(self.connection, key, S.VERIFIED, target_etag=written.etag)
        self._remove_original(key, info.etag, target, written.etag)
        self.state.set(self.connection, key, S.PROTECTED)
        self._event(plan)
        return Outcome(key, S.PROTECTED, PROTECT_FILE, found.detectors, target)

    def _remove_original(self, key: str, etag: str | None, target: str, target_etag: str | None) -> None:
        """Delete the original if it is still what was protected; if it changed meanwhile, undo our copy."""
        try:
            self.storage.delete(key, if_match=etag)
        except NotFound:
            pass  # already gone (a crashed attempt deleted it, or its owner did): the protected copy stays
        except PreconditionFailed:
            with contextlib.suppress(NotFound):
                self.storage.delete(target, if_match=target_etag)
            raise StorageError(f"{key}: changed while it was being protected; it will be protected again") from None

    # -- parts ----------------------------------------------------------------------------------------------

    def _protect_parts(self, key: str, info: ObjectInfo, data: bytes, rule: Rule, found: Classification) -> Outcome:
        import re

        from c11.client.sending import SendRequest
        from c11.indoc import api

        ext = posixpath.splitext(key)[1].lower()
        if not found.texts:
            raise StorageError(f"{key}: the detectors gave no text to protect in place")
        request = SendRequest(rule.recipients, rule.recipient_files)
        plan, out = self.sending.protect_document(
            request,
            data,  # type: ignore[arg-type]  # c11.indoc.api.protect_document takes bytes with `format`
            [],
            self.sender,
            note=rule.note,
            matches=[re.escape(t) for t in sorted(set(found.texts))],
            format=ext,
        )
        folder, name = posixpath.split(key)
        tmp = posixpath.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{name}")
        self.state.set(
            self.connection,
            key,
            S.PROTECTING,
            etag=info.etag,
            mtime=info.mtime,
            size=info.size,
            action=PROTECT_PARTS,
            detectors=found.detectors,
            target=tmp,
            target_etag=None,
            sha256=_sha(out),
            doc_id=str(api.inspect_document(out, format=ext)["doc_id"]),
            reason=None,
        )
        written = self.storage.write(tmp, out, content_type=info.content_type, if_none_match=True)
        self._verify_parts(tmp, out, ext, found)
        self.state.set(self.connection, key, S.VERIFIED, target_etag=written.etag)
        final = self._replace(key, info.etag, tmp, out, info)
        self.state.set(self.connection, key, S.PROTECTED, target=key, target_etag=final.etag)
        self._event(plan)
        return Outcome(key, S.PROTECTED, PROTECT_PARTS, found.detectors, key)

    def _verify_parts(self, key: str, expected: bytes, ext: str, found: Classification) -> None:
        from c11.indoc import api

        back = read_all(self.storage, key, limit=len(expected))
        if _sha(back) != _sha(expected):
            raise VerificationError(f"{key}: the object read back differs from what was written")
        info = api.inspect_document(back, format=ext)
        if not info["parts"] or not info["signature_valid"]:
            raise VerificationError(f"{key}: the protected document has no valid protected part")
        left = set(self.classify(key, back).texts) & set(found.texts)
        if left:
            raise VerificationError(f"{key}: {len(left)} matched item(s) still readable after protection")

    def _replace(self, key: str, etag: str | None, tmp: str, out: bytes, info: ObjectInfo) -> ObjectInfo:
        """Write the verified protected document over the original (if unchanged), check it, drop the temporary."""
        try:
            final = self.storage.write(key, out, content_type=info.content_type, if_match=etag, mtime=info.mtime)
        except (PreconditionFailed, NotFound):
            with contextlib.suppress(NotFound):
                self.storage.delete(tmp)
            raise StorageError(f"{key}: changed while it was being protected; it will be protected again") from None
        if _sha(read_all(self.storage, key, limit=len(out))) != _sha(out):
            raise VerificationError(f"{key}: the replaced object read back differs from the verified one")
        with contextlib.suppress(NotFound):
            self.storage.delete(tmp)
        return final

    # -- resuming after a crash -----------------------------------------------------------------------------

    def _resume(self, key: str, prior: S.ObjectState) -> Outcome | None:
        """Finish (verified) or undo (protecting) what a crashed attempt left; None: process the key afresh."""
        target = prior.target
        if target is None:
            return None
        if prior.status == S.PROTECTING:
            # never verified: this process no longer holds its file key, so our copy is removed and redone
            if self._ours(target, prior):
                with contextlib.suppress(NotFound):
                    self.storage.delete(target)
            self.state.set(self.connection, key, S.SEEN, target=None, target_etag=None, etag=None)
            return None
        try:
            t = self.storage.stat(target)
        except NotFound:
            t = None
        if prior.action == PROTECT_FILE:
            if t is None or t.etag != prior.target_etag:
                self.state.set(self.connection, key, S.SEEN, target=None, target_etag=None, etag=None)
                return None
            self._remove_original(key, prior.etag, target, prior.target_etag)
            self.state.set(self.connection, key, S.PROTECTED)
            self._resumed_event(key, prior)
            return Outcome(key, S.PROTECTED, PROTECT_FILE, prior.detectors, target, reason="finished after a crash")
        # parts: the verified document waits at the temporary key
        try:
            cur = self.storage.stat(key)
        except NotFound:
            cur = None
        if cur is not None and cur.etag != prior.etag:
            current = read_all(self.storage, key, limit=self.max_size)
            if _sha(current) == prior.sha256:  # the crash came after the overwrite
                if t is not None:
                    with contextlib.suppress(NotFound):
                        self.storage.delete(target)
                self.state.set(self.connection, key, S.PROTECTED, target=key, target_etag=cur.etag)
                return Outcome(key, S.PROTECTED, PROTECT_PARTS, prior.detectors, key, reason="finished after a crash")
        if t is None or t.etag != prior.target_etag or cur is None or cur.etag != prior.etag:
            if t is not None:
                with contextlib.suppress(NotFound):
                    self.storage.delete(target)
            self.state.set(self.connection, key, S.SEEN, target=None, target_etag=None, etag=None)
            return None
        out = read_all(self.storage, target, limit=self.max_size)
        if _sha(out) != prior.sha256:
            return None
        final = self._replace(key, prior.etag, target, out, cur)
        self.state.set(self.connection, key, S.PROTECTED, target=key, target_etag=final.etag)
        self._resumed_event(key, prior)
        return Outcome(key, S.PROTECTED, PROTECT_PARTS, prior.detectors, key, reason="finished after a crash")

    def _ours(self, target: str, prior: S.ObjectState) -> bool:
        """Whether `target` is the object the crashed attempt wrote (never delete someone else's file): a
        temporary key is; a `.c11` object is when its header carries the attempt's document ID."""
        if prior.action == PROTECT_PARTS:
            return posixpath.basename(target).startswith(TMP_PREFIX)
        from c11.format.header import read_header

        try:
            with self.storage.open_read(target) as f:
                h, _ = read_header(f)
        except (NotFound, C11Error):
            return False
        return str(uuid.UUID(bytes=h.doc_id)) == prior.doc_id

    # -- plans and events -------------------------------------------------------------------------------------

    def _plan(self, rule: Rule) -> SendPlan:
        """The SDK's plan for a rule's recipients (organization rules applied: recovery keys), made once per rule."""
        from c11.client.sending import SendRequest

        plan = self._plans.get(rule.name)
        if plan is None:
            plan = self.sending.plan(SendRequest(rule.recipients, rule.recipient_files))
            self._plans[rule.name] = plan
        return plan

    def _resumed_event(self, key: str, prior: S.ObjectState) -> None:
        """The usage event of a protection a crashed attempt verified but did not finish (its rule chosen again)."""
        rule = self.rules.choose(key, prior.detectors)
        if rule is not None and rule.action != REPORT:
            self._event(self._plan(rule))

    def _event(self, plan: SendPlan) -> None:
        if self.record_event is not None:
            self.record_event(plan)


def detector_classifier(rules: DetectRules | None = None) -> Classifier:
    """The detectors of `c11.protector.detect` under `rules` (the rules file's `[detect]` table) as a Classifier."""
    from c11.protector.detect import classify

    def run(key: str, data: bytes) -> Classification:
        found = classify(key, data, rules)
        return Classification(found.detectors, found.texts)

    return run
