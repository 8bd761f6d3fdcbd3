"""Regenerate the committed test vectors (run by hand: python tests/vectors/generate.py).

Files with HPKE stanzas are not deterministic (HPKE uses fresh ephemeral keys), so they are
decryption vectors: given these key files, a reader must produce the recorded plaintext or refuse
with the recorded error. The payload, key schedule and public key vectors are deterministic.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from c11 import protect  # noqa: E402
from c11.crypto import keyschedule as ks  # noqa: E402
from c11.format import envelope, stream  # noqa: E402
from c11.format.envelope import Metadata  # noqa: E402
from c11.format.header import Stanza, read_header  # noqa: E402
from c11.keys import keyfile  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402


def seeded(label: str, kem: str, n: int) -> Identity:
    enc = hashlib.sha256(f"c11 vector enc {n}".encode()).digest()
    sig = hashlib.sha256(f"c11 vector sig {n}".encode()).digest()
    return Identity(label, kem, enc, sig, 1795000000)


def main() -> None:
    files = HERE / "files"
    keys = HERE / "keys"
    shutil.rmtree(files, ignore_errors=True)
    shutil.rmtree(keys, ignore_errors=True)
    files.mkdir()
    keys.mkdir()
    alice = seeded("alice@example.com", "mlkem768x25519", 1)
    bob = seeded("bob@example.com", "x25519", 2)
    carol = seeded("carol@example.com", "mlkem768x25519", 3)
    keyfile.write(keys / "alice.key", alice, None)
    keyfile.write(keys / "bob.key", bob, None)
    keyfile.write(keys / "carol-passphrase.key", carol, "vector passphrase")

    cases = []

    def add(name, blob, identities, expect, plaintext=None, meta=None):
        (files / name).write_bytes(blob)
        case = {"file": f"files/{name}", "identities": identities, "expect": expect}
        if plaintext is not None:
            case["plaintext_sha256"] = hashlib.sha256(plaintext).hexdigest()
            case["plaintext_size"] = len(plaintext)
        if meta:
            case["metadata"] = meta
        cases.append(case)

    def file(data, recipients, sender, seg=stream.DEFAULT_SEGMENT, meta=None, extra=()):
        header, fk = protect.seal_header([r.public for r in recipients], sender, metadata=meta or Metadata(size=len(data)),
                                         segment_size=seg, extra_stanzas=extra)
        out = io.BytesIO()
        out.write(header.encode())
        stream.encrypt(envelope.payload_key(header, fk), io.BytesIO(data), out, seg)
        return out.getvalue()

    hello = b"Hello, c11!\n"
    add("hello-x25519.c11", file(hello, [bob, alice], alice, meta=Metadata("hello.txt", "text/plain", len(hello))),
        ["bob.key"], "ok", hello, {"name": "hello.txt", "type": "text/plain", "size": len(hello)})
    add("hello-hybrid.c11", file(hello, [carol, alice], alice), ["carol-passphrase.key"], "ok", hello)
    add("empty.c11", file(b"", [bob], alice), ["bob.key"], "ok", b"")
    multi = bytes(range(256)) * 20  # 5120 bytes in 1 KiB segments: five full segments
    add("multi-segment.c11", file(multi, [bob], alice, seg=1024), ["bob.key"], "ok", multi)
    add("multi-segment-partial.c11", file(multi + b"tail", [bob], alice, seg=1024), ["bob.key"], "ok", multi + b"tail")
    add("not-for-me.c11", file(hello, [carol], alice), ["bob.key"], "NoMatchingKeyError")
    add("message.txt", protect._armor.armor(file(b"meet at 5", [bob], alice, meta=Metadata(kind="message", size=9))).encode(),
        ["bob.key"], "ok", b"meet at 5")

    good = file(hello * 100, [bob], alice)
    add("truncated.c11", good[:-7], ["bob.key"], "IntegrityError")
    segmented = file(multi, [bob], alice, seg=1024)
    add("truncated-at-segment.c11", segmented[: -(1024 + 16)], ["bob.key"], "TruncatedError")
    h, raw = read_header(io.BytesIO(good))
    add("truncated-header.c11", good[: len(raw) - 10], ["bob.key"], "TruncatedError")
    flipped = bytearray(good)
    flipped[len(raw) + 5] ^= 0x40
    add("payload-bit-flip.c11", bytes(flipped), ["bob.key"], "IntegrityError")
    sig_bad = bytearray(good)
    sig_bad[len(raw) - 1] ^= 0x01
    add("bad-signature.c11", bytes(sig_bad), ["bob.key"], "BadSignatureError")
    hdr_bad = bytearray(good)
    hdr_bad[len(raw) // 2] ^= 0x01
    add("header-bit-flip.c11", bytes(hdr_bad), ["bob.key"], "C11Error")
    v2 = bytearray(good)
    v2[8] = 2
    add("version-2.c11", bytes(v2), ["bob.key"], "UnsupportedVersionError")
    add("unknown-critical.c11", file(hello, [bob], alice, extra=[Stanza("x-future", b"\x00", True)]), ["bob.key"],
        "UnsupportedVersionError")
    add("unknown-optional.c11", file(hello, [bob], alice, extra=[Stanza("x-future", b"\x00", False)]), ["bob.key"], "ok", hello)
    add("not-c11.c11", b"PLAIN TEXT, NOT PROTECTED\n", ["bob.key"], "NotC11FileError")

    (HERE / "files.json").write_text(json.dumps({"passphrases": {"carol-passphrase.key": "vector passphrase"}, "cases": cases}, indent=2) + "\n")

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
    }
    payloads = []
    for size, seg in [(0, 1024), (1, 1024), (1024, 1024), (1025, 1024), (3000, 1024)]:
        pt = bytes((i * 7 + 3) & 0xFF for i in range(size))
        out = io.BytesIO()
        stream.encrypt(fk, io.BytesIO(pt), out, seg)
        payloads.append({"key": fk.hex(), "segment_size": seg, "plaintext": pt.hex(), "payload": out.getvalue().hex()})
    pubs = [
        {"kem": i.kem, "enc_seed": i.enc_seed.hex(), "sig_seed": i.sig_seed.hex(), "public": i.public.line(),
         "fingerprint": i.fingerprint, "signing_fingerprint": i.public.sig_fingerprint}
        for i in (alice, bob)
    ]
    (HERE / "deterministic.json").write_text(
        json.dumps({"key_schedule": sched, "payloads": payloads, "public_keys": pubs}, indent=2) + "\n"
    )
    print(f"wrote {len(cases)} file vectors and deterministic vectors into {HERE}")


if __name__ == "__main__":
    os.umask(0o022)
    main()
