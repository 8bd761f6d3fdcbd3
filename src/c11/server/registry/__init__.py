"""The public key registry (docs/registry.md §2): publish with proof of possession, verified lookups, history.

Every change is logged through `c11.server.logsrv`. See docs/registry.md.
"""
