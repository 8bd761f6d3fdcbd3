"""Benchmark of the c11 transparency log library: batched appends up to 1,000,000 entries, and proof sizes.

Run with ``PYTHONPATH=src python3 bench/log_proofs.py`` from the repository root (in-memory hash store).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from c11.log.merkle import MemoryHashStore, MerkleTree, leaf_hash, verify_consistency, verify_inclusion

CHECKPOINTS = (10, 1_000, 100_000, 1_000_000)


def _entry(i: int) -> bytes:
    """A log entry of a realistic size (a key-registration record is ~100-200 bytes)."""
    return b'{"op":"publish","email":"user%d@example.com","key":"' + (b"%064x" % i) + b'"}'


def _proof_row(tree: MerkleTree, store: MemoryHashStore, size: int) -> tuple[int, int, int, int, float, float, int]:
    """Inclusion and consistency proof sizes (min/max over samples), median timings, most store reads per proof."""
    indices = sorted({0, size // 3, size // 2, size - 2 if size > 1 else 0, size - 1})
    olds = sorted({1, size // 3, size // 2, size - 1} - {0, size})
    root = tree.root(size)
    incl, cons, t_gen, t_ver, reads = [], [], [], [], []
    for i in indices:
        before = store.reads
        t0 = time.perf_counter()
        proof = tree.inclusion_proof(i, size)
        t1 = time.perf_counter()
        reads.append(store.reads - before)
        verify_inclusion(leaf_hash(_entry(i)), i, size, proof, root)
        t_gen.append(t1 - t0)
        t_ver.append(time.perf_counter() - t1)
        incl.append(len(proof))
    for old in olds:
        before = store.reads
        proof = tree.consistency_proof(old, size)
        reads.append(store.reads - before)
        verify_consistency(old, size, proof, tree.root(old), root)
        cons.append(len(proof))
    timings = statistics.median(t_gen), statistics.median(t_ver)
    return min(incl), max(incl), min(cons, default=0), max(cons, default=0), *timings, max(reads)


def main() -> None:
    """Append up to the largest checkpoint in batches, printing throughput and a proof-size table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=10_000, help="entries per append batch")
    parser.add_argument("--max", type=int, default=CHECKPOINTS[-1], help="largest tree size")
    args = parser.parse_args()
    store = MemoryHashStore()
    tree = MerkleTree(store)
    sizes = [s for s in CHECKPOINTS if s <= args.max]
    rows = []
    total_time = 0.0
    batch_rates = []
    for target in sizes:
        while tree.size < target:
            n = min(args.batch, target - tree.size)
            entries = [_entry(i) for i in range(tree.size, tree.size + n)]
            t0 = time.perf_counter()
            tree.append(entries)
            dt = time.perf_counter() - t0
            total_time += dt
            batch_rates.append(n / dt)
        rows.append((target, *_proof_row(tree, store, target)))
    print(
        f"appended {tree.size:,} entries in batches of {args.batch:,}: {total_time:.2f} s, "
        f"{tree.size / total_time:,.0f} appends/s overall "
        f"(batches: median {statistics.median(batch_rates):,.0f}/s, slowest {min(batch_rates):,.0f}/s)"
    )
    print()
    header = (
        "tree size",
        "log2",
        "inclusion hashes",
        "consistency hashes",
        "store reads/proof",
        "prove (us)",
        "verify (us)",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in header) + "|")
    for size, imin, imax, cmin, cmax, tg, tv, reads in rows:
        cells = (
            f"{size:,}",
            f"{math.log2(size):.1f}",
            f"{imin}-{imax}",
            f"{cmin}-{cmax}",
            f"<= {reads}",
            f"{tg * 1e6:.0f}",
            f"{tv * 1e6:.0f}",
        )
        print("| " + " | ".join(c.rjust(len(h)) for c, h in zip(cells, header, strict=True)) + " |")
    print()
    print("inclusion: sampled indices 0, n/3, n/2, n-2, n-1; consistency: from sizes 1, n/3, n/2, n-1 to n.")
    print("every proof above was verified with c11.log.merkle.verify_inclusion / verify_consistency.")


if __name__ == "__main__":
    main()
