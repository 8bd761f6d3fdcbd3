"""Fuzz targets: one function per parser, each taking arbitrary bytes (issue 12, fuzzing harness).

A target may raise only `c11.errors.C11Error` subclasses; anything else (KeyError, struct.error,
RecursionError, zlib.error, a PIL or pikepdf exception, a MemoryError...) is a finding. `run(name,
data)` is what both the atheris runner (tests/fuzz/run.py) and the corpus replay test call.
The fixed identities and log key below are test-only keys that the seed corpus (tests/fuzz/corpus/,
made by tests/fuzz/make_corpus.py) was made with, so mutated seeds reach deep into each parser.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from c11.errors import C11Error

#: A recipient of every seed (x25519 keeps each run fast); a second one signs the seeds.
_SEEDS = bytes(range(32)), bytes(range(32, 64))
_SENDER_SEEDS = bytes(range(64, 96)), bytes(range(96, 128))
#: The log key of the checkpoint and note seeds (test-only).
LOG_SIGNER = "PRIVATE+KEY+fuzz.example/log+da2bd394+AbFtLRk1fdWRdcBdkOkRyRCLtzFgF1+XapDrGFoB9iuF"
LOG_VERIFIER = "fuzz.example/log+da2bd394+AV+jVPuOyBeTykSWh9vYH0D7vaZHECC1FMoLb5nqwOuF"
GROUP_REF = ("org-fuzz", "finance", 3)

_cache: dict[str, object] = {}


def identity():
    """The recipient identity of the seed corpus."""
    from c11.keys.identity import Identity

    if "me" not in _cache:
        _cache["me"] = Identity("fuzz@example.com", "x25519", *_SEEDS)
    return _cache["me"]


def sender():
    """The identity that signed the seed corpus."""
    from c11.keys.identity import Identity

    if "sender" not in _cache:
        _cache["sender"] = Identity("sender@example.com", "x25519", *_SENDER_SEEDS)
    return _cache["sender"]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


# ---------------------------------------------------------------- core formats


def t_header(data: bytes) -> None:
    from c11.format.header import read_header

    read_header(io.BytesIO(data))


def t_file(data: bytes) -> None:
    """A whole .c11 file or armored message: header, stanzas, MAC, signature, metadata, payload."""
    from c11 import files

    files.decrypt_bytes(data, [identity()])


def t_armor(data: bytes) -> None:
    from c11.format import armor

    armor.dearmor(data)
    armor.dearmor(_text(data))


def t_bundle(data: bytes) -> None:
    """A .c11.zip bundle: zip structure, marker, manifest header, then (with the key) manifest and entries."""
    from c11 import files
    from c11.format.bundle import BundleReader

    reader = BundleReader(io.BytesIO(data))
    file_key, _ = files.open_header(reader.header, [identity()])
    entries = reader.read_manifest(file_key)
    with tempfile.TemporaryDirectory() as tmp:
        reader.extract(entries, file_key, Path(tmp) / "out")


def t_keyfile(data: bytes) -> None:
    from c11.keys import keyfile

    path = _scratch() / "k.key"
    path.write_bytes(data)
    kf = keyfile.load(path)
    if not kf.encrypted:
        kf.unlock(None)


def t_pubkey(data: bytes) -> None:
    from c11.keys.publickey import PublicKey, parse_recipients

    text = _text(data)
    parse_recipients(text)
    PublicKey.parse(text)


def t_checkpoint(data: bytes) -> None:
    from c11.log.checkpoint import Checkpoint

    Checkpoint.from_text(data)


def t_note(data: bytes) -> None:
    """A signed note / checkpoint, verified against the fixed log key."""
    from c11.log.checkpoint import open_checkpoint

    open_checkpoint(data, LOG_VERIFIER)


def t_note_key(data: bytes) -> None:
    """Verifier and signer key strings."""
    from c11.log._note import NoteSigner, NoteVerifier

    text = _text(data)
    try:
        NoteVerifier.parse(text)
    finally:
        NoteSigner.parse(text)


def t_log_entry(data: bytes) -> None:
    from c11.log.entries import KeyEntry

    KeyEntry.parse(_text(data))


def t_shard(data: bytes) -> None:
    from c11.keys import cloudkey

    try:
        cloudkey.Shard.parse(data)
    finally:
        cloudkey.dearmor(_text(data))


def t_group_key(data: bytes) -> None:
    from c11 import groupkey

    groupkey.decode(data, groupkey.GroupKeyRef(*GROUP_REF))


def t_online_policy(data: bytes) -> None:
    from c11.format import online

    online.parse_body(data)


def t_parts_envelope(data: bytes) -> None:
    """The in-document envelope (groups of headers and sealed parts), then opening it."""
    from c11.indoc import parts

    env = parts.Envelope.from_json(data)
    parts.open_parts(env, [identity()], None)


# ---------------------------------------------------------------- in-document readers


def _indoc(ext: str) -> Callable[[bytes], None]:
    def target(data: bytes) -> None:
        from c11.indoc import handler_for

        handler = handler_for("x" + ext)
        try:
            handler.read_envelope(data)
        finally:
            handler.unprotect(data, [identity()])

    target.__name__ = f"t_indoc_{ext.lstrip('.')}"
    target.__doc__ = f"The {ext} reader: inspect (read_envelope), then unprotect with the seed recipient."
    return target


def _scratch() -> Path:
    if "tmp" not in _cache:
        _cache["tmp"] = Path(tempfile.mkdtemp(prefix="c11-fuzz-"))
    return _cache["tmp"]  # type: ignore[return-value]


TARGETS: dict[str, Callable[[bytes], None]] = {
    "header": t_header,
    "file": t_file,
    "armor": t_armor,
    "bundle": t_bundle,
    "keyfile": t_keyfile,
    "pubkey": t_pubkey,
    "checkpoint": t_checkpoint,
    "note": t_note,
    "note_key": t_note_key,
    "log_entry": t_log_entry,
    "shard": t_shard,
    "group_key": t_group_key,
    "online_policy": t_online_policy,
    "parts_envelope": t_parts_envelope,
    **{f"indoc_{e}": _indoc("." + e) for e in ("docx", "xlsx", "pdf", "png", "jpeg", "json", "yaml", "csv", "md")},
}

CORPUS = Path(__file__).resolve().parent / "corpus"


def run(name: str, data: bytes) -> None:
    """Run one target on `data`; typed c11 errors are the expected outcome of bad input."""
    try:
        TARGETS[name](data)
    except C11Error:
        pass


def corpus(name: str) -> list[Path]:
    """The committed seed files of a target."""
    folder = CORPUS / name
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def quiet_environment() -> None:
    """No passphrase prompts or identities from the caller's environment."""
    for k in list(os.environ):
        if k.startswith("C11_"):
            del os.environ[k]
