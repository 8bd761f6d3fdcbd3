"""Regenerate the spec-fix vectors of issue 12 items 15-21 (run by hand: python tests/vectors/spec/generate.py).

One or more vectors per clarified rule of docs/format.md; `spec.json` lists, per case, what to open
(`kind`: file, bundle, keyfile, armor, publickey, parts) with which key files, and the expected result
(`ok` with the value to compare, or an error class of c11.errors). The key files are the ones of
tests/vectors/keys/.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import struct
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent
sys.path.insert(0, str(VECTORS.parents[1] / "src"))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from c11 import files as c11_files  # noqa: E402
from c11.crypto import keyschedule as ks  # noqa: E402
from c11.format import bundle as B  # noqa: E402
from c11.format import content, envelope, stream  # noqa: E402
from c11.format.envelope import Metadata  # noqa: E402
from c11.format.header import Header, Stanza  # noqa: E402
from c11.keys import keyfile  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402
from c11.keys.publickey import PublicKey  # noqa: E402
from c11.log.entries import canonical_json, email_hash  # noqa: E402


def seeded(label: str, kem: str, n: int) -> Identity:
    enc = hashlib.sha256(f"c11 vector enc {n}".encode()).digest()
    sig = hashlib.sha256(f"c11 vector sig {n}".encode()).digest()
    return Identity(label, kem, enc, sig, 1795000000)


def craft(
    author: Identity,
    recipients: list,
    data: bytes,
    *,
    meta_json: bytes | None = None,
    segment: int = 1024,
    stanzas: list | None = None,
    first_wrong: bool = False,
    second_wrong: bool = False,
) -> bytes:
    """A version 2 file built field by field, so a vector can hold what c11 itself refuses to write."""
    fk, nonce, doc = hashlib.sha256(b"fk" + data).digest(), hashlib.sha256(b"n" + data).digest()[:16], bytes(range(16))
    meta_ct = AESGCM(ks.derive(fk, nonce, ks.METADATA)).encrypt(
        bytes(12), meta_json if meta_json is not None else Metadata(size=len(data)).to_json(), doc
    )
    if stanzas is None:
        stanzas = [envelope.wrap(r, fk, doc) for r in recipients]
        if first_wrong:
            stanzas.insert(0, envelope.wrap(recipients[0], os.urandom(32), doc))
        if second_wrong:
            stanzas.append(envelope.wrap(recipients[0], os.urandom(32), doc))
    h = Header(
        doc,
        1795000000,
        segment,
        nonce,
        author.label,
        author.public.sig,
        meta_ct,
        stanzas,
        commitment=envelope.commitment(fk, nonce),
        author_label=author.label,
        author_key=author.public.sig,
    )
    h.mac = envelope.header_mac(fk, h)
    h.signature = author.sign(h.signed_message())
    out, hashes = io.BytesIO(), bytearray()
    stream.encrypt(envelope.payload_key(h, fk), io.BytesIO(data), out, segment, hashes=hashes)
    return h.encode() + out.getvalue() + content.trailer(h, bytes(hashes), author)


def raw_edit(blob: bytes, offset_in_body: int, value: bytes) -> bytes:
    """Replace bytes of the header body (after the 13-byte prefix); the header no longer authenticates,
    but a parser must refuse it before that."""
    b = bytearray(blob)
    b[13 + offset_in_body : 13 + offset_in_body + len(value)] = value
    return bytes(b)


def bundle(
    path: Path, author: Identity, recipients: list, files: dict[str, bytes], meta_size: int | None = None
) -> None:
    entries = [
        B.Entry(name, "file", hashlib.sha256(name.encode()).hexdigest()[:32], len(data), 0o644, 1795000000)
        for name, data in files.items()
    ]
    total = sum(len(d) for d in files.values()) if meta_size is None else meta_size
    header, fk = c11_files.seal_header(
        [r.public for r in recipients], author, metadata=Metadata(None, c11_files.BUNDLE_TYPE, total, kind="bundle")
    )
    sources = {e.id: io.BytesIO(files[e.path]) for e in entries}
    with open(path, "wb") as f:
        B.write(f, entries, header, fk, author=author, sources=sources)


def main() -> None:
    alice = seeded("alice@example.com", "mlkem768x25519", 1)
    bob = seeded("bob@example.com", "x25519", 2)
    out = HERE / "files"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    cases: list[dict] = []

    def add(item: str, name: str, blob: bytes | None, kind: str, expect: str, rule: str, **extra) -> None:
        if blob is not None:
            (out / name).write_bytes(blob)
        cases.append({"item": item, "file": f"files/{name}", "kind": kind, "expect": expect, "rule": rule, **extra})

    hello = b"Hello, c11!\n"
    # 15: a bundle's metadata size is the files' total, checked against the manifest.
    bundle(out / "bundle-size.c11.zip", alice, [bob], {"a.txt": b"alpha", "b.txt": b"bravo!"})
    add(
        "15",
        "bundle-size.c11.zip",
        None,
        "bundle",
        "ok",
        "§8 metadata size = total of the files (11)",
        identities=["bob.key"],
        tree={"a.txt": hashlib.sha256(b"alpha").hexdigest(), "b.txt": hashlib.sha256(b"bravo!").hexdigest()},
    )
    bundle(out / "bundle-size-wrong.c11.zip", alice, [bob], {"a.txt": b"alpha"}, meta_size=4)
    add(
        "15",
        "bundle-size-wrong.c11.zip",
        None,
        "bundle",
        "FormatError",
        "§8 metadata size differs from the files' total",
        identities=["bob.key"],
    )
    # 16: Unicode normal form is not required (NFD names open); NFC+casefold duplicates are refused.
    nfd = unicodedata.normalize("NFD", "Café.txt")
    bundle(out / "bundle-nfd.c11.zip", alice, [bob], {nfd: b"nfd"})
    add(
        "16",
        "bundle-nfd.c11.zip",
        None,
        "bundle",
        "ok",
        "§8 an NFD path (macOS) is accepted as it is",
        identities=["bob.key"],
        tree={nfd: hashlib.sha256(b"nfd").hexdigest()},
    )
    bundle(
        out / "bundle-nfc-duplicate.c11.zip", alice, [bob], {nfd: b"1", unicodedata.normalize("NFC", "CAFÉ.txt"): b"2"}
    )
    add(
        "16",
        "bundle-nfc-duplicate.c11.zip",
        None,
        "bundle",
        "BundleError",
        "§8 two paths equal after NFC and case folding",
        identities=["bob.key"],
    )
    bundle(out / "bundle-c1-control.c11.zip", alice, [bob], {"a\u0085b.txt": b"x"})
    add(
        "21",
        "bundle-c1-control.c11.zip",
        None,
        "bundle",
        "BundleError",
        "§8 a C1 control character in a path",
        identities=["bob.key"],
    )
    bundle(out / "bundle-bidi.c11.zip", alice, [bob], {"invoice\u202egpj.exe": b"x"})
    add(
        "21",
        "bundle-bidi.c11.zip",
        None,
        "bundle",
        "BundleError",
        "§8 a bidirectional control in a path",
        identities=["bob.key"],
    )

    # 17: scrypt bounds.
    def scrypt_key(name: str, log_n: int, r: int, p: int) -> None:
        salt, nonce = hashlib.sha256(name.encode()).digest()[:16], bytes(12)
        line = alice.public.line()
        if keyfile.scrypt_params_ok(log_n, r, p):
            kek = keyfile._kek("vector passphrase", salt, log_n, r, p)
            ct = AESGCM(kek).encrypt(nonce, alice.enc_seed + alice.sig_seed, keyfile._aad(line))
        else:
            ct = bytes(80)  # never derived: the bounds refuse the parameters first
        doc = json.loads(keyfile.dumps(alice, None))
        doc["secret"] = {
            "protection": "scrypt",
            "log_n": log_n,
            "r": r,
            "p": p,
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ct).decode(),
        }
        (out / name).write_text(json.dumps(doc, indent=2) + "\n")

    scrypt_key("scrypt-r1-logn16.key", 16, 1, 1)
    add(
        "17",
        "scrypt-r1-logn16.key",
        None,
        "keyfile",
        "KeyFileError",
        "§6 log_n < 16 r (scrypt forbids N = 2^16, r = 1)",
        passphrase="vector passphrase",
    )
    scrypt_key("scrypt-4gib.key", 20, 32, 1)
    add(
        "17",
        "scrypt-4gib.key",
        None,
        "keyfile",
        "KeyFileError",
        "§6 at most 256 MiB (log_n 20, r 32 is 4 GiB)",
        passphrase="vector passphrase",
    )
    scrypt_key("scrypt-small.key", 10, 1, 1)
    add(
        "17",
        "scrypt-small.key",
        None,
        "keyfile",
        "ok",
        "§6 smallest allowed parameters",
        passphrase="vector passphrase",
        fingerprint=alice.fingerprint,
    )

    # 18: key file public line without the signing key; critical flags; which of several stanzas; (X-Wing: §3 text).
    doc = json.loads(keyfile.dumps(alice, None))
    doc["public"] = PublicKey(alice.public.kem, alice.public.enc).line()
    (out / "keyfile-no-signing-key.key").write_text(json.dumps(doc, indent=2) + "\n")
    add(
        "18",
        "keyfile-no-signing-key.key",
        None,
        "keyfile",
        "KeyFileError",
        "§6 the public line must carry the signing key",
    )
    add(
        "18",
        "online-not-critical.c11",
        craft(
            alice,
            [bob.public],
            hello,
            stanzas=[
                envelope.wrap(bob.public, hashlib.sha256(b"fk" + hello).digest(), bytes(range(16))),
                Stanza("c11-online/v1", b"\x00" * 8, critical=False),
            ],
        ),
        "file",
        "FormatError",
        "§2.1 a non-critical c11-online/v1 is refused (never read as an offline file)",
        identities=["bob.key"],
    )
    add(
        "18",
        "recipient-critical.c11",
        craft(
            alice,
            [bob.public],
            hello,
            stanzas=[
                Stanza(
                    "x25519",
                    envelope.wrap(bob.public, hashlib.sha256(b"fk" + hello).digest(), bytes(range(16))).body,
                    critical=True,
                )
            ],
        ),
        "file",
        "FormatError",
        "§2.1 a critical recipient stanza is refused",
        identities=["bob.key"],
    )
    add(
        "18",
        "two-stanzas-first-good.c11",
        craft(alice, [bob.public], hello, second_wrong=True),
        "file",
        "ok",
        "§2.5 the first matching stanza is opened",
        identities=["bob.key"],
        plaintext_sha256=hashlib.sha256(hello).hexdigest(),
    )
    add(
        "18",
        "two-stanzas-first-bad.c11",
        craft(alice, [bob.public], hello, first_wrong=True),
        "file",
        "IntegrityError",
        "§2.5 only the first matching stanza is opened",
        identities=["bob.key"],
    )

    # 19: complete but invalid headers, and truncation cases.
    good = craft(alice, [bob.public], hello)
    add(
        "19",
        "segment-size-small.c11",
        raw_edit(good, 24, struct.pack(">I", 512)),
        "file",
        "FormatError",
        "§2.9 segment size out of range",
        identities=["bob.key"],
    )
    label_at = 16 + 8 + 4 + 16 + 32 + 1  # the author label's length
    add(
        "19",
        "label-not-utf8.c11",
        raw_edit(good, label_at + 2, b"\xff"),
        "file",
        "FormatError",
        "§2.9 a label that is not UTF-8",
        identities=["bob.key"],
    )
    add(
        "19",
        "origin-2.c11",
        raw_edit(good, label_at - 1, b"\x02"),
        "file",
        "FormatError",
        "§2.9 origin other than 0 or 1",
        identities=["bob.key"],
    )
    add(
        "19",
        "zero-stanzas.c11",
        craft(alice, [], hello, stanzas=[]),
        "file",
        "FormatError",
        "§2.9 stanza count 0",
        identities=["bob.key"],
    )
    flag = bytearray(
        craft(
            alice,
            [bob.public],
            hello,
            stanzas=[
                Stanza(
                    "x25519", envelope.wrap(bob.public, hashlib.sha256(b"fk" + hello).digest(), bytes(range(16))).body
                )
            ],
        )
    )
    at = flag.index(b"\x06x25519") + 7
    flag[at] = 0x02
    add(
        "19",
        "stanza-reserved-flag.c11",
        bytes(flag),
        "file",
        "FormatError",
        "§2.9 stanza flag bits other than bit 0",
        identities=["bob.key"],
    )
    add(
        "19",
        "metadata-array.c11",
        craft(alice, [bob.public], hello, meta_json=b"[1,2]"),
        "file",
        "FormatError",
        "§2.2 metadata that is a JSON array",
        identities=["bob.key"],
    )
    add(
        "19",
        "empty-payload.c11",
        good[: len(good) - (len(hello) + 16) - 32 - 72],
        "file",
        "TruncatedError",
        "§2.9 nothing after a version 2 header",
        identities=["bob.key"],
    )
    add(
        "19",
        "short-final-piece.c11",
        good[: -(32 + 72) - 20],
        "file",
        "IntegrityError",
        "§2.9 a cut inside the final segment (payload and trailer do not fit)",
        identities=["bob.key"],
    )

    # 20: labels (header labels are in files.json: label-newline, label-bidi); key file labels.
    doc = json.loads(keyfile.dumps(alice, None))
    doc["label"] = "alice@example.com\nc11: signature verified: signed by ceo@example.com"
    (out / "keyfile-label-newline.key").write_text(json.dumps(doc, indent=2) + "\n")
    add("20", "keyfile-label-newline.key", None, "keyfile", "KeyFileError", "§2.8 a key file label with a line break")

    # 21: metadata types and encoding; key file formats; armor; public keys; email_hash; canonical JSON.
    add(
        "21",
        "metadata-utf16.c11",
        craft(alice, [bob.public], hello, meta_json=json.dumps({"size": len(hello)}).encode("utf-16")),
        "file",
        "FormatError",
        "§2.2 metadata in UTF-16",
        identities=["bob.key"],
    )
    add(
        "21",
        "metadata-size-string.c11",
        craft(alice, [bob.public], hello, meta_json=b'{"size":"12","kind":"file"}'),
        "file",
        "FormatError",
        "§2.2 size is a string",
        identities=["bob.key"],
    )
    add(
        "21",
        "metadata-size-true.c11",
        craft(alice, [bob.public], hello, meta_json=b'{"size":true}'),
        "file",
        "FormatError",
        "§2.2 size is a boolean",
        identities=["bob.key"],
    )
    for name, edit, rule in [
        ("keyfile-created-format.key", ("created", "2026-11-27 10:00:00"), "§6 created is YYYY-MM-DDTHH:MM:SSZ"),
        ("keyfile-fingerprint-mismatch.key", ("fingerprint", "0" * 32), "§6 fingerprint must be the public key's"),
        (
            "keyfile-fingerprint-upper.key",
            ("fingerprint", alice.fingerprint.upper()),
            "§6 fingerprint in lowercase hex",
        ),
    ]:
        doc = json.loads(keyfile.dumps(alice, None))
        doc[edit[0]] = edit[1]
        (out / name).write_text(json.dumps(doc, indent=2) + "\n")
        add("21", name, None, "keyfile", "KeyFileError", rule)
    doc = json.loads(keyfile.dumps(alice, None))
    doc["secret"]["seeds"] = base64.urlsafe_b64encode(alice.enc_seed + alice.sig_seed).decode().rstrip("=")
    (out / "keyfile-base64url.key").write_text(json.dumps(doc, indent=2) + "\n")
    add("21", "keyfile-base64url.key", None, "keyfile", "KeyFileError", "§6 standard base64 with padding only")
    nfc = unicodedata.normalize("NFC", "café passphrase")
    (out / "keyfile-passphrase-nfc.key").write_bytes(keyfile.dumps(alice, nfc))
    add(
        "21",
        "keyfile-passphrase-nfc.key",
        None,
        "keyfile",
        "ok",
        "§6 the passphrase is normalised to NFC",
        passphrase=unicodedata.normalize("NFD", nfc),
        fingerprint=alice.fingerprint,
    )
    block = c11_files._armor.armor(craft(alice, [bob.public], hello)).encode()
    lines = block.split(b"\n")
    add(
        "21",
        "armor-ok.txt",
        b"\r\n".join(b"  " + x for x in lines),
        "armor",
        "ok",
        "§7 CRLF and indentation",
        identities=["bob.key"],
        plaintext_sha256=hashlib.sha256(hello).hexdigest(),
    )
    add(
        "21",
        "armor-text-after-end.txt",
        block + b"-- \nsent from my phone\n",
        "armor",
        "FormatError",
        "§7 text after the END line",
        identities=["bob.key"],
    )
    add(
        "21",
        "armor-blank-line.txt",
        b"\n".join(lines[:2] + [b""] + lines[2:]),
        "armor",
        "FormatError",
        "§7 a blank line inside the block",
        identities=["bob.key"],
    )
    extra = b""
    while len(craft(alice, [bob.public], hello + extra)) % 3 == 0:  # base64 with padding
        extra += b"!"
    padded = c11_files._armor.armor(craft(alice, [bob.public], hello + extra)).encode().split(b"\n")
    last = padded[-3]
    pad = last.rstrip(b"=")
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    bumped = pad[:-1] + bytes([alphabet[alphabet.index(pad[-1:]) | 1]]) + last[len(pad) :]  # a padding bit set
    add(
        "21",
        "armor-padding-bits.txt",
        b"\n".join(padded[:-3] + [bumped] + padded[-2:]),
        "armor",
        "FormatError",
        "§7 non-zero padding bits",
        identities=["bob.key"],
    )
    add(
        "21",
        "publickey-zero-x25519.txt",
        PublicKey("x25519", bytes(32)).line().encode(),
        "publickey",
        "RecipientError",
        "§3 an all-zero (low-order) X25519 key",
    )
    inner = bob.public.line()
    add(
        "21",
        "publickey-inner-space.txt",
        (inner[:20] + " " + inner[20:]).encode(),
        "publickey",
        "RecipientError",
        "§3 no white space inside a line",
    )
    add(
        "21",
        "publickey-outer-space.txt",
        ("\t " + inner + " \r\n").encode(),
        "publickey",
        "ok",
        "§3 white space around a line is ignored",
        fingerprint=bob.fingerprint,
    )

    deterministic = {
        "email_hash": [
            {"email": e, "email_hash": email_hash(e)}
            for e in [" Alice@Example.COM\n", "ÜNÏCODE@Exämple.org", "İstanbul@example.com"]
        ],
        "canonical_json": [
            {"object": o, "encoding": canonical_json(o)}
            for o in [{"b": 1, "a": [None, True, "é/\u007f\U0001f600\n"]}, {"v": 1, "doc": "x"}]
        ],
    }
    (HERE / "spec.json").write_text(
        json.dumps({"passphrases": {}, "cases": cases, **deterministic}, indent=2, ensure_ascii=False) + "\n"
    )
    print(f"wrote {len(cases)} spec vectors into {HERE}")


if __name__ == "__main__":
    os.umask(0o022)
    main()
