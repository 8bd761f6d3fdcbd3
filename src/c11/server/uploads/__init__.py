"""Resumable uploads of ciphertext (tus 1.0 core + creation + termination, docs/sharing.md) to the blob store."""
