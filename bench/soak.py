"""Soak: three `c11 serve` replicas behind HAProxy, under a mixed load, while replicas are killed, PostgreSQL
restarts and the SMTP server goes away; then proofs that nothing was lost, duplicated or forked.

The deployment (bench/_soak_stack.py): a private PostgreSQL cluster (initdb in a temporary folder, its own
port: the shared server on 5432 is never touched), 3 replicas sharing one data folder and database, a shard
store, Debian's HAProxy health-checking `/readyz` every 400 ms, and an aiosmtpd sink for the outbox. The load
(bench/_soak_load.py, its own process): `--threads` simulated people on the SDK mixing sign-ups (verified
through the emails at the sink), logins, key publishes, registry lookups with proofs, online encryptions and
key releases, revocations, invitations, shard fetches and event queries.

Schedule, as fractions of `--duration` (a step that starts something waits until it answers, so on a loaded
machine the later steps slip; the load then runs on for a tenth of the duration after the last one): SMTP sink
stopped at 5 % and started at 25 % (the outbox fills); replica r1 SIGKILLed at 30 % and started at 42 %;
PostgreSQL restarted (fast) at 50 %; replica r2 SIGKILLed at 60 % and started at 72 %. Afterwards every check prints one PASS/FAIL line; the exit status is 1 if any fails.

    .venv/bin/python bench/soak.py                      # 300 s
    .venv/bin/python bench/soak.py --duration 45 --json # the suite's version (tests/soak/test_soak.py)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from _bench import ROOT
from _soak_stack import HAProxy, PrivatePostgres, Replica, ShardStore, SmtpSink, free_port, replica_env

ADMIN = "admin@soak.example"
#: A 5xx that is not a connection reset is accepted only this close to a kill (seconds after the SIGKILL).
KILL_WINDOW = 3.0


class Soak:
    """The deployment, the schedule and the evidence."""

    def __init__(self, args: argparse.Namespace, folder: Path | None = None) -> None:
        self.args = args
        self.tmp = folder or Path(tempfile.mkdtemp(prefix="c11-soak-"))
        os.chmod(self.tmp, 0o755)
        self.pg = PrivatePostgres(self.tmp / "pg")
        conf = self.tmp / "pg" / "data" / "postgresql.conf"
        if folder is not None and conf.exists():  # --recheck: the kept cluster, on its port
            self.pg.port = int(re.findall(r"^port = (\d+)", conf.read_text(), re.M)[-1])
        self.sink = SmtpSink(self.tmp / "mail")
        self.events: list[tuple[float, str, str]] = []  # (time, action, target)
        ports = [free_port() for _ in range(3)]
        self.haproxy = HAProxy(self.tmp, [(f"r{i + 1}", p) for i, p in enumerate(ports)])
        self.store = ShardStore(self.tmp / "store", self.haproxy.url)
        data = self.tmp / "data"
        data.mkdir(exist_ok=True)
        self.replicas = [
            Replica(
                f"r{i + 1}",
                p,
                replica_env(data, self.pg.url, p, self.haproxy.url, self.sink.port, self.store.url),
                self.tmp / f"r{i + 1}.log",
            )
            for i, p in enumerate(ports)
        ]
        self.load_proc: subprocess.Popen | None = None
        self.t0 = time.time()
        self.proof_url = self.haproxy.url

    def note(self, action: str, target: str) -> None:
        self.events.append((time.time(), action, target))
        (self.tmp / "events.json").write_text(json.dumps(self.events))
        if not self.args.json:
            print(f"  [{time.strftime('%H:%M:%S')}] {action} {target}", flush=True)

    # -- set-up and tear-down ---------------------------------------------------------------------------

    def up(self) -> None:
        self.pg.init()
        self.sink.start()
        self.replicas[0].start()  # migrates and makes the keys; the others then find them
        failed: list[BaseException] = []

        def start(r: Replica) -> None:
            try:
                r.start()
            except BaseException as e:  # reported below
                failed.append(e)

        threads = [threading.Thread(target=start, args=(r,)) for r in self.replicas[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failed:
            raise RuntimeError(f"replicas did not start: {failed}")
        self.haproxy.start()
        self.store.start()
        env = {**self.replicas[0].env}
        r = subprocess.run(
            [sys.executable, "-m", "c11.cli.main", "org", "create", "Soak", "--admin", ADMIN]
            + ["--domain", "soak.example", "--verified"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if r.returncode != 0:
            raise RuntimeError(f"c11 org create: {r.stderr}")

    def down(self) -> None:
        if self.load_proc is not None and self.load_proc.poll() is None:
            self.load_proc.kill()
        for part in (self.store, self.haproxy, *self.replicas):
            try:
                part.stop()
            except Exception as e:  # keep tearing down
                print(f"stopping {part}: {e}", file=sys.stderr)
        self.sink.stop()
        self.pg.stop()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the run ----------------------------------------------------------------------------------------

    def run_load(self) -> dict[str, Any]:
        spec = {
            "url": self.haproxy.url,
            "state_dir": str(self.tmp / "clients"),
            "mail_dir": str(self.sink.folder),
            "admin": ADMIN,
            "seed_users": self.args.seed_users,
            "cloud_users": 2,
            "threads": self.args.threads,
            "think": self.args.think,
            "seconds": self.args.duration * 4 + 600,  # at most; the schedule ends it with the stop file
            "stop_file": str(self.tmp / "load.stop"),
            "drain": self.args.drain,
            "ready_file": str(self.tmp / "load.ready"),
            "result_file": str(self.tmp / "load.json"),
        }
        spec_file = self.tmp / "load.spec.json"
        spec_file.write_text(json.dumps(spec))
        log = (self.tmp / "load.log").open("ab")
        self.load_proc = subprocess.Popen(
            [sys.executable, __file__, "--load", str(spec_file)],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        ready = self.tmp / "load.ready"
        deadline = time.monotonic() + 300
        while not ready.exists():
            if self.load_proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the load did not start: {(self.tmp / 'load.log').read_text()[-3000:]}")
            time.sleep(0.2)
        self.note("load", f"started ({self.args.threads} threads, {self.args.duration:.0f} s)")
        start = time.time()
        self.schedule(start)
        # the load goes on for --duration, and for at least a tenth of it after the last restart
        time.sleep(max(0.0, start + self.args.duration - time.time(), self.args.duration / 10))
        (self.tmp / "load.stop").write_text("stop")
        self.load_proc.wait(timeout=self.args.duration + self.args.drain + 600)
        if self.load_proc.returncode != 0:
            raise RuntimeError(f"the load failed: {(self.tmp / 'load.log').read_text()[-3000:]}")
        self.note("load", "finished")
        return json.loads((self.tmp / "load.json").read_text())

    def schedule(self, start: float) -> None:
        d = self.args.duration
        r1, r2 = self.replicas[0], self.replicas[1]
        plan = [
            (0.05, "stop", "smtp", self.sink.stop),
            (0.25, "start", "smtp", self.sink.start),
            (0.30, "sigkill", "r1", r1.kill),
            (0.42, "start", "r1", r1.start),
            (0.50, "restart", "postgresql", self.pg.restart),
            (0.60, "sigkill", "r2", r2.kill),
            (0.72, "start", "r2", r2.start),
        ]
        for frac, action, target, run in plan:
            wait = start + frac * d - time.time()
            if wait > 0:
                time.sleep(wait)
            self.note(action, target)
            run()
            self.note(f"{action} done", target)

    def drain_outbox(self) -> dict[str, int]:
        """Wait (at most --drain s) until no email is queued or being sent; the outbox's statuses."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.pg.url)
        deadline = time.monotonic() + self.args.drain
        try:
            while True:
                with engine.connect() as c:
                    rows = c.execute(sa.text("SELECT status, count(*) FROM outbox_messages GROUP BY status"))
                    counts = {status: n for status, n in rows}
                if not counts.get("pending") and not counts.get("sending"):
                    return counts
                if time.monotonic() > deadline:
                    return counts
                time.sleep(1)
        finally:
            engine.dispose()


# -- the checks ---------------------------------------------------------------------------------------------

HAPROXY_LINE = re.compile(r"\bR (\d+\.\d+) (\S+) (-?\d+) (\S+) (-?\d+) (\S+) (\S+)(?: (-?\d+) (-?\d+))?")
HEALTH_LINE = re.compile(r"Server replicas/(r\d) is (DOWN|UP)")
ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d|Z)?)")
ID_PART = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27}|/\d+(?=/|$)")


def parse_haproxy(log: Path) -> tuple[list[dict[str, Any]], list[tuple[float, str, str]]]:
    """(requests, health changes) from HAProxy's log."""
    requests, health = [], []
    last_t = 0.0
    for line in log.read_text(errors="replace").splitlines():
        m = HAPROXY_LINE.search(line)
        if m:
            accepted, server, status, term, active, method, path, handshake, idle = m.groups()
            # the request's own start: a kept-alive connection's later requests were accepted long before
            t = float(accepted) + (max(0, int(handshake or 0)) + max(0, int(idle or 0))) / 1000
            last_t = t
            route = ID_PART.sub("/{id}", path.split("?", 1)[0])
            requests.append(
                {
                    "t": t,
                    "server": server,
                    "status": int(status),
                    "term": term,
                    "ms": int(active),
                    "route": f"{method} {route}",
                }
            )
            continue
        h = HEALTH_LINE.search(line)
        if h:
            iso = ISO.search(line)
            when = datetime.fromisoformat(iso.group(1)).timestamp() if iso else last_t
            health.append((when, h.group(1), h.group(2)))
    return requests, health


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else 0.0


class Checks:
    def __init__(self, soak: Soak, load: dict[str, Any], outbox: dict[str, int]) -> None:
        self.soak, self.load, self.outbox = soak, load, outbox
        self.results: list[tuple[str, bool, str]] = []
        self.t0 = soak.t0
        self.figures: dict[str, Any] = {}

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.results.append((name, ok, detail))

    def kills(self) -> list[tuple[float, str]]:
        return [(t, target) for t, action, target in self.soak.events if action == "sigkill"]

    def run(self) -> None:
        import sqlalchemy as sa

        self.engine = sa.create_engine(self.soak.pg.url)
        try:
            self.errors_and_routing()
            self.writes_present()
            self.log_history()
            self.releases_match()
            self.emails_once()
        finally:
            self.engine.dispose()

    def errors_and_routing(self) -> None:
        ops = self.load["ops"]
        kills = self.kills()
        pg_restarts = [t for t, action, _ in self.soak.events if action == "restart"]
        pg_done = [t for t, action, _ in self.soak.events if action == "restart done"]
        near_kill = lambda t: any(k - 0.5 <= t <= k + KILL_WINDOW for k, _ in kills)  # noqa: E731
        near_pg = lambda t: any(a - 0.5 <= t <= b + KILL_WINDOW for a, b in zip(pg_restarts, pg_done, strict=False))  # noqa: E731
        bad, db_cut, kill_cut = [], [], []
        for op, t0, secs, outcome, status, detail in ops:
            end = t0 + secs
            if outcome == "5xx" and "database-unavailable" in detail and near_pg(end):
                db_cut.append(op)  # its transaction was cut by the PostgreSQL restart: 503 with Retry-After
            elif outcome == "5xx" and detail.startswith(("proxy", "via-store")) and near_kill(end):
                kill_cut.append(op)  # the proxy's 502 for a request the killed replica had taken
            elif outcome == "reset" and near_kill(end):
                kill_cut.append(op)
            elif outcome in ("5xx", "reset"):
                bad.append(f"{op} {status} {detail}")
        by_outcome = Counter(o[3] for o in ops)
        self.figures["operations"] = dict(by_outcome)
        self.figures["operations_by_kind"] = dict(Counter(o[0] for o in ops))
        self.figures["refusals_4xx"] = dict(Counter(f"{o[0]} {o[4]}" for o in ops if o[3] == "4xx"))
        self.figures["cut_by_database_restart"] = len(db_cut)
        self.check(
            "no 5xx except connection resets at a replica kill (and 503 database-unavailable for transactions "
            "the PostgreSQL restart cut)",
            not bad,
            f"{len(ops)} operations, {len(kill_cut)} cut by a kill ({dict(Counter(kill_cut))}), {len(db_cut)} by the PostgreSQL "
            f"restart ({dict(Counter(db_cut))}); other errors: {bad[:5]}",
        )
        # HAProxy's view: every request, by server, and the health changes
        requests, health = parse_haproxy(self.soak.haproxy.log)
        end = max((t for t, action, what in self.soak.events if action == "load" and what == "finished"), default=0)
        requests = [r for r in requests if not end or r["t"] <= end]  # not the checks' own proof requests
        self.requests = requests
        app_5xx = [
            r
            for r in requests
            if r["status"] >= 500
            and r["term"][0] == "-"
            and not (r["status"] == 503 and near_pg(r["t"] + r["ms"] / 1000))
        ]
        cut = [r for r in requests if r["status"] >= 500 and r["term"][0] != "-"]
        cut_bad = [r for r in cut if not near_kill(r["t"] + r["ms"] / 1000)]
        self.check(
            "HAProxy: no 5xx answered by a replica (but 503 at the PostgreSQL restart); cut requests only at a kill",
            not app_5xx and not cut_bad,
            f"{len(requests)} requests; {len(app_5xx)} 5xx from replicas {app_5xx[:3]}; {len(cut)} cut by the "
            f"proxy ({dict(Counter((r['server'], r['status'], r['term']) for r in cut))}), "
            f"{len(cut_bad)} away from a kill",
        )
        routed = []
        ok = True
        for k, name in kills:
            before = [(t, st) for t, s, st in health if s == name and t < k]
            already = before[-1][0] if before and before[-1][1] == "DOWN" else None  # a check timeout just before
            down = already or next((t for t, s, st in health if s == name and st == "DOWN" and t >= k), None)
            up = next((t for t, s, st in health if s == name and st == "UP" and down and t > down), None)
            if down is None or up is None:
                ok = False
                routed.append(f"{name}: no DOWN/UP seen after the kill")
                continue
            sent = [r for r in requests if r["server"] == name and down + 0.5 < r["t"] < up - 0.5]
            served = [r for r in requests if r["server"] != name and down < r["t"] < up and r["status"] < 500]
            ok = ok and not sent and bool(served)
            routed.append(
                f"{name}: marked down {down - k:.1f} s after the SIGKILL, up again {up - down:.1f} s later; "
                f"{len(sent)} requests sent to it meanwhile, {len(served)} served by the others"
            )
        self.check("HAProxy routed around the dead replicas", ok, "; ".join(routed))
        per_route: dict[str, list[float]] = defaultdict(list)
        for r in requests:
            per_route[r["route"]].append(r["ms"])
        self.figures["routes"] = {
            route: {"requests": len(v), "p50_ms": percentile(v, 0.5), "p99_ms": percentile(v, 0.99)}
            for route, v in sorted(per_route.items(), key=lambda kv: -len(kv[1]))
        }
        self.figures["requests"] = len(requests)
        self.figures["statuses"] = dict(Counter(r["status"] for r in requests))
        lat: dict[str, list[float]] = defaultdict(list)
        for op, _t0, secs, outcome, *_ in ops:
            if outcome == "ok":
                lat[op].append(secs * 1000)
        self.figures["operation_ms"] = {
            op: {"n": len(v), "p50": round(percentile(v, 0.5), 1), "p99": round(percentile(v, 0.99), 1)}
            for op, v in sorted(lat.items())
        }
        violations = self.load["violations"] + [f"{o[0]}: {o[5]}" for o in ops if o[3] == "violation"]
        self.check(
            "no protocol violation seen by a client (a proof, a key part, a release after a revocation)",
            not violations,
            f"{len(violations)}: {violations[:3]}",
        )

    def _rows(self, sql: str) -> list[Any]:
        import sqlalchemy as sa

        with self.engine.connect() as c:
            return list(c.execute(sa.text(sql)))

    def writes_present(self) -> None:
        acks = self.load["acks"]
        users = {e: v for e, v in self._rows("SELECT email, email_verified_at FROM users")}
        docs = {d: r for d, r in self._rows("SELECT doc_id, revoked_at FROM online_documents")}
        invitations = {i for (i,) in self._rows("SELECT id FROM invitations")}
        entries = {i: (k, d) for i, k, d in self._rows("SELECT idx, kind, data FROM log_entries")}
        self.entries = entries
        missing = []
        missing += [f"user {e}" for e in acks["signups"] if e not in users]
        missing += [f"verification of {e}" for e in acks["verified"] if users.get(e) is None]
        missing += [f"document {d}" for d in acks["documents"] if d not in docs]
        missing += [f"revocation of {r['doc']}" for r in acks["revokes"] if docs.get(r["doc"]) is None]
        missing += [f"invitation {i['id']}" for i in acks["invitations"] if i["id"] not in invitations]
        for p in acks["publishes"]:
            kind, data = entries.get(p["index"], (None, "{}"))
            if kind != "key" or json.loads(data).get("public_key") != p["public_key"]:
                missing.append(f"key entry {p['index']} of {p['email']}")
        for r in acks["releases"]:
            kind, data = entries.get(r["index"], (None, "{}"))
            d = json.loads(data)
            if kind != "release" or d.get("doc") != r["doc"] or d.get("result") != "allowed":
                missing.append(f"release entry {r['index']} of {r['doc']}")
        missing += [f"shard entry {i}" for i in acks["shard_entries"] if i not in entries]
        counts = {k: len(v) for k, v in acks.items()}
        self.figures["acknowledged"] = counts
        self.check(
            "every acknowledged write is present",
            not missing,
            f"{sum(counts.values())} acknowledged ({counts}); missing: {missing[:5]}",
        )
        late = self.load["pending_unverified"]
        self.check(
            "every sign-up's verification email arrived and was used",
            not late,
            f"{len(acks['verified'])} verified; still waiting: {late[:5]}",
        )

    def log_history(self) -> None:
        import httpx

        from c11.client.transparency import decode_hashes
        from c11.log.checkpoint import NoteVerifier, open_checkpoint, verify_checkpoint_consistency
        from c11.log.merkle import leaf_hash, verify_inclusion

        url = self.soak.proof_url
        with httpx.Client(base_url=url, timeout=60) as h:
            key = h.get("/api/v1/log/key").text.strip()
            verifier = NoteVerifier.parse(key)
            final = open_checkpoint(h.get("/api/v1/log/checkpoint").content, verifier)
            bad = []
            for note in self.load["notes"]:
                try:
                    cp = open_checkpoint(note.encode(), verifier)
                    proof = []
                    if 0 < cp.size < final.size:
                        d = h.get("/api/v1/log/proof/consistency", params={"from": cp.size, "to": final.size})
                        proof = decode_hashes(d.json()["proof"])
                    verify_checkpoint_consistency(cp, final, proof)
                except Exception as e:
                    bad.append(f"size {note.splitlines()[1] if note.count(chr(10)) else '?'}: {e}")
            self.check(
                "every checkpoint a client received is consistent with the final one",
                not bad and bool(self.load["notes"]),
                f"{len(self.load['notes'])} distinct checkpoints (sizes up to {final.size}); bad: {bad[:3]}",
            )
            acks = self.load["acks"]
            indexes = (
                [p["index"] for p in acks["publishes"]]
                + [r["index"] for r in acks["releases"]]
                + list(acks["shard_entries"])
            )
            reused = [i for i, n in Counter(indexes).items() if n > 1 and i not in set(acks["shard_entries"])]
            failed = []
            for i in sorted(set(indexes)):
                kind, data = self.entries.get(i, (None, ""))
                d = h.get("/api/v1/log/proof/inclusion", params={"index": i, "size": final.size}).json()
                try:
                    proof = decode_hashes(d["proof"])
                    verify_inclusion(leaf_hash(data.encode()), i, final.size, proof, final.root_hash)
                except Exception as e:
                    failed.append(f"{i}: {e}")
        self.check(
            "every acknowledged entry has an inclusion proof in the final tree",
            not failed,
            f"{len(set(indexes))} entries proven; failed: {failed[:3]}",
        )
        # the whole log, rebuilt here: contiguous indexes, the same root as the final checkpoint
        from c11.log._tree import MemoryHashStore, MerkleTree

        n = len(self.entries)
        contiguous = sorted(self.entries) == list(range(n))
        tree = MerkleTree(MemoryHashStore())
        tree.append(self.entries[i][1].encode() for i in sorted(self.entries))
        same_root = n >= final.size and tree.root(final.size) == final.root_hash
        self.check(
            "one history: no acknowledged index reused, the log contiguous, its root the final checkpoint's",
            not reused and contiguous and same_root,
            f"{n} entries, final checkpoint of {final.size}; reused indexes: {reused[:5]}; contiguous: {contiguous}; "
            f"root matches: {same_root}",
        )
        self.figures["log_size"] = final.size

    def releases_match(self) -> None:
        acks = self.load["acks"]
        allowed = Counter()
        denied = Counter()
        for _i, (kind, data) in self.entries.items():
            if kind == "release":
                d = json.loads(data)
                (allowed if d["result"] == "allowed" else denied)[d["doc"]] += 1
        acked = Counter(r["doc"] for r in acks["releases"])
        acked_denied = Counter(r["doc"] for r in acks["denied"])
        unknown = Counter(self.load["unknown"]["releases"])
        bad = []
        for doc in set(allowed) | set(acked):
            if not acked[doc] <= allowed[doc] <= acked[doc] + unknown[doc]:
                bad.append(f"{doc}: {allowed[doc]} allowed entries, {acked[doc]} releases answered, {unknown[doc]} cut")
        for doc in set(denied) | set(acked_denied):
            if not acked_denied[doc] <= denied[doc] <= acked_denied[doc] + unknown[doc]:
                bad.append(f"{doc}: {denied[doc]} denied entries, {acked_denied[doc]} refusals answered")
        revoked = {r["doc"]: r["t"] for r in acks["revokes"]}
        late = [r for r in acks["releases"] if r["doc"] in revoked and r["t"] > revoked[r["doc"]]]
        (access_rows,) = self._rows("SELECT count(*) FROM online_accesses")[0]
        self.check(
            "every release entry matches a release answered (allowed or refused); none after a revocation",
            not bad and not late and access_rows == sum(allowed.values()) + sum(denied.values()),
            f"{sum(allowed.values())} allowed and {sum(denied.values())} denied entries; {sum(acked.values())} "
            f"releases and {sum(acked_denied.values())} refusals answered, {sum(unknown.values())} cut; "
            f"{access_rows} access rows; mismatches: {bad[:3]}; released after revocation: {len(late)}",
        )

    def emails_once(self) -> None:
        rows = self._rows("SELECT id, status, recipient FROM outbox_messages")
        sink = self.soak.sink.messages
        by_id = Counter(m["outbox_id"] for m in sink)
        by_mid = Counter(m["message_id"] for m in sink)
        not_sent = [(i, s) for i, s, _ in rows if s != "sent"]
        missing = [i for i, _s, _ in rows if by_id[i] == 0]
        dup = [i for i, n in by_id.items() if n > 1] + [m for m, n in by_mid.items() if n > 1]
        unknown = [i for i in by_id if i not in {r[0] for r in rows}]
        self.figures["emails"] = {"queued": len(rows), "received": len(sink), "outbox": self.outbox}
        self.check(
            "every queued email delivered exactly once (by message ID at the SMTP sink)",
            not not_sent and not missing and not dup and not unknown and len(sink) == len(rows),
            f"{len(rows)} queued, {len(sink)} received at the sink; not sent: {not_sent[:3]}; missing: "
            f"{missing[:3]}; duplicates: {dup[:3]}; unknown: {unknown[:3]}",
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    p.add_argument("--threads", type=int, default=8, help="simulated people at once (default 8)")
    p.add_argument("--think", type=float, default=0.02, help="mean pause between a thread's operations, s")
    p.add_argument("--seed-users", type=int, default=12, help="people signed up before the load (default 12)")
    p.add_argument("--drain", type=float, default=90.0, help="most seconds to wait for the outbox to empty")
    p.add_argument("--json", action="store_true", help="print the figures as JSON after the PASS/FAIL lines")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, HAProxy log, mail)")
    p.add_argument("--recheck", metavar="FOLDER", help="run the checks again on a run kept with --keep")
    p.add_argument("--load", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.load:
        from _soak_load import main as load_main

        load_main(args.load)
        return
    if args.recheck:
        sys.exit(report(args, *recheck(args, Path(args.recheck))))
    soak = Soak(args)
    print(f"c11 soak: 3 replicas behind HAProxy, {args.duration:.0f} s, {os.cpu_count()} CPUs; folder {soak.tmp}")
    try:
        soak.up()
        soak.t0 = time.time()
        load = soak.run_load()
        outbox = soak.drain_outbox()
        checks = Checks(soak, load, outbox)
        checks.run()
    finally:
        soak.down()
    sys.exit(report(args, checks.results, checks.figures))


def recheck(args: argparse.Namespace, folder: Path) -> tuple[list[tuple[str, bool, str]], dict[str, Any]]:
    """The checks of a kept run (--keep): its PostgreSQL cluster and one replica on it answer the proofs."""
    from email import message_from_bytes, policy

    args.keep = True
    soak = Soak(args, folder)
    soak.events = [tuple(e) for e in json.loads((folder / "events.json").read_text())]
    for f in sorted(soak.sink.folder.glob("*.eml")):
        msg = message_from_bytes(f.read_bytes(), policy=policy.default)
        soak.sink.messages.append(
            {"message_id": str(msg["Message-ID"]), "outbox_id": str(msg["X-C11-Outbox-Id"]), "to": str(msg["To"])}
        )
    soak.t0 = soak.events[0][0]
    r1 = soak.replicas[0]
    r1.env = {**r1.env, "C11_DATABASE_URL": soak.pg.url, "C11_MAIL_WORKER": "false"}
    soak.proof_url = f"http://127.0.0.1:{r1.port}"
    soak.pg.start()
    try:
        r1.start()
        checks = Checks(soak, json.loads((folder / "load.json").read_text()), soak.drain_outbox())
        checks.run()
    finally:
        r1.stop()
        soak.pg.stop()
    return checks.results, checks.figures


def report(args: argparse.Namespace, results: list[tuple[str, bool, str]], f: dict[str, Any]) -> int:
    """Print the PASS/FAIL lines and the figures; the exit status."""
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}: {name} -- {detail}")
    print(f"requests through HAProxy: {f['requests']}, statuses {f['statuses']}; operations {f['operations']}")
    print("p99 per route (HAProxy active time, ms; routes with >= 20 requests):")
    for route, r in f["routes"].items():
        if r["requests"] >= 20:
            print(f"  {route:<55} {r['requests']:>6}  p50 {r['p50_ms']:>6}  p99 {r['p99_ms']:>6}")
    if args.json:
        print(json.dumps({"checks": [[n, ok, d] for n, ok, d in results], "figures": f}))
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    main()
