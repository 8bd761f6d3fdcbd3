"""The c11 transparency log: RFC 9162 Merkle trees, proofs, and C2SP signed checkpoints.

See docs/log.md for the exact formats; ``merkle`` and ``checkpoint`` hold the public API.
"""

from __future__ import annotations

from c11.log.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    generate_log_key,
    open_checkpoint,
    sign_checkpoint,
    verify_checkpoint_consistency,
    verify_checkpoint_inclusion,
)
from c11.log.merkle import (
    EMPTY_ROOT,
    HashStore,
    MemoryHashStore,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "HashStore",
    "MemoryHashStore",
    "MerkleTree",
    "NoteSigner",
    "NoteVerifier",
    "generate_log_key",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "root_from_leaves",
    "sign_checkpoint",
    "verify_checkpoint_consistency",
    "verify_checkpoint_inclusion",
    "verify_consistency",
    "verify_inclusion",
]
