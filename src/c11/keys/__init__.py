"""Identities (private keys), public keys and key files.

`Identity` signs and unwraps; `PublicKey` is what others encrypt to; `keyfile` stores identities.
"""

from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey, parse_recipients

__all__ = ["Identity", "PublicKey", "parse_recipients"]
