"""Helpers of the shard tests: a c11 server and its shard stores on loopback (stores as real `c11 shard-store
serve` processes, or in a thread when a test needs to reach into one), users with verified emails."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import accountkit
import httpx
from srvkit import PASSWORD, RunningServer, cli_env, db_from_template, loopback_socket, serve_in_thread, server_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StoreProcess:
    """A `c11 shard-store serve` subprocess."""

    url: str
    data_dir: Path
    proc: subprocess.Popen[str]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class StoreThread:
    """A shard store app in a thread of the test process (its `app.state.store` is reachable)."""

    url: str
    data_dir: Path
    app: Any
    _server: Any
    _thread: Any

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_store_process(server_url: str, data_dir: Path, port: int | None = None) -> StoreProcess:
    port = port or free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "c11.cli.main",
            "shard-store",
            "serve",
            "--server",
            server_url,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
        ],
        env=cli_env(data_dir / "cfg"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return StoreProcess(url, data_dir, proc)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"shard store did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)


def start_store_thread(server_url: str, data_dir: Path, sock: socket.socket | None = None) -> StoreThread:
    from c11.shardstore.app import create_app
    from c11.shardstore.config import StoreConfig

    sock = sock or loopback_socket()
    port = sock.getsockname()[1]
    app = create_app(StoreConfig(data_dir=data_dir, server=server_url, port=port))
    server, thread = serve_in_thread(app, sock)
    return StoreThread(f"http://127.0.0.1:{port}", data_dir, app, server, thread)


@dataclass
class ShardEnv:
    """A c11 server and the shard stores it announces."""

    server: RunningServer
    stores: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for s in self.stores:
            s.stop()
        self.server.stop()


def start_env(tmp: Path, database_url: str, backend: str, stores: int = 1, threads: bool = False) -> ShardEnv:
    """A server on a pre-bound port whose C11_SHARD_STORES lists `stores` stores, and those stores."""
    from c11.server.app import create_app

    sock = loopback_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    store_socks = [loopback_socket() for _ in range(stores)] if threads else []
    store_ports = [s.getsockname()[1] for s in store_socks] or [free_port() for _ in range(stores)]
    config = replace(
        server_config(
            tmp / "server", database_url, shard_stores=",".join(f"http://127.0.0.1:{p}" for p in store_ports)
        ),
        port=port,
    )
    db_from_template(database_url)  # a new database starts migrated (a copy of a template; srvkit)
    server, thread = serve_in_thread(create_app(config), sock)
    env = ShardEnv(RunningServer(url, config, backend, server, thread))
    for n, p in enumerate(store_ports):
        if threads:
            env.stores.append(start_store_thread(url, tmp / f"store{n}", store_socks[n]))
        else:
            env.stores.append(start_store_process(url, tmp / f"store{n}", p))
    return env


def verified_user(server: RunningServer, tag: str = "user", password: str = PASSWORD) -> dict[str, str]:
    """A signed-up user whose email is verified, with a login token."""
    account = accountkit.signup(server, tag, password=password, login=True)
    return {"email": account.email, "password": password, "token": account.token}
