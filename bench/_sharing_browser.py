"""`bench/sharing.py --browser MIB`: a file through the browser end to end (Send page: encrypt and upload as a
stream; the link's page in another context: download, decrypt, save), next to the CLI (`c11 send`/`c11 receive`)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import _bench

ROOT = _bench.ROOT
sys.path.insert(0, str(ROOT / "tests" / "server"))  # accountkit/srvkit: sign-up and the CLI, as the tests do
MiB = 1 << 20
KEY_PASSPHRASE = "bench key passphrase"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
NO_PICKER = "delete window.showSaveFilePicker;"  # the streamed download (headless Chromium has no "Save as")


def _tree_rss(root: int) -> dict[int, float]:
    """RSS (MiB) of every process under `root`, by pid."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return out


class Peak:
    """Peak summed RSS of the browser's processes (`chromium` under this script) and of the server, every 100 ms."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid, self.browser, self.server = server_pid, 0.0, 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            procs = _tree_rss(me)
            chrome = sum(v for pid, v in procs.items() if _is_chromium(pid))
            self.browser = max(self.browser, chrome)
            self.server = max(self.server, _tree_rss(self.server_pid).get(self.server_pid, 0.0))
            time.sleep(0.1)

    def __enter__(self) -> Peak:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def _is_chromium(pid: int) -> bool:
    try:
        return "chrom" in Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return False


def _person(server: SimpleNamespace, tmp: Path, tag: str) -> SimpleNamespace:
    import accountkit
    from srvkit import PASSWORD, run_cli

    email = accountkit.signup(server, tag).email  # type: ignore[arg-type]
    cfg = tmp / tag
    env = {"C11_PASSWORD": PASSWORD, "C11_PASSPHRASE": KEY_PASSPHRASE}
    r = run_cli(["login", "--server", server.url, "--email", email], cfg, env, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"c11 login failed: {r.stderr}")
    return SimpleNamespace(email=email, cfg=cfg, env=env, key=next((cfg / "keys").glob("*.key")), password=PASSWORD)


def _cli(p: SimpleNamespace, *args: str) -> subprocess.CompletedProcess[str]:
    from srvkit import run_cli

    r = run_cli(list(args), p.cfg, p.env, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"c11 {args[0]} failed: {r.stderr}")
    return r


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


def _line(what: str, seconds: float, mib: int, peak: Peak | None = None) -> None:
    mem = f"  browser peak RSS {peak.browser:6.0f} MiB  server peak RSS {peak.server:5.0f} MiB" if peak else ""
    print(f"{what:<44} {seconds:7.1f} s {mib / seconds:7.1f} MiB/s{mem}", flush=True)


def run(mib: int) -> int:
    from playwright.sync_api import sync_playwright

    if not (ROOT / "web" / "dist" / "index.html").is_file():
        raise SystemExit("web/dist is not built: python3 dev.py setup")
    with tempfile.TemporaryDirectory(prefix="c11-bench-sharing-browser-") as t:
        tmp = Path(t)
        port = _bench.free_port()
        env = {**os.environ, "C11_MAIL_TRANSPORT": "outbox-folder", "PYTHONPATH": str(ROOT / "src")}
        server = subprocess.Popen(
            [sys.executable, "-m", "c11.cli.main", "serve", "--data-dir", str(tmp / "data"), "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _bench.wait_until_up(server, f"{url}/healthz", timeout=300)
            srv = SimpleNamespace(url=url, data_dir=tmp / "data")
            alice, bob = _person(srv, tmp, "alice"), _person(srv, tmp, "bob")
            plain = tmp / "big.bin"
            with plain.open("wb") as f:
                for _ in range(mib):
                    f.write(os.urandom(MiB))
            digest = _sha256(plain)
            print(f"{mib} MiB through c11, machine shared (2 cores); server: c11 serve, SQLite, folder storage")
            idle = _tree_rss(server.pid).get(server.pid, 0.0)

            # the SDK side by side: c11 send / c11 receive of the same file
            with Peak(server.pid) as peak:
                t0 = time.perf_counter()
                r = _cli(alice, "send", str(plain), "--to", bob.email)
                cli_send = time.perf_counter() - t0
            _line("CLI: c11 send (encrypt + upload)", cli_send, mib, peak)
            link = next(w for w in r.stdout.split() if "/r/" in w)
            with Peak(server.pid) as peak:
                t0 = time.perf_counter()
                _cli(bob, "receive", link, "-o", str(tmp / "cli-in"))
                cli_recv = time.perf_counter() - t0
            _line("CLI: c11 receive (download + decrypt)", cli_recv, mib, peak)
            if _sha256(tmp / "cli-in" / plain.name) != digest:
                raise SystemExit("the CLI received other bytes")
            (tmp / "cli-in" / plain.name).unlink()

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                try:
                    sender = browser.new_context(base_url=url)
                    page = sender.new_page()
                    _log_in(page, alice)
                    page.get_by_role("navigation").get_by_role("link", name="Send").click()
                    page.get_by_label("People (email addresses)").fill(bob.email)
                    page.locator("#send-files").set_input_files(str(plain))
                    page.locator("#send-key").set_input_files(str(alice.key))
                    page.locator("#send-pass").fill(KEY_PASSPHRASE)
                    rest = _tree_rss(os.getpid())
                    base = sum(v for pid, v in rest.items() if _is_chromium(pid))
                    with Peak(server.pid) as peak:
                        t0 = time.perf_counter()
                        page.get_by_role("button", name="Encrypt and send").click()
                        page.get_by_role("heading", name="Sent").or_(page.get_by_role("alert")).wait_for(
                            timeout=3_600_000
                        )
                        send_s = time.perf_counter() - t0
                    if page.get_by_role("alert").count():
                        raise SystemExit(page.get_by_role("alert").inner_text())
                    _line("browser: Send page (encrypt + upload)", send_s, mib, peak)
                    print(f"  (browser RSS before the send: {base:.0f} MiB; file size {mib} MiB)")
                    link = page.get_by_test_id("send-link").inner_text()
                    sender.close()

                    receiver = browser.new_context(base_url=url, accept_downloads=True)
                    receiver.add_init_script(NO_PICKER)
                    page = receiver.new_page()
                    page.goto(link)
                    page.get_by_label("Email", exact=True).fill(bob.email)
                    page.get_by_label("Password", exact=True).fill(bob.password)
                    page.get_by_role("button", name="Log in").click()
                    page.locator("#recv-key").set_input_files(str(bob.key))
                    page.locator("#recv-pass").fill(KEY_PASSPHRASE)
                    page.get_by_role("button", name="Open").click()
                    save = page.get_by_role("link", name=f"Save {plain.name}", exact=True)
                    save.wait_for(timeout=300_000)
                    with Peak(server.pid) as peak:
                        t0 = time.perf_counter()
                        with page.expect_download(timeout=3_600_000) as dl:
                            save.click()
                        done = (
                            page.get_by_role("status").get_by_text(f"Saved {plain.name}").or_(page.get_by_role("alert"))
                        )
                        done.wait_for(timeout=3_600_000)
                        recv_s = time.perf_counter() - t0
                    if page.get_by_role("alert").count():
                        raise SystemExit(page.get_by_role("alert").inner_text())
                    _line("browser: link page (download + decrypt + save)", recv_s, mib, peak)
                    got = Path(dl.value.path())
                    same = _sha256(got) == digest
                    dl.value.delete()
                    receiver.close()
                finally:
                    browser.close()
            print(f"server RSS idle {idle:.0f} MiB")
            print(f"browser end to end: {send_s + recv_s:.1f} s; CLI end to end: {cli_send + cli_recv:.1f} s")
            print("the saved file is byte-identical" if same else "FAIL: the saved file differs")
            return 0 if same else 1
        finally:
            _bench.stop_servers(server)


def _log_in(page: Any, p: SimpleNamespace) -> None:
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(p.email)
    page.get_by_label("Password", exact=True).fill(p.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {p.email}").wait_for(timeout=60_000)
