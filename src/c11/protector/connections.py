"""Named storage locations (connections): a URL, options, and secrets that never leave the protector's side."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Connection:
    """A named storage location: `url` (file://, s3://, smb://, azure://, gs://), `options` (endpoint, region,
    user name...) and `secrets` (keys and passwords, kept out of `repr` and of any listing)."""

    name: str
    url: str
    options: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
