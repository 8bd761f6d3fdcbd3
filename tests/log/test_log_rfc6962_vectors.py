"""RFC 6962 / RFC 9162 proof vectors from transparency-dev/merkle, one test case per vector file.

The vectors are committed in ``tests/vectors/merkle-rfc6962/`` (Apache-2.0, origin in its README).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from c11.errors import ProofError
from c11.log.merkle import verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle-rfc6962"


def _cases(kind: str) -> list[Path]:
    """Every vector file of one kind (inclusion or consistency), sorted."""
    return sorted((VECTORS / kind).rglob("*.json"))


def _b64(value: str | None) -> bytes:
    """Decode a base64 hash as the Go tests do (null is an empty slice)."""
    return base64.b64decode(value) if value is not None else b""


def _proof(value: list[str] | None) -> list[bytes]:
    """Decode a proof (null is an empty proof)."""
    return [_b64(h) for h in value or []]


def _id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def test_vectors_are_present() -> None:
    assert (VECTORS / "LICENSE").is_file() and (VECTORS / "README.md").is_file()
    assert len(_cases("inclusion")) >= 50
    assert len(_cases("consistency")) >= 90


@pytest.mark.parametrize("path", _cases("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v["proof"]), _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _cases("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["size1"], v["size2"], _proof(v["proof"]), _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)
