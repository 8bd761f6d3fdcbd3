"""`c11 trust`: the keys you vouch for yourself, so signers show as verified with no server.

The file is `<config>/trusted-keys` (format: docs/registry.md §8); `decrypt`, `inspect` and `unprotect`
read it, and any `--trust FILE` given to them.
"""

from __future__ import annotations

import click


@click.group()
def trust() -> None:
    """Keys you trust: a file signed by one shows as signed by its email, even offline.

    \b
    Examples:
      c11 trust add c11:mlkem768x25519:... alice@example.com   # a key line she gave you in person
      c11 trust add alice@example.com                          # her registry key (logged in; log-proven)
      c11 trust list
      c11 trust remove alice@example.com
    """


@trust.command("add")
@click.argument("key", metavar="KEYLINE|EMAIL")
@click.argument("email", metavar="[EMAIL]", required=False)
def add(key, email) -> None:
    """Trust a public key line (optionally as EMAIL's), or EMAIL's current registry key.

    Check a key line with its owner (in person, by phone) before you trust it: anyone can label a key
    with any email. An EMAIL alone pins the key the registry serves for it now, proven in its log."""
    from c11._internal.display import safe_text
    from c11.client import trusted
    from c11.errors import UsageError
    from c11.keys.publickey import PREFIX, PublicKey

    if key.startswith(PREFIX):
        pub = PublicKey.parse(key)
    elif "@" in key and email is None:
        from c11.cli._registry import client

        email = trusted.normalize_email(key)
        pub = client(f"{email}: trusting a registry key").registry.lookup(email)
    else:
        raise UsageError(f"{safe_text(key, 60)!s} is neither a public key line (c11:...) nor an email")
    path = trusted.default_path()
    entry, changed = trusted.add(path, pub, email)
    who = entry.email or "no email"
    what = "trusted" if changed else "already trusted"
    click.echo(f"c11: {what}: signing key {entry.sig_fingerprint} ({who}) in {path}", err=True)


@trust.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_(as_json) -> None:
    """The keys in your trusted-keys file."""
    from c11.cli._output import emit_json
    from c11.client import trusted

    path = trusted.default_path()
    entries = trusted.read(path, missing_ok=True)
    if as_json:
        emit_json(
            [
                {
                    "email": e.email,
                    "public_key": e.key.line(),
                    "fingerprint": e.key.fingerprint,
                    "signing_key": e.sig_fingerprint,
                }
                for e in entries
            ]
        )
        return
    if not entries:
        click.echo(f"c11: no trusted keys ({path}); add one with `c11 trust add`", err=True)
        return
    for e in entries:
        click.echo(f"{e.sig_fingerprint}  {e.email or '(no email)'}")


@trust.command("remove")
@click.argument("what", metavar="EMAIL|FINGERPRINT|KEYLINE")
def remove(what) -> None:
    """Stop trusting the keys of EMAIL, or the key with this (signing or encryption) fingerprint or
    prefix of at least 8 hex digits, or this key line."""
    from c11.client import trusted
    from c11.errors import RecipientError

    path = trusted.default_path()
    gone = trusted.remove(path, what)
    if not gone:
        raise RecipientError(f"no trusted key matches {what!r} in {path}")
    for e in gone:
        click.echo(f"c11: removed {e.sig_fingerprint} ({e.email or 'no email'}) from {path}", err=True)
