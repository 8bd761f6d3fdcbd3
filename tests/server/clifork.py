"""Run the real CLI (`python -m c11.cli.main ARGS`) as a fresh process without paying Python's imports each time.

The suite runs the CLI over a thousand times; each run spent most of its CPU importing cryptography, httpx, rich,
click... A fork server (one per test process, started on first use) imports those third-party packages once and
forks a child per run. The child is a new process: it takes the run's environment (replacing its own), working
folder and stdin/stdout/stderr, runs `c11.cli.main` as `__main__` exactly as `python -m` does, imports every c11
module itself (none is loaded before the fork: the server drops them after warming up), and exits as Python would
(atexit handlers, non-daemon threads, the exit status of SystemExit). `run()` answers as `subprocess.run` does.

Only runs that capture their output use it (`srvkit.run_cli`, tests/cli/test_scripts.py); runs that need a
terminal, a long-running `c11 serve` or Python's own start-up (tests/cli/test_optional_deps.py, the README test)
start a real interpreter, and so must a test that hides a third-party package from the CLI or changes what
Python reads at start-up (PYTHON* variables, the locale, TZ): those come from the fork server's start.
C11_TEST_CLI_FORK=0 makes `run()` start a real interpreter every time.
"""

from __future__ import annotations

import atexit
import gc
import io
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

#: CLI modules imported by the server to warm up the third-party packages they use (then c11 is dropped again).
_WARM = (
    "c11.cli.keygen",
    "c11.cli.encrypt",
    "c11.cli.decrypt",
    "c11.cli.inspect",
    "c11.cli.reencrypt",
    "c11.cli.protect",
    "c11.cli.account",
    "c11.cli.registry",
    "c11.cli.org",
    "c11.cli.keys",
    "c11.cli.send",
    "c11.cli.online",
    "c11.cli.invites",
)
#: third-party packages of the server-side commands (`c11 notify`, `c11 db`), imported by the server as they are.
_WARM_THIRD_PARTY = ("sqlalchemy.orm", "alembic.command", "psycopg")
_HEADER = struct.Struct("!I")


# --- the server (its own process: `python clifork.py SOCKET`) ------------------------------------------------


def _warm() -> None:
    import importlib

    for name in (*_WARM, *_WARM_THIRD_PARTY):
        try:
            importlib.import_module(name)
        except Exception:  # a module another helper is editing: its run imports it itself
            pass
    for name in [m for m in sys.modules if m == "c11" or m.startswith("c11.")]:
        del sys.modules[name]  # every run imports c11 fresh, as a new interpreter does
    gc.collect()  # and nothing of the dropped modules stays reachable (mapper registries and the like)
    gc.freeze()  # the children's collections leave the warm objects alone (no copy-on-write of their pages)


def _serve(path: str) -> None:
    _warm()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the children are reaped by the kernel; each reports its status
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(sys.stdin, selectors.EVENT_READ, "parent")  # EOF: the test process is gone
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            if key.data == "parent":
                if not os.read(sys.stdin.fileno(), 1024):
                    os._exit(0)
                continue
            conn, _ = listener.accept()
            head, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
            (size,) = _HEADER.unpack(head)
            body = b""
            while len(body) < size:
                chunk = conn.recv(size - len(body))
                if not chunk:
                    break
                body += chunk
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                sel.close()
                listener.close()
                _child(conn, json.loads(body), fds)
            conn.close()
            for fd in fds:
                os.close(fd)


def _child(conn: socket.socket, req: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become the requested run, then report pid and exit status on `conn`."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        # the search path of `python -m`: the working folder first, then PYTHONPATH, then the interpreter's own
        extra = [p for p in req["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [os.getcwd(), *extra, *sys.path[1:]]
        conn.sendall(f"{os.getpid()}\n".encode())
        sys.argv = ["c11", *req["args"]]
        code = _run_main()
    finally:
        try:
            conn.sendall(f"{code}\n".encode())
        finally:
            os._exit(code)


def _run_main() -> int:
    """`python -m c11.cli.main`, then the interpreter's own shutdown; the exit status Python would give."""
    import runpy
    import traceback

    try:
        runpy.run_module("c11.cli.main", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code & 0xFF
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # as Py_Finalize: wait for non-daemon threads
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = 120  # as Python when flushing stdout fails at exit
    return code


# --- the client (in the test process) --------------------------------------------------------------------------


class _Server:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="c11-clifork-")
        self.path = str(Path(self.dir) / "s")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, self.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("C11_")},
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("the CLI fork server did not start")
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


_lock = threading.Lock()
_servers: dict[int, _Server] = {}  # per process id: a forked test process starts its own


def _server() -> _Server:
    with _lock:
        found = _servers.get(os.getpid())
        if found is None or found.proc.poll() is not None:
            found = _servers[os.getpid()] = _Server()
        return found


def _fd_of(value: Any, tmp: list[IO[bytes]], data: bytes | None = None) -> int:
    if data is not None:
        f = tempfile.TemporaryFile()
        f.write(data)
        f.seek(0)
        tmp.append(f)
        return f.fileno()
    if value is None or value == subprocess.DEVNULL:
        f = open(os.devnull, "rb")  # noqa: SIM115 - closed with the others
        tmp.append(f)
        return f.fileno()
    return value if isinstance(value, int) else value.fileno()


def run(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: str | Path | None = None,
    input: str | bytes | None = None,
    stdin: Any = None,
    text: bool = False,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run([sys.executable, "-m", "c11.cli.main", *args], env=env, capture_output=True, ...)`."""
    if os.environ.get("C11_TEST_CLI_FORK") == "0":
        return subprocess.run(
            [sys.executable, "-m", "c11.cli.main", *args],
            env=env,
            cwd=cwd,
            input=input,
            stdin=None if input is not None else (stdin if stdin is not None else subprocess.DEVNULL),
            capture_output=True,
            text=text,
            timeout=timeout,
        )
    data = input.encode() if isinstance(input, str) else input
    tmp: list[IO[bytes]] = []
    try:
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        tmp += [out, err]
        fds = [_fd_of(stdin, tmp, data), out.fileno(), err.fileno()]
        body = json.dumps({"args": list(args), "env": env, "cwd": str(cwd or os.getcwd())}).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(_server().path)
            socket.send_fds(conn, [_HEADER.pack(len(body))], fds)
            conn.sendall(body)
            conn.settimeout(timeout)
            reader = conn.makefile("rb")
            pid = 0
            try:
                pid = int(reader.readline() or 0)
                status = reader.readline()
            except TimeoutError:
                if pid:
                    os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(["c11", *args], timeout or 0) from None
            returncode = int(status) if status.strip() else -signal.SIGKILL  # died without reporting: killed
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    finally:
        for f in tmp:
            f.close()
    if text:  # decoded as subprocess.run(text=True) does: locale encoding, universal newlines
        stdout, stderr = (io.TextIOWrapper(io.BytesIO(b)).read() for b in (stdout, stderr))
    return subprocess.CompletedProcess(["c11", *args], returncode, stdout, stderr)


if __name__ == "__main__":
    _serve(sys.argv[1])
