"""CLI glue for who signed: a `SenderVerifier` over your trusted keys and the logged-in registry, and
the words that show a signer (`decrypt`, `inspect`, `unprotect`). Labels are never printed raw.

Trusted keys: `<config>/trusted-keys` (`c11 trust add`) and each `--trust FILE`. The registry: the one of
your login (credentials file or C11_TOKEN/C11_SERVER), asked with a short timeout; offline or not logged
in, the signer is shown as unverified with the reason, and the command still succeeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from c11._internal.display import quoted, safe_text

if TYPE_CHECKING:
    from c11.client.sender import SenderCheck, SenderVerifier

#: Seconds per registry request when checking a signer (decrypt must not hang offline).
TIMEOUT = 3.0
TRUST_HELP = (
    "Trusted-keys or recipients file: a signer whose key is in it is shown as verified. Repeatable. "
    "Always read: <config>/trusted-keys (c11 trust add)."
)


def trust_option(f: Any) -> Any:
    """The `--trust FILE` option of the commands that show a signer."""
    return click.option("--trust", "trust_files", multiple=True, metavar="FILE", help=TRUST_HELP)(f)


def verifier(trust_files: tuple[str, ...] = ()) -> SenderVerifier:
    """Trusted keys (default file, then `trust_files`), then the logged-in registry on first need."""
    from c11.cli._registry import logged_in
    from c11.client.sender import SenderVerifier
    from c11.client.trusted import TrustedKeys, load_default

    trusted = load_default()
    trusted.entries.extend(TrustedKeys.load([Path(f) for f in trust_files]).entries)
    if not logged_in():
        return SenderVerifier(
            trusted,
            None,
            no_registry_reason="not logged in, so the registry was not asked; "
            "`c11 trust add` or --trust FILE verify without a server",
        )

    def client() -> Any:
        from c11.client import Client

        c = Client.from_environment(timeout=TIMEOUT)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(c.close)
        return c

    return SenderVerifier(trusted, client)


def who(check: SenderCheck) -> str:
    """Who signed, in words: the verified email and how it was verified, or why the label is unverified."""
    from c11.client.sender import REGISTRY, REGISTRY_FORMER, TRUSTED

    email = safe_text(check.email) if check.email else None
    where = safe_text(check.source or "?")
    if check.status == REGISTRY:
        text = f"{email} (registry, log-proven: log entry {check.log_index} on {where})"
    elif check.status == REGISTRY_FORMER:
        how = "removed" if check.replaced_by == "remove" else "replaced"
        then = (
            f"{how} at log entry {check.replaced_index}, {check.replaced_at}"
            if check.replaced_index is not None
            else "no longer published"
        )
        text = f"{email} with a FORMER key (registry, log-proven: log entry {check.log_index}; {then})"
    elif check.status == TRUSTED:
        text = f"{email} (trusted keys: {where})" if email else f"a key you trust ({where}; no email given)"
    else:
        why = safe_text(check.reason or "", 400)  # may quote a server's error text
        if not check.label.strip():
            return f"UNVERIFIED ({why})"
        state = "FALSE" if check.conflict else "self-asserted"
        return f"UNVERIFIED: label {quoted(check.label)} is {state} ({why})"
    if not check.label_matches and check.label.strip():
        text += (
            f"; the file's label {quoted(check.label)} is not verified"
            if not email
            else f"; the file's label {quoted(check.label)} is NOT theirs"
        )
    return text


def line(check: SenderCheck) -> str:
    """The `c11 decrypt` line: signature verified and signed by whom, or valid but by an unverified signer."""
    fp = check.fingerprint
    if check.verified:
        return f"c11: signature verified: signed by {who(check)} (signing key {fp})"
    return f"c11: signature valid, but the signer is {who(check)} (signing key {fp})"


def resharer_line(check: SenderCheck) -> str:
    """The line for who changed a file's recipients (format version 2), verified or not."""
    return f"c11: recipients changed (re-shared) by {who(check)} (signing key {check.fingerprint})"
