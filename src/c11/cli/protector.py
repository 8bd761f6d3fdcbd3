"""`c11 protector ...`: Cloud Protector connections and discovery (docs/protector.md).

    c11 protector connect NAME URL [-o KEY=VALUE]... [--secret NAME]... [--secrets-from env|keyring|file]
    c11 protector list [--json]
    c11 protector test NAME [--write] [--json]
    c11 protector remove NAME [--json]
    c11 protector scan NAME [--path P] [--rules FILE] [--json] [--csv FILE]

The group is lazy like `c11` itself: `COMMANDS` below names this module's commands, and the commands of
c11.cli.protector_run (run, watch, worker: its own `COMMANDS` dict, merged here) are registered the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from c11.cli._group import LazyGroup
from c11.cli._output import emit_json

F = TypeVar("F", bound=Callable[..., Any])

#: this module's subcommands: name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "connect": ("c11.cli.protector", "connect", "Add a named storage location (folder, S3, SMB, Azure, GCS)."),
    "list": ("c11.cli.protector", "list_", "List connections (never their secrets)."),
    "test": ("c11.cli.protector", "test", "Check that a connection opens, lists (and with --write, writes)."),
    "remove": ("c11.cli.protector", "remove", "Forget a connection and the secrets kept for it."),
    "scan": ("c11.cli.protector", "scan", "Find sensitive files in a connection: counts per detector and folder."),
}

#: the module of the run/watch/worker commands (issue 19 part 2), merged into the group when present
RUN_MODULE = "c11.cli.protector_run"

#: default secrets per URL scheme when `connect` names none
DEFAULT_SECRETS = {"s3": ("secret_access_key",), "smb": ("password",), "azure": ("account_key",)}


class _ProtectorGroup(LazyGroup):
    """The lazy group of `COMMANDS`, merged on first use with those of `RUN_MODULE` (which imports this module's
    helpers, so it is imported only once this module is)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, lazy_commands=dict(COMMANDS), **kwargs)
        self._merged = False

    def _merge(self) -> None:
        if not self._merged:
            self._merged = True
            if importlib.util.find_spec(RUN_MODULE) is not None:
                self._lazy.update(importlib.import_module(RUN_MODULE).COMMANDS)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._merge()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._merge()
        return super().get_command(ctx, name)


@click.group("protector", cls=_ProtectorGroup)
def protector() -> None:
    """Cloud Protector: connect storage, find sensitive files, protect them where they are.

    Connections and their secrets are kept on this machine, in --data-dir / C11_PROTECTOR_DIR
    (default $XDG_DATA_HOME/c11-protector); the c11 server never sees them.
    """


def data_dir_option(f: F) -> F:
    """--data-dir (C11_PROTECTOR_DIR): the protector's folder of connections, secrets and state."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        envvar="C11_PROTECTOR_DIR",
        help="The protector's data folder [default: $XDG_DATA_HOME/c11-protector].",
    )(f)


def store(data_dir: str | None) -> Any:
    """The ConnectionStore of `data_dir` (else the default folder), with the OS keyring when one works and a
    hidden passphrase prompt for the secrets file on a terminal."""
    from pathlib import Path

    from c11.protector.connections import PASSPHRASE_ENV, ConnectionStore, default_keyring, protector_dir

    def ask() -> str:
        if not sys.stdin.isatty():
            return ""
        value: str = click.prompt(f"Passphrase of the protector's secrets file ({PASSPHRASE_ENV})", hide_input=True)
        return value

    folder = Path(data_dir) if data_dir else protector_dir()
    return ConnectionStore(folder=folder, env=dict(os.environ), keyring=default_keyring(), ask_passphrase=ask)


def _parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    from c11.errors import UsageError

    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-o needs KEY=VALUE, not {pair[:60]!r}")
        out[key.strip().lower().replace("-", "_")] = value
    return out


def _secret_value(conn: str, secret: str) -> str:
    from c11.errors import UsageError
    from c11.protector.connections import env_var

    var = env_var(conn, secret)
    if os.environ.get(var):
        return os.environ[var]
    if not sys.stdin.isatty():
        raise UsageError(f"give the connection's {secret} in {var} (it is never read from the command line)")
    value: str = click.prompt(f"{secret} of {conn}", hide_input=True)
    return value


@click.command("connect")
@click.argument("name")
@click.argument("url")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help="A backend option (repeat).")
@click.option("--endpoint", help="The service endpoint (S3-compatible, Azurite, a GCS emulator...).")
@click.option(
    "--secret",
    "secret_names",
    multiple=True,
    metavar="NAME",
    help="A secret the backend needs (repeat), read from C11_PROTECTOR_<NAME>_<SECRET> or asked "
    "[default per scheme: s3 secret_access_key, smb password, azure account_key].",
)
@click.option("--no-secrets", is_flag=True, help="The location needs no secret (anonymous or emulator).")
@click.option(
    "--secrets-from",
    type=click.Choice(["env", "keyring", "file"]),
    help="Where the secrets are kept: env (read from C11_PROTECTOR_* at each run), the OS keyring, or the "
    "encrypted secrets file [default: keyring when one works here, else file].",
)
@click.option("--replace", is_flag=True, help="Replace a connection of the same name.")
@click.option("--no-test", is_flag=True, help="Save without first checking that the location opens and lists.")
@click.option("--json", "as_json", is_flag=True, help="Print the saved connection as JSON.")
@data_dir_option
def connect(
    name: str,
    url: str,
    options: tuple[str, ...],
    endpoint: str | None,
    secret_names: tuple[str, ...],
    no_secrets: bool,
    secrets_from: str | None,
    replace: bool,
    no_test: bool,
    as_json: bool,
    data_dir: str | None,
) -> None:
    """Add the connection NAME to the storage at URL, after checking that it opens and lists.

    \b
    URL forms:
      file:///srv/share/docs
      s3://bucket/prefix          -o access_key_id=AKIA... [--endpoint https://s3.wasabisys.com] [-o region=...]
      smb://server[:port]/share/path                      -o username=alice
      azure://account/container/prefix                    [--endpoint http://127.0.0.1:10000/account]
      gs://bucket/prefix          [--endpoint http://127.0.0.1:9023 --no-secrets]
    """
    from urllib.parse import urlsplit

    from c11.protector.connections import Connection, check_name, check_secret_name
    from c11.protector.storage import SCHEMES

    check_name(name)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        from c11.errors import UsageError

        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise UsageError(f"unsupported storage URL {url[:80]!r}: use {known}")
    opts = _parse_options(options)
    if endpoint:
        opts["endpoint"] = endpoint
    names = () if no_secrets else tuple(secret_names) or DEFAULT_SECRETS.get(scheme, ())
    names = tuple(check_secret_name(s) for s in names)
    st = store(data_dir)
    source = secrets_from or ("keyring" if st.keyring is not None else "file")
    values = {s: _secret_value(name, s) for s in names}
    conn = Connection(
        name=name,
        url=url,
        options=opts,
        secrets=values,
        secrets_from=cast(Any, source),
        secret_names=names,
    )
    if not no_test:
        _probe(conn, write=False)
    if source == "env":  # nothing to keep: the values are read from the environment at each run
        conn = Connection(name=name, url=url, options=opts, secrets_from="env", secret_names=names)
    st.add(conn, replace=replace)
    if as_json:
        emit_json(conn.public())
    else:
        where = {"env": "read from the environment", "keyring": "in the OS keyring", "file": "in the secrets file"}
        click.echo(f"connection {name} saved: {url}" + (f" (secrets {where[source]})" if names else ""))


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the connections as JSON.")
@data_dir_option
def list_(as_json: bool, data_dir: str | None) -> None:
    """List the connections: name, URL, options and where their secrets are kept (never their values)."""
    conns = [c.public() for c in store(data_dir).all()]
    if as_json:
        emit_json({"connections": conns})
        return
    if not conns:
        click.echo("no connections (add one with `c11 protector connect NAME URL`)")
    for c in conns:
        secrets = f"  secrets: {', '.join(c['secrets'])} ({c['secrets_from']})" if c["secrets"] else ""
        opts = "  " + " ".join(f"{k}={v}" for k, v in sorted(c["options"].items())) if c["options"] else ""
        click.echo(f"{c['name']}  {c['url']}{opts}{secrets}")


def _probe(conn: Any, *, write: bool) -> dict[str, Any]:
    """Open `conn`, list one page; with `write`, write, read back and delete a probe object."""
    import secrets as _secrets

    from c11.protector.storage import open_storage, read_all

    with open_storage(conn) as s:
        seen = 0
        for _ in s.list(page_size=100):
            seen += 1
            if seen >= 100:
                break
        result: dict[str, Any] = {
            "name": conn.name,
            "ok": True,
            "listed": seen,
            "versioning": s.versioning_enabled(),
            "changes_feed": s.supports_changes,
        }
        if write:
            key = f".c11-protector-probe-{_secrets.token_hex(8)}"
            payload = _secrets.token_bytes(64)
            s.write(key, payload, if_none_match=True, content_type="application/octet-stream")
            try:
                if read_all(s, key, limit=1024) != payload:
                    from c11.protector.storage import StorageError

                    raise StorageError(f"{conn.name}: the probe object read back differs from what was written")
            finally:
                s.delete(key)
            result["write"] = True
    return result


@click.command("test")
@click.argument("name")
@click.option("--write", is_flag=True, help="Also write, read back and delete a small probe object.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@data_dir_option
def test(name: str, write: bool, as_json: bool, data_dir: str | None) -> None:
    """Check that the connection NAME opens with its secrets and lists; --write also checks writing."""
    result = _probe(store(data_dir).get(name), write=write)
    if as_json:
        emit_json(result)
        return
    more = "+" if result["listed"] >= 100 else ""
    click.echo(
        f"{name}: ok, listed {result['listed']}{more} objects"
        + (", wrote and deleted a probe object" if write else "")
        + (", versioning on" if result["versioning"] else "")
    )


@click.command("remove")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the removed connection as JSON.")
@data_dir_option
def remove(name: str, as_json: bool, data_dir: str | None) -> None:
    """Forget the connection NAME and the secrets kept for it (the storage itself is not touched)."""
    conn = store(data_dir).remove(name)
    if as_json:
        emit_json({"removed": conn.public()})
    else:
        click.echo(f"connection {name} removed")


@click.command("scan")
@click.argument("name")
@click.option("--path", "prefix", default="", help="Scan only keys under this folder or prefix (e.g. hr/).")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False), help="A rules file with a [detect] table.")
@click.option("--jobs", type=click.IntRange(1, 64), default=8, show_default=True, help="Objects read at a time.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), help="Also write the files with findings as CSV.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@data_dir_option
def scan(
    name: str,
    prefix: str,
    rules_file: str | None,
    jobs: int,
    as_json: bool,
    csv_file: str | None,
    quiet: bool,
    data_dir: str | None,
) -> None:
    """Scan the connection NAME for sensitive content: counts per detector and folder, and the files with
    findings (matches are shown masked, with a keyed hash; never in clear).

    Progress goes to stderr; --json prints the whole report, --csv FILE writes one row per file and detector.
    """
    from pathlib import Path

    from c11.protector.detect import DetectRules, load_rules
    from c11.protector.scan import iter_report_lines, scan_key
    from c11.protector.scan import scan as run_scan
    from c11.protector.storage import check_key, open_storage

    if prefix:
        check_key(prefix.rstrip("/"))
    st = store(data_dir)
    rules = load_rules(rules_file) if rules_file else DetectRules()
    conn = st.get(name)
    tty = sys.stderr.isatty()

    def show(r: Any) -> None:
        line = f"scanning {name}: {r.objects} objects, {r.bytes / 1e6:.1f} MB, {len(r.files)} with findings"
        click.echo(("\r" + line) if tty else line, err=True, nl=not tty)

    with open_storage(conn) as storage:
        report = run_scan(
            storage,
            name,
            rules=rules,
            key=scan_key(st.folder),
            prefix=prefix,
            jobs=jobs,
            progress=None if quiet else show,
            progress_every=0.5 if tty else 5.0,
        )
    if tty and not quiet:
        click.echo("", err=True)
    if csv_file:
        out = Path(csv_file)
        tmp = out.with_name(f".{out.name}.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            report.write_csv(f)
        tmp.replace(out)
    if as_json:
        emit_json(report.to_json())
    else:
        for line in iter_report_lines(report):
            click.echo(line)
