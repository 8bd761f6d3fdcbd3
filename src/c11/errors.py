"""Typed errors for c11: one base class, one subclass per thing a caller may want to handle.

Every message is a single line meant for a person, and never contains key material.
"""

from __future__ import annotations

from typing import Any


class C11Error(Exception):
    """Base class of every error c11 raises on purpose. `reason`, when set, names the case for front ends
    (which add their own hint: the CLI names its options, so SDK messages do not)."""

    #: Exit status the CLI uses for this error.
    exit_code: int = 1

    def __init__(self, *args: object, reason: str | None = None) -> None:
        super().__init__(*args)
        self.reason = reason


class UsageError(C11Error):
    """The call itself is wrong (bad option, bad argument)."""

    exit_code = 2


class NotC11FileError(C11Error):
    """The input is not a c11 protected file, bundle or message."""


class UnsupportedVersionError(C11Error):
    """The input is a c11 file of a format version this build cannot read."""


class FormatError(C11Error):
    """The input is a c11 file, but it is malformed."""


class IntegrityError(C11Error):
    """Authenticated data did not verify: the file was modified or damaged."""


class TruncatedError(IntegrityError):
    """The file ends early: it was cut short in transfer or on disk."""


class BadSignatureError(C11Error):
    """The sender's signature over the header does not verify."""


class NoMatchingKeyError(C11Error):
    """None of the caller's keys is a recipient of the file."""

    def __init__(self, message: str, recipients: list[str] | None = None) -> None:
        super().__init__(message)
        #: Fingerprints of the file's recipients.
        self.recipients = recipients or []


class KeyFileError(C11Error):
    """A key file cannot be read: missing, malformed or of an unknown kind."""


class WrongPassphraseError(KeyFileError):
    """The passphrase does not open the key file."""


class RecipientError(C11Error):
    """A recipient (public key line, recipients file entry) is not valid."""


class OutputExistsError(C11Error):
    """The output already exists and overwriting was not asked for."""


class BundleError(FormatError):
    """A .c11.zip bundle is malformed or hostile (unsafe paths, links, duplicates)."""


class TooLargeError(FormatError):
    """An input declares or expands to more than c11 accepts (a decompression bomb, an oversized part)."""


class DocumentError(FormatError):
    """A document protected in place (Word, Excel, PDF, image, JSON...) is malformed or cannot be read."""


class ProofError(C11Error):
    """A Merkle inclusion or consistency proof, or a checkpoint, does not verify."""


class ConfigError(C11Error):
    """A setting (environment variable, config file, credentials file) is missing or invalid."""


class EmailAddressError(C11Error, ValueError):
    """An email address is malformed or holds invisible, control or look-alike characters."""


class LogKeyError(ConfigError, ValueError):
    """A transparency log's signing key string is malformed (a ValueError too, as it always was)."""


class ServerError(C11Error):
    """A c11 server refused a request or could not be reached."""

    def __init__(self, message: str, status: int = 0, problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        #: HTTP status of the answer (0 when the server could not be reached).
        self.status = status
        #: The RFC 9457 problem document the server returned, if any.
        self.problem = problem or {}


class AuthError(ServerError):
    """Not logged in, bad credentials, or not allowed: log in again or use another token."""


class RateLimitError(ServerError):
    """Too many attempts; `retry_after` says how many seconds to wait."""

    def __init__(
        self, message: str, status: int = 429, problem: dict[str, Any] | None = None, retry_after: int = 0
    ) -> None:
        super().__init__(message, status, problem)
        self.retry_after = retry_after


class NotifyError(C11Error):
    """Notifications (docs/notifications.md): a template, transport or Graph set-up problem."""


class DeliveryError(NotifyError):
    """A transport could not deliver a message; `explanation` says what an admin can do about it."""

    def __init__(self, message: str, explanation: str = "", *, config: bool = False) -> None:
        super().__init__(message)
        #: Words an admin can act on (may be empty when the message says it all).
        self.explanation = explanation
        #: True when the cause is the set-up (credentials, consent, policy), not this one message.
        self.config = config


class TransientDeliveryError(DeliveryError):
    """Try again later (server down, 4xx SMTP reply, throttled); `retry_after` in seconds if the server said."""

    def __init__(
        self, message: str, explanation: str = "", *, retry_after: float | None = None, config: bool = False
    ) -> None:
        super().__init__(message, explanation, config=config)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Trying again will not help until something changes (5xx SMTP reply, refused credentials, denied mailbox)."""


class LogKeyChangedError(ProofError):
    """The log server's key is not the one this client pinned on first use (docs/registry.md §4)."""


class NoKeyPublishedError(ServerError):
    """The registry has no key for this email address (docs/registry.md §2)."""


class OnlinePolicyError(C11Error):
    """A file with an online policy could not get the key server's part of its key (docs/keyserver.md, Release).
    `server` is that key server, when known."""

    def __init__(self, message: str = "", *args: object, server: str | None = None) -> None:
        super().__init__(message, *args)
        self.server = server


class AccessRefusedError(OnlinePolicyError, AuthError):
    """The key server refused to release its part: not a recipient, revoked or expired (one answer for all)."""


class CloudKeyError(C11Error):
    """A cloud-stored key (docs/shards.md) could not be made, fetched or rebuilt: no shard stores, no cloud key, too few
    shards reachable (docs/shards.md)."""


class OrgPolicyUnavailableError(C11Error):
    """An organization member is encrypting but their organization's policy can be neither read from the server
    nor found cached on the device (docs/organizations.md, Organization rules)."""


class UnregisteredRecipientError(RecipientError):
    """An email recipient has no published key and no temporary key, and was not invited."""

    def __init__(self, message: str, email: str) -> None:
        super().__init__(message)
        self.email = email
