"""`c11 org events`: your organization's usage events (who protected, opened, shared, revoked, when).

A table by default; `--json`, `--csv [-o FILE]` (every matching event) and `--daily` (counts per day).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click

from c11._internal.display import safe_text  # names from servers: never printed raw

_DURATION = re.compile(r"(\d{1,5})([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def _since(value: str | None) -> str | None:
    """A duration (30d, 12h, 2w: that long ago), a date or an RFC 3339 time."""
    if value is None:
        return None
    m = _DURATION.fullmatch(value.strip().lower())
    if m:
        t = datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _time(value, "--since")


def _until(value: str | None) -> str | None:
    """A date (that whole day included) or an RFC 3339 time (excluded)."""
    if value is None:
        return None
    if "T" not in value.upper():
        return (_date(value, "--until") + timedelta(days=1)).isoformat()
    return _time(value, "--until")


def _bad(value: str, option: str) -> click.BadParameter:
    durations = ", or a duration like 30d, 12h, 2w" if option == "--since" else ""
    return click.BadParameter(
        f"{value!r}: give a date like 2026-11-01, an RFC 3339 time like 2026-11-01T09:00:00Z{durations}",
        param_hint=option,
    )


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _bad(value, option) from None


def _time(value: str, option: str) -> str:
    from c11.log.entries import parse_rfc3339

    value = value.strip()
    if "T" not in value.upper():
        return _date(value, option).isoformat()
    try:
        parse_rfc3339(value)
    except ValueError:
        raise _bad(value, option) from None
    return value


def _who(e) -> str:  # noqa: ANN001
    if e.actor:
        return e.actor
    if not e.actor_hash:
        return "-"
    if e.actor_hash == "operator":  # an operator command (`c11 org create`)
        return "(operator)"
    if e.actor_hash.startswith("scim-token:"):  # provisioning by an identity provider
        return f"(SCIM token {e.actor_hash.split(':', 1)[1][:12]}…)"
    return f"(outside) {e.actor_hash[:12]}…"


def _action(e) -> str:  # noqa: ANN001
    op = (e.detail or {}).get("op") if e.action in ("admin", "shard", "key_change", "invite") else None
    return f"{e.action} {op}" if op else e.action


def _target(e) -> str:  # noqa: ANN001
    if e.target_email:
        return e.target_email
    if e.target:
        return e.target[:12] + ("…" if len(e.target) > 12 else "")
    return ""


def _table(items: list) -> None:
    if not items:
        click.echo("c11: no events match", err=True)
        return
    rows = [
        (
            f"{e.time:%Y-%m-%d %H:%M:%S}",
            safe_text(_action(e)),
            safe_text(_who(e)),
            safe_text(e.doc_id or ""),
            safe_text(_target(e)),
            str(e.index),
        )
        for e in items
    ]
    head = ("TIME (UTC)", "ACTION", "WHO", "DOCUMENT", "TARGET", "LOG")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


@click.command("events")
@click.option(
    "--since", metavar="WHEN", help="From: a date (2026-11-01), an RFC 3339 time, or a duration ago (30d, 12h, 2w)."
)
@click.option("--until", metavar="WHEN", help="To: a date (that day included) or an RFC 3339 time (excluded).")
@click.option("--user", metavar="EMAIL", help="Only events by this person.")
@click.option(
    "--action",
    "actions",
    metavar="ACTION",
    multiple=True,
    help="Only this action (repeat for several): protect, open, refused_open, share, revoke, restore, "
    "expiry, invite, key_change, admin, shard.",
)
@click.option("--doc", metavar="ID", help="Only events about this document ID.")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=50,
    show_default=True,
    help="How many events (newest first) for the table and --json.",
)
@click.option("--daily", is_flag=True, help="Counts per day and action instead of events (default: 30 days).")
@click.option("--csv", "as_csv", is_flag=True, help="Every matching event as CSV (RFC 4180) on stdout or -o FILE.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the CSV here.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def events(since, until, user, actions, doc, limit, daily, as_csv, output, as_json) -> None:  # noqa: ANN001
    """Usage events of your organization: who protected, opened, shared and revoked what, and when.

    Needs the admin permission read:events-org. Events are metadata only (never file content or names);
    each names its log entry (LOG), which `c11 log prove LOG` proves.

    \b
    Examples:
      c11 org events --since 30d --user bob@example.com
      c11 org events --action open --action refused_open --since 2026-11-01 --until 2026-11-30
      c11 org events --daily --since 2026-11-01
      c11 org events --since 90d --csv -o events.csv
    """
    if output is not None and not as_csv:
        raise click.UsageError("-o/--output is for --csv")
    if sum((daily, as_csv)) > 1 or (as_csv and as_json):
        raise click.UsageError("choose one of --daily, --csv (--json goes with --daily or the table)")
    filters = {
        "user": user,
        "action": list(actions) or None,
        "since": _since(since),
        "until": _until(until),
        "doc": doc,
    }
    from c11.cli._registry import client

    api = client("`c11 org events`").events
    if as_csv:
        _write_csv(api.csv(**filters), output)
    elif daily:
        days = api.daily(**filters)
        if as_json:
            click.echo(
                json.dumps(
                    [{"day": d.day.isoformat(), "total": d.total, "counts": d.counts} for d in days],
                    indent=2,
                    sort_keys=True,
                )
            )
            return
        if not days:
            click.echo("c11: no events in this range", err=True)
        for d in days:
            counts = ", ".join(f"{a} {n}" for a, n in sorted(d.counts.items()))
            click.echo(f"{d.day.isoformat()}  {d.total:>6}  {counts}")
    else:
        items = []
        for e in api.iterate(page_size=min(limit, 1000), **filters):
            items.append(e)
            if len(items) >= limit:
                break
        if as_json:
            click.echo(json.dumps([e.to_json() for e in items], indent=2, sort_keys=True))
        else:
            _table(items)


def _write_csv(chunks, output: Path | None) -> None:  # noqa: ANN001
    if output is None:
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    tmp = output.with_name(f".{output.name}.part")
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"c11: wrote {output}", err=True)
