"""The soak's deployment (bench/soak.py): a private PostgreSQL cluster, `c11 serve` replicas on it, a shard
store, HAProxy health-checking the replicas on /readyz, and an aiosmtpd SMTP sink that counts what arrives.

Every part is a real process on loopback (the sink is a thread of the calling process), in one temporary folder,
and can be killed, stopped and started again. The shared PostgreSQL on 5432 is never touched.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _bench import ROOT, free_port

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _wait_http(url: str, proc: subprocess.Popen | None, timeout: float, what: str) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer 200 at {url} within {timeout} s")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temporary folder, pg_ctl on a free port, trust auth)."""

    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def bin(self) -> Path:
        if not PG_BIN:
            raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (Debian: postgresql)")
        return PG_BIN[-1].parent

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> None:
        r = subprocess.run([*_as_postgres(), *args], capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {r.stderr.strip() or r.stdout.strip()}")

    def init(self) -> None:
        self.folder.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            os.chmod(self.folder.parent, 0o755)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        conf = self.folder / "data" / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
                "max_connections = 300\nshared_buffers = 64MB\nfsync = on\nsynchronous_commit = on\n"
            )
        self.start()

    def _ctl(self, action: str, *extra: str) -> None:
        log = self.folder / "pg.log"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-l", str(log), "-w", action, *extra)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """A fast restart: open connections are cut, in-flight transactions roll back."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if (self.folder / "data" / "postmaster.pid").exists():
            self._ctl("stop", "-m", "fast")


class SmtpSink:
    """An aiosmtpd server that keeps every message it accepts (in order) and writes it to `folder`; stop() and
    start() it again on the same port to simulate an outage."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.messages: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # aiosmtpd's hook
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            n = len(self.messages)
            self.messages.append(
                {
                    "message_id": str(msg.get("Message-ID", "")),
                    "outbox_id": str(msg.get("X-C11-Outbox-Id", "")),
                    "to": ",".join(envelope.rcpt_tos),
                }
            )
            (self.folder / f"{n:06d}.eml").write_bytes(envelope.content)
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None


@dataclass
class Replica:
    """One `c11 serve` process; `kill()` is SIGKILL, `start()` starts it again on the same port."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 300) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "c11.cli.main", "serve"], env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        _wait_http(f"http://127.0.0.1:{self.port}/readyz", self.proc, timeout, f"replica {self.name}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


HAPROXY_CFG = """\
global
    log stdout format iso local0
    maxconn 1024

defaults
    mode http
    log global
    option dontlognull
    timeout connect 2s
    timeout check 5s
    timeout client 60s
    timeout server 60s
    # longer than a client's own idle limit (httpx: 5 s), so a client never reuses a connection being closed
    timeout http-keep-alive 30s
    retries 3
    option redispatch 1
    # connection accepted (ms), backend/server, status, termination state, active time (ms), method, path,
    # handshake and idle time before this request (ms): on a kept-alive connection the request starts at
    # accept + %Th + %Ti, not at the accept
    log-format "R %Ts.%ms %s %ST %tsc %Ta %HM %HP %Th %Ti"

frontend c11
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 3 rise 2
{servers}
"""


@dataclass
class HAProxy:
    """HAProxy (Debian's) in front of the replicas, logging every request and health change to `log`."""

    folder: Path
    backends: list[tuple[str, int]]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "haproxy.log"

    def start(self) -> None:
        exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(exe).exists():
            raise RuntimeError("haproxy is not installed (Debian package haproxy, listed in deps/apt.txt)")
        servers = "\n".join(f"    server {name} 127.0.0.1:{port} check" for name, port in self.backends)
        cfg = self.folder / "haproxy.cfg"
        cfg.write_text(HAPROXY_CFG.format(port=self.port, servers=servers))
        out = self.log.open("ab")
        self.proc = subprocess.Popen([exe, "-db", "-f", str(cfg)], stdout=out, stderr=subprocess.STDOUT)
        out.close()
        _wait_http(f"{self.url}/readyz", self.proc, 120, "haproxy")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@dataclass
class ShardStore:
    """A `c11 shard-store serve` process trusting the c11 server behind HAProxy."""

    folder: Path
    server_url: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        out = (self.folder.parent / "shard-store.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "c11.cli.main",
                "shard-store",
                "serve",
                "--server",
                self.server_url,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.folder),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        _wait_http(f"{self.url}/healthz", self.proc, 300, "shard store")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def replica_env(data_dir: Path, database_url: str, port: int, public_url: str, smtp_port: int, store: str) -> dict:
    """The environment of one replica: shared data folder (keys) and database, SMTP to the sink."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("C11_")},
        "PYTHONPATH": str(ROOT / "src"),
        "C11_DATA_DIR": str(data_dir),
        "C11_DATABASE_URL": database_url,
        "C11_HOST": "127.0.0.1",
        "C11_PORT": str(port),
        "C11_PUBLIC_URL": public_url,
        "C11_TRUSTED_PROXIES": "127.0.0.1/32",
        "C11_LOG_LEVEL": "warning",
        "C11_MAIL_TRANSPORT": "smtp",
        "C11_SMTP_HOST": "127.0.0.1",
        "C11_SMTP_PORT": str(smtp_port),
        "C11_SMTP_SECURITY": "none",
        "C11_SMTP_TIMEOUT": "5",
        "C11_SHARD_STORES": store,
    }
