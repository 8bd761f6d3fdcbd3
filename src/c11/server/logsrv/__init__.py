"""The log server: the append-only Merkle log of key registrations and other metadata (docs/log.md).

`service` appends and proves, `router` is its public HTTP API, `models` its tables. See docs/registry.md.
"""
