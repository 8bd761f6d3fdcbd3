"""c11: end-to-end protection of documents.

The public API lives in a few modules: `c11.errors` (typed errors), `c11.keys` (identities and
public keys), `c11.files` (encrypt, decrypt, inspect, re-encrypt files, bundles and messages) and
`c11.Client` (the server side: accounts, tokens, registry). Imports are lazy to keep start-up fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from c11.client import Client

        return Client
    raise AttributeError(f"module 'c11' has no attribute {name!r}")
