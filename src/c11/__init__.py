"""c11: end-to-end protection of documents.

The public API lives in a few modules: `c11.errors` (typed errors), `c11.keys` (identities and
public keys), `c11.protect` (encrypt, decrypt, inspect, re-encrypt files, bundles and messages).
"""

__version__ = "0.1.0"
