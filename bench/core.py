#!/usr/bin/env python3
"""Benchmarks of the core (issue 2): c11 against `cp` and `age` side by side, in one run.

    python bench/core.py [--size-mib 512] [--big-gib 2] [--runs 5] [--dir DIR]

Prints, for a SIZE MiB file: median wall time of `cp`, `c11 encrypt`, `c11 decrypt`, `age -e`,
`age -d` (runs interleaved, `sync` before each), the ratios the issue asks for, peak memory
(`/usr/bin/time -v`) at SIZE MiB and at BIG GiB, a 1 KiB file for 1,000 recipients, and
`c11 --help`. Needs `age`, `age-keygen` and `/usr/bin/time` (Debian packages age and time).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
C11 = [str(BIN / "c11")] if (BIN / "c11").exists() else [sys.executable, "-m", "c11.cli.main"]


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


USER_CPU: dict[str, list[float]] = {}


def timed(cmd: list[str], cleanup: Path | None = None, name: str = "") -> float:
    """Wall time of one command, started on a settled file system: its output removed beforehand,
    dirty pages written back, and a pause for the file system's discards (this disk mounts -o discard)."""
    if cleanup and cleanup.exists():
        cleanup.unlink()
    os.sync()
    time.sleep(1.0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    t = time.perf_counter()
    sh(cmd)
    elapsed = time.perf_counter() - t
    USER_CPU.setdefault(name, []).append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before)
    return elapsed


def peak_kib(cmd: list[str]) -> int:
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=True)
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(block)
    os.sync()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--big-gib", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary folder under /var/tmp)")
    args = ap.parse_args()
    for tool in ("age", "age-keygen"):
        if not shutil.which(tool):
            print(f"{tool} not found: apt-get install age", file=sys.stderr)
            return 2
    work = Path(args.dir or tempfile.mkdtemp(prefix="c11-bench-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return run(work, args)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args) -> int:
    src = work / "input.bin"
    make_file(src, args.size_mib << 20)
    sh([*C11, "keygen", "--no-passphrase", "-o", str(work / "me.key")])
    pub = sh([*C11, "keygen", "--no-passphrase", "-o", str(work / "friend.key")]).stdout.decode().strip()
    sh(["age-keygen", "-o", str(work / "age.key")])
    age_pub = re.search(r"age1\w+", (work / "age.key").read_text()).group(0)

    def jobs(i: int) -> dict[str, tuple[list[str], Path]]:
        """The commands of run i, each writing a fresh file (unlinking big files makes this disk,
        mounted with discard, slow for a while, so nothing is deleted until all runs are done)."""
        enc, dec = work / f"out{i}.c11", work / f"out{i}.plain"
        aenc, adec = work / f"out{i}.age", work / f"out{i}.ageplain"
        return {
            "cp": (["cp", str(src), str(work / f"copy{i}.bin")], work / f"copy{i}.bin"),
            "c11 encrypt": ([*C11, "encrypt", "-i", str(work / "me.key"), "-r", pub, "-o", str(enc), str(src)], enc),
            "c11 decrypt": ([*C11, "decrypt", "-i", str(work / "friend.key"), "-o", str(dec), str(enc)], dec),
            "age -e": (["age", "-r", age_pub, "-o", str(aenc), str(src)], aenc),
            "age -d": (["age", "-d", "-i", str(work / "age.key"), "-o", str(adec), str(aenc)], adec),
        }

    times: dict[str, list[float]] = {k: [] for k in jobs(0)}
    for i in range(args.runs):
        for name, (cmd, out) in jobs(i).items():
            times[name].append(timed(cmd, out, name))
    enc, dec = jobs(0)["c11 encrypt"][1], jobs(0)["c11 decrypt"][1]
    assert dec.read_bytes() == src.read_bytes(), "c11 round trip differs"
    for i in range(args.runs):
        for _, out in jobs(i).values():
            if i > 0:
                out.unlink()
    os.sync()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"## {args.size_mib} MiB file to file, median of {args.runs} interleaved runs (sync and a 1 s pause "
        "before each, every output a new file)\n"
    )
    user = {k: statistics.median(USER_CPU[k]) for k in times}
    print("| command | median s | min s | max s | user CPU s (median) |\n|---|---|---|---|---|")
    for k, v in times.items():
        print(f"| {k} | {med[k]:.3f} | {min(v):.3f} | {max(v):.3f} | {user[k]:.3f} |")
    checks = [
        ("c11 encrypt / cp", med["c11 encrypt"] / med["cp"], "<= 1.3"),
        ("c11 decrypt / cp", med["c11 decrypt"] / med["cp"], "<= 1.3"),
        ("age -e / c11 encrypt", med["age -e"] / med["c11 encrypt"], ">= 2"),
        ("age -d / c11 decrypt", med["age -d"] / med["c11 decrypt"], ">= 2"),
    ]
    print("\n| ratio | value | target |\n|---|---|---|")
    for name, value, target in checks:
        print(f"| {name} | {value:.2f} | {target} |")
    print(f"| age -e / c11 encrypt, user CPU | {user['age -e'] / user['c11 encrypt']:.2f} | (information) |")
    print(f"| age -d / c11 decrypt, user CPU | {user['age -d'] / user['c11 decrypt']:.2f} | (information) |")

    print("\n## Peak memory (/usr/bin/time -v, maximum resident set size)\n")
    print("| input | c11 encrypt MiB | c11 decrypt MiB |\n|---|---|---|")
    for path in (src, None):
        if path is None:
            if args.big_gib <= 0:
                break
            path = work / "big.bin"
            make_file(path, args.big_gib << 30)
        for f in (enc, dec):
            f.unlink(missing_ok=True)
        e = peak_kib([*C11, "encrypt", "-i", str(work / "me.key"), "-r", pub, "-o", str(enc), str(path)])
        d = peak_kib([*C11, "decrypt", "-i", str(work / "friend.key"), "-o", str(dec), str(enc)])
        print(f"| {path.stat().st_size >> 20} MiB | {e / 1024:.1f} | {d / 1024:.1f} |")
        if path.name == "big.bin":
            path.unlink()

    # 1 KiB for 1,000 recipients (post-quantum hybrid keys, the default).
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from c11.keys.identity import Identity

    lines = [Identity.generate(f"u{i}@example.com").public.line() for i in range(1000)]
    (work / "recipients.txt").write_text("\n".join(lines) + "\n")
    (work / "small.bin").write_bytes(os.urandom(1024))
    small_out = work / "small.c11"
    t1000 = statistics.median(
        timed(
            [
                *C11,
                "encrypt",
                "-i",
                str(work / "me.key"),
                "-R",
                str(work / "recipients.txt"),
                "-o",
                str(small_out),
                str(work / "small.bin"),
            ],
            small_out,
        )
        for _ in range(3)
    )
    helps = [timed([*C11, "--help"]) for _ in range(5)]
    print("\n## Small work\n\n| what | median s | target |\n|---|---|---|")
    print(f"| 1 KiB file for 1,000 recipients (c11 encrypt, whole command) | {t1000:.3f} | < 1 |")
    print(f"| c11 --help | {statistics.median(helps):.3f} | < 0.3 |")
    print(f"\n(output header for 1,000 recipients: {small_out.stat().st_size - 1024 - 16} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
