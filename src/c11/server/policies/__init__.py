"""Encryption policies (docs/registry.md §3): recent recipient sets, offered again."""
