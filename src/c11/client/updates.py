"""The desktop app's update check: a signed release feed, checked only when an admin configured one (never a
download, never a self-update). Format and settings: docs/desktop.md#updates.

A feed is two files: `FEED` (JSON, at most 64 KiB) and `FEED.sig` (one line: standard base64 of an Ed25519
signature over `c11-desktop-feed/v1\\x00` followed by the exact bytes of `FEED`). The settings file
(`/etc/c11/desktop.json` by default) names the feed and the keys that may sign it, or switches the check off.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from c11.errors import C11Error

DOMAIN = b"c11-desktop-feed/v1\x00"
FORMAT = "c11-desktop-feed/v1"
MAX_FEED = 64 << 10
MAX_SETTINGS = 64 << 10
SETTINGS = Path("/etc/c11/desktop.json")
_VERSION = re.compile(r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$")


class UpdateFeedError(C11Error):
    """A feed that is unreachable, too large, malformed or not signed by a configured key."""


@dataclass(frozen=True)
class UpdateSettings:
    """`feed`: the feed's URL (None: no check); `keys`: raw Ed25519 public keys (32 bytes) that may sign it;
    `enabled`: False when the admin switched the check off (`off_reason` says where)."""

    feed: str | None
    keys: tuple[bytes, ...]
    enabled: bool
    off_reason: str = ""


@dataclass(frozen=True)
class Release:
    version: str
    url: str
    notes: str
    newer: bool  # than the running version


def settings(path: Path = SETTINGS, env: dict[str, str] | None = None) -> UpdateSettings:
    """The admin's settings: `C11_DESKTOP_UPDATES=off` or `"update_check": false` switch it off; without a feed
    there is nothing to check."""
    import os

    env = dict(os.environ) if env is None else env
    if env.get("C11_DESKTOP_UPDATES", "").lower() in ("off", "0", "false", "no"):
        return UpdateSettings(None, (), False, "switched off by C11_DESKTOP_UPDATES")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SETTINGS + 1)
    except FileNotFoundError:
        return UpdateSettings(None, (), False, f"no release feed configured ({path})")
    except OSError as e:
        raise UpdateFeedError(f"cannot read {path}: {e.strerror}") from None
    try:
        if len(raw) > MAX_SETTINGS:
            raise ValueError("too large")
        d = json.loads(raw)
        if not isinstance(d, dict):
            raise ValueError("not an object")
        if d.get("update_check") is False:
            return UpdateSettings(None, (), False, f"switched off by the administrator ({path})")
        feed = d.get("update_feed")
        keys = tuple(bytes.fromhex(k) for k in d.get("update_keys", []))
        if feed is not None and (not isinstance(feed, str) or not feed.startswith(("https://", "http://"))):
            raise ValueError("update_feed is not an http(s) URL")
        if any(len(k) != 32 for k in keys):
            raise ValueError("update_keys are hex of 32-byte Ed25519 keys")
    except (ValueError, TypeError) as e:
        raise UpdateFeedError(f"{path} is not valid desktop settings: {e}") from None
    if not feed:
        return UpdateSettings(None, keys, False, f"no release feed configured ({path})")
    if not keys:
        raise UpdateFeedError(f"{path} names a feed but no update_keys to check it with")
    return UpdateSettings(feed, keys, True)


def _version(text: Any) -> tuple[int, int, int]:
    m = _VERSION.match(text) if isinstance(text, str) else None
    if m is None:
        raise UpdateFeedError(f"the feed's version {str(text)[:40]!r} is not MAJOR.MINOR.PATCH")
    return int(m[1]), int(m[2]), int(m[3])


def verify(feed: bytes, signature_line: bytes, keys: tuple[bytes, ...], running: str) -> Release:
    """The release a feed announces, once its signature verified with one of `keys`."""
    if len(feed) > MAX_FEED:
        raise UpdateFeedError("the feed is larger than 64 KiB")
    try:
        sig = base64.b64decode(signature_line.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise UpdateFeedError("the feed's signature is not base64") from None
    for k in keys:
        try:
            Ed25519PublicKey.from_public_bytes(k).verify(sig, DOMAIN + feed)
            break
        except (InvalidSignature, ValueError):  # ValueError: not a valid Ed25519 key
            continue
    else:
        raise UpdateFeedError("the feed is not signed by a configured key: ignored")
    try:
        d = json.loads(feed)
    except ValueError:
        raise UpdateFeedError("the feed is not JSON") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise UpdateFeedError(f"the feed's format is not {FORMAT}")
    url, notes = d.get("url"), d.get("notes", "")
    if not isinstance(url, str) or not url.startswith("https://") or not isinstance(notes, str):
        raise UpdateFeedError("the feed's url (https) or notes are missing or malformed")
    return Release(d["version"], url, notes[:2000], _version(d["version"]) > _version(running))


def check(settings_: UpdateSettings, running: str, timeout: float = 10.0) -> Release | None:
    """Fetch and verify the feed (None when the check is off). Reads at most 64 KiB of each file."""
    if not settings_.enabled or settings_.feed is None:
        return None
    import httpx

    def fetch(url: str) -> bytes:
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as r:
                if r.status_code != 200:
                    raise UpdateFeedError(f"the release feed answered {r.status_code} ({url})")
                body = b""
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > MAX_FEED:
                        raise UpdateFeedError("the feed is larger than 64 KiB")
                return body
        except httpx.HTTPError as e:
            raise UpdateFeedError(f"the release feed is unreachable: {e}") from None

    return verify(fetch(settings_.feed), fetch(settings_.feed + ".sig"), settings_.keys, running)
