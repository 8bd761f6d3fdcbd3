"""Issue 12 item 1: the author's signature binds the content (docs/format.md §2.4, §5.1).

A co-recipient holds the file key: it can make ciphertext that authenticates, keep the author's header
byte for byte and even re-sign a trailer with its own key. Each such forgery must fail to verify, for
files (seekable and streamed), armor, bundles and in-document parts; version 1 files still open and say
their content is not signed.
"""

import functools
import hashlib
import io
import json
import struct
import zipfile
from pathlib import Path

import pytest

from c11 import files
from c11.crypto import keyschedule as ks
from c11.errors import BadSignatureError, C11Error, IntegrityError
from c11.format import bundle as B
from c11.format import content, envelope, stream
from c11.format.header import read_header
from c11.indoc import parts as P

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


class Pipe(io.RawIOBase):
    """A non-seekable reader (like stdin from a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buf) -> int:
        data = self._src.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def forge(blob: bytes, holder, plaintext: bytes, resign=None) -> bytes:
    """Keep the author's header, re-encrypt `plaintext` under the file key; keep the author's signature
    (with a fresh hash list) or sign the trailer with the forger's own key."""
    h, raw = read_header(io.BytesIO(blob))
    fk = envelope.unwrap(h, [holder])
    out, hashes = io.BytesIO(), bytearray()
    stream.encrypt(envelope.payload_key(h, fk), io.BytesIO(plaintext), out, h.segment_size, hashes=hashes)
    n = len(hashes) // 32
    sig = resign.sign(content.statement(h, n, hashlib.sha256(hashes).digest())) if resign else blob[-64:]
    return raw + out.getvalue() + bytes(hashes) + struct.pack(">Q", n) + sig


@pytest.fixture(scope="module")
def shared(alice, bob, carol):
    return files.encrypt_bytes(b"pay 100 EUR to alice" * 5000, [bob.public, carol.public], alice)


@pytest.mark.parametrize("resign", [False, True], ids=["author-trailer", "forger-trailer"])
def test_co_recipient_cannot_replace_the_content(shared, alice, bob, carol, resign, tmp_path):
    forged = forge(shared, bob, b"pay 999 EUR to bob!!" * 5000, bob if resign else None)
    assert len(forged) == len(shared) and forged[:200] == shared[:200]
    with pytest.raises(BadSignatureError):
        files.decrypt_bytes(forged, [carol])
    # a file output is never published; inspect (no key) says the content signature fails
    src = tmp_path / "f.c11"
    src.write_bytes(forged)
    with pytest.raises(BadSignatureError):
        files.decrypt_path(src, tmp_path / "out", [carol])
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["f.c11"]
    info = files.inspect(src)
    assert not info.signature_valid and not info.content_signed


def test_seekable_input_releases_nothing_before_the_check(shared, bob, carol):
    forged = forge(shared, bob, b"pay 999 EUR to bob!!" * 5000)
    out = io.BytesIO()
    with pytest.raises(BadSignatureError):
        files.decrypt(io.BytesIO(forged), out, [carol])
    assert out.getvalue() == b""


class SwapsList(io.BytesIO):
    """Storage that changes under the reader: after the hash-list region [lo, hi) has been read once in
    full, it holds other bytes (a writable share, a FUSE or network file system)."""

    def __init__(self, data: bytes, lo: int, hi: int, swap: bytes) -> None:
        super().__init__(data)
        self._lo, self._hi, self._swap, self._seen = lo, hi, swap, set()

    def _note(self, pos: int, n: int) -> None:
        if self._swap is not None:
            self._seen.update(range(max(pos, self._lo), min(pos + n, self._hi)))
            if len(self._seen) == self._hi - self._lo:
                self.getbuffer()[self._lo : self._hi] = self._swap
                self._swap = None

    def read(self, n=-1):
        pos = self.tell()
        data = super().read(n)
        self._note(pos, len(data))
        return data

    def readinto(self, buf):
        pos = self.tell()
        n = super().readinto(buf)
        self._note(pos, n)
        return n


@pytest.mark.parametrize("chunk", [stream.LIST_CHUNK, 32], ids=["list-kept", "list-re-read"])
def test_hash_list_rewritten_after_the_check_releases_nothing(shared, bob, carol, chunk, monkeypatch):
    """Forged segments under the author's signed list; the list is rewritten to match them after the check."""
    monkeypatch.setattr(stream, "LIST_CHUNK", chunk)
    forged = forge(shared, bob, b"pay 999 EUR to bob!!" * 5000)
    n = struct.unpack(">Q", shared[-72:-64])[0]
    lo, hi = len(shared) - 72 - 32 * n, len(shared) - 72
    assert n > 1 and len(forged) == len(shared)
    src = SwapsList(forged[:lo] + shared[lo:hi] + shared[hi:], lo, hi, forged[lo:hi])
    out = io.BytesIO()
    # kept: the list is never read again, the forged segments fail against it; re-read: the change is caught
    with pytest.raises(BadSignatureError if chunk != 32 else IntegrityError):
        files.decrypt(src, out, [carol])
    assert src._swap is None and out.getvalue() == b""
    out = io.BytesIO()  # an unchanged file still opens, whether the list is kept or re-read in chunks
    assert files.decrypt(io.BytesIO(shared), out, [carol]).content_signed
    assert out.getvalue() == b"pay 100 EUR to alice" * 5000


def test_streamed_input_fails_at_the_end(shared, alice, bob, carol):
    out = io.BytesIO()
    info = files.decrypt(io.BufferedReader(Pipe(shared)), out, [carol])
    assert out.getvalue() == b"pay 100 EUR to alice" * 5000 and info.content_signed
    forged = forge(shared, bob, b"pay 999 EUR to bob!!" * 5000)
    out = io.BytesIO()
    with pytest.raises(BadSignatureError):
        files.decrypt(io.BufferedReader(Pipe(forged)), out, [carol])
    # what was released before the final check authenticated under the file key (documented in §2.5)
    assert out.getvalue() == (b"pay 999 EUR to bob!!" * 5000)[: len(out.getvalue())]


@pytest.mark.parametrize("cut", [1, 40, 72, 73, 104, 200, 65_600])
def test_streamed_truncation_and_appending_fail(shared, carol, cut):
    with pytest.raises(C11Error):
        files.decrypt(io.BufferedReader(Pipe(shared[:-cut])), io.BytesIO(), [carol])
    with pytest.raises(C11Error):
        files.decrypt(io.BufferedReader(Pipe(shared + b"\x00" * cut)), io.BytesIO(), [carol])


def test_armored_message_forgery_fails(alice, bob, carol):
    block = files.encrypt_message("meet at 5", [bob.public, carol.public], alice)
    blob = files._armor.dearmor(block)
    forged = files._armor.armor(forge(blob, bob, b"meet at 6"))
    with pytest.raises(BadSignatureError):
        files.decrypt_message(forged, [carol])
    assert files.decrypt_message(block, [carol])[1].content_signed


def test_bundle_entry_forgery_fails(tmp_path, alice, bob, carol):
    src = tmp_path / "p"
    src.mkdir()
    (src / "contract.txt").write_bytes(b"pay 100 EUR to alice")
    out = tmp_path / "p.c11.zip"
    files.encrypt_paths([src], out, [bob.public, carol.public], alice)
    reader = B.BundleReader(open(out, "rb"))
    fk, _ = files.open_header(reader.header, [bob])
    entry = next(e for e in reader.read_manifest(fk) if e.type == "file")
    fake = io.BytesIO()
    stream.encrypt(
        B.entry_key(reader.header, fk, entry.id), io.BytesIO(b"pay 999 EUR to bob!!"), fake, reader.header.segment_size
    )
    members = {i.filename: reader.zf.read(i) for i in reader.zf.infolist()}
    members[f"e/{entry.id}"] = fake.getvalue()
    bad = tmp_path / "bad.c11.zip"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(BadSignatureError):
        files.decrypt_path(bad, tmp_path / "o", [carol])
    assert not (tmp_path / "o").exists()
    res = files.decrypt_path(out, tmp_path / "ok", [carol])
    assert res.info.content_signed and (tmp_path / "ok" / "contract.txt").read_bytes() == b"pay 100 EUR to alice"


def test_bundle_reshare_and_rotation_keep_signatures(tmp_path, alice, bob, carol):
    src = tmp_path / "p"
    src.mkdir()
    (src / "a.txt").write_bytes(b"A" * 70_000)
    out = tmp_path / "p.c11.zip"
    files.encrypt_paths([src], out, [bob.public], alice)
    files.reencrypt(out, bob, add=[carol.public])
    info = files.decrypt_path(out, tmp_path / "r1", [carol]).info
    assert (info.author, info.resharer, info.content_signed) == ("alice@example.com", "bob@example.com", True)
    files.reencrypt(out, carol, rotate=True)
    info = files.decrypt_path(out, tmp_path / "r2", [bob]).info
    assert (info.author, info.rotated, info.resharer) == ("carol@example.com", True, None)
    assert (tmp_path / "r2" / "a.txt").read_bytes() == b"A" * 70_000


def test_in_document_part_forgery_fails(alice, bob, carol):
    env = P.seal([P.Part("p1", b"salary: 100", b"[protected]")], [bob.public, carol.public], alice, note="HR")
    assert P.open_parts(env, [carol]).senders[0]["content_signed"]
    forged = P.Envelope.from_json(env.to_json())
    fk, _ = files.open_header(forged.headers[0], [bob])
    key = ks.derive(fk, forged.headers[0].nonce, P.PART_LABEL)
    part = forged.parts[0]
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    part.ciphertext = AESGCM(key).encrypt(
        part.nonce, b"salary: 999", P._aad(forged.doc_id, part.location, part.placeholder_sha256, forged.note)
    )
    with pytest.raises(BadSignatureError):
        P.open_parts(P.Envelope.from_json(forged.to_json()), [carol])
    assert not P.Envelope.from_json(forged.to_json()).recipients()[0]["content_signed"]
    # re-sharing keeps the author's signature and names the re-sharer
    reshared = P.reencrypt(P.Envelope.from_json(env.to_json()), bob, add=[alice.public])
    opened = P.open_parts(P.Envelope.from_json(reshared.to_json()), [carol])
    assert opened.plaintexts == {"p1": b"salary: 100"}
    assert opened.senders[0]["author"] == "alice@example.com" and opened.senders[0]["resharer"] == "bob@example.com"


def test_version_1_file_opens_and_says_content_not_signed(tmp_path):
    """A committed version 1 vector: it opens, and a co-recipient's replacement opens too — which is why c11
    marks such files as content not signed."""
    from c11.keys import keyfile

    bob = keyfile.load(VECTORS / "keys" / "bob.key").unlock()
    blob = (VECTORS / "files" / "v1" / "hello-x25519.c11").read_bytes()
    r = files.decrypt_bytes(blob, [bob])
    assert r.info.version == 1 and not r.info.content_signed and r.info.author is None
    h, raw = read_header(io.BytesIO(blob))
    fk = envelope.unwrap(h, [bob])
    out = io.BytesIO()
    stream.encrypt(envelope.payload_key(h, fk), io.BytesIO(b"Hello, c12!\n"), out, h.segment_size)
    forged = files.decrypt_bytes(raw + out.getvalue(), [bob])
    assert forged.plaintext == b"Hello, c12!\n" and not forged.info.content_signed
    assert json.loads(json.dumps(forged.info.to_dict()))["content_signed"] is False


def test_version_1_reshare_stays_v1_and_rotation_upgrades(tmp_path, carol):
    from c11.keys import keyfile

    bob = keyfile.load(VECTORS / "keys" / "bob.key").unlock()
    p = tmp_path / "v1.c11"
    p.write_bytes((VECTORS / "files" / "v1" / "hello-x25519.c11").read_bytes())
    files.reencrypt(p, bob, add=[carol.public])
    got = files.decrypt_bytes(p.read_bytes(), [carol])
    assert got.info.version == 1 and not got.info.content_signed and got.plaintext == b"Hello, c11!\n"
    files.reencrypt(p, bob, rotate=True)
    got = files.decrypt_bytes(p.read_bytes(), [carol])
    assert got.info.version == 2 and got.info.content_signed and got.info.rotated and got.info.author == bob.label


_FILES = json.loads((VECTORS / "files.json").read_text())


@functools.cache
def _identity(name):
    from c11.keys import keyfile

    return keyfile.load(VECTORS / "keys" / name).unlock(_FILES["passphrases"].get(name))  # scrypt once per key


@pytest.mark.parametrize("case", _FILES["cases"], ids=[c["file"] for c in _FILES["cases"]])
def test_file_vectors_through_a_pipe(case):
    """The streaming reader (non-seekable input) reaches the same verdict as the seeking one on every vector."""
    from c11 import errors

    ids = [_identity(n) for n in case["identities"]]
    src = io.BufferedReader(Pipe((VECTORS / case["file"]).read_bytes()))
    out = io.BytesIO()
    if case["expect"] == "ok":
        files.decrypt(src, out, ids)
        assert hashlib.sha256(out.getvalue()).hexdigest() == case["plaintext_sha256"]
    else:
        with pytest.raises(getattr(errors, case["expect"])):
            files.decrypt(src, out, ids)


def test_a_forgery_is_not_passed_on_by_resharing_or_rotation(shared, alice, bob, carol, tmp_path):
    p = tmp_path / "f.c11"
    p.write_bytes(forge(shared, bob, b"pay 999 EUR to bob!!" * 5000))
    before = p.read_bytes()
    for kw in ({"add": [alice.public]}, {"rotate": True}):
        with pytest.raises(BadSignatureError):
            files.reencrypt(p, carol, **kw)
        assert p.read_bytes() == before


def test_version_1_bundle_and_parts_open_as_not_signed(tmp_path):
    """Emulated version 1 bundle and in-document envelope (tests/vectors/files/v1/) still open."""
    bob = _identity("bob.key")
    res = files.decrypt_path(VECTORS / "files" / "v1" / "bundle.c11.zip", tmp_path / "b", [bob])
    assert res.info.version == 1 and not res.info.content_signed and res.info.sender == "alice@example.com"
    assert (tmp_path / "b" / "sub" / "b.txt").read_bytes() == b"bravo\n" * 300
    assert files.inspect(VECTORS / "files" / "v1" / "bundle.c11.zip").content_signed is False
    env = P.Envelope.from_json((VECTORS / "files" / "v1" / "parts.json").read_bytes())
    opened = P.open_parts(env, [bob])
    assert opened.plaintexts == {"p1": b"salary: 100"} and opened.senders[0]["content_signed"] is False
    assert json.loads(env.to_json())["format"] == "c11-parts/v1"
