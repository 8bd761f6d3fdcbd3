"""Regenerate the committed test vectors (run by hand: python tests/vectors/generate.py).

Files with HPKE stanzas are not deterministic (HPKE uses fresh ephemeral keys), so they are
decryption vectors: given these key files, a reader must produce the recorded plaintext or refuse
with the recorded error. The payload, key schedule and public key vectors are deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from c11 import files as c11_files  # noqa: E402
from c11 import rewrap
from c11.crypto import keyschedule as ks  # noqa: E402
from c11.format import content, envelope, stream  # noqa: E402
from c11.format.envelope import Metadata  # noqa: E402
from c11.format.header import Header, Stanza, read_header  # noqa: E402
from c11.keys import keyfile  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402


def seeded(label: str, kem: str, n: int) -> Identity:
    enc = hashlib.sha256(f"c11 vector enc {n}".encode()).digest()
    sig = hashlib.sha256(f"c11 vector sig {n}".encode()).digest()
    return Identity(label, kem, enc, sig, 1795000000)


def _forge_payload(blob: bytes, key_holder: Identity, new_plaintext: bytes, resign: Identity | None = None) -> bytes:
    """What a co-recipient can do: keep the author's header, re-encrypt other content under the file key,
    and keep the author's trailer (or sign a new one with their own key)."""
    h, raw = read_header(io.BytesIO(blob))
    fk = envelope.unwrap(h, [key_holder])
    out = io.BytesIO()
    hashes = bytearray()
    stream.encrypt(envelope.payload_key(h, fk), io.BytesIO(new_plaintext), out, h.segment_size, hashes=hashes)
    n = len(hashes) // 32
    if resign is None:
        old_footer = blob[-72:]
        tail = bytes(hashes) + old_footer[:8] + old_footer[8:]
    else:
        tail = (
            bytes(hashes) + struct.pack(">Q", n) + resign.sign(content.statement(h, n, hashlib.sha256(hashes).digest()))
        )
    return raw + out.getvalue() + tail


def _with_label(blob: bytes, signer: Identity, key_holder: Identity, label: str) -> bytes:
    """A header re-sealed by its author with a label that c11 refuses to write (control characters)."""
    h, raw = read_header(io.BytesIO(blob))
    fk = envelope.unwrap(h, [key_holder])
    h.author_label = h.sender_label = label
    h.mac = envelope.header_mac(fk, h)
    h.signature = signer.sign(h.signed_message())
    body = blob[len(raw) : -72 - 32 * int.from_bytes(blob[-72:-64], "big")]
    hashes = blob[len(body) + len(raw) : -72]
    n = len(hashes) // 32
    return (
        h.encode()
        + body
        + hashes
        + struct.pack(">Q", n)
        + signer.sign(content.statement(h, n, hashlib.sha256(hashes).digest()))
    )


def _v1_header(sender: Identity, recipients: list, meta: Metadata, fk: bytes, nonce: bytes, doc: bytes) -> Header:
    """A version 1 header as c11 wrote it before version 2 (no author fields, one signature, §13)."""
    meta_ct = AESGCM(ks.derive(fk, nonce, ks.METADATA)).encrypt(bytes(12), meta.to_json(), doc)
    h = Header(
        doc,
        1795000000,
        1024,
        nonce,
        sender.label,
        sender.public.sig,
        meta_ct,
        [envelope.wrap(r.public, fk, doc) for r in recipients],
        version=1,
    )
    h.mac = envelope.header_mac(fk, h)
    h.signature = sender.sign(h.signed_message())
    return h


def v1_bundle_and_parts(out: Path, alice: Identity, bob: Identity) -> None:
    """Emulated version 1 bundle and in-document envelope (files/v1/bundle.c11.zip, files/v1/parts.json):
    they must still open, reporting their content as not signed."""
    import zipfile

    from c11.format import bundle as B
    from c11.indoc import parts as P

    fk, nonce, doc = hashlib.sha256(b"v1 bundle").digest(), bytes(range(16)), bytes(range(16, 32))
    data = {"a.txt": b"alpha\n", "sub/b.txt": b"bravo\n" * 300}
    ids = {name: hashlib.sha256(name.encode()).hexdigest()[:32] for name in data}
    manifest = {
        "format": "c11-bundle/v1",
        "entries": [{"path": "sub", "type": "dir", "mode": 0o755, "mtime": 0}]
        + [
            {"path": n, "type": "file", "mode": 0o644, "mtime": 1795000000, "id": ids[n], "size": len(d)}
            for n, d in data.items()
        ],
    }
    h = _v1_header(
        alice,
        [bob, alice],
        Metadata("v1", "application/vnd.c11.bundle", sum(map(len, data.values())), kind="bundle"),
        fk,
        nonce,
        doc,
    )
    with zipfile.ZipFile(out / "bundle.c11.zip", "w") as z:
        z.writestr(B.zip_info(B.MARKER_NAME), B.MARKER)
        for n, d in data.items():
            body = io.BytesIO()
            stream.encrypt(B.entry_key(h, fk, ids[n]), io.BytesIO(d), body, 1024)
            z.writestr(B.zip_info(f"e/{ids[n]}"), body.getvalue())
        body = io.BytesIO(h.encode())
        body.seek(0, 2)
        stream.encrypt(envelope.payload_key(h, fk), io.BytesIO(json.dumps(manifest).encode()), body, 1024)
        z.writestr(B.zip_info(B.MANIFEST_NAME), body.getvalue())
    ph = hashlib.sha256(b"[protected]").digest()
    pfk = hashlib.sha256(b"v1 parts").digest()
    ph_h = _v1_header(alice, [bob, alice], Metadata(type=P.MEDIA_TYPE, size=1, kind="parts"), pfk, nonce, doc)
    part_nonce = bytes(12)
    ct = AESGCM(ks.derive(pfk, nonce, P.PART_LABEL)).encrypt(part_nonce, b"salary: 100", P._aad(doc, "p1", ph, "HR"))
    env = {
        "format": "c11-parts/v1",
        "doc_id": str(__import__("uuid").UUID(bytes=doc)),
        "note": "HR",
        "groups": [base64.b64encode(ph_h.encode()).decode()],
        "parts": [
            {
                "loc": "p1",
                "group": 0,
                "nonce": base64.b64encode(part_nonce).decode(),
                "ct": base64.b64encode(ct).decode(),
                "ph": ph.hex(),
            }
        ],
    }
    (out / "parts.json").write_text(json.dumps(env, separators=(",", ":")) + "\n")


def main() -> None:
    files = HERE / "files"
    keys = HERE / "keys"
    for old in files.iterdir() if files.exists() else ():
        if old.is_file():
            old.unlink()  # files/v1/ holds version 1 files made by an earlier c11: kept as they are
    shutil.rmtree(keys, ignore_errors=True)
    files.mkdir(exist_ok=True)
    keys.mkdir()
    alice = seeded("alice@example.com", "mlkem768x25519", 1)
    bob = seeded("bob@example.com", "x25519", 2)
    carol = seeded("carol@example.com", "mlkem768x25519", 3)
    keyfile.write(keys / "alice.key", alice, None)
    keyfile.write(keys / "bob.key", bob, None)
    keyfile.write(keys / "carol-passphrase.key", carol, "vector passphrase")

    cases = []

    def add(name, blob, identities, expect, plaintext=None, meta=None, **extra):
        (files / name).write_bytes(blob)
        case = {"file": f"files/{name}", "identities": identities, "expect": expect, "version": 2}
        if plaintext is not None:
            case["plaintext_sha256"] = hashlib.sha256(plaintext).hexdigest()
            case["plaintext_size"] = len(plaintext)
        if meta:
            case["metadata"] = meta
        case.update(extra)
        cases.append(case)

    def file(data, recipients, sender, seg=stream.DEFAULT_SEGMENT, meta=None, extra=()):
        header, fk = c11_files.seal_header(
            [r.public for r in recipients],
            sender,
            metadata=meta or Metadata(size=len(data)),
            segment_size=seg,
            extra_stanzas=extra,
        )
        out = io.BytesIO()
        out.write(header.encode())
        c11_files.write_payload(header, fk, sender, io.BytesIO(data), out)
        return out.getvalue()

    written = {"author": "alice@example.com", "resharer": None, "rotated": False, "content_signed": True}
    hello = b"Hello, c11!\n"
    add(
        "hello-x25519.c11",
        file(hello, [bob, alice], alice, meta=Metadata("hello.txt", "text/plain", len(hello))),
        ["bob.key"],
        "ok",
        hello,
        {"name": "hello.txt", "type": "text/plain", "size": len(hello)},
        **written,
    )
    add("hello-hybrid.c11", file(hello, [carol, alice], alice), ["carol-passphrase.key"], "ok", hello, **written)
    add("empty.c11", file(b"", [bob], alice), ["bob.key"], "ok", b"", **written)
    multi = bytes(range(256)) * 20  # 5120 bytes in 1 KiB segments: five full segments
    add("multi-segment.c11", file(multi, [bob], alice, seg=1024), ["bob.key"], "ok", multi, **written)
    add(
        "multi-segment-partial.c11",
        file(multi + b"tail", [bob], alice, seg=1024),
        ["bob.key"],
        "ok",
        multi + b"tail",
        **written,
    )
    add("not-for-me.c11", file(hello, [carol], alice), ["bob.key"], "NoMatchingKeyError")
    add(
        "message.txt",
        c11_files._armor.armor(file(b"meet at 5", [bob], alice, meta=Metadata(kind="message", size=9))).encode(),
        ["bob.key"],
        "ok",
        b"meet at 5",
        **written,
    )

    good = file(hello * 100, [bob], alice)
    h, raw = read_header(io.BytesIO(good))
    add("truncated.c11", good[:-7], ["bob.key"], "IntegrityError")
    add("truncated-mid-segment.c11", good[: len(raw) + 100], ["bob.key"], "IntegrityError")
    add("empty-payload.c11", good[: len(raw)], ["bob.key"], "TruncatedError")
    add("data-after-end.c11", good + b"\x00" * 32, ["bob.key"], "IntegrityError")
    segmented = file(multi, [bob], alice, seg=1024)
    add("truncated-at-segment.c11", segmented[: -(1024 + 16) - 72 - 32], ["bob.key"], "IntegrityError")
    add("truncated-header.c11", good[: len(raw) - 10], ["bob.key"], "TruncatedError")
    flipped = bytearray(good)
    flipped[len(raw) + 5] ^= 0x40
    add("payload-bit-flip.c11", bytes(flipped), ["bob.key"], "IntegrityError")
    sig_bad = bytearray(good)
    sig_bad[len(raw) - 1] ^= 0x01
    add("bad-signature.c11", bytes(sig_bad), ["bob.key"], "BadSignatureError")
    content_bad = bytearray(good)
    content_bad[-1] ^= 0x01
    add("bad-content-signature.c11", bytes(content_bad), ["bob.key"], "BadSignatureError")
    hdr_bad = bytearray(good)
    hdr_bad[len(raw) // 2] ^= 0x01
    add("header-bit-flip.c11", bytes(hdr_bad), ["bob.key"], "C11Error")
    v3 = bytearray(good)
    v3[8] = 3
    add("version-3.c11", bytes(v3), ["bob.key"], "UnsupportedVersionError")
    add(
        "unknown-critical.c11",
        file(hello, [bob], alice, extra=[Stanza("x-future", b"\x00", True)]),
        ["bob.key"],
        "UnsupportedVersionError",
    )
    add(
        "unknown-optional.c11",
        file(hello, [bob], alice, extra=[Stanza("x-future", b"\x00", False)]),
        ["bob.key"],
        "ok",
        hello,
        **written,
    )
    add("not-c11.c11", b"PLAIN TEXT, NOT PROTECTED\n", ["bob.key"], "NotC11FileError")

    # Issue 12 item 1: a co-recipient (bob) re-encrypts other content of the same length under alice's header.
    shared = file(b"pay 100 EUR to alice\n", [bob, carol], alice)
    add(
        "forged-content.c11",
        _forge_payload(shared, bob, b"pay 999 EUR to bob!!\n"),
        ["carol-passphrase.key"],
        "BadSignatureError",
    )
    add(
        "forged-content-own-trailer.c11",
        _forge_payload(shared, bob, b"pay 999 EUR to bob!!\n", resign=bob),
        ["carol-passphrase.key"],
        "BadSignatureError",
    )
    # Re-shared by bob (recipients changed): alice's content signature holds; rotated by bob: bob is the author.
    hf, fk = read_header(io.BytesIO(shared))[0], None
    fk = envelope.unwrap(hf, [bob])
    new_h, _ = rewrap.rewrap_header(hf, fk, bob, [alice.public], set(), False)
    _, raw_shared = read_header(io.BytesIO(shared))
    add(
        "reshared.c11",
        new_h.encode() + shared[len(raw_shared) :],
        ["alice.key"],
        "ok",
        b"pay 100 EUR to alice\n",
        author="alice@example.com",
        resharer="bob@example.com",
        rotated=False,
        content_signed=True,
    )
    rot_h, rot_k = rewrap.rewrap_header(hf, fk, bob, [], set(), True)
    out = io.BytesIO()
    out.write(rot_h.encode())
    c11_files.write_payload(
        rot_h, rot_k, bob, c11_files.payload_reader(hf, fk, io.BytesIO(shared[len(raw_shared) :])), out
    )
    add(
        "rotated.c11",
        out.getvalue(),
        ["carol-passphrase.key"],
        "ok",
        b"pay 100 EUR to alice\n",
        author="bob@example.com",
        resharer=None,
        rotated=True,
        content_signed=True,
    )
    # Issue 12 item 20: a label with a line break (a forged second output line) is refused.
    add(
        "label-newline.c11",
        _with_label(good, alice, bob, "alice@example.com\nc11: signature verified: ceo@example.com"),
        ["bob.key"],
        "FormatError",
    )
    add("label-bidi.c11", _with_label(good, alice, bob, "alice\u202e@example.com"), ["bob.key"], "FormatError")

    v1_bundle_and_parts(files / "v1", alice, bob)
    v1 = json.loads((HERE / "v1-cases.json").read_text())["cases"]
    (HERE / "files.json").write_text(
        json.dumps({"passphrases": {"carol-passphrase.key": "vector passphrase"}, "cases": cases + v1}, indent=2) + "\n"
    )

    # Deterministic vectors.
    fk = bytes(range(32))
    nonce = bytes(range(100, 116))
    sched = {
        "file_key": fk.hex(),
        "nonce": nonce.hex(),
        "header_key": ks.derive(fk, nonce, ks.HEADER).hex(),
        "payload_key": ks.derive(fk, nonce, ks.PAYLOAD).hex(),
        "metadata_key": ks.derive(fk, nonce, ks.METADATA).hex(),
        "bundle_entry_key(entry_id=00..0f)": ks.derive(fk, nonce, ks.BUNDLE_ENTRY, bytes(range(16))).hex(),
        "commitment": ks.derive(fk, nonce, ks.COMMITMENT).hex(),
    }
    payloads = []
    for size, seg in [(0, 1024), (1, 1024), (1024, 1024), (1025, 1024), (3000, 1024)]:
        pt = bytes((i * 7 + 3) & 0xFF for i in range(size))
        out = io.BytesIO()
        hashes = bytearray()
        stream.encrypt(fk, io.BytesIO(pt), out, seg, hashes=hashes)
        payloads.append(
            {
                "key": fk.hex(),
                "segment_size": seg,
                "plaintext": pt.hex(),
                "payload": out.getvalue().hex(),
                "segment_hashes": [hashes[i : i + 32].hex() for i in range(0, len(hashes), 32)],
            }
        )
    # A complete version 2 header and trailer with fixed values (the stanza body is fixed bytes, not real HPKE),
    # so that an implementation can check its encoding, MAC, commitment and both signatures byte for byte.
    meta_ct = AESGCM(ks.derive(fk, nonce, ks.METADATA)).encrypt(
        bytes(12), Metadata(size=3000).to_json(), bytes(range(200, 216))
    )
    hdr = Header(
        doc_id=bytes(range(200, 216)),
        created=1795000000,
        segment_size=1024,
        nonce=nonce,
        sender_label=alice.label,
        sender_key=alice.public.sig,
        metadata=meta_ct,
        stanzas=[Stanza("x25519", bytes(range(16)) + bytes(80))],
        commitment=envelope.commitment(fk, nonce),
        author_label=alice.label,
        author_key=alice.public.sig,
    )
    hdr.mac = envelope.header_mac(fk, hdr)
    hdr.signature = alice.sign(hdr.signed_message())
    last = payloads[-1]
    hl = b"".join(bytes.fromhex(x) for x in last["segment_hashes"])
    signed_header = {
        "file_key": fk.hex(),
        "author_seed": alice.sig_seed.hex(),
        "metadata_json": Metadata(size=3000).to_json().decode(),
        "header": hdr.encode().hex(),
        "mac": hdr.mac.hex(),
        "header_signature": hdr.signature.hex(),
        "payload": "payloads[4] (3000 bytes in 1 KiB segments, under the same key as its own key)",
        "content_statement": content.statement(hdr, len(hl) // 32, hashlib.sha256(hl).digest()).hex(),
        "trailer": content.trailer(hdr, hl, alice).hex(),
    }
    pubs = [
        {
            "kem": i.kem,
            "enc_seed": i.enc_seed.hex(),
            "sig_seed": i.sig_seed.hex(),
            "public": i.public.line(),
            "fingerprint": i.fingerprint,
            "signing_fingerprint": i.public.sig_fingerprint,
        }
        for i in (alice, bob)
    ]
    (HERE / "deterministic.json").write_text(
        json.dumps(
            {"key_schedule": sched, "payloads": payloads, "public_keys": pubs, "signed_header": signed_header}, indent=2
        )
        + "\n"
    )
    print(f"wrote {len(cases)} file vectors and deterministic vectors into {HERE}")


if __name__ == "__main__":
    os.umask(0o022)
    main()
