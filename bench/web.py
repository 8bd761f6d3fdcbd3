"""Benchmark of the browser app in Debian's Chromium against a `c11 serve` this script starts (SQLite, loopback).

Per size (default 256 and 1024 MiB; a random file on disk, picked with the page's file input as a person does):

* encrypt on the Encrypt page (logged in, for the person's own email, key verified in the log) and save the .c11
  through the streamed download (the service worker, docs/web.md "Large files");
* open that .c11 on the Open page and save the plaintext through the File System Access path (a
  `showSaveFilePicker` answering a handle in the origin private file system of a persistent profile, on disk:
  headless Chromium has no dialog) and through the streamed download;
* raw WebCrypto AES-256-GCM over the same file's bytes in the same browser (64 KiB segments, all of a read chunk's
  calls in flight; read with File.stream()): the ratios app / raw AES time alone and app / (read + AES) (target
  >= 0.5; the app's figure includes the content hashing and writing to disk);
* the raw floor: the least work the signed format needs, done with raw WebCrypto in the page and none of the app
  (4 MiB `File.slice` reads, AES-256-GCM and SHA-256 of each 64 KiB segment, one buffer per batch written to a file
  of the origin private file system), one stage after another, with the time of each stage per MiB; every app
  figure also gets its ratio to that floor (vsRawFloor);
* peak memory of the browser's processes while each operation runs (sum of RSS, and of PSS, of every Chromium
  process under this script, sampled every 100 ms; the PSS at the peak by process type; the sum of anonymous
  resident memory, which other Chromium instances on the machine do not change as they do PSS).

Also: X-Wing encapsulate/decapsulate (the same @noble/post-quantum build, in the core's harness page), time to first
(contentful) paint of the app at / on loopback (median of 5 fresh contexts) and the gzip size of its JavaScript.

    .venv/bin/python bench/web.py                  # 256 MiB and 1 GiB
    .venv/bin/python bench/web.py --size 64        # one quick size

Needs the built app and harness (python3 dev.py setup), /usr/bin/chromium, and about 4x the largest size free on
disk (input, .c11, downloads). Prints one JSON object per measurement.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _bench import ROOT, free_port, stop_servers, wait_until_up

sys.path.insert(0, str(ROOT / "tests" / "server"))  # accountkit/srvkit: sign-up and the CLI, as the tests do
sys.path.insert(0, str(ROOT / "tests" / "web"))  # _harness: the core's harness page (X-Wing timings)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KEY_PASSPHRASE = "bench key passphrase"
CPU_DETAIL = "--cpu" in sys.argv  # per-thread CPU seconds of each timed save (where the time goes)
NO_PICKER = "delete window.showSaveFilePicker;"
PICKER = """window.showSaveFilePicker = async ({ suggestedName }) =>
  (await navigator.storage.getDirectory()).getFileHandle(suggestedName, { create: true });"""
OPFS_SIZE = "async (n) => (await (await (await navigator.storage.getDirectory()).getFileHandle(n)).getFile()).size"
OPFS_REMOVE = "async (n) => (await navigator.storage.getDirectory()).removeEntry(n)"
RAW_AES = """async (id) => {
  const f = document.getElementById(id).files[0];
  const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt']);
  const nonce = (i) => { const n = new Uint8Array(12); new DataView(n.buffer).setUint32(8, i); return n; };
  let aes = 0, i = 0;
  const t0 = performance.now();
  const r = f.stream().getReader();
  for (;;) {
    const { value, done } = await r.read();
    if (done) break;
    const t = performance.now();
    await Promise.all(Array.from({ length: Math.ceil(value.length / 65536) },
      (_, j) => crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce(i++) }, key, value.subarray(j * 65536, (j + 1) * 65536))));
    aes += performance.now() - t;
  }
  return { aesMs: aes, readAndAesMs: performance.now() - t0, bytes: f.size };
}"""


# The least work the signed format needs, with raw WebCrypto in the page and none of the app: 4 MiB File.slice reads,
# AES-256-GCM of each 64 KiB segment (the batch in flight), SHA-256 of each sealed segment, one buffer per batch
# written to a file of the origin private file system (on disk: the persistent profile); one stage after another.
# What it costs beside AES alone says how far a 0.5 ratio is reachable at all.
RAW_FLOOR = """async (id) => {
  const f = document.getElementById(id).files[0];
  const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt']);
  const nonce = (i) => { const n = new Uint8Array(12); new DataView(n.buffer).setUint32(8, i); return n; };
  const dir = await navigator.storage.getDirectory();
  const w = await (await dir.getFileHandle('raw-floor.bin', { create: true })).createWritable();
  const S = 65536, B = 64;
  let i = 0, read = 0, crypt = 0, write = 0;
  const t0 = performance.now();
  for (let off = 0; off < f.size; off += S * B) {
    let t = performance.now();
    const data = new Uint8Array(await f.slice(off, Math.min(f.size, off + S * B)).arrayBuffer());
    read += performance.now() - t;
    t = performance.now();
    const k = Math.ceil(data.length / S);
    const cts = await Promise.all(Array.from({ length: k }, (_, j) =>
      crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce(i + j) }, key, data.subarray(j * S, (j + 1) * S))
        .then(async (ct) => { await crypto.subtle.digest('SHA-256', ct); return new Uint8Array(ct); })));
    i += k;
    const out = new Uint8Array(cts.reduce((a, c) => a + c.length, 0));
    cts.reduce((o, c) => (out.set(c, o), o + c.length), 0);
    crypt += performance.now() - t;
    t = performance.now();
    await w.write(out);
    write += performance.now() - t;
  }
  let t = performance.now();
  await w.close();
  write += performance.now() - t;
  const ms = performance.now() - t0;
  await dir.removeEntry('raw-floor.bin');
  return { ms, readMs: read, aesHashMs: crypt, writeMs: write };
}"""


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class MemorySampler:
    """Peak sum of RSS and PSS (KiB) of this process's Chromium descendants, sampled every 100 ms."""

    def __init__(self) -> None:
        self.peak_rss = self.peak_pss = 0
        self.peak_by_kind: dict[str, int] = {}
        self.peak_anon = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree() -> list[int]:
        parents: dict[int, int] = {}
        names: dict[int, str] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
            names[int(entry)] = name
        mine, frontier = set(), {os.getpid()}
        while frontier:
            frontier = {p for p, parent in parents.items() if parent in frontier} - mine
            mine |= frontier
        return [p for p in mine if names.get(p, "").startswith("chrom")]

    @staticmethod
    def _kib(pid: int, path: str, key: str) -> int:
        try:
            for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def sample(self) -> tuple[int, int]:
        rss, by_kind = self._sample()
        return rss, sum(by_kind.values())

    def _sample(self) -> tuple[int, dict[str, int]]:
        """Sum of RSS, and PSS per process type (KiB)."""
        pids = self._tree()
        by_kind: dict[str, int] = {}
        for p in pids:
            kind = self._kind(p)
            by_kind[kind] = by_kind.get(kind, 0) + self._kib(p, "smaps_rollup", "Pss:")
        return sum(self._kib(p, "status", "VmRSS:") for p in pids), by_kind

    def anon(self) -> int:
        """Sum of anonymous resident memory (KiB): heaps and buffers, not the binary's or fonts' pages, whose PSS
        share falls when other Chromium instances on the machine map the same files."""
        return sum(self._kib(p, "status", "RssAnon:") for p in self._tree())

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, by_kind = self._sample()
            pss = sum(by_kind.values())
            self.peak_anon = max(self.peak_anon, self.anon())
            self.peak_rss = max(self.peak_rss, rss)
            if pss > self.peak_pss:
                self.peak_pss, self.peak_by_kind = pss, by_kind
            time.sleep(0.1)

    @staticmethod
    def _kind(pid: int) -> str:
        """A Chromium process's type (`--type=`; a utility process by its sub-type; the browser process)."""
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            return "gone"
        kind = next((a[7:].decode() for a in args if a.startswith(b"--type=")), "browser")
        if kind == "utility":
            kind = next((a.decode().split(".")[-1] for a in args if a.startswith(b"--utility-sub-type=")), kind)
        return kind

    @classmethod
    def cpu(cls) -> dict[str, float]:
        """CPU seconds (user + system) so far per Chromium process type and thread name (`/proc/PID/task`)."""
        tick = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for pid in cls._tree():
            kind = cls._kind(pid)
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tasks:
                try:
                    stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                except OSError:
                    continue
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                fields = stat[stat.rindex(")") + 2 :].split()
                key = f"{kind}/{name.rstrip('0123456789') or name}"
                out[key] = out.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        return out

    def __enter__(self) -> MemorySampler:
        self._cpu0 = self.cpu()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        after = self.cpu()
        used = {k: after[k] - self._cpu0.get(k, 0.0) for k in after}
        self.cpu_used = {k: round(v, 2) for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.05}

    @property
    def mib(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "peakRssMiB": round(self.peak_rss / 1024, 1),
            "peakPssMiB": round(self.peak_pss / 1024, 1),
            "peakAnonMiB": round(self.peak_anon / 1024, 1),
            # where the peak PSS was, by process type (renderer: the page, its worker and the service worker)
            "peakPssByProcessMiB": {
                k: round(v / 1024, 1) for k, v in sorted(self.peak_by_kind.items(), key=lambda kv: -kv[1])
            },
        }
        if CPU_DETAIL:
            out["cpuSeconds"] = round(sum(self.cpu_used.values()), 2)
            out["cpuByThread"] = self.cpu_used
        return out


def start_serve(tmp: Path) -> tuple[subprocess.Popen, SimpleNamespace]:
    port = free_port()
    data = tmp / "data"
    env = {**os.environ, "C11_MAIL_TRANSPORT": "outbox-folder"}
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "c11"), "serve", "--data-dir", str(data), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    # a first start makes its keys and tables: slow on a busy machine
    wait_until_up(proc, f"{url}/healthz", timeout=300)
    return proc, SimpleNamespace(url=url, data_dir=data)


def person(server: SimpleNamespace, tmp: Path) -> tuple[str, Path]:
    """A verified account whose `c11 login` made and published a key: (email, key file)."""
    import accountkit
    from srvkit import PASSWORD, run_cli

    email = accountkit.signup(server, "bench").email  # type: ignore[arg-type]
    cfg = tmp / "cli"
    r = run_cli(
        ["login", "--server", server.url, "--email", email],
        cfg,
        {"C11_PASSWORD": PASSWORD, "C11_PASSPHRASE": KEY_PASSPHRASE},
        timeout=120,
    )
    if r.returncode != 0:
        raise SystemExit(f"c11 login failed: {r.stderr}")
    return email, next((cfg / "keys").glob("*.key"))


def first_paint(browser: Any, url: str) -> None:
    """Median first contentful paint of / in fresh contexts, and the gzip size of the JavaScript it loads."""
    paints, loaded = [], set()
    for _ in range(5):
        context = browser.new_context()
        page = context.new_page()
        page.on("response", lambda r: loaded.add(r.url.rsplit("/", 1)[-1]) if r.url.endswith(".js") else None)
        page.goto(url + "/", wait_until="load")
        page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length > 0")
        paints.append(page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0].startTime"))
        context.close()
    assets = ROOT / "web" / "dist" / "assets"
    size = {f.name: len(gzip.compress(f.read_bytes(), 9)) for f in assets.glob("*.js")}
    emit(
        what="first paint",
        firstContentfulPaintMs=round(statistics.median(paints), 1),
        runsMs=[round(p, 1) for p in paints],
        jsLoadedAtStartGzipKiB=round(sum(size.get(n, 0) for n in loaded) / 1024, 1),
        jsLoadedAtStart=sorted(loaded),
        allJsGzipKiB=round(sum(size.values()) / 1024, 1),
    )


def xwing(browser: Any) -> None:
    from _harness import harness_page, serve_harness

    with serve_harness() as base, harness_page(browser, base) as page:
        r = page.evaluate("(n) => window.c11harness.bench(n)", 1)
    emit(what="X-Wing (@noble/post-quantum, mean of 20)", encapsulateMs=round(r["xwingEncapMs"], 2),
         decapsulateMs=round(r["xwingDecapMs"], 2))  # fmt: skip


def log_in(page: Any, email: str) -> None:
    from srvkit import PASSWORD

    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {email}").wait_for(timeout=60_000)


def timed_save(page: Any, name: str, expect_download: bool, out: Path | None = None) -> tuple[float, dict]:
    """Click "Save NAME" and wait until the page says it was saved; (seconds, memory peaks)."""
    save = page.get_by_role("link", name=f"Save {name}", exact=True)
    with MemorySampler() as mem:
        t = time.perf_counter()
        if expect_download:
            with page.expect_download(timeout=1_800_000) as dl:
                save.click()
        else:
            save.click()
        done = page.get_by_role("status").get_by_text(f"Saved {name}").or_(page.get_by_role("alert"))
        done.wait_for(timeout=1_800_000)
        seconds = time.perf_counter() - t
    if page.get_by_role("alert").count():
        raise SystemExit(page.get_by_role("alert").inner_text())
    if expect_download:
        if dl.value.failure():
            raise SystemExit(f"download failed: {dl.value.failure()}")
        if out is not None:
            dl.value.save_as(str(out))
        dl.value.delete()
    return seconds, mem.mib


def run_size(context: Any, email: str, key: Path, tmp: Path, mib: int) -> None:
    plain = tmp / f"data-{mib}.bin"
    with plain.open("wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    size = plain.stat().st_size
    rate = lambda s: round(size / 2**20 / s, 1)  # noqa: E731

    page = context.new_page()
    page.add_init_script(NO_PICKER)
    log_in(page, email)
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill(email)
    page.get_by_label("File to protect").set_input_files(str(plain))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    raw = page.evaluate(RAW_AES, "enc-file")  # the same bytes, the same browser
    raw_aes = size / 2**20 / (raw["aesMs"] / 1000)
    raw_read = size / 2**20 / (raw["readAndAesMs"] / 1000)
    emit(
        what="raw WebCrypto AES-256-GCM", sizeMiB=mib, aesOnlyMiBs=round(raw_aes, 1), readAndAesMiBs=round(raw_read, 1)
    )
    with MemorySampler() as mem:
        floor = page.evaluate(RAW_FLOOR, "enc-file")
    raw_floor = size / 2**20 / (floor["ms"] / 1000)
    emit(what="raw floor: read + AES-GCM + SHA-256 + write, WebCrypto only, one stage after another", sizeMiB=mib,
         MiBs=round(raw_floor, 1), vsRawAes=round(raw_floor / raw_aes, 2),
         msPerMiB={k[:-2]: round(v / mib, 2) for k, v in floor.items() if k != "ms"}, **mem.mib)  # fmt: skip
    page.get_by_role("button", name="Encrypt").click()
    page.get_by_role("link", name=f"Save {plain.name}.c11").wait_for(timeout=120_000)
    sealed = tmp / f"{plain.name}.c11"
    seconds, mem = timed_save(page, f"{plain.name}.c11", True, sealed)
    emit(what="encrypt (Encrypt page, streamed download)", sizeMiB=mib, seconds=round(seconds, 2), MiBs=rate(seconds),
         vsRawAes=round(rate(seconds) / raw_aes, 2), vsRawReadAndAes=round(rate(seconds) / raw_read, 2),
         vsRawFloor=round(rate(seconds) / raw_floor, 2), **mem)  # fmt: skip
    page.close()

    for sink in ("file", "download"):
        page = context.new_page()
        page.add_init_script(PICKER if sink == "file" else NO_PICKER)
        page.goto("/open")
        page.get_by_label("Protected file (.c11)").set_input_files(str(sealed))
        page.get_by_label("Your key file (.key)").set_input_files(str(key))
        page.get_by_label("Passphrase of the key file").fill(KEY_PASSPHRASE)
        page.get_by_role("button", name="Open").click()
        page.get_by_role("link", name=f"Save {plain.name}", exact=True).wait_for(timeout=120_000)
        seconds, mem = timed_save(page, plain.name, sink == "download")
        if sink == "file":
            written = page.evaluate(OPFS_SIZE, plain.name)
            assert written == size, (written, size)
            page.evaluate(OPFS_REMOVE, plain.name)
        how = "File System Access" if sink == "file" else "streamed download"
        emit(what=f"decrypt (Open page, {how})", sizeMiB=mib, seconds=round(seconds, 2), MiBs=rate(seconds),
             vsRawAes=round(rate(seconds) / raw_aes, 2), vsRawReadAndAes=round(rate(seconds) / raw_read, 2),
         vsRawFloor=round(rate(seconds) / raw_floor, 2), **mem)  # fmt: skip
        page.close()
    plain.unlink()
    sealed.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append", help="MiB to encrypt and decrypt (repeatable)")
    parser.add_argument(
        "--cpu", action="store_true", help="CPU seconds per Chromium process type and thread of each save"
    )
    sizes = parser.parse_args().size or [256, 1024]
    if not (ROOT / "web" / "dist" / "index.html").is_file():
        raise SystemExit("web/dist is not built: python3 dev.py setup")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="c11-bench-web-") as t:
        tmp = Path(t)
        proc, server = start_serve(tmp)
        try:
            email, key = person(server, tmp)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                try:
                    first_paint(browser, server.url)
                    xwing(browser)
                finally:
                    browser.close()
                # a persistent profile: its origin private file system is on disk, as a picked file is (in an
                # off-the-record context Chromium keeps it in the browser process's memory)
                context = pw.chromium.launch_persistent_context(
                    str(tmp / "profile"),
                    executable_path="/usr/bin/chromium",
                    args=CHROMIUM_ARGS,
                    base_url=server.url,
                    accept_downloads=True,
                )
                try:
                    rss, by_kind = MemorySampler()._sample()
                    emit(what="browser idle", rssMiB=round(rss / 1024, 1), pssMiB=round(sum(by_kind.values()) / 1024, 1),
                         anonMiB=round(MemorySampler().anon() / 1024, 1),
                         pssByProcessMiB={k: round(v / 1024, 1) for k, v in by_kind.items()})  # fmt: skip
                    for mib in sizes:
                        run_size(context, email, key, tmp, mib)
                finally:
                    context.close()
        finally:
            stop_servers(proc)


if __name__ == "__main__":
    main()
