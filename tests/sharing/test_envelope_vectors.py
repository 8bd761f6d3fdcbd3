"""The send envelope's committed vectors (tests/vectors/sharing/envelope.json, docs/sharing.md "The envelope"):
its exact bytes, the round trip, and the envelopes a receiver refuses (v1 without the signed link and version)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from c11.client.sharing import Envelope, EnvelopeFile
from c11.errors import FormatError

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "sharing" / "envelope.json").read_text())


def test_the_envelope_encodes_to_the_committed_bytes() -> None:
    d = VECTORS["envelope"]
    env = Envelope(
        [EnvelopeFile(**f) for f in d["files"]], d["message"], d["send"], d["kind"], d["version"], d["created"]
    )
    data = env.encode()
    assert data == VECTORS["encoded"].encode() and hashlib.sha256(data).hexdigest() == VECTORS["sha256"]
    assert Envelope.decode(data) == env


@pytest.mark.parametrize("case", VECTORS["refused"], ids=lambda c: c["why"])
def test_refused_envelopes(case: dict[str, object]) -> None:
    with pytest.raises(FormatError):
        Envelope.decode(json.dumps(case["envelope"]).encode())
