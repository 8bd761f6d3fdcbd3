"""Real storage servers for the protector tests, each started on free loopback ports in a temporary folder and
stopped by its own process id: SeaweedFS (S3), Samba (SMB), Azurite (Azure Blob), gcp-storage-emulator (GCS)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    """A helper module of another test folder (tests/sharing/weedkit.py), loaded once by its path."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: SeaweedFS with S3 identities (one access key and secret), from the sharing tests
weedkit = _load("weedkit", TESTS / "sharing" / "weedkit.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(proc: subprocess.Popen[bytes], port: int, log: Path, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"{what} did not start in {timeout:.0f} s: {log.read_text(errors='replace')[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a server this module started (its own process id), then reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class GCS:
    """gcp-storage-emulator on loopback (in memory), with one bucket made for the tests."""

    endpoint: str
    bucket: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop(self.proc)


def start_gcs(tmp: Path) -> GCS:
    exe = Path(sys.executable).parent / "gcp-storage-emulator"
    port = free_port()
    log = tmp / "gcs.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(exe),
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--in-memory",
                "--default-bucket",
                "c11-gcs",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    _wait_port(proc, port, log, "gcp-storage-emulator")
    return GCS(f"http://127.0.0.1:{port}", "c11-gcs", proc)


@dataclass
class Samba:
    """A private smbd (Debian's samba) on a loopback port: share `c11` at `root`, one user with a password."""

    port: int
    share: str
    root: Path
    username: str
    password: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop(self.proc)


def start_samba(tmp: Path) -> Samba:
    """Write an smb.conf of its own (own passdb, state and lock folders: nothing of the machine's Samba is used),
    add the user with `smbpasswd`, start `smbd -F` and wait for its port. The Samba account is the current Unix
    user (smbd maps every session to a Unix account; the tests run as root in CI)."""
    import getpass

    smbd = shutil.which("smbd") or "/usr/sbin/smbd"
    smbpasswd = shutil.which("smbpasswd") or "/usr/bin/smbpasswd"
    if not Path(smbd).exists():
        raise RuntimeError("Samba is not installed: apt-get install samba (deps/apt.txt; python3 dev.py setup)")
    user, password, port = getpass.getuser(), "c11-Smb-" + os.urandom(6).hex(), free_port()
    for d in ("private", "lock", "state", "cache", "pid", "ncalrpc", "share"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    conf = tmp / "smb.conf"
    conf.write_text(
        f"""[global]
  server role = standalone server
  smb ports = {port}
  bind interfaces only = yes
  interfaces = 127.0.0.1
  private dir = {tmp}/private
  lock directory = {tmp}/lock
  state directory = {tmp}/state
  cache directory = {tmp}/cache
  pid directory = {tmp}/pid
  ncalrpc dir = {tmp}/ncalrpc
  log file = {tmp}/log.%m
  passdb backend = tdbsam:{tmp}/private/passdb.tdb
  map to guest = never
  load printers = no
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2_10
  registry shares = no
[c11]
  path = {tmp}/share
  read only = no
  valid users = {user}
"""
    )
    added = subprocess.run(
        [smbpasswd, "-c", str(conf), "-s", "-a", user],
        input=f"{password}\n{password}\n".encode(),
        capture_output=True,
        timeout=60,
    )
    if added.returncode != 0:
        raise RuntimeError(f"smbpasswd failed: {added.stderr.decode(errors='replace')[-500:]}")
    log = tmp / "smbd.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [smbd, "-F", "--no-process-group", "--debug-stdout", "-s", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp,
            process_group=0,  # smbd signals its whole process group when it stops: not pytest's
        )
    _wait_port(proc, port, log, "smbd")
    return Samba(port, "c11", tmp / "share", user, password, proc)


@dataclass
class Azurite:
    """Azurite's blob service (npm, deps/npm) on loopback, in memory, with one account of its own and a
    container made for the tests; shared-key auth with `key`."""

    endpoint: str
    account: str
    key: str
    container: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop(self.proc)


def start_azurite(tmp: Path) -> Azurite:
    import base64

    exe = TESTS.parent / "deps" / "npm" / "node_modules" / ".bin" / "azurite-blob"
    if not exe.exists():
        raise RuntimeError("Azurite is not installed: python3 dev.py setup (npm ci in deps/npm)")
    account, key = "c11acct", base64.b64encode(os.urandom(32)).decode()
    port = free_port()
    log = tmp / "azurite.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(exe),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--silent",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp,
            env={**os.environ, "AZURITE_ACCOUNTS": f"{account}:{key}"},
        )
    _wait_port(proc, port, log, "Azurite")
    az = Azurite(f"http://127.0.0.1:{port}/{account}", account, key, "c11-test", proc)
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient(az.endpoint, credential={"account_name": account, "account_key": key}) as svc:
        svc.create_container(az.container)
    return az
