"""`c11 signup`, `c11 verify`, `c11 login`, `c11 logout`, `c11 whoami`, `c11 passwd`, `c11 password reset`.

Passwords come from a hidden prompt or `C11_PASSWORD` and never leave this device (OPAQUE, docs/server.md
"Password flows (OPAQUE)"); the login is kept in the config dir (mode 0600), and so is this device's
known-device token (c11.client.devices), sent with each login.
"""

from __future__ import annotations

import json
import os
import sys

import click


def _password(confirm: bool, prompt: str = "Password", env: str = "C11_PASSWORD") -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():  # a pipe: one line per answer (no echo warnings from getpass)
        from c11.errors import UsageError

        answers = [sys.stdin.readline().rstrip("\r\n") for _ in range(2 if confirm else 1)]
        if not answers[0]:
            raise UsageError(f"no password: set {env}, pipe it on standard input, or run in a terminal")
        if confirm and answers[1] != answers[0]:
            raise UsageError("the two passwords given on standard input differ")
        return answers[0]
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)


def _devices():  # type: ignore[no-untyped-def]
    from c11.client.devices import DeviceTokens

    return DeviceTokens()


def _remember_device(server: str, result) -> None:  # type: ignore[no-untyped-def]
    """Keep the known-device token a login handed to this device (it passes the login backoff later)."""
    if result.device_token:
        _devices().put(server, result.user.email, result.device_token)


def _store():  # type: ignore[no-untyped-def]
    from c11.client.credentials import CredentialsStore

    return CredentialsStore()


@click.command("signup")
@click.option("--server", required=True, envvar="C11_SERVER", help="Server URL [C11_SERVER].")
@click.option("--email", required=True, help="Your email address.")
def signup(server: str, email: str) -> None:
    """Create an account, then log in; a verification link is emailed.

    The password never leaves this device (OPAQUE). You have no key yet: after `c11 verify LINK` with the
    emailed link, `c11 login` makes your key and publishes it.

    \b
    Example:
      c11 signup --server https://c11.example.com --email alice@example.com
    """
    from c11.client import Client, Credentials

    password = _password(confirm=True)
    with Client(server) as c:
        user = c.signup(email, password)  # OPAQUE registration: the password never leaves this device
        result = c.login(email, password, _devices().get(c.server, user.email))
    _remember_device(c.server, result)
    _store().save(Credentials(server=c.server, email=result.user.email, token=result.token))
    click.echo(f"Account created for {user.email}; check your email for the verification link.", err=True)
    click.echo(f"Logged in to {c.server} as {user.email}.", err=True)
    click.echo(
        "Next: run `c11 verify LINK` with the link, then `c11 login`: it makes your key and publishes it.", err=True
    )


@click.command("verify")
@click.argument("link")
@click.option("--server", envvar="C11_SERVER", default=None, help="Server URL [C11_SERVER; default: the link's].")
@click.option("--email", default=None, help="Your email address (default: the stored login's).")
def verify(link: str, server: str | None, email: str | None) -> None:
    """Confirm your email address: log in (OPAQUE; the password never leaves this device), then send the
    emailed link's token. The link alone confirms nothing, nor does a login alone.

    \b
    Example:
      c11 verify 'https://c11.example.com/verify#token=c11v_...'
    """
    from urllib.parse import parse_qs, urlsplit

    from c11.client import Client, Credentials
    from c11.errors import UsageError

    parts = urlsplit(link.strip())
    token = (parse_qs(parts.query).get("token") or parse_qs(parts.fragment).get("token") or [""])[0]
    if not token.startswith("c11v_"):
        raise UsageError("that is not a c11 verification link: paste the whole link from the email")
    server = server or (f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None)
    if not server:
        raise UsageError("no server: pass --server URL (or paste the whole link)")
    stored = _store().load()
    with Client(server) as c:
        email = (
            email or (stored.email if stored and stored.server == c.server else None) or click.prompt("Email", err=True)
        )
        result = c.login(email, _password(confirm=False), _devices().get(c.server, email))
        _remember_device(c.server, result)
        c.verify_email(token)
    _store().save(Credentials(server=c.server, email=result.user.email, token=result.token))
    click.echo(f"{result.user.email} is confirmed. Next: `c11 login` makes your key and publishes it.", err=True)


@click.command("login")
@click.option("--server", envvar="C11_SERVER", default=None, help="Server URL [C11_SERVER; default: last one].")
@click.option("--email", default=None, help="Your email address (default: last one).")
@click.option("--oidc", "provider", default=None, help="Log in through this identity provider in a browser.")
@click.option("--no-browser", is_flag=True, help="With --oidc: print the URL instead of opening a browser.")
@click.option(
    "--new-key", is_flag=True, help="Make and publish a new key on this device even if your account already has one."
)
@click.option(
    "--device",
    is_flag=True,
    help="First login: keep your new key in a key file on this device instead of cloud-stored shards.",
)
@click.option(
    "--legacy-password",
    is_flag=True,
    help="Account made before OPAQUE: send the password to the server once to upgrade it.",
)
def login(
    server: str | None,
    email: str | None,
    provider: str | None,
    no_browser: bool,
    new_key: bool,
    device: bool,
    legacy_password: bool,
) -> None:
    """Log in with email and password (or --oidc PROVIDER) and remember the login.

    At the first login your key is made on this device and, by default, cloud-stored in shards (any two of
    three rebuild it, no single store can); --device keeps it in a key file instead (docs/shards.md).
    """
    from c11.client import Client, Credentials
    from c11.errors import UsageError

    store = _store()
    stored = store.load()
    server = server or (stored.server if stored else None)
    if not server:
        raise UsageError("no server: pass --server URL (or set C11_SERVER)")
    password: str | None = None
    with Client(server) as c:
        if provider:
            result = c.login_oidc(provider, _opener(no_browser))
        else:
            email = (
                email
                or (stored.email if stored and stored.server == c.server else None)
                or click.prompt("Email", err=True)
            )
            password = _password(
                confirm=False, prompt="Password (of your c11 account; it also logs you in at your shard store)"
            )
            if legacy_password:
                click.echo(
                    "--legacy-password: your password is sent to the server this once, to upgrade the "
                    "account to OPAQUE logins (it never is again).",
                    err=True,
                )
            result = _login(c, email, password, legacy_password)
    store.save(Credentials(server=c.server, email=result.user.email, token=result.token))
    click.echo(f"Logged in to {c.server} as {result.user.email}.", err=True)
    from c11.cli.keys import after_login

    after_login(
        c.server,
        result.token,
        result.user.email,
        new_key,
        device,  # first login: create, publish your key
        password=password,
        oidc=bool(provider),  # the password typed once also logs in at the store
        oidc_open=_opener(no_browser) if provider else None,
    )
    from c11.cli.invites import claim_after_login

    claim_after_login(
        c.server, result.token, result.user.email
    )  # invited before registering: receive the temporary key


def _login(c, email: str, password: str, legacy_password: bool = False):  # type: ignore[no-untyped-def]
    """OPAQUE login (the password never leaves this device); with `legacy_password` (asked for) an account
    made before OPAQUE sends its password this last time and registers OPAQUE at once (c11.client.accounts)."""
    result = c.login(email, password, _devices().get(c.server, email), legacy_password)
    _remember_device(c.server, result)
    return result


def _opener(no_browser: bool):  # type: ignore[no-untyped-def]
    def open_url(url: str) -> None:
        click.echo(f"Open this URL to log in:\n{url}", err=True)
        if not no_browser:
            import webbrowser

            webbrowser.open(url)

    return open_url


@click.command("logout")
def logout() -> None:
    """End the stored login, on the server and on this device."""
    from c11.client import Client
    from c11.errors import ServerError

    store = _store()
    stored = store.load()
    if stored is None:
        click.echo("Not logged in.", err=True)
        return
    try:
        with Client(stored.server, stored.token) as c:
            c.logout()
    except ServerError as e:
        if e.status not in (0, 401):
            raise
    store.clear()
    click.echo(f"Logged out of {stored.server}.", err=True)


@click.command("whoami")
@click.option("--server", default=None, help="Server URL [C11_SERVER; default: the stored login's].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def whoami(server: str | None, as_json: bool) -> None:
    """Show the account this device (or C11_TOKEN) acts as."""
    from c11.client import Client
    from c11.client.credentials import CredentialsStore
    from c11.errors import AuthError

    if not (server or os.environ.get("C11_SERVER") or CredentialsStore().load()):
        raise AuthError("not logged in: run `c11 login --server URL` (or set C11_SERVER and C11_TOKEN)", 401)
    with Client.from_environment(server) as c:
        if not c.token:
            raise AuthError("not logged in: run `c11 login` or set C11_TOKEN", 401)
        me = c.whoami()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "server": c.server,
                    "id": me.user.id,
                    "email": me.email,
                    "email_verified": me.user.email_verified,
                    "auth": me.auth_kind,
                    "credential_id": me.credential_id,
                    "scopes": list(me.scopes),
                },
                indent=2,
            )
        )
        return
    verified = "verified" if me.user.email_verified else "not verified"
    click.echo(f"{me.email} ({verified}) on {c.server}, via {me.auth_kind}")


@click.command("passwd")
def passwd() -> None:
    """Change your password (other sessions end; this one stays).

    In scripts, C11_PASSWORD gives the current password and C11_NEW_PASSWORD the new one.
    """
    from c11.client import Client, Credentials

    with Client.from_environment() as c:
        current = _password(confirm=False, prompt="Current password")
        new = _password(confirm=True, prompt="New password", env="C11_NEW_PASSWORD")
        email = c.whoami().email
        c.change_password(current, new)  # OPAQUE login with the current one, registration of the new one
        stored = _store().load()
        if stored is not None and stored.server == c.server and stored.email == email and c.token:
            _store().save(Credentials(server=c.server, email=email, token=c.token))  # the old session ended
        _new_store_password(c, current, new)
    click.echo("Password changed.", err=True)


def _new_store_password(c, current: str, new: str) -> None:  # type: ignore[no-untyped-def]
    """Register the new password at the shard stores holding your shard (they log you in themselves)."""
    from c11.errors import C11Error, ServerError

    c.shards.password = current
    try:
        if c.shards.status().fingerprint:
            c.shards.change_store_password(new)
    except ServerError as e:
        if e.status not in (404, 405):  # 404/405: a server without cloud-stored keys
            click.echo(f"c11: warning: your shard store still takes your old password ({e})", err=True)
    except C11Error as e:
        click.echo(f"c11: warning: your shard store still takes your old password ({e})", err=True)


@click.group("password")
def password() -> None:
    """Reset a forgotten password by email (`c11 passwd` changes a known one)."""


@password.command("reset")
@click.option("--server", envvar="C11_SERVER", default=None, help="Server URL [C11_SERVER; default: last one].")
@click.option("--email", default=None, help="Your email address (default: last one).")
@click.option("--have-link", is_flag=True, help="Do not ask for a new email: you already have a reset link.")
def password_reset(server: str | None, email: str | None, have_link: bool) -> None:
    """Email yourself a reset link, paste it here, choose a new password.

    Every session of the account ends. The reset gives your account back, not your cloud-stored key: that
    comes back with your recovery shard, another device, or your organization's recovery key.
    In scripts: the link from C11_RESET_LINK (or the first line of standard input), the new password from
    C11_NEW_PASSWORD (or the next lines).

    \b
    Example:
      c11 password reset --server https://c11.example.com --email alice@example.com
    """
    from c11.client import Client
    from c11.errors import UsageError

    stored = _store().load()
    server = server or (stored.server if stored else None)
    if not server:
        raise UsageError("no server: pass --server URL (or set C11_SERVER)")
    with Client(server) as c:
        email = (
            email or (stored.email if stored and stored.server == c.server else None) or click.prompt("Email", err=True)
        )
        if not have_link:
            c.request_password_reset(email)
            click.echo(f"If {email} has a verified account on {c.server}, a reset link is on its way.", err=True)
        token = _reset_token(_secret_line("C11_RESET_LINK", "Paste the link from the email"))
        done = c.reset_password(token, _password(confirm=True, prompt="New password", env="C11_NEW_PASSWORD"))
    click.echo(f"Password reset for {done['email']}; every session ended: log in again with `c11 login`.", err=True)
    click.echo(done.get("not_restored", ""), err=True)


def _secret_line(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value:
        return value.strip()
    if not sys.stdin.isatty():
        line = sys.stdin.readline(4096).strip()
        if not line:
            from c11.errors import UsageError

            raise UsageError(f"no reset link: set {env} or pipe it on standard input")
        return line
    return str(click.prompt(prompt, hide_input=True, err=True)).strip()


def _reset_token(link: str) -> str:
    """The token of a reset link (or the token itself, pasted alone)."""
    from urllib.parse import parse_qs, urlsplit

    from c11.errors import UsageError

    token = parse_qs(urlsplit(link).query).get("token", [""])[0] if "token=" in link else link
    if not token.startswith("c11r_") or len(token) > 200:
        raise UsageError("that is not a c11 password reset link: paste the whole link from the email")
    return token
