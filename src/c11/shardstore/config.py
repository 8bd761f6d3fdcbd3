"""Settings of a shard store: where it keeps its data, which c11 server it trusts, its own public URL."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from c11._web.shard_tokens import normalize_url


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "c11-shard-store"


@dataclass(frozen=True)
class StoreConfig:
    """`server`: the c11 server whose tokens this store trusts; `public_url`: this store's URL as clients
    and tokens name it (the audience); `server_key`: the thumbprint (kid) of the server's token key to pin
    (None: trust on first use); `session_ttl`: how long a session from a login here lasts; `oidc_*`: the
    store's own client registration at the identity provider of accounts without a password (docs/shards.md
    §8.5)."""

    data_dir: Path
    server: str
    host: str = "127.0.0.1"
    port: int = 8100
    public_url: str = ""
    server_key: str | None = None
    session_ttl: int = 30 * 86400  # seconds a store session (got by an OPAQUE login here) lasts
    oidc_issuer: str = ""  # the identity provider whose ID tokens log in accounts without a password
    oidc_client_id: str = ""  # this store's own registration there (the ID tokens' audience)
    oidc_client_secret: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        if self.public_url:
            return normalize_url(self.public_url)
        host = "localhost" if self.host in ("", "0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return normalize_url(f"http://{host}:{self.port}")

    @property
    def server_url(self) -> str:
        return normalize_url(self.server)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'shard-store.db'}"
