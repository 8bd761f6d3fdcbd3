"""c11: end-to-end protection of documents. The SDK in one page:

* `c11.files` — whole files, folders (bundles) and messages: `encrypt_paths`, `decrypt_path`, `encrypt_bytes`,
  `decrypt_bytes`, `encrypt_message`, `decrypt_message`, `inspect`, `reencrypt`; results `FileInfo`, `Result`.
* `c11.documents` — parts of a Word, Excel, PDF, image, JSON... document: `protect`, `unprotect`, `inspect`,
  `reencrypt`; results `UnprotectResult`, `DocumentInfo`.
* `c11.Client` — the servers (accounts, registry, key server, organizations, groups); `c11.online` for files a
  key server must release, `c11.client.sending` for what a sender's organization adds to every item.
* `c11.keys` (identities, public keys, key files) and `c11.errors` (one base class, `C11Error`).

Decryption takes what it may use as one list: identities, identity sources (group keys) and a key server's
release (`c11.online.releasing`). Imports are lazy: `import c11` loads no HTTP or server code.

    >>> import c11
    >>> from c11 import files
    >>> from c11.keys import Identity
    >>> me, bob = Identity.generate("me@example.com"), Identity.generate("bob@example.com")
    >>> block = files.encrypt_message("meet at 5", [bob.public], me)
    >>> text, info = files.decrypt_message(block, [bob])
    >>> text, info.sender, info.content_signed
    ('meet at 5', 'me@example.com', True)
    >>> c11.Client.__name__, c11.documents.__name__   # loaded on first use
    ('Client', 'c11.documents')
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs more than the rest of `c11 --help`
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
__all__ = ["Client", "__version__", "documents", "errors", "files", "keys", "online"]
_MODULES = frozenset({"documents", "errors", "files", "keys", "online"})


def __getattr__(name: str) -> Any:
    """`c11.Client` and the SDK's entry modules, imported on first use."""
    if name == "Client":
        from c11.client import Client

        return Client
    if name in _MODULES:
        import importlib

        return importlib.import_module(f"c11.{name}")
    raise AttributeError(f"module 'c11' has no attribute {name!r}")
