"""`c11 org create NAME --admin EMAIL`: the operator command that creates an organization and its root admin.

It acts on the server's database directly, like `c11 db` (--data-dir, --config, C11_DATA_DIR,
C11_DATABASE_URL), and appends the `admin` log entry with the log key of that data folder.
"""

from __future__ import annotations

import click

from c11.cli._server_options import server_options


@click.command("create")
@click.argument("name")
@click.option(
    "--admin",
    "admin_email",
    required=True,
    metavar="EMAIL",
    help="Email of the root admin (holds every permission; active once they have a verified account).",
)
@click.option(
    "--domain",
    "domains_",
    multiple=True,
    metavar="DOMAIN",
    help="An email domain of the organization, verified by you, the operator (needs --verified). "
    "Repeatable. Admins verify other domains with `c11 org domains add`.",
)
@click.option("--verified", is_flag=True, help="Confirm that the --domain(s) belong to this organization.")
@server_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create(
    name: str,
    admin_email: str,
    domains_: tuple[str, ...],
    verified: bool,
    data_dir: str | None,
    config_file: str | None,
    as_json: bool,
) -> None:
    """Create an organization NAME with its root admin (operator command, on the server's data folder).

    \b
    Example:
      c11 org create "Example Corp" --admin alice@example.com --domain example.com --verified \\
        --data-dir /var/lib/c11
    Then the admin logs in and manages it: c11 org members add ..., c11 org policies --set ...
    Addresses of a verified domain join when an admin adds them; anyone else must accept an invitation.
    """
    from c11.cli._output import emit_json
    from c11.errors import ConfigError, UsageError
    from c11.server import migrate
    from c11.server.config import load_config
    from c11.server.context import ServerContext
    from c11.server.db import Database
    from c11.server.logsrv.service import log_service
    from c11.server.orgs import domains, policylog, service
    from c11.server.problems import Problem

    if domains_ and not verified:
        raise UsageError(
            "--domain needs --verified: you, the operator, confirm the organization controls it "
            "(or its admin proves it later with `c11 org domains add DOMAIN`)"
        )
    if verified and not domains_:
        raise UsageError("--verified confirms the --domain(s): name at least one")
    config = load_config({"data_dir": data_dir, "config_file": config_file})
    rev, head = migrate.current(config.database_url), migrate.head()
    if rev is None:
        raise ConfigError(
            f"no c11 database for the data folder {config.data_dir}: pass the server's --data-dir "
            "(or C11_DATA_DIR / --config, as for `c11 serve`); a new database: `c11 db upgrade` first"
        )
    if rev != head:
        raise ConfigError(
            f"the database is at revision {rev}, not {head}: run `c11 db upgrade` "
            "(with the same --data-dir/--config) first"
        )
    db = Database(config.database_url)
    ctx = ServerContext(config=config, db=db, passwords=None)  # type: ignore[arg-type]
    try:
        svc = log_service(ctx)
        with svc.transaction() as (s, log):
            org, admin = service.create_organization(s, name, admin_email)
            index = log.append("admin", service.admin_entry("org.create", None, org.id, admin.email), subject=org.id)
            policylog.record(s, log, org)  # policy number 1: what members' clients apply
            verified_domains = []
            for d in domains_:
                row = domains.set_verified(s, org, d, by=None)
                log.append(
                    "admin",
                    {**service.admin_entry("domain.verify", None, org.id, org.id), "domain": row.domain},
                    subject=org.id,
                )
                verified_domains.append(row.domain)
            out = {
                "id": org.id,
                "name": org.name,
                "admin": admin.email,
                "admin_status": admin.status,
                "permissions": admin.permissions.split(),
                "domains": verified_domains,
                "log_index": index,
            }
        svc.close()
    except Problem as p:
        raise UsageError(p.detail or p.title) from None
    finally:
        db.dispose()
    if as_json:
        emit_json(out)
        return
    click.echo(
        f"organization {out['name']!r} created (id {out['id']}); root admin {out['admin']} "
        f"({out['admin_status']}), holding every permission"
        + (f"; verified domain(s): {', '.join(out['domains'])}" if out["domains"] else "")
    )
