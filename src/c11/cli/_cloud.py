"""CLI glue for cloud-stored keys (docs/shards.md): the logged-in client with the shard stores' password, the
recovery shard named by C11_RECOVERY_SHARD, and the cloud-stored key that signs when there is no key file.

Below `_identity` and `keys` (it imports only `_registry`), so that neither needs an import inside a function
to avoid a cycle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from c11.cli._registry import client, logged_in
from c11.errors import ServerError, UsageError

if TYPE_CHECKING:
    from c11.client import Client
    from c11.keys.cloudkey import Shard
    from c11.keys.identity import Identity

_ASKED = "c11.store_password"  # key of the password asked in this command, in the click context's meta


def cloud_client() -> Client:
    """The logged-in client, logging in at the shard stores with `store_password`."""
    c = client("`c11 keys`")
    c.shards.password = store_password
    return c


def store_password() -> str:
    """Your account password for the shard stores' own (OPAQUE) logins: C11_PASSWORD, else asked once per
    command (kept in the command's click context), saying what it is for. It never leaves this device."""
    ctx = click.get_current_context(silent=True)
    meta: dict[str, str] = ctx.meta if ctx is not None else {}
    pw = os.environ.get("C11_PASSWORD") or meta.get(_ASKED)
    if pw:
        return pw
    if not sys.stdin.isatty():
        raise UsageError(
            "your shard store logs you in itself: set C11_PASSWORD (your c11 password) or run in a "
            "terminal (the c11 server alone cannot fetch your key)"
        )
    pw = click.prompt(
        "Your c11 password (logs you in at your shard store; never sent to any server)", hide_input=True, err=True
    )
    meta[_ASKED] = pw
    return pw


def recovery_shard() -> Shard | None:
    """The recovery shard named by C11_RECOVERY_SHARD (a file), if any."""
    from c11.keys.cloudkey import dearmor

    path = os.environ.get("C11_RECOVERY_SHARD")
    if not path:
        return None
    try:
        return dearmor(Path(path).read_text("ascii"))
    except OSError as e:
        raise UsageError(f"cannot read the recovery shard {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a c11 recovery shard file") from None


def cloud_sender() -> Identity | None:
    """The key that signs when there is no key file: your cloud-stored key, when logged in and you have one."""
    if os.environ.get("C11_IDENTITY") or not logged_in():
        return None
    c = cloud_client()
    try:
        if not c.shards.status().fingerprint:
            return None
    except ServerError as e:
        if e.status in (404, 405):  # a server without cloud keys
            return None
        raise
    return c.shards.fetch_identity(recovery_shard())
