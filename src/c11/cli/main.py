"""Entry point of the `c11` command: a Click group whose subcommands are imported on first use.

Each subcommand lives in its own module; `COMMANDS` maps the command name to "module:attribute",
so adding a command is one line here. Importing this module costs no Click: the group is built on first
use (c11.cli._group), and `c11 --help` is printed without Click when it renders the same (c11.cli._fast).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: `c11 --help` imports neither typing nor Click
if TYPE_CHECKING:
    from typing import Any

    import click

#: name -> (module path, attribute, one-line help shown by `c11 --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "keygen": ("c11.cli.keygen", "keygen", "Create an identity key file (encryption + signing keys)."),
    "pubkey": ("c11.cli.keygen", "pubkey", "Print the public key line of a key file."),
    "encrypt": ("c11.cli.encrypt", "encrypt", "Protect a file, folder or message for recipients."),
    "decrypt": ("c11.cli.decrypt", "decrypt", "Open a protected file, bundle or message."),
    "inspect": ("c11.cli.inspect", "inspect", "Show what can be known about a protected file without a key."),
    "reencrypt": ("c11.cli.reencrypt", "reencrypt", "Change recipients of a protected file, or rotate its key."),
    "protect": ("c11.cli.protect", "protect", "Encrypt chosen parts inside a document (Word, Excel, ...)."),
    "unprotect": ("c11.cli.protect", "unprotect", "Decrypt the parts of a protected document you may open."),
    "serve": ("c11.cli.serve", "serve", "Run the c11 server (accounts, tokens, registry, log, key server)."),
    "db": ("c11.cli.db", "db", "Server database and keys: upgrade, backup, restore, key rotation."),
    "signup": ("c11.cli.account", "signup", "Create an account on a c11 server."),
    "verify": ("c11.cli.account", "verify", "Confirm your email address with the emailed link."),
    "login": ("c11.cli.account", "login", "Log in to a c11 server."),
    "logout": ("c11.cli.account", "logout", "Log out of the c11 server."),
    "whoami": ("c11.cli.account", "whoami", "Show the account you are logged in as."),
    "passwd": ("c11.cli.account", "passwd", "Change your account password."),
    "password": ("c11.cli.account", "password", "Reset a forgotten password by email."),
    "tokens": ("c11.cli.tokens", "tokens", "Create, list and revoke machine tokens."),
    "registry": ("c11.cli.registry", "registry", "Publish your key; look keys up by email (verified)."),
    "log": ("c11.cli.logcmd", "log", "Check the transparency log: checkpoint, prove, verify."),
    "policies": ("c11.cli.policies", "policies", "List your recent encryption policies (recipient sets)."),
    "invite": (
        "c11.cli.invites",
        "invite",
        "Invite people by email (a temporary key lets others encrypt for them now).",
    ),
    "revoke": ("c11.cli.online", "revoke", "Revoke a document with an online policy (nobody can open it)."),
    "restore": ("c11.cli.online", "restore", "Undo revoke: recipients can open the document again."),
    "expire": ("c11.cli.online", "expire", "Set or clear the expiry of a document with an online policy."),
    "allow": ("c11.cli.online", "allow", "Let more people get the key server's part of a document."),
    "deny": ("c11.cli.online", "deny", "Stop releasing a document's key to some recipients."),
    "access": ("c11.cli.online", "access", "List every access to a document, each proven in the log."),
    "notify": ("c11.cli.notify", "notify", "Email notifications: status, retry, worker, test, Graph set-up."),
    "keys": ("c11.cli.keys", "keys", "Your keys: cloud-stored (in shards) or on this device; replace them."),
    "shard-store": ("c11.cli.shard_store", "shard_store", "Run a shard store that keeps one shard of cloud keys."),
    "org": ("c11.cli.org", "org", "Organizations: members, admins, groups, policies, recovery keys, events."),
    "trust": ("c11.cli.trust", "trust", "Keys you trust: signers shown as verified without a server."),
    "request": ("c11.cli.request", "request", "Ask someone (no account needed) for documents and answers."),
    "send": ("c11.cli.send", "send", "Send files encrypted for recipients by email, with a link."),
    "receive": ("c11.cli.send", "receive", "Download and decrypt what a send or share link holds for you."),
    "sends": ("c11.cli.send", "sends", "Your sends: list, show each recipient's status, revoke."),
    "share": ("c11.cli.send", "share", "Share links to the latest version of a file or folder."),
    "enterprise-keyserver": ("c11.cli.enterprise", "enterprise_keyserver", "The org's own HSM key server."),
    "protector": ("c11.cli.protector", "protector", "Cloud Protector: connect storage, find and protect files."),
    "desktop": ("c11.cli.desktop", "desktop", "Open the desktop app (needs the desktop extra)."),
}


#: the group's help (`c11 --help`), in the form Click reads a docstring in (no common indentation)
GROUP_HELP = """c11: end-to-end protection of documents.

\b
Quick start:
  c11 keygen -o me.key                    # your identity (asks for a passphrase)
  c11 encrypt -i me.key -r "$(c11 pubkey friend.key)" report.pdf
  c11 decrypt -i friend.key report.pdf.c11
"""


def _cli() -> click.Group:
    """The Click group (a new one each call: building it costs microseconds, importing Click milliseconds)."""
    from c11.cli._group import make_group

    return make_group(COMMANDS, GROUP_HELP)


def __getattr__(name: str) -> Any:
    """`cli`, the Click group, built on first use."""
    if name == "cli":
        return _cli()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every c11 error becomes one line on stderr and a non-zero exit status."""
    args = argv if argv is not None else sys.argv[1:]
    from c11.cli._fast import serve_help

    if (status := serve_help(args, COMMANDS, GROUP_HELP)) is not None:
        return status
    from c11.cli._errors import run

    return run(_cli(), args)


if __name__ == "__main__":
    sys.exit(main())
