"""The committed group key envelope vectors (tests/vectors/groups, docs/format.md §12) and the envelope's
own checks: the plaintext encoding is exact, each stored wrap opens to the recorded group key or fails with
the recorded error."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from c11 import errors, files, groupkey
from c11.groupkey import GroupKeyRef
from c11.keys import keyfile
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

HERE = Path(__file__).resolve().parents[1] / "vectors" / "groups"
VECTORS = json.loads((HERE / "groups.json").read_text())


def _member() -> Identity:
    return keyfile.load(HERE / VECTORS["member_key"]).unlock()


def test_plaintext_is_the_exact_encoding():
    g = VECTORS["group"]
    group = Identity("group:finance", "mlkem768x25519", bytes.fromhex(g["enc_seed"]), bytes.fromhex(g["sig_seed"]))
    assert group.public.line() == g["public"] and group.fingerprint == g["fingerprint"]
    assert groupkey.encode(group, GroupKeyRef(**VECTORS["ref"])).decode("ascii") == VECTORS["plaintext"]
    doc = json.loads(VECTORS["plaintext"])
    assert set(doc) == {"format", "group", "org", "public", "seeds", "version"}
    assert base64.b64decode(doc["seeds"]) == group.enc_seed + group.sig_seed


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_wrap_vectors(case):
    ref = GroupKeyRef(**case["ref"])
    expected = PublicKey.parse(VECTORS["group"]["public"])
    if case["expect"] == "ok":
        ident = groupkey.unwrap(case["wrapped"], ref, [_member()], expected)
        assert ident.public.line() == VECTORS["group"]["public"] and ident.label == "group:finance"
        info = files.inspect(io.BytesIO(base64.b64decode(case["wrapped"])))
        assert info.sender_fingerprint == VECTORS["wrapper_signing_fingerprint"] and info.signature_valid
        assert [r["fingerprint"] for r in info.recipients] == [_member().fingerprint]
    else:
        with pytest.raises(getattr(errors, case["expect"])):
            groupkey.unwrap(case["wrapped"], ref, [_member()], expected)


def test_wrap_round_trip_and_served_key_check():
    member, wrapper = Identity.generate("m@example.com"), Identity.generate("a@example.com")
    group = groupkey.generate("ops")
    ref = GroupKeyRef("org", "ops", 1)
    wrapped = groupkey.wrap(group, ref, member.public, wrapper)
    assert groupkey.unwrap(wrapped, ref, [member], group.public).public == group.public
    with pytest.raises(errors.FormatError):  # the server served another key for this version
        groupkey.unwrap(wrapped, ref, [member], groupkey.generate("ops").public)
    with pytest.raises(errors.FormatError):
        groupkey.unwrap("not base64!", ref, [member])
    # a file to the group is an ordinary recipient stanza: the unwrapped identity opens it
    blob = files.encrypt_bytes(b"to the group", [group.public], wrapper, include_sender=False)
    opened = groupkey.unwrap(wrapped, ref, [member])
    assert files.decrypt_bytes(blob, [opened]).plaintext == b"to the group"


def test_identity_source_hook_is_used_only_when_needed():
    """An `envelope.IdentitySource` passed with the identities: asked only when none of the caller's keys is a
    recipient, once."""
    from c11.format.envelope import IdentitySource

    me, group = Identity.generate("me@example.com"), groupkey.generate("g")
    sender = Identity.generate("s@example.com")
    calls: list[list[bytes]] = []

    class Source(IdentitySource):
        def identities_for(self, header, wanted):
            calls.append(wanted)
            return [group]

    mine = files.encrypt_bytes(b"mine", [me.public], sender, include_sender=False)
    to_group = files.encrypt_bytes(b"group", [group.public], sender, include_sender=False)
    assert files.decrypt_bytes(mine, [me, Source()]).plaintext == b"mine"
    assert calls == []
    assert files.decrypt_bytes(to_group, [me, Source()]).plaintext == b"group"
    assert calls == [[group.public.key_id]]
    with pytest.raises(errors.NoMatchingKeyError):
        files.decrypt_bytes(to_group, [me])


def test_document_reencrypt_opens_with_what_it_is_given(tmp_path):
    """`c11.documents.reencrypt(using=...)`: a document for a group is re-shared by a member through the group
    key an identity source gives; without it, the member is not a recipient."""
    import json

    from c11 import documents
    from c11.format.envelope import IdentitySource

    me, bob, sender, group = (
        Identity.generate("me@example.com"),
        Identity.generate("bob@example.com"),
        Identity.generate("s@example.com"),
        groupkey.generate("g"),
    )

    class Source(IdentitySource):
        def identities_for(self, header, wanted):
            return [group] if group.public.key_id in wanted else []

    path = tmp_path / "record.json"
    path.write_text(json.dumps({"name": "Ada", "ssn": "078-05-1120"}))
    documents.protect(path, ["key:ssn"], [group.public], sender, output=path, force=True)
    with pytest.raises(errors.NoMatchingKeyError):
        documents.reencrypt(path, me, add=[bob.public])
    info = documents.reencrypt(path, me, add=[bob.public], using=[Source()])
    assert bob.public.fingerprint in {r["fingerprint"] for g in info.groups for r in g["recipients"]}
    assert json.loads(documents.unprotect(path, [bob]).data)["ssn"] == "078-05-1120"
