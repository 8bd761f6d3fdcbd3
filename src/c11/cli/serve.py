"""`c11 serve`: run the c11 server (accounts, tokens, ...) on uvicorn.

With no arguments it uses SQLite and folders under the user's data directory: nothing else to set up.
"""

from __future__ import annotations

import errno
import socket

import click

from c11.errors import ConfigError
from c11.server.config import settings_help

_EPILOG = (
    "\b\nConfiguration (environment variables; the same keys, lower case, in a TOML --config file):\n"
    + "\n".join(settings_help().splitlines())
)


@click.command("serve", epilog=_EPILOG, context_settings={"max_content_width": 200})
@click.option("--host", default=None, help="Address to listen on [C11_HOST, default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [C11_PORT, default 8000].")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data folder [C11_DATA_DIR].")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML configuration file [C11_CONFIG_FILE].",
)
@click.option("--no-migrate", is_flag=True, default=False, help="Do not apply database migrations at start.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the port and the database (use 2 or more in production).",
)
def serve(
    host: str | None, port: int | None, data_dir: str | None, config_file: str | None, no_migrate: bool, workers: int
) -> None:
    """Run the c11 server."""
    import os

    import uvicorn

    from c11.server._http import LimitedHttpToolsProtocol
    from c11.server.app import create_app, tune_process
    from c11.server.config import load_config
    from c11.server.logs import configure

    config = load_config(
        {
            "host": host,
            "port": port,
            "data_dir": data_dir,
            "config_file": config_file,
            "migrate": False if no_migrate else None,
        }
    )
    sock = _listen(config.host, config.port)  # first: a busy port fails before keys, migrations or mail
    app = create_app(config)
    with app.state.ctx.db.engine.connect():  # fail here, in one line, if the database is unreachable
        pass
    click.echo(
        f"c11: serving on http://{config.host}:{config.port} with {workers} process(es) "
        f"(data: {config.data_dir}, database: {_redact(config.database_url)})",
        err=True,
    )
    configure(config.log_level)
    if workers == 1:
        tune_process()
        uv = uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level=config.log_level,
            proxy_headers=False,
            server_header=False,
            http=LimitedHttpToolsProtocol,  # request head limits, slow-client timeout
        )
        uvicorn.Server(uv).run(sockets=[sock])
        return
    # Several processes: do the first start (migrations, keys made once) here, then let each worker
    # build the same app from the same settings, passed as C11_* variables.
    import asyncio

    async def first_start() -> None:
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(first_start())
    os.environ.update(
        C11_HOST=config.host,
        C11_PORT=str(config.port),
        C11_DATA_DIR=str(config.data_dir),
        C11_DATABASE_URL=config.database_url,
        C11_MIGRATE="false",
    )
    if config_file:
        os.environ["C11_CONFIG_FILE"] = config_file
    import shutil
    import tempfile

    # each worker writes its metrics here, so that /metrics on any worker reports all (docs/server.md)
    metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="c11-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from uvicorn.supervisors import Multiprocess

    uv = uvicorn.Config(
        "c11.server.app:from_environment",
        factory=True,
        workers=workers,
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        proxy_headers=False,
        server_header=False,
        http=LimitedHttpToolsProtocol,
    )
    try:
        Multiprocess(uv, sockets=[sock]).run()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port for uvicorn to serve on; ConfigError in one line if it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: restart over TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use (another c11 serve?): "
                "stop it or choose another port with --port or C11_PORT"
            ) from None
        raise ConfigError(
            f"cannot listen on {host}:{port}: {e.strerror or e} (check --host/C11_HOST and --port/C11_PORT)"
        ) from None
    sock.set_inheritable(True)  # the worker processes of --workers serve on it too
    return sock


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
