"""Who signed a file, from what can be verified, not from the label in the file.

A file's sender label is self-asserted: anyone can make a key labelled "alice@example.com". The signing
key is what counts, and `SenderVerifier.verify(label, fingerprint)` says whose it is:

1. a trusted-keys file (`c11.client.trusted`) that lists this signing key: "trusted", with the email
   the file gives it (checked first: offline, and the server learns nothing). A label whose email the
   file lists with another key is false, unless the registry proves this key is that email's;
2. else, when the label is an email and a registry is reachable: that email's published key, proven in
   the transparency log. The current key gives "registry"; a key the email published earlier and has
   since changed or removed gives "registry-former" (older files stay verifiable after a key rotation,
   shown distinctly with when it was replaced). Another key there means the label is false;
3. else "unverified", with the reason (offline, not logged in, no key published, ...).

    from c11.client import Client
    from c11.client.sender import SenderVerifier
    from c11.client.trusted import load_default
    with Client.from_environment(timeout=3) as c:
        v = SenderVerifier(load_default(), c)
        info = c11.files.inspect("report.pdf.c11")
        check = v.annotate(info)     # also sets info.verified_sender = check.to_dict()
        check.verified, check.email, check.status, check.reason

Nothing here fails a decryption: every registry failure (unreachable, refused, a proof that does not
verify) becomes an unverified answer with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from c11.client.registry import HistoryItem, RegistryAPI
from c11.client.trusted import TrustedKeys, normalize_email
from c11.errors import AuthError, C11Error, NoKeyPublishedError, ProofError, RecipientError, ServerError

if TYPE_CHECKING:
    from c11.client.client import Client

REGISTRY = "registry"
REGISTRY_FORMER = "registry-former"
TRUSTED = "trusted"
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class SenderCheck:
    """The verified identity of a signer (or why there is none).

    `status`: registry | registry-former | trusted | unverified. `email`: the verified email (None when
    unverified, or a trusted key listed without one). `label`: what the file claims. `conflict`: the
    registry holds a different key for the label's email (the label is false).
    """

    status: str
    fingerprint: str
    label: str
    email: str | None = None
    source: str | None = None  # the trusted-keys file, or the registry's server URL
    log_index: int | None = None
    replaced_index: int | None = None  # registry-former: the entry that changed or removed the key
    replaced_at: str | None = None
    replaced_by: str | None = None  # "change" or "remove"
    conflict: bool = False
    reason: str | None = None

    @property
    def verified(self) -> bool:
        return self.status != UNVERIFIED

    @property
    def label_matches(self) -> bool:
        """True when the file's label is the verified email (case-insensitive)."""
        if self.email is None:
            return False
        try:
            return normalize_email(self.label) == self.email
        except RecipientError:
            return False

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verified": self.verified, "label_matches": self.label_matches}


class SenderVerifier:
    """Verifies signers against trusted keys, then a registry; answers are cached per email."""

    def __init__(
        self,
        trusted: TrustedKeys | None = None,
        client: Client | Callable[[], Client | None] | None = None,
        *,
        no_registry_reason: str | None = None,
    ) -> None:
        """`client`: a logged-in `Client` whose registry is asked, or a function making one on first need
        (None: no registry); `no_registry_reason` says why there is none (e.g. not logged in)."""
        self.trusted = trusted or TrustedKeys()
        self._client = client
        self._registry: RegistryAPI | None = None
        self.server: str | None = None
        self._why_none = no_registry_reason or "no registry was asked (not logged in)"
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._unreachable: C11Error | None = None  # once the registry cannot be reached, it is not asked again

    def verify(self, label: str, fingerprint: str, signature_valid: bool = True) -> SenderCheck:
        """Whose is the signing key with this fingerprint, for a file labelled `label` (a signature that
        does not verify vouches for nobody)."""
        if not signature_valid:
            return SenderCheck(UNVERIFIED, fingerprint, label, reason="the signature does not verify")
        entry = self.trusted.find(fingerprint)
        if entry is not None:
            return SenderCheck(TRUSTED, fingerprint, label, entry.email, entry.source)
        try:
            email = normalize_email(label)
        except RecipientError:
            what = (
                "the file has no sender label"
                if not label.strip()
                else "the label is not an email address"
                if "@" not in label
                else "the label is not a valid email address (look-alike, invisible or "
                "unusual characters), so no registry can vouch for it"
            )
            return SenderCheck(
                UNVERIFIED, fingerprint, label, reason=f"{what}, and the signing key is in no trusted-keys file"
            )
        check = self._from_registry(email, fingerprint, label)
        pinned = self.trusted.of_email(email)
        if check.verified or not pinned:
            return check
        return SenderCheck(
            UNVERIFIED,
            fingerprint,
            label,
            source=pinned[0].source,
            conflict=True,
            reason=f"your trusted key of {email} ({pinned[0].source}) is a DIFFERENT key; {check.reason}",
        )

    def annotate(self, info: Any) -> SenderCheck:
        """Verify a `c11.files.FileInfo`'s sender (the author) and store the answer in
        `info.verified_sender`; a re-sharer's (who changed the recipients) goes to `info.verified_resharer`."""
        check = self.verify(info.sender, info.sender_fingerprint, info.signature_valid)
        info.verified_sender = check.to_dict()
        resharer = self.resharer(info)
        info.verified_resharer = resharer.to_dict() if resharer else None
        return check

    def resharer(self, info: Any) -> SenderCheck | None:
        """The verified identity of who changed the recipients (format version 2), or None if nobody did.
        `info`: a FileInfo, or a dict with `resharer`, `resharer_fingerprint` (in-document groups)."""
        get = info.get if isinstance(info, dict) else lambda k, d=None: getattr(info, k, d)
        fp = get("resharer_fingerprint")
        if not fp:
            return None
        return self.verify(get("resharer") or "", fp, get("signature_valid", True))

    # -- the registry ----------------------------------------------------------------------------------

    def _api(self) -> RegistryAPI | None:
        if self._registry is None and self._client is not None:
            client = self._client() if callable(self._client) else self._client
            self._client = None
            if client is not None:
                self._registry, self.server = client.registry, client.server
        return self._registry

    def _from_registry(self, email: str, fp: str, label: str) -> SenderCheck:
        def unverified(reason: str, conflict: bool = False, index: int | None = None) -> SenderCheck:
            return SenderCheck(
                UNVERIFIED, fp, label, source=self.server, log_index=index, conflict=conflict, reason=reason
            )

        try:
            api = self._api()
        except C11Error as e:
            return unverified(f"the registry was not asked ({e})")
        if api is None:
            return unverified(self._why_none)
        if self._unreachable is not None:
            return unverified(_failure(email, self._unreachable))
        current, history = self._answers(api, email)
        if isinstance(current, C11Error) and not isinstance(current, NoKeyPublishedError):
            return unverified(_failure(email, current))
        if not isinstance(current, C11Error) and current.public_key.sig_fingerprint == fp:
            return SenderCheck(REGISTRY, fp, label, email, self.server, current.log_index)
        if history is None:
            history = self._history(api, email)
        if isinstance(history, C11Error):
            return unverified(_failure(email, history))
        former = _former(history, fp)
        if former is not None:
            item, nxt = former
            return SenderCheck(
                REGISTRY_FORMER,
                fp,
                label,
                email,
                self.server,
                item.index,
                nxt.index if nxt else None,
                nxt.time.isoformat() if nxt else None,
                nxt.action if nxt else None,
            )
        if isinstance(current, C11Error):
            return unverified(f"{email} has no published key on {self.server} and never had this one")
        return unverified(
            f"the registry's key of {email} (log entry {current.log_index}) is a DIFFERENT key: "
            "this file was not signed by them",
            conflict=True,
            index=current.log_index,
        )

    def _answers(self, api: RegistryAPI, email: str) -> tuple[Any, Any]:
        if email not in self._cache:
            try:
                current: Any = api.lookup_record(email)
            except C11Error as e:
                current = self._note(e)
            self._cache[email] = (current, None)
        return self._cache[email]

    def _history(self, api: RegistryAPI, email: str) -> Any:
        try:
            history: Any = api.history(email)
        except C11Error as e:
            history = self._note(e)
        self._cache[email] = (self._cache[email][0], history)
        return history

    def _note(self, e: C11Error) -> C11Error:
        if isinstance(e, ServerError) and e.status == 0:
            self._unreachable = e
        return e


def _former(history: list[HistoryItem], fp: str) -> tuple[HistoryItem, HistoryItem | None] | None:
    """The last logged entry that published this signing key, and the entry that replaced it."""
    found = None
    for i, item in enumerate(history):
        if item.public_key is not None and item.public_key.sig_fingerprint == fp:
            found = (item, history[i + 1] if i + 1 < len(history) else None)
    return found


def _failure(email: str, e: C11Error) -> str:
    """Why the registry could not vouch for `email`, in one line."""
    if isinstance(e, ProofError):
        return f"the registry's answer for {email} does NOT verify ({e})"
    if isinstance(e, ServerError) and e.status == 0:
        return "the registry could not be reached (offline?)"
    if isinstance(e, AuthError):
        return f"the registry refused the lookup of {email} ({e})"
    return f"the registry lookup of {email} failed ({e})"
