"""A signed-in session on a workstation, for front ends that keep state between actions (the desktop app).

`Workstation` holds the client (or none: offline), your key (a device key file or your cloud-stored key) and
your trusted keys, and runs the same SDK flows as `c11 encrypt` / `c11 decrypt` / `c11 revoke`: recipients by
email through the registry with proofs (`c11.client.sending`), the organization's rules, online policies,
the signer verified through trusted keys and the registry's log (`c11.client.sender`). Long calls take a
`progress(done_bytes)` callback and a `cancelled()` predicate; cancelling raises `CancelledError` and leaves
no partial output (outputs are written atomically).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c11 import files
from c11.client.sender import SenderCheck, SenderVerifier
from c11.client.sending import Sending, SendPlan, SendRequest
from c11.client.trusted import TrustedKeys, load_default
from c11.errors import C11Error, KeyFileError, UsageError
from c11.keys import keyfile

if TYPE_CHECKING:
    from c11._container import FileInfo, Result
    from c11.client.client import Client
    from c11.client.keyserver import Access, OnlineDocument
    from c11.client.policies import Policy
    from c11.client.types import CreatedToken, MachineToken
    from c11.keys.identity import Identity

Progress = Callable[[int], None]
Cancelled = Callable[[], bool]


class CancelledError(C11Error):
    """The user cancelled a long action; nothing was written."""


@dataclass(frozen=True)
class KeyStatus:
    """Which key this session signs and opens with, and where it lives."""

    fingerprint: str
    label: str
    source: str  # "cloud" (cloud-stored in shards) or "file" (a device key file: `path`)
    path: Path | None = None


@dataclass(frozen=True)
class Opened:
    """What a protected file says before it is decrypted: its header (`info`) and who verifiably signed it."""

    path: Path
    info: FileInfo
    signer: SenderCheck


def _watch(progress: Progress | None, cancelled: Cancelled | None) -> Progress:
    def step(n: int) -> None:
        if cancelled is not None and cancelled():
            raise CancelledError("cancelled: nothing was written", reason="cancelled")
        if progress is not None:
            progress(n)

    return step


def load_key_file(path: str | Path, passphrase: str | None) -> Identity:
    """Open a device key file (`passphrase` for an encrypted one; a missing one is a clear error)."""
    kf = keyfile.load(path)
    if not kf.encrypted:
        return kf.unlock()
    if not passphrase:
        raise KeyFileError(f"{path} is passphrase-protected: enter its passphrase", reason="passphrase-needed")
    return kf.unlock(passphrase)


class Workstation:
    """One person's session: `client` None means offline (key lines and files only, no registry)."""

    def __init__(
        self,
        identity: Identity,
        key: KeyStatus,
        client: Client | None = None,
        email: str | None = None,
        trusted: TrustedKeys | None = None,
    ) -> None:
        self.identity = identity
        self.key = key
        self.client = client
        self.email = email
        self.trusted = trusted if trusted is not None else load_default()

    # -- signing in -------------------------------------------------------------------------------------

    @classmethod
    def sign_in(
        cls,
        server: str,
        email: str,
        password: str,
        key_file: str | Path | None = None,
        passphrase: str | None = None,
    ) -> Workstation:
        """Log in (OPAQUE: the password never leaves this device) and load your key: the device key file when
        given, else your cloud-stored key (the shard stores log you in with the same password)."""
        from c11.client.client import Client

        c = Client(server)
        try:
            result = c.login(email, password)
            c.shards.password = password
            identity, key = cls._key(c, key_file, passphrase)
        except BaseException:
            c.close()
            raise
        return cls(identity, key, c, result.user.email)

    @classmethod
    def sign_in_oidc(
        cls,
        server: str,
        provider: str,
        open_url: Callable[[str], None],
        key_file: str | Path | None = None,
        passphrase: str | None = None,
        timeout: float = 300.0,
    ) -> Workstation:
        """Log in through your organization's identity provider in the system browser (`open_url` shows the
        page; the code comes back to a one-shot listener on 127.0.0.1, PKCE), then load your key as `sign_in`
        (a cloud-stored key's stores log you in through the provider too)."""
        from c11.client.client import Client

        c = Client(server)
        try:
            offered = [str(p.get("name")) for p in c.providers()]
            if provider not in offered:  # asked first: a browser sent to a missing provider never comes back
                raise UsageError(
                    f"{c.server} offers no identity provider {provider!r} (it offers: {', '.join(offered) or 'none'})",
                    reason="no-such-provider",
                )
            result = c.login_oidc(provider, open_url, timeout)
            c.shards.oidc_open = open_url
            identity, key = cls._key(c, key_file, passphrase)
        except BaseException:
            c.close()
            raise
        return cls(identity, key, c, result.user.email)

    @staticmethod
    def _key(c: Client, key_file: str | Path | None, passphrase: str | None) -> tuple[Identity, KeyStatus]:
        """The device key file when given, else the account's cloud-stored key."""
        if key_file is not None:
            identity = load_key_file(key_file, passphrase)
            return identity, KeyStatus(identity.fingerprint, identity.label, "file", Path(key_file))
        if not c.shards.status().fingerprint:
            raise KeyFileError(
                "this account has no cloud-stored key: choose your key file, or run `c11 login` once to create your key",
                reason="no-key",
            )
        identity = c.shards.fetch_identity(None)
        return identity, KeyStatus(identity.fingerprint, identity.label, "cloud")

    @classmethod
    def offline(cls, key_file: str | Path, passphrase: str | None = None) -> Workstation:
        """No server: encrypt for key lines, open files with your key file; signers verified by trusted keys."""
        identity = load_key_file(key_file, passphrase)
        return cls(identity, KeyStatus(identity.fingerprint, identity.label, "file", Path(key_file)))

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    @property
    def server(self) -> str | None:
        return self.client.server if self.client is not None else None

    # -- encrypting -------------------------------------------------------------------------------------

    def sending(self) -> Sending:
        return Sending(self.client, account=self.email)

    def plan(
        self,
        recipients: Sequence[str],
        *,
        online: bool = False,
        expires: str | None = None,
        invite: Callable[[str], bool] | None = None,
    ) -> SendPlan:
        """Recipients (emails looked up in the registry with proofs, `group:NAME`, key lines) and the
        organization's rules, as `c11 encrypt`; `expires` needs `online`."""
        if expires and not online:
            raise UsageError("an expiry needs an online policy (the key server enforces it)")
        request = SendRequest(
            tuple(recipients), (), online=online, expires=expires or None, invite=invite or (lambda _e: False)
        )
        return self.sending().plan(request)

    def encrypt(
        self,
        inputs: Sequence[Path],
        output: Path,
        plan: SendPlan,
        *,
        force: bool = False,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> FileInfo:
        """Encrypt files or folders to `output` (.c11, or a .c11.zip bundle) for the plan, you included;
        registers the online policy first when the plan has one."""
        planner = self.sending()
        options, _seal = planner.header_options(plan, self.identity, True)
        info = files.encrypt_paths(
            list(inputs),
            output,
            plan.keys,
            self.identity,
            include_sender=True,
            force=force,
            progress=_watch(progress, cancelled),
            options=options,
        )
        if self.client is not None:
            with contextlib.suppress(C11Error, OSError):  # saving the recipient set is a convenience
                planner.record(plan, self.identity)
        return info

    # -- opening ----------------------------------------------------------------------------------------

    def verifier(self) -> SenderVerifier:
        """Your trusted keys, then (signed in) your server's registry, each answer proven in its log."""
        if self.client is None:
            return SenderVerifier(self.trusted, None, no_registry_reason="offline: the registry was not asked")
        return SenderVerifier(self.trusted, self.client)

    def inspect(self, path: Path) -> Opened:
        """The file's header, both signatures checked, and its signer verified (trusted keys, then the
        registry's log when signed in) — before anything is decrypted."""
        info = files.inspect(Path(path))
        return Opened(Path(path), info, self.verifier().annotate(info))

    def decrypt(
        self,
        path: Path,
        output: Path,
        *,
        force: bool = False,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> Result:
        """Decrypt to `output` (a folder for a bundle) with your key, the group keys you hold and, for an
        online policy, the key server's part; nothing appears unless every signature verified."""
        with contextlib.ExitStack() as stack:
            caps: list[Any] = [self.identity, *self._opening(stack)]
            result = files.decrypt_path(
                Path(path), Path(output), caps, force=force, progress=_watch(progress, cancelled)
            )
        self.verifier().annotate(result.info)
        return result

    def _opening(self, stack: contextlib.ExitStack) -> list[Any]:
        """What opening a file may use besides your key: your groups' keys, the key server's release."""
        if self.client is None:
            return []
        from c11 import online
        from c11.client.groups import opening_groups

        c: Any = self.client  # the SDK's Client satisfies both protocols (read-only attributes)
        return [
            stack.enter_context(opening_groups(c, [self.identity], close=False)),
            stack.enter_context(online.releasing(c)),  # not closed: a client, not a factory
        ]

    def change_recipients(
        self,
        path: Path,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        rotate: bool = False,
        remove_self: bool = False,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> FileInfo:
        """`c11 reencrypt` in place, atomically: add recipients (as `plan`: emails through the registry, your
        organization's recovery keys), remove key fingerprints, or rotate the file key (you sign as author).
        Removing your own key needs `remove_self`."""
        if not (add or remove or rotate):
            raise UsageError("nothing to change: add or remove recipients, or rotate the key")
        keys = self.sending().plan(SendRequest(tuple(add), (), allow_missing_org_policy=True)).keys if add else []
        with contextlib.ExitStack() as stack:
            return files.reencrypt(
                Path(path),
                self.identity,
                add=keys,
                remove=list(remove),
                rotate=rotate,
                progress=_watch(progress, cancelled),
                remove_self=remove_self,
                using=self._opening(stack),
            )

    def policies(self) -> list[Policy]:
        """Your recent recipient sets (saved each time you encrypt while signed in), most recent first."""
        return self._online().policies.list()

    def tokens(self) -> list[MachineToken]:
        """Your machine tokens (for scripts and CI)."""
        return self._online().tokens.list()

    def create_token(self, name: str, scopes: Sequence[str], days: int = 90) -> CreatedToken:
        """A new machine token; its secret is in the result only (the server keeps a hash)."""
        return self._online().tokens.create(name, scopes, days)

    def revoke_token(self, token_id: str) -> None:
        self._online().tokens.revoke(token_id)

    # -- online documents -------------------------------------------------------------------------------

    def _online(self) -> Client:
        if self.client is None:
            raise UsageError("online documents need a sign-in to your c11 server", reason="offline")
        return self.client

    def documents(self) -> list[OnlineDocument]:
        """Your online-policy documents, newest first."""
        return self._online().keyserver.documents()

    def accesses(self, doc_id: str) -> list[Access]:
        """Every access to a document, each checked against the log."""
        return self._online().keyserver.accesses(doc_id)

    def revoke(self, doc_id: str) -> OnlineDocument:
        return self._online().keyserver.revoke(doc_id)

    def restore(self, doc_id: str) -> OnlineDocument:
        return self._online().keyserver.restore(doc_id)
