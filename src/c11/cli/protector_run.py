"""`c11 protector run|worker|watch|status`: apply the protection rules to a connection, on this machine or on
a task queue of workers (docs/protector.md "Rules", "Running", "Workers").

    c11 protector run NAME --rules rules.toml [--dry-run] [--json]          # in this process (SQLite state)
    c11 protector run NAME --queue postgresql://... --state postgresql://... # jobs for the workers
    c11 protector worker --queue postgresql://... --state postgresql://...  # any number of them
    c11 protector watch NAME [--interval 60]                                 # new and changed objects
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from c11.cli.protector import data_dir_option, store

F = TypeVar("F", bound=Callable[..., Any])

COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("c11.cli.protector_run", "run", "Protect what the rules say, in place (or --dry-run)."),
    "worker": ("c11.cli.protector_run", "worker", "Run protection jobs from the queue (PostgreSQL)."),
    "watch": ("c11.cli.protector_run", "watch", "Keep a connection protected: protect new and changed files."),
    "status": ("c11.cli.protector_run", "status", "Objects of a connection per state (protected, failed...)."),
}


def _state_option(f: F) -> F:
    return click.option(
        "--state",
        "state_url",
        envvar="C11_PROTECTOR_STATE",
        metavar="URL",
        help="The protector's state database: sqlite:///PATH or postgresql://... (C11_PROTECTOR_STATE) "
        "[default: state.db in the data folder].",
    )(f)


def _queue_option(f: F) -> F:
    return click.option(
        "--queue",
        "queue_url",
        envvar="C11_PROTECTOR_QUEUE",
        metavar="URL",
        help="The task queue's PostgreSQL database (C11_PROTECTOR_QUEUE); without it, work runs in this process.",
    )(f)


def _identity_option(f: F) -> F:
    return click.option(
        "-i",
        "--identity",
        metavar="KEYFILE",
        help="The key that signs what the protector protects (default: C11_IDENTITY or your key file). "
        "It is not a recipient.",
    )(f)


def _folder(data_dir: str | None) -> Path:
    from c11.protector.connections import protector_dir

    return Path(data_dir) if data_dir else protector_dir()


def _state(state_url: str | None, data_dir: str | None) -> Any:
    from c11.protector.state import open_state

    if not state_url:
        folder = _folder(data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        state_url = f"sqlite:///{folder / 'state.db'}"
    return open_state(state_url)


def _rules(rules_file: str | None, name: str, data_dir: str | None) -> Any:
    from c11.errors import UsageError
    from c11.protector.rules import load_rules

    if rules_file:
        return load_rules(rules_file)
    default = _folder(data_dir) / "rules" / f"{name}.toml"
    if not default.is_file():
        raise UsageError(f"no rules for {name}: give --rules FILE or write {default} (docs/protector.md#rules)")
    return load_rules(default)


class _Context:
    """What a protector process holds: the signer, the SDK's planner, the state, and open storages by name."""

    def __init__(self, identity: str | None, state: Any, data_dir: str | None, dry_run: bool = False) -> None:
        from c11.cli import _identity, _registry

        self.sender = _identity.load_sender(identity)
        self.sending = _registry.sending()
        self.state = state
        self.data_dir = data_dir
        self.dry_run = dry_run
        self._storages: dict[str, Any] = {}
        self.logged_in = _registry.logged_in()
        if not self.logged_in and not dry_run:
            click.echo(
                "c11: warning: not logged in: protections are not reported to a c11 server as usage events, and "
                "rules can name only public key lines and files",
                err=True,
            )

    def storage(self, name: str) -> Any:
        from c11.protector.storage import open_storage

        if name not in self._storages:
            self._storages[name] = open_storage(store(self.data_dir).get(name))
        return self._storages[name]

    def protector(self, name: str, rules: Any, max_size: int) -> Any:
        from c11.protector.protection import Protector, detector_classifier

        record = (lambda plan: self.sending.record(plan, self.sender)) if self.logged_in else None
        return Protector(
            name,
            self.storage(name),
            self.state,
            rules,
            self.sender,
            self.sending,
            detector_classifier(rules.detect),
            record_event=record,
            max_size=max_size,
            dry_run=self.dry_run,
        )

    def close(self) -> None:
        for s in self._storages.values():
            s.close()
        self.state.close()


class _Tally:
    """Counts per outcome, the outcomes worth listing, and a progress line on stderr (at most once a second)."""

    LISTED = ("protected", "failed", "would-protect", "reported")

    def __init__(self, quiet: bool) -> None:
        self.counts: dict[str, int] = {}
        self.items: list[dict[str, Any]] = []
        self.quiet = quiet or not sys.stderr.isatty()
        self._last = time.monotonic()
        self.n = 0

    def add(self, outcome: Any) -> None:
        self.n += 1
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.status in self.LISTED:
            self.items.append(outcome.to_json())
        if not self.quiet and time.monotonic() - self._last >= 1:
            self._last = time.monotonic()
            click.echo(f"\rc11: {self.n} objects, {self.counts.get('protected', 0)} protected", nl=False, err=True)

    def done(self) -> None:
        if not self.quiet and self.n:
            click.echo("", err=True)


def _open(data_dir: str | None, name: str) -> Any:
    from c11.protector.storage import open_storage

    return open_storage(store(data_dir).get(name))


def _listed(storage: Any, prefix: str) -> Iterator[Any]:
    from c11.protector.protection import ignored

    for info in storage.list(prefix):
        if not ignored(info.key):
            yield info


def _summary(name: str, tally: _Tally, as_json: bool, dry_run: bool) -> None:
    from c11.cli._output import emit_json

    if as_json:
        emit_json(
            {"connection": name, "dry_run": dry_run, "objects": tally.n, "counts": tally.counts, "items": tally.items}
        )
        return
    for item in tally.items:
        what = {"protected": "protected", "would-protect": "would protect", "failed": "FAILED", "reported": "found"}
        line = f"{what[item['status']]}: {item['key']}"
        if item["status"] in ("protected", "would-protect"):
            line += f" -> {item['target']} ({item['action']})"
        if item["detectors"]:
            line += f" [{', '.join(item['detectors'])}]"
        if item["status"] == "failed":
            line += f": {item['reason']}"
        click.echo(line)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(tally.counts.items())) or "nothing"
    click.echo(
        f"c11: {name}: {tally.n} objects: {counts}" + (" (dry run: nothing changed)" if dry_run else ""), err=True
    )
    if tally.counts.get("failed"):
        sys.exit(1)


@click.command("run")
@click.argument("name")
@click.option(
    "--rules", "rules_file", metavar="FILE", help="The rules (TOML) [default: rules/NAME.toml in the data folder]."
)
@click.option("--path", "prefix", default="", metavar="PREFIX", help="Only objects whose key starts with PREFIX.")
@click.option("--dry-run", is_flag=True, help="Classify and say what would be protected; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--max-size", default=256 << 20, show_default=True, help="Skip objects larger than this (bytes).")
@click.option("--batch", default=20, show_default=True, help="With --queue: keys per job.")
@_identity_option
@_state_option
@_queue_option
@data_dir_option
def run(
    name: str,
    rules_file: str | None,
    prefix: str,
    dry_run: bool,
    as_json: bool,
    max_size: int,
    batch: int,
    identity: str | None,
    state_url: str | None,
    queue_url: str | None,
    data_dir: str | None,
) -> None:
    """Apply the rules to every object of the connection NAME: protect whole files as NAME.c11, or the
    matched parts inside documents, or only report. An object is replaced only after its protected version
    was written and verified; an object already protected (and unchanged) is not protected again.

    \b
    Examples:
      c11 protector run docs --rules rules.toml --dry-run
      c11 protector run docs --rules rules.toml --json
      c11 protector run docs --rules rules.toml --queue postgresql://db/protector   # for the workers
    """
    from c11.cli._output import emit_json

    rules = _rules(rules_file, name, data_dir)
    if queue_url and not dry_run:
        from c11.protector import queue as Q

        app = Q.make_app(queue_url)
        Q.ensure_schema(app)
        with _open(data_dir, name) as s:
            n = Q.defer(app, name, _listed(s, prefix), rules.text, batch=batch)
        if as_json:
            emit_json({"connection": name, "queued": n})
        else:
            click.echo(f"c11: {name}: {n} objects queued for the workers (c11 protector worker)", err=True)
        return
    ctx = _Context(identity, _state(state_url, data_dir), data_dir, dry_run)
    tally = _Tally(as_json)
    try:
        p = ctx.protector(name, rules, max_size)
        for info in _listed(p.storage, prefix):
            tally.add(p.process(info.key, info))
    finally:
        tally.done()
        ctx.close()
    _summary(name, tally, as_json, dry_run)


@click.command("worker")
@click.option("--concurrency", default=1, show_default=True, help="Jobs run at once by this worker.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (instead of waiting for jobs).")
@click.option("--max-size", default=256 << 20, show_default=True, help="Skip objects larger than this (bytes).")
@click.option(
    "--stalled-after",
    default=10.0,
    show_default=True,
    help="Seconds without a heartbeat after which another worker's job is retried.",
)
@_identity_option
@_state_option
@_queue_option
@data_dir_option
def worker(
    concurrency: int,
    burst: bool,
    max_size: int,
    stalled_after: float,
    identity: str | None,
    state_url: str | None,
    queue_url: str | None,
    data_dir: str | None,
) -> None:
    """Run protection jobs from the queue until stopped (Ctrl-C, SIGTERM). Start as many workers as you
    like, on any machines that reach the queue's and the state's PostgreSQL and hold the connections'
    secrets; a job of a worker that died is retried by another.

    \b
    Example:
      export C11_PROTECTOR_QUEUE=postgresql://db/protector C11_PROTECTOR_STATE=postgresql://db/protector
      c11 protector worker -i protector.key
    """
    from c11.errors import UsageError
    from c11.protector import queue as Q
    from c11.protector.rules import parse_rules

    if not queue_url:
        raise UsageError("a worker needs the queue: give --queue postgresql://... (or C11_PROTECTOR_QUEUE)")
    if state_url and not state_url.startswith(("postgresql", "postgres")):
        raise UsageError(
            "workers share the state database: give --state postgresql://... (or leave it out: the queue's database)"
        )
    ctx = _Context(identity, _state(state_url or queue_url, data_dir), data_dir)
    locks = Q.KeyLocks(ctx.state.engine)

    protectors: dict[tuple[str, str], Any] = {}  # one per connection and rules: plans made once

    def handle(connection: str, objects: list[list[Any]], rules: str) -> None:
        p = protectors.get((connection, rules))
        if p is None:
            p = ctx.protector(connection, parse_rules(rules, "the job's rules"), max_size)
            p.lock = locks.for_connection(connection)
            protectors[(connection, rules)] = p
        for out in Q.run_objects(p.process, objects):
            if out.status == "failed":
                click.echo(f"c11: {connection}: {out.key}: {out.reason}", err=True)

    app = Q.make_app(queue_url, handle)
    Q.ensure_schema(app)
    try:
        Q.work(app, concurrency=concurrency, stalled_after=stalled_after, wait=not burst)
    finally:
        locks.close()
        ctx.close()


@click.command("watch")
@click.argument("name")
@click.option(
    "--rules", "rules_file", metavar="FILE", help="The rules (TOML) [default: rules/NAME.toml in the data folder]."
)
@click.option("--path", "prefix", default="", metavar="PREFIX", help="Only objects whose key starts with PREFIX.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between two looks at the storage.")
@click.option("--once", is_flag=True, help="Look once, protect what is new or changed, and stop.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the result as JSON.")
@click.option("--max-size", default=256 << 20, show_default=True, help="Skip objects larger than this (bytes).")
@_identity_option
@_state_option
@_queue_option
@data_dir_option
def watch(
    name: str,
    rules_file: str | None,
    prefix: str,
    interval: float,
    once: bool,
    as_json: bool,
    max_size: int,
    identity: str | None,
    state_url: str | None,
    queue_url: str | None,
    data_dir: str | None,
) -> None:
    """Keep the connection NAME protected: look for new and changed objects (the backend's change feed where
    it has one, else a listing compared with the state's ETags) and protect them as `run` does; with
    --queue, hand them to the workers.

    \b
    Examples:
      c11 protector watch docs --rules rules.toml --interval 300
      c11 protector watch docs --once --json
    """
    from c11.protector.watch import changed

    rules = _rules(rules_file, name, data_dir)
    ctx = _Context(identity, _state(state_url or queue_url, data_dir), data_dir)
    app = None
    if queue_url:
        from c11.protector import queue as Q

        app = Q.make_app(queue_url)
        Q.ensure_schema(app)
    try:
        p = ctx.protector(name, rules, max_size)
        while True:
            tally = _Tally(as_json)
            listed = changed(p.storage, ctx.state, name, prefix)
            if app is not None:
                n = Q.defer(app, name, listed, rules.text)
                tally.counts["queued"] = n
            else:
                for info in listed:
                    tally.add(p.process(info.key, info))
            tally.done()
            if once:
                break
            if tally.n or tally.counts.get("queued"):
                counts = ", ".join(f"{n} {s}" for s, n in sorted(tally.counts.items()))
                click.echo(f"c11: {name}: {counts}", err=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        return
    finally:
        ctx.close()
    _summary(name, tally, as_json, False)


@click.command("status")
@click.argument("name")
@click.option("--failed", is_flag=True, help="List the failed objects and why.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_state_option
@data_dir_option
def status(name: str, failed: bool, as_json: bool, state_url: str | None, data_dir: str | None) -> None:
    """How many objects of the connection NAME are protected, skipped, reported or failed (from the state
    database); --failed lists the failures with their reasons."""
    from c11.cli._output import emit_json

    db = _state(state_url, data_dir)
    try:
        counts = db.counts(name)
        rows = [{"key": r.key, "reason": r.reason} for r in db.objects(name, "failed")] if failed else []
    finally:
        db.close()
    if as_json:
        emit_json({"connection": name, "counts": counts, "failed": rows})
        return
    click.echo(f"{name}: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing recorded yet"))
    for r in rows:
        click.echo(f"failed: {r['key']}: {r['reason']}")
