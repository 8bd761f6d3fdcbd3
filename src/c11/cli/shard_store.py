"""`c11 shard-store serve`: run a shard store that keeps one shard of each cloud-stored key (docs/shards.md)."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.group("shard-store")
def shard_store() -> None:
    """A shard store: keeps one shard of each cloud-stored key, for the users of one c11 server.

    Run it apart from the c11 server (ideally another operator, another machine), then list its URL in the
    server's C11_SHARD_STORES.
    """


@shard_store.command("serve")
@click.option(
    "--server",
    required=True,
    envvar="C11_SHARD_STORE_SERVER",
    help="URL of the c11 server whose store tokens this store trusts [C11_SHARD_STORE_SERVER].",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="C11_SHARD_STORE_HOST", help="Address to listen on."
)
@click.option(
    "--port", default=8100, show_default=True, type=int, envvar="C11_SHARD_STORE_PORT", help="TCP port to listen on."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="C11_SHARD_STORE_DATA_DIR",
    help="Folder of the store's SQLite database and pinned server key [default: $XDG_DATA_HOME/c11-shard-store].",
)
@click.option(
    "--public-url",
    default=None,
    envvar="C11_SHARD_STORE_PUBLIC_URL",
    help="This store's URL as clients reach it (tokens name it). Default: http://HOST:PORT.",
)
@click.option(
    "--server-key",
    default=None,
    envvar="C11_SHARD_STORE_SERVER_KEY",
    help="Thumbprint (kid) of the server's token key to pin; default: trust the key announced at "
    "first use (GET /api/v1/shards/token-key).",
)
@click.option(
    "--oidc-issuer",
    default=None,
    envvar="C11_SHARD_STORE_OIDC_ISSUER",
    help="Identity provider of accounts without a password; this store checks their ID tokens itself.",
)
@click.option(
    "--oidc-client-id",
    default=None,
    envvar="C11_SHARD_STORE_OIDC_CLIENT_ID",
    help="This store's own client ID at that provider (not the c11 server's).",
)
@click.option("--log-level", default="info", show_default=True, help="debug, info, warning or error.")
def serve(
    server: str,
    host: str,
    port: int,
    data_dir: Path | None,
    public_url: str | None,
    server_key: str | None,
    oidc_issuer: str | None,
    oidc_client_id: str | None,
    log_level: str,
) -> None:
    """Serve the shard store until interrupted.

    \b
    Example:
      c11 shard-store serve --server https://c11.example.com --port 8100 --data-dir /var/lib/c11-shards
    The c11 server announces the store to clients: start it with C11_SHARD_STORES=<this store's URL>.
    With --oidc-issuer and --oidc-client-id, the client secret comes from C11_SHARD_STORE_OIDC_CLIENT_SECRET.
    """
    import uvicorn

    from c11.errors import ConfigError
    from c11.server.logs import configure
    from c11.shardstore.app import create_app
    from c11.shardstore.config import StoreConfig, default_data_dir

    try:
        if bool(oidc_issuer) != bool(oidc_client_id):
            raise ValueError("--oidc-issuer and --oidc-client-id go together")
        config = StoreConfig(
            data_dir=(data_dir or default_data_dir()).expanduser(),
            server=server,
            host=host,
            port=port,
            public_url=public_url or "",
            server_key=server_key,
            oidc_issuer=oidc_issuer or "",
            oidc_client_id=oidc_client_id or "",
            oidc_client_secret=os.environ.get("C11_SHARD_STORE_OIDC_CLIENT_SECRET", ""),
        )
        config.url, config.server_url  # noqa: B018 - both must be http(s) URLs
    except ValueError as e:
        raise ConfigError(str(e)) from None
    configure(log_level)
    click.echo(f"c11 shard store on {config.url}, trusting {config.server_url}, data in {config.data_dir}", err=True)
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level.lower())
