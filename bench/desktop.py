#!/usr/bin/env python3
"""The desktop app against the CLI (issue 21): encrypt one file from the app and with `c11 encrypt`, same run.

    python bench/desktop.py [--size-mib 1024] [--runs 2] [--dir DIR] [--json] [--rt]

Over SIZE MiB of random data (made once, in the page cache after the first read), runs interleaved:

* `c11 encrypt -i KEY -r KEYLINE -o OUT FILE` as a child process: wall time and CPU time (children's rusage);
* the app (this process, Qt's offscreen platform): the Encrypt tab's button clicked with the same file, key and
  recipient; wall time from the click to the result shown, CPU time of this process over that span;
* during the app's run, the UI thread's event-loop latency: a 10 ms timer's lateness (max and 99th percentile),
  i.e. how long a click or a repaint would wait.

Targets (issue 21): app wall time within 1.2x the CLI's; event-loop latency under 50 ms. The report gives the
machine's load average: on a shared machine the ratio (side by side, interleaved) is what to read, and `--rt`
(root) runs it all under `chrt -f 10` so that other work does not preempt it (the latency it measures is then
the app's own, not the machine's queue).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _make_input(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(size >> 20):
            f.write(block[i % 251 :] + block[: i % 251])  # each MiB different


def _cli(key: Path, line: str, src: Path, out: Path) -> tuple[float, float]:
    exe = Path(sys.executable).with_name("c11")
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "c11.cli.main"])]
    os.sync()  # the previous run's dirty pages are not this run's to write back
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([*cmd, "encrypt", "-i", str(key), "-r", line, "-o", str(out), str(src)], check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _app(window: object, line: str, src: Path, out: Path) -> tuple[float, float, list[float]]:
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    page = window.encrypt_page  # type: ignore[attr-defined]
    page.inputs.clear()
    page.output.setText(str(out))
    page.add_paths([str(src)])
    page.recipients.setText(line)
    lateness: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(10)
    last = [0]

    def tick() -> None:
        now = clock.elapsed()
        lateness.append(max(0, now - last[0] - 10))
        last[0] = now

    timer.timeout.connect(tick)
    done: list[str] = []
    os.sync()
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    clock.start()
    timer.start()
    page.encrypt.click()
    task = window.tasks[-1]  # type: ignore[attr-defined]
    task.signals.finished.connect(lambda: done.append("ok"))
    task.signals.failed.connect(lambda m: done.append(m))
    while not done:
        app.processEvents()  # type: ignore[union-attr]
        time.sleep(0.001)
    wall = time.perf_counter() - t0
    timer.stop()
    after = resource.getrusage(resource.RUSAGE_SELF)
    if done[0] != "ok":
        raise SystemExit(f"the app failed: {done[0]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, lateness


def _idle(seconds: float) -> list[float]:
    """The same 10 ms timer's lateness with nothing running: the machine's own noise (load from elsewhere)."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    lateness: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(10)
    last = [0]

    def tick() -> None:
        now = clock.elapsed()
        lateness.append(max(0, now - last[0] - 10))
        last[0] = now

    timer.timeout.connect(tick)
    clock.start()
    timer.start()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()  # type: ignore[union-attr]
        time.sleep(0.001)
    timer.stop()
    return lateness


def _pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else None


def _realtime() -> bool:
    try:
        return os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR)
    except (AttributeError, OSError):
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=None, help="where the input and outputs go (default: a temp dir)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rt", action="store_true", help="run under `chrt -f 10` (root): other work does not preempt it")
    args = ap.parse_args()
    if args.rt and not _realtime():
        argv = ["chrt", "-f", "10", sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]]
        raise SystemExit(subprocess.run(argv, check=False).returncode)  # chrt's own message when not allowed

    from PySide6.QtWidgets import QApplication

    from c11.client.workstation import Workstation
    from c11.desktop.app import SWITCH_INTERVAL
    from c11.desktop.window import MainWindow
    from c11.keys import keyfile
    from c11.keys.identity import Identity

    sys.setswitchinterval(SWITCH_INTERVAL)  # as `c11 desktop` runs
    tmp = Path(tempfile.mkdtemp(prefix="c11-bench-desktop-", dir=args.dir))
    try:
        me, friend = Identity.generate("me@example.com"), Identity.generate("friend@example.com")
        key = tmp / "me.key"
        keyfile.write(key, me, None)
        src = tmp / "input.bin"
        _make_input(src, args.size_mib << 20)
        line = friend.public.line()
        app = QApplication(sys.argv[:1])
        window = MainWindow()
        window.show()
        window.signed_in(Workstation.offline(key))
        app.processEvents()
        cli_walls, cli_cpus, app_walls, app_cpus, late = [], [], [], [], []
        sizes: dict[str, set[int]] = {"cli": set(), "app": set()}
        for i in range(args.runs):
            for which in ("cli", "app") if i % 2 == 0 else ("app", "cli"):
                out = tmp / f"out-{which}-{i}.c11"
                if which == "cli":
                    w, c = _cli(key, line, src, out)
                    cli_walls.append(w)
                    cli_cpus.append(c)
                else:
                    w, c, lat = _app(window, line, src, out)
                    app_walls.append(w)
                    app_cpus.append(c)
                    late.extend(lat)
                sizes[which].add(out.stat().st_size)
                out.unlink()
        if len(sizes["app"]) != 1 or sizes["app"] != sizes["cli"]:
            raise SystemExit(f"the app and the CLI wrote outputs of different sizes: {sizes}")
        idle = _idle(statistics.median(app_walls))
        report = {
            "size_mib": args.size_mib,
            "runs": args.runs,
            "load_average": os.getloadavg(),
            "cores": os.cpu_count(),
            "realtime": _realtime(),
            "cli_wall_s": statistics.median(cli_walls),
            "app_wall_s": statistics.median(app_walls),
            "cli_cpu_s": statistics.median(cli_cpus),
            "app_cpu_s": statistics.median(app_cpus),
            "wall_ratio": statistics.median(app_walls) / statistics.median(cli_walls),
            "event_loop_max_ms": max(late, default=None),
            "event_loop_p99_ms": _pct(late, 0.99),
            "ticks": len(late),
            "idle_max_ms": max(idle, default=None),
            "idle_p99_ms": _pct(idle, 0.99),
        }
        window.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    prio = "real-time priority (chrt)" if report["realtime"] else "normal priority"
    print(f"{args.size_mib} MiB, {args.runs} run(s) each, interleaved, {prio}; load average {report['load_average']}")
    print(f"  c11 encrypt (CLI): {report['cli_wall_s']:.2f} s wall, {report['cli_cpu_s']:.2f} s CPU")
    print(f"  the app          : {report['app_wall_s']:.2f} s wall, {report['app_cpu_s']:.2f} s CPU")
    print(f"  ratio app/CLI    : {report['wall_ratio']:.2f}x (target <= 1.2x)")
    print(
        f"  event loop       : max {report['event_loop_max_ms']} ms, p99 {report['event_loop_p99_ms']} ms late "
        f"over {report['ticks']} ticks of 10 ms (target < 50 ms)"
    )
    print(
        f"  same timer idle  : max {report['idle_max_ms']} ms, p99 {report['idle_p99_ms']} ms late "
        "(the machine's own noise, nothing running in the app)"
    )


if __name__ == "__main__":
    main()
