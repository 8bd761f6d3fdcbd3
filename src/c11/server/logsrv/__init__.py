"""The log server: the append-only Merkle log of key registrations and other metadata (SPEC F15).

`service` appends and proves, `router` is its public HTTP API, `models` its tables. See docs/registry.md.
"""
