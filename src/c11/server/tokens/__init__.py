"""Machine tokens (docs/server.md): long-lived, scoped, revocable credentials for the CLI and SDK in automation.

Only SHA-256 hashes are stored; the token itself is shown once, when it is created.
"""
