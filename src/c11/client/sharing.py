"""Secure Document Send and share links in the SDK (docs/sharing.md): resumable uploads (tus 1.0), sends, share
links, and receiving.

    from c11.client.sharing import SharingAPI, send_paths, receive_link
    api = SharingAPI(client)
    result = send_paths(api, planner, sender, [Path("report.pdf")], SendOptions(to=["bob@example.com"]))
    got = receive_link(SharingAPI(bob_client), result.link, [bob_identity], Path("inbox"),
                       verifier=SenderVerifier(load_default(), bob_client), seen=SeenVersions(path))

Files are encrypted on this device for the recipients that `c11.client.sending.Sending` plans (invitations and
organization rules included), each into its own `.c11` blob; an *envelope* (a c11 file for the same
recipients) lists the files' paths and blob IDs and carries the optional message; it is signed, and names the
send's ID (chosen here), kind and version, which a recipient checks against the link and the server's answer.
The server stores ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

import httpx

from c11 import files
from c11.client._http import HttpCore, _error, json_object, json_objects
from c11.client.sender import SenderCheck, SenderVerifier
from c11.client.trusted import normalize_email
from c11.errors import BadSignatureError, FormatError, RecipientError, ServerError, UsageError
from c11.format.envelope import Metadata
from c11.log.entries import rfc3339

if TYPE_CHECKING:
    from c11.client.client import Client
    from c11.client.sending import Sending, SendPlan
    from c11.format.header import HeaderOptions
    from c11.keys.identity import Identity
    from c11.keys.publickey import PublicKey

TUS = {"Tus-Resumable": "1.0.0"}
ENVELOPE_TYPE = "application/vnd.c11.send-envelope+json"
ENVELOPE_VERSION = "c11-send/2"
#: The header of a download's ID (the server answers it on a download's first file; resumes send it back).
DOWNLOAD_HEADER = "X-C11-Download"
#: Most links a SeenVersions file remembers (the oldest are forgotten first).
MAX_SEEN = 10_000
#: Bytes per PATCH (several parts: fewer requests); a broken one resumes from the server's offset.
CHUNK = 20 << 20
#: Failed upload requests in a row before an upload gives up (0.5, 1, 2, 4, 8, 8… s apart: about a minute).
UPLOAD_RETRIES = 10
READ = 1 << 20
#: Bytes per second a server is allowed, at least, to assemble a completed upload (its completion's timeout).
COMPLETE_RATE = 2 << 20
MAX_ENVELOPE = 1 << 20
Progress = Callable[[int], None] | None


@dataclass
class EnvelopeFile:
    """One file of a send: its path (folder sends: relative, '/'-separated), plaintext size, blob and the
    blob's SHA-256."""

    path: str
    size: int
    blob: str
    sha256: str


@dataclass
class Envelope:
    """The signed content of a send's version: `send` (its ID), `kind` (send or link), `version` (1 for a send),
    `created` (RFC 3339, the sender's clock), the message and the files (docs/sharing.md "The envelope")."""

    files: list[EnvelopeFile]
    message: str | None
    send: str
    kind: str
    version: int
    created: str

    def encode(self) -> bytes:
        return json.dumps(
            {
                "v": ENVELOPE_VERSION,
                "send": self.send,
                "kind": self.kind,
                "version": self.version,
                "created": self.created,
                "message": self.message,
                "files": [vars(f) for f in self.files],
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        try:
            d = json.loads(data)
            if d.get("v") == "c11-send/1":
                raise FormatError(
                    "the send's envelope is of an older c11 that did not sign the link and version: ask the sender "
                    "to send it again"
                )
            if d.get("v") != ENVELOPE_VERSION:
                raise FormatError(f"unknown send envelope {d.get('v')!r}")
            found = [EnvelopeFile(str(f["path"]), int(f["size"]), str(f["blob"]), str(f["sha256"])) for f in d["files"]]
            message = d.get("message")
            send, kind, version, created = d["send"], d["kind"], d["version"], d["created"]
            if (
                not isinstance(send, str)
                or kind not in ("send", "link")
                or type(version) is not int
                or version < 1
                or not isinstance(created, str)
            ):
                raise FormatError("the send's envelope is damaged")
            return cls(found, message if isinstance(message, str) else None, send, kind, version, created)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise FormatError("the send's envelope is damaged") from None


def safe_relative(path: str) -> PurePosixPath:
    """A path from an envelope as a relative path that stays inside the output folder (refused otherwise)."""
    p = PurePosixPath(path)
    if (
        not path
        or p.is_absolute()
        or any(part in ("", ".", "..") for part in p.parts)
        or "\\" in path
        or any(ord(c) < 32 for c in path)
    ):
        raise FormatError(f"refused a file name in the send: {path!r}")
    return p


class SharingAPI:
    """Uploads, sends and share links of one server, with the client's login."""

    def __init__(self, client: Client | HttpCore) -> None:
        self._core: HttpCore = client if isinstance(client, HttpCore) else client._core

    @property
    def server(self) -> str:
        return self._core.server

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"authorization": f"Bearer {self._core.token}"} if self._core.token else {}
        return {**h, **(extra or {})}

    def _raw(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self._core._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise ServerError(f"cannot reach {self.server} ({type(e).__name__})", 0) from None
        if r.status_code >= 400:
            raise _error(r, self.server)
        return r

    # -- uploads (tus 1.0) ----------------------------------------------------------------------------------

    def upload(self, path: Path, progress: Progress = None, attempts: int = UPLOAD_RETRIES) -> str:
        """Upload a file (ciphertext) resumably; returns its upload (blob) ID once complete and checked. A broken
        connection or a server restarting is waited for (`attempts` failures in a row, about a minute)."""
        size = path.stat().st_size
        digest = _sha256(path)
        r = self._raw("POST", "/api/v1/uploads", headers=self._headers({**TUS, "Upload-Length": str(size)}))
        location = r.headers["location"]
        upload_id = location.rsplit("/", 1)[1]
        offset: int | None = 0
        failures = 0
        with open(path, "rb") as f:
            while offset is None or offset < size:
                try:
                    if offset is None:
                        offset = self.offset(location)  # resume where the server stopped
                    if offset < size:
                        offset = self._patch(location, f, offset, min(CHUNK, size - offset), progress)
                    failures = 0
                except (httpx.HTTPError, ServerError) as e:
                    failures += 1
                    if failures >= attempts or (isinstance(e, ServerError) and not _retryable(e.status)):
                        raise
                    time.sleep(min(0.5 * 2 ** (failures - 1), 8.0))
                    offset = None
        # completion assembles the object (a folder store copies every part into one file): give it time
        self._raw(
            "POST",
            f"{location}/complete",
            json={"length": size, "sha256": digest},
            headers=self._headers(),
            timeout=httpx.Timeout(max(120.0, size / COMPLETE_RATE)),
        )
        return upload_id

    def offset(self, location: str) -> int:
        r = self._raw("HEAD", location, headers=self._headers(TUS))
        return int(r.headers["upload-offset"])

    def _patch(self, location: str, f: BinaryIO, offset: int, count: int, progress: Progress) -> int:
        def body() -> Iterator[bytes]:
            f.seek(offset)
            left = count
            while left:
                chunk = f.read(min(READ, left))
                if not chunk:
                    return
                left -= len(chunk)
                if progress is not None:
                    progress(len(chunk))
                yield chunk

        r = self._core._http.patch(
            location,
            content=body(),
            headers=self._headers(
                {**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
            ),
            timeout=httpx.Timeout(60.0),
        )
        if r.status_code != 204:
            raise _error(r, self.server)
        return int(r.headers["upload-offset"])

    # -- sends and links ------------------------------------------------------------------------------------

    def create(
        self,
        recipients: Sequence[str],
        envelope: bytes,
        blobs: Sequence[str],
        *,
        kind: str = "send",
        expires_at: str | None = None,
        max_downloads: int | None = None,
        retention: int | None = None,
        send_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": kind,
            "recipients": list(recipients),
            "envelope": base64.b64encode(envelope).decode(),
            "blobs": list(blobs),
        }
        if expires_at:
            body["expires_at"] = expires_at
        if max_downloads is not None:
            body["max_downloads"] = max_downloads
        if retention is not None:
            body["retention"] = retention
        if send_id is not None:
            body["id"] = send_id
        return json_object(self._core.request("POST", "/api/v1/sends", json=body))

    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        return json_objects(self._core.request("GET", "/api/v1/sends", params={"kind": kind} if kind else None))

    def show(self, send_id: str) -> dict[str, Any]:
        return json_object(self._core.request("GET", f"/api/v1/sends/{_id(send_id)}"))

    def revoke(self, send_id: str) -> dict[str, Any]:
        return json_object(self._core.request("POST", f"/api/v1/sends/{_id(send_id)}/revoke"))

    def add_version(
        self, send_id: str, envelope: bytes, blobs: Sequence[str], version: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"envelope": base64.b64encode(envelope).decode(), "blobs": list(blobs)}
        if version is not None:
            body["version"] = version
        return json_object(self._core.request("POST", f"/api/v1/sends/{_id(send_id)}/versions", json=body))

    def received(self, send_id: str) -> dict[str, Any]:
        return json_object(self._core.request("GET", f"/api/v1/received/{_id(send_id)}"))

    def download(
        self, send_id: str, blob: str, dst: Path, size: int, download: str | None = None, attempts: int = 5
    ) -> str | None:
        """The blob's ciphertext into `dst`, resuming with a Range after a broken connection. `download`: the ID
        of the download this file belongs to (None: start a new one, counted against the recipient's limit).
        Returns the download's ID (give it for the send's other files)."""
        failures = 0
        with open(dst, "wb") as out:
            while out.tell() < size or size == 0:
                start = out.tell()
                extra = {"Range": f"bytes={start}-"} if start else {}
                if download is not None:
                    extra[DOWNLOAD_HEADER] = download
                try:
                    with self._core._http.stream(
                        "GET", f"/api/v1/received/{_id(send_id)}/blobs/{_id(blob)}", headers=self._headers(extra)
                    ) as r:
                        if r.status_code >= 400:
                            r.read()
                            raise _error(r, self.server)
                        download = r.headers.get(DOWNLOAD_HEADER, download)
                        for chunk in r.iter_bytes(READ):
                            out.write(chunk)
                    if size == 0:
                        return download
                except httpx.HTTPError:
                    failures += 1
                    if failures >= attempts:
                        raise ServerError(f"the download from {self.server} kept failing", 0) from None
                    time.sleep(min(0.2 * 2**failures, 5))
        return download


def _retryable(status: int) -> bool:
    """An upload's failure worth trying again: no answer (0), a server error, 429 (too many PATCHes), 409 (the
    offset moved: ask it again)."""
    return status == 0 or status >= 500 or status in (409, 429)


def _id(value: str) -> str:
    """A send or blob ID, or the ID at the end of a link."""
    tail = value.rstrip("/").rsplit("/", 1)[-1]
    if len(tail) != 32 or any(c not in "0123456789abcdef" for c in tail):
        raise UsageError(f"not a c11 link or ID: {value!r}")
    return tail


def link_parts(link: str) -> tuple[str | None, str]:
    """(server base URL or None, ID) of a link `https://host/r/<id>` (or a bare ID)."""
    send_id = _id(link)
    if "://" in link:
        base = link.rstrip("/").rsplit("/", 1)[0]
        base = base[: -len("/r")] if base.endswith("/r") else base
        return base, send_id
    return None, send_id


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(READ):
            h.update(chunk)
    return h.hexdigest()


# -- sending ------------------------------------------------------------------------------------------------


@dataclass
class Outgoing:
    """What to send: `paths` (files; a folder adds its files with relative paths), the message, limits."""

    paths: Sequence[Path]
    message: str | None = None
    expires_at: str | None = None
    max_downloads: int | None = None


@dataclass
class SendResult:
    id: str
    link: str
    files: list[EnvelopeFile]
    recipients: list[str]
    log_index: int | None = None
    version: int = 1
    notes: list[str] = field(default_factory=list)


def collect(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(path in the send, file) of every file: a file by its name, a folder's files under the folder's name."""
    found: list[tuple[str, Path]] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                found.append((str(PurePosixPath(p.name, *f.relative_to(p).parts)), f))
        elif p.is_file():
            found.append((p.name, p))
        else:
            raise UsageError(f"{p}: no such file or folder")
    names = [n for n, _ in found]
    if len(set(names)) != len(names):
        raise UsageError("two files would have the same name in the send")
    if not found:
        raise UsageError("nothing to send: the folders are empty")
    return found


def encrypt_and_upload(
    api: SharingAPI,
    keys: Sequence[PublicKey],
    sender: Identity,
    items: Sequence[tuple[str, Path]],
    options: Callable[[], HeaderOptions | None] = lambda: None,
    progress: Progress = None,
) -> list[EnvelopeFile]:
    """Encrypt each file for `keys` (signed by `sender`) into a temporary .c11 and upload it. `options()` gives
    each file its header options (an online policy is registered per file: each has its own file key)."""
    out = []
    with tempfile.TemporaryDirectory(prefix="c11-send-") as tmp:
        for n, (name, path) in enumerate(items):
            blob = Path(tmp) / f"{n}.c11"
            with open(path, "rb") as src, open(blob, "wb") as dst:
                files.encrypt(
                    src,
                    dst,
                    keys,
                    sender,
                    metadata=Metadata(PurePosixPath(name).name, None, path.stat().st_size),
                    options=options(),
                )
            blob_id = api.upload(blob, progress)
            out.append(EnvelopeFile(name, path.stat().st_size, blob_id, _sha256(blob)))
            os.unlink(blob)
    return out


def seal_envelope(env: Envelope, keys: Sequence[PublicKey], sender: Identity) -> bytes:
    data = env.encode()
    if len(data) > MAX_ENVELOPE // 2:
        raise UsageError("too many files for one send (their list is over 512 KiB)")
    return files.encrypt_bytes(data, keys, sender, media_type=ENVELOPE_TYPE)


def send_paths(
    api: SharingAPI,
    planner: Sending,
    plan: SendPlan,
    sender: Identity,
    recipients: Sequence[str],
    outgoing: Outgoing,
    *,
    kind: str = "send",
    retention: int | None = None,
    progress: Progress = None,
) -> SendResult:
    """Encrypt `outgoing` for `plan`'s keys, upload it and create the send (or share link) for `recipients`."""
    items = collect(outgoing.paths)
    uploaded = encrypt_and_upload(
        api, plan.keys, sender, items, lambda: planner.header_options(plan, sender, True)[0], progress
    )
    send_id = secrets.token_hex(16)
    env = Envelope(uploaded, outgoing.message, send_id, kind, 1, rfc3339(datetime.now(UTC)))
    envelope = seal_envelope(env, plan.keys, sender)
    made = api.create(
        recipients,
        envelope,
        [f.blob for f in uploaded],
        kind=kind,
        expires_at=outgoing.expires_at,
        max_downloads=outgoing.max_downloads,
        retention=retention,
        send_id=send_id,
    )
    if made["id"] != send_id:
        raise ServerError(f"{api.server} gave the send another ID than the one signed", 0)
    return SendResult(made["id"], made["link"], uploaded, list(recipients), made.get("log_index"))


def update_link(
    api: SharingAPI,
    planner: Sending,
    plan: SendPlan,
    sender: Identity,
    link: str,
    paths: Sequence[Path],
    progress: Progress = None,
) -> SendResult:
    """A new version of share link `link` with `paths`."""
    items = collect(paths)
    uploaded = encrypt_and_upload(
        api, plan.keys, sender, items, lambda: planner.header_options(plan, sender, True)[0], progress
    )
    send_id = link_parts(link)[1]
    version = int(api.show(send_id)["version"]) + 1  # the server refuses it unless it is the next one
    envelope = seal_envelope(
        Envelope(uploaded, None, send_id, "link", version, rfc3339(datetime.now(UTC))), plan.keys, sender
    )
    made = api.add_version(send_id, envelope, [f.blob for f in uploaded], version)
    return SendResult(made["id"], made["link"], uploaded, [], made.get("log_index"), made["version"])


# -- receiving ----------------------------------------------------------------------------------------------


class SeenVersions:
    """The highest version this device has seen of each link (server and ID) and the key that signed the first
    verified one (the link's pinned signer), in a JSON file (the CLI's: `<config dir>/received-versions.json`);
    not secret. A link served below that version is a rollback, and one signed by another key a substitution:
    both refused. Entries are `{"v": version, "signer": fingerprint}` (a bare version from older releases is read
    as unpinned)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, tuple[int, str | None]]:
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read(4 << 20))
        except FileNotFoundError:
            return {}
        except ValueError:
            raise FormatError(f"{self.path}: damaged (remove it to start again)") from None
        if not isinstance(data, dict):
            raise FormatError(f"{self.path}: damaged (remove it to start again)")
        out: dict[str, tuple[int, str | None]] = {}
        for k, v in data.items():
            if isinstance(v, int):
                out[str(k)] = (v, None)
            elif isinstance(v, dict) and isinstance(v.get("v"), int):
                signer = v.get("signer")
                out[str(k)] = (v["v"], signer if isinstance(signer, str) else None)
        return out

    def get(self, key: str) -> int:
        return self._load().get(key, (0, None))[0]

    def signer(self, key: str) -> str | None:
        """The fingerprint of the key that signed the first verified version of the link, if pinned."""
        return self._load().get(key, (0, None))[1]

    def record(self, key: str, version: int, signer: str | None = None) -> None:
        """Remember `version` (if higher) and pin `signer` (if none is pinned yet)."""
        seen = self._load()
        was, pinned = seen.get(key, (0, None))
        if was >= version and (pinned is not None or signer is None):
            return
        seen.pop(key, None)
        seen[key] = (max(was, version), pinned or signer)  # newest last; the oldest are forgotten past MAX_SEEN
        kept = {k: {"v": v, "signer": s} if s else v for k, (v, s) in list(seen.items())[-MAX_SEEN:]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{secrets.token_hex(4)}.tmp")
        tmp.write_text(json.dumps(kept, separators=(",", ":")))
        os.replace(tmp, self.path)


@dataclass
class Received:
    """What `receive_link` wrote: the server's account of the sender, the envelope's signature info, the check of
    its signer against the sending account (`check`; `verified`: it is that account's key), the message and the
    files."""

    id: str
    kind: str
    sender_account: str
    info: files.FileInfo
    message: str | None
    written: list[Path]
    version: int
    check: SenderCheck
    verified: bool


def signed_by_account(check: SenderCheck, account: str) -> bool:
    """True when `check` (of the envelope's signer) proves the key is `account`'s: its registry key (current or
    former, log-proven) or a trusted key listed with that email."""
    try:
        return check.verified and check.email is not None and check.email == normalize_email(account)
    except RecipientError:
        return False


def receive_link(
    api: SharingAPI,
    link: str,
    identities: Sequence[Any],
    out_dir: Path,
    *,
    verifier: SenderVerifier,
    seen: SeenVersions | None,
    force: bool = False,
    allow_unverified: bool = False,
) -> Received:
    """Open what `link` holds for you: decrypt the envelope, check it (the link's ID, kind and version signed in
    it; no version below the one `seen` holds; its signer is the sending account's key, checked by `verifier`,
    unless `allow_unverified`), then download every file and decrypt it into `out_dir` (paths from the envelope,
    kept inside `out_dir`); each file must be signed by the envelope's signer. Nothing is written before the
    checks pass."""
    send_id = link_parts(link)[1]
    got = api.received(send_id)
    result = files.decrypt_bytes(base64.b64decode(got["envelope"]), identities)
    env = Envelope.decode(result.plaintext or b"")
    served = int(got["version"])
    if env.send != send_id or env.kind != got["kind"]:
        raise FormatError("the server answered with another send's envelope than the link's: refused")
    if env.version != served:
        raise FormatError(f"the server says version {served}, the signed envelope is version {env.version}: refused")
    key = f"{api.server.rstrip('/')}/r/{send_id}"
    if seen is not None and env.version < (highest := seen.get(key)):
        raise FormatError(
            f"the server served version {env.version} of this link, older than version {highest} this device "
            "already received: refused (a rollback)"
        )
    signer = result.info.sender_fingerprint
    check = verifier.verify(got["sender"], signer, result.info.signature_valid)
    result.info.verified_sender = check.to_dict()
    verified = signed_by_account(check, got["sender"])
    pinned = seen.signer(key) if seen is not None else None
    if pinned is not None and not _same_digest(pinned, signer or ""):
        raise BadSignatureError(
            f"refused: version {env.version} of this link is signed by another key ({signer}) than the one that "
            f"signed it when this device first received it ({pinned}), whoever the server says sent it "
            f"({got['sender']}); nothing was written. If the sender really changed their key, ask them for a new link"
        )
    if not verified and not allow_unverified:
        raise BadSignatureError(
            f"refused: the send is not signed by the key of the sending account {got['sender']} "
            f"({check.reason or 'another key'}); nothing was written"
        )
    if seen is not None:
        seen.record(key, env.version, signer if verified else None)
    sizes = {b["id"]: int(b["size"]) for b in got["blobs"]}
    written: list[Path] = []
    targets = [(f, out_dir.joinpath(*safe_relative(f.path).parts)) for f in env.files]
    for _f, target in targets:
        if target.exists() and not force:
            raise UsageError(f"{target} exists (give --force to overwrite)")
    out_dir.mkdir(parents=True, exist_ok=True)
    download: str | None = None
    with tempfile.TemporaryDirectory(prefix="c11-receive-", dir=out_dir) as tmp:
        for n, (f, target) in enumerate(targets):
            if f.blob not in sizes:
                raise FormatError(f"the send does not hold the file {f.path!r} any more")
            blob = Path(tmp) / f"{n}.c11"
            download = api.download(send_id, f.blob, blob, sizes[f.blob], download)
            if not _same_digest(_sha256(blob), f.sha256):
                raise FormatError(f"{f.path}: the downloaded file is not the one the sender listed")
            part = Path(tmp) / f"{n}.part"
            with open(blob, "rb") as src, open(part, "wb") as dst:
                info = files.decrypt(src, dst, identities)
            if info.sender_fingerprint != signer:
                raise FormatError(f"{f.path}: signed by another key than the send")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            written.append(target)
    return Received(got["id"], got["kind"], got["sender"], result.info, env.message, written, served, check, verified)


def _same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.lower(), b.lower())
