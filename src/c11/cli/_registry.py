"""CLI glue for the servers: the logged-in client, the SDK's sending planner with CLI prompts and hints,
groups for opening files, and the first-login key.

* `sending` / `hints` / `show`: recipients (emails through the registry, groups, invitations) and the
  organization rules, planned by `c11.client.sending` (the CLI only adds prompts, hints and printing).
* `opening_groups`: files for a group you are in (`c11 decrypt`, `reencrypt`).

Key lines and key files never need a server: without a login, encryption stays fully offline.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from c11.errors import AuthError, C11Error, RecipientError

if TYPE_CHECKING:
    from c11.client import Client
    from c11.client.sending import Sending, SendPlan
    from c11.keys.identity import Identity

_CLIENT = "c11.client"  # key of this command's client in the click context's meta


def warn(message: str) -> None:
    click.echo(f"c11: warning: {message}", err=True)


def logged_in() -> bool:
    """True when a login is stored or C11_TOKEN is set (then the CLI talks to the server)."""
    from c11._internal.paths import credentials_path  # no client import: offline commands stay fast

    return bool(os.environ.get("C11_TOKEN")) or credentials_path().exists()


def client(purpose: str = "this", recipients: bool = False) -> Client:
    """The logged-in client (one per command, kept in the click context and closed with it), or a
    RecipientError saying how to log in (and, for a recipient, how to do without)."""
    ctx = click.get_current_context(silent=True)
    known = ctx.meta.get(_CLIENT) if ctx is not None else None
    if known is not None:
        return known
    from c11.client import Client

    if not logged_in():
        alt = "; or give public key lines (c11:...) or files with -R" if recipients else ""
        raise RecipientError(f"{purpose} needs a c11 server: run `c11 login` (or set C11_TOKEN and C11_SERVER){alt}")
    c = Client.from_environment()
    if not c.token:
        raise AuthError("not logged in to this server: run `c11 login`", 401)
    if ctx is not None:
        ctx.meta[_CLIENT] = c
        ctx.call_on_close(c.close)
    return c


def account() -> str | None:
    """The email of the stored login when its token is the one used (None with C11_TOKEN)."""
    if os.environ.get("C11_TOKEN"):
        return None
    from c11.client.credentials import CredentialsStore

    stored = CredentialsStore().load()
    return stored.email if stored else None


def sending() -> Sending:
    """The SDK's sending planner for this command: the logged-in client when there is a login (else offline),
    your organization's policy cached in the config folder."""
    from c11._internal.paths import config_dir
    from c11.client.org_policy import OrgPolicyStore
    from c11.client.sending import Sending

    return Sending(
        lambda: client("this") if logged_in() else None,
        store=OrgPolicyStore(config_dir()),
        account=account() if logged_in() else None,
    )


def invite_prompt(auto: bool) -> Callable[[str], bool]:
    """Whether to invite an email that has no key: yes with --invite, else asked on a terminal."""

    def ask(email: str) -> bool:
        if auto:
            return True
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            return False
        return click.confirm(
            f"{email} has no c11 key yet. Invite them (they get an email; you can encrypt for them now)?",
            default=True,
            err=True,
        )

    return ask


@contextmanager
def hints(command: str = "encrypt") -> Iterator[None]:
    """Add the CLI's hints (commands and flags) to the SDK's errors about recipients and policies."""
    from c11.errors import OrgPolicyUnavailableError, UnregisteredRecipientError

    try:
        yield
    except UnregisteredRecipientError as e:
        e.args = (f"{e}: `c11 invite {e.email}` (or `c11 {command} --invite`)",)
        raise
    except OrgPolicyUnavailableError as e:
        e.args = (f"{e} (give --allow-missing-org-policy)",)
        raise
    except RecipientError as e:
        if "needs a c11 server" in str(e) and not logged_in():
            e.args = (f"{e} (run `c11 login`, or set C11_TOKEN and C11_SERVER; key lines: -r c11:..., files: -R)",)
        raise


def show(plan: SendPlan) -> None:
    """Print what the plan added or changed, one line each."""
    for email in plan.invited:
        click.echo(f"c11: invited {email} (invitation email sent)", err=True)
    for w in plan.warnings:
        warn(w)
    for note in plan.notes:
        click.echo(f"c11: {note}", err=True)


def opening_groups(identities: list[Identity]) -> Any:
    """For `c11 decrypt` / `reencrypt`: a file for a group you are in opens with the group key wrapped for
    you (fetched only when none of your keys is a recipient, and only when logged in)."""
    from c11.client.groups import opening_groups as _opening

    return _opening(lambda: client("opening a group's file") if logged_in() else None, identities, close=False)


# -- encryption policies --------------------------------------------------------------------------------


def record(planner: Sending, plan: SendPlan, sender: Identity) -> None:
    """Save the recipient set (you included) as a policy, when logged in; never fails the command."""
    if not logged_in():
        return
    try:
        planner.record(plan, sender)
    except (C11Error, OSError) as e:
        warn(f"the recipient set was not saved as a policy: {e}")
