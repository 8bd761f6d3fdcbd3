"""Server configuration: every setting, its `C11_*` variable, TOML key, default and meaning, in one table.

Precedence (highest first): command-line flags, environment variables, the TOML file, defaults.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import profiles

from c11._internal.settings import parse_value, read_toml
from c11.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One configuration value: TOML key `key`, environment variable `C11_<KEY>`."""

    key: str
    kind: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"C11_{self.key.upper()}"


#: Every setting of the server. `c11 serve --help` and docs/server.md list this table.
SETTINGS: tuple[Setting, ...] = (
    Setting("config_file", str, None, "TOML file with any of these settings (keys in lower case, no C11_ prefix)."),
    Setting(
        "data_dir",
        str,
        None,
        "Data folder (SQLite database, outbox). Default: $XDG_DATA_HOME/c11 or ~/.local/share/c11.",
    ),
    Setting(
        "database_url",
        str,
        None,
        "SQLAlchemy URL. Default: sqlite:///<data-dir>/c11.db; PostgreSQL: postgresql+psycopg://user@host/db.",
    ),
    Setting("host", str, "127.0.0.1", "Address to listen on."),
    Setting("port", int, 8000, "TCP port to listen on."),
    Setting(
        "public_url",
        str,
        None,
        "External base URL used in links in emails and OIDC redirects. Default: http://<host>:<port>.",
    ),
    Setting("migrate", bool, True, "Apply database migrations at start (false: run `c11 db upgrade` by hand)."),
    Setting(
        "session_ttl_hours", int, 24 * 14, "Lifetime of a login session (web cookie or CLI bearer token), in hours."
    ),
    Setting("cookie_secure", bool, None, "Mark the session cookie Secure. Default: true when public_url is https."),
    Setting(
        "mail_transport",
        str,
        "outbox-folder",
        "How outbox emails leave: outbox-folder writes <data-dir>/outbox/*.eml; smtp; graph (docs/notifications.md).",
    ),
    Setting("mail_from", str, "c11 <no-reply@localhost>", "From address of emails the server sends."),
    Setting(
        "login_max_failures_account",
        int,
        5,
        "Failed logins per account within login_window_seconds before further attempts wait (exponential backoff; the right password from a known device passes).",
    ),
    Setting(
        "login_backoff_seconds",
        int,
        2,
        "First wait of the per-account login backoff; it doubles with each further failure, up to login_window_seconds.",
    ),
    Setting(
        "login_max_failures_ip",
        int,
        50,
        "Failed logins per client address within login_window_seconds before it is refused (a known device with the right password passes).",
    ),
    Setting(
        "login_window_seconds", int, 900, "Sliding window of the login limits (and the longest backoff), in seconds."
    ),
    Setting(
        "trusted_proxies",
        str,
        None,
        "Comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (the rightmost address not in them is the client). Default: none; the TCP peer is the client.",
    ),
    Setting(
        "known_device_days",
        int,
        180,
        "Days a known device (a token issued at a password login, sent back at the next ones) stays known without a login.",
    ),
    Setting("verification_ttl_hours", int, 48, "Lifetime of an email verification link, in hours."),
    Setting(
        "unverified_account_hours",
        int,
        72,
        "Hours an account whose email was never verified is kept; a new sign-up with the same email replaces it at any time.",
    ),
    Setting("password_reset_minutes", int, 60, "Lifetime of a password reset link, in minutes."),
    Setting("oidc_name", str, "oidc", "Name of the OpenID Connect provider set by the C11_OIDC_* variables."),
    Setting(
        "oidc_issuer",
        str,
        None,
        "Issuer URL of an OpenID Connect provider (discovery at <issuer>/.well-known/openid-configuration).",
    ),
    Setting("oidc_client_id", str, None, "Client ID registered at that provider."),
    Setting("oidc_client_secret", str, None, "Client secret registered at that provider."),
    Setting("oidc_display_name", str, None, "Label of that provider on login pages. Default: the name."),
    Setting("log_level", str, "info", "Server log level (debug, info, warning, error)."),
    Setting(
        "log_origin",
        str,
        None,
        "Origin (name) of the transparency log, fixed at first start. Default: <public-url host>/log.",
    ),
    Setting(
        "log_highwater_file",
        str,
        None,
        "File holding the largest checkpoint the log signed (restore safety); keep it off the database's disk. "
        "Default: <data-dir>/log-highwater.",
    ),
    Setting(
        "keyserver_release_limit",
        int,
        600,
        "Key releases (online policy) per user per minute and server process; 0: no limit.",
    ),
    Setting(
        "rate_limits",
        str,
        None,
        "Per-address request limits of the routes anyone can call, changed from the defaults "
        "(docs/server.md, Limits): NAME=N/SECONDS or NAME=off, comma-separated (signup, reset, login, links, "
        "invitations, reads, lookups); off: none.",
    ),
    Setting(
        "rate_limit_loopback",
        bool,
        False,
        "Apply the per-address rate limits to loopback clients too (default: this machine is not limited).",
    ),
    Setting(
        "invitation_ttl_days",
        int,
        30,
        "Days an invitation (and its temporary key) stays valid unless resent or accepted.",
    ),
    Setting(
        "operator_org",
        str,
        None,
        "Organization whose admins (crud:config-org) may change server-wide settings such as notifications through the API. Default: the first organization created.",
    ),
    Setting(
        "shard_stores",
        str,
        None,
        "Comma-separated URLs of the shard stores (`c11 shard-store serve`) that keep the other shards of cloud-stored keys; announced to clients (docs/shards.md).",
    ),
    Setting(
        "shard_token_ttl_seconds",
        int,
        300,
        "Lifetime of a shard store token (bound to one user and one store, single use), in seconds.",
    ),
    Setting(
        "storage_url",
        str,
        None,
        "Where uploaded ciphertext is stored: file:///path, or s3://bucket/prefix (docs/sharing.md). Default: <data-dir>/blobs.",
    ),
    Setting(
        "s3_endpoint_url",
        str,
        None,
        "S3 endpoint (MinIO, SeaweedFS, Wasabi...). Default: boto3's (AWS_ENDPOINT_URL or AWS).",
    ),
    Setting("s3_region", str, None, "S3 region. Default: boto3's (AWS_REGION...)."),
    Setting("s3_access_key_id", str, None, "S3 access key ID. Default: boto3's (AWS_ACCESS_KEY_ID, profiles, roles)."),
    Setting("s3_secret_access_key", str, None, "S3 secret access key (better in the TOML file than in a variable)."),
    Setting(
        "metrics_token",
        str,
        None,
        "Bearer token a Prometheus scrape of /metrics must send. Unset: /metrics answers loopback clients only.",
    ),
    Setting(
        "upload_part_mib",
        int,
        5,
        "Part size of resumable uploads in MiB (S3's minimum is 5): the most an upload holds in server memory.",
    ),
    Setting("upload_max_gib", int, 20, "Largest upload accepted, in GiB."),
    Setting(
        "upload_ttl_hours",
        int,
        24,
        "Hours an upload may stay incomplete (or complete but not attached to a send or share) before it is deleted.",
    ),
    Setting(
        "upload_max_open",
        int,
        50,
        "Incomplete uploads one owner (an account, a request link) may have open at once.",
    ),
    Setting(
        "upload_max_open_gib",
        int,
        50,
        "Declared bytes, in GiB, of one owner's incomplete uploads together.",
    ),
    Setting(
        "upload_max_patches",
        int,
        4,
        "Upload PATCH requests one owner may have running at once in a server process (each holds a part buffer).",
    ),
    Setting("share_retention", int, 5, "Versions of a share link kept (the latest and older ones); older are deleted."),
    Setting(
        "dns_resolvers",
        str,
        None,
        "DNS servers that check domains' TXT records, comma-separated IP[:port] (default: the system's resolver).",
    ),
)

_BY_KEY = {s.key: s for s in SETTINGS}
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class PasswordHashing:
    """Argon2id cost of new password hashes; the default is argon2-cffi's RFC 9106 low-memory profile.

    No setting or variable changes it: only code builds a `Config` with `PasswordHashing.test_only()`.
    """

    time_cost: int = profiles.RFC_9106_LOW_MEMORY.time_cost
    memory_kib: int = profiles.RFC_9106_LOW_MEMORY.memory_cost
    parallelism: int = profiles.RFC_9106_LOW_MEMORY.parallelism

    @classmethod
    def test_only(cls) -> PasswordHashing:
        """The cheapest Argon2id parameters (t=1, 8 KiB, p=1): for test servers on loopback, never production."""
        return cls(time_cost=1, memory_kib=8, parallelism=1)

    @property
    def is_production(self) -> bool:
        """Whether these are at least the production defaults."""
        d = PasswordHashing()
        return self.time_cost >= d.time_cost and self.memory_kib >= d.memory_kib and self.parallelism >= d.parallelism


@dataclass(frozen=True)
class OidcProvider:
    """An outside OpenID Connect identity provider; TOML `[oidc.<name>]` or the C11_OIDC_* variables."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    display_name: str = ""
    scopes: tuple[str, ...] = ("openid", "email", "profile")


@dataclass(frozen=True)
class Config:
    """Resolved server settings; build it with `load_config` or directly in tests."""

    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    migrate: bool = True
    session_ttl_hours: int = 24 * 14
    cookie_secure: bool = False
    mail_transport: str = "outbox-folder"
    mail_from: str = "c11 <no-reply@localhost>"
    login_max_failures_account: int = 5
    login_backoff_seconds: int = 2
    login_max_failures_ip: int = 50
    login_window_seconds: int = 900
    trusted_proxies: str | None = None
    known_device_days: int = 180
    verification_ttl_hours: int = 48
    unverified_account_hours: int = 72
    password_reset_minutes: int = 60
    log_level: str = "info"
    oidc_providers: tuple[OidcProvider, ...] = field(default_factory=tuple)
    config_file: str | None = None  # notifications (c11.notify.config) read their keys from it too
    log_origin: str | None = None
    log_highwater_file: str | None = None
    keyserver_release_limit: int = 600
    rate_limits: str | None = None
    rate_limit_loopback: bool = False
    invitation_ttl_days: int = 30
    operator_org: str | None = None
    shard_stores: str | None = None
    shard_token_ttl_seconds: int = 300
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    upload_part_mib: int = 5
    upload_max_gib: int = 20
    upload_ttl_hours: int = 24
    upload_max_open: int = 50
    upload_max_open_gib: int = 50
    upload_max_patches: int = 4
    share_retention: int = 5
    dns_resolvers: str | None = None
    password_hashing: PasswordHashing = field(default_factory=PasswordHashing)  # code only: no C11_* variable

    def __post_init__(self) -> None:
        if not self.password_hashing.is_production and self.host not in _LOOPBACK:
            raise ConfigError("test-only password hashing parameters are refused on a non-loopback address")

    @property
    def base_url(self) -> str:
        host = "localhost" if self.host in ("", "0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return (self.public_url or f"http://{host}:{self.port}").rstrip("/")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @functools.cached_property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The `trusted_proxies` setting, parsed."""
        return parse_networks(self.trusted_proxies)

    def provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.oidc_providers if p.name == name), None)


def parse_networks(text: str | None) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs (or single addresses) as networks; `ConfigError` naming a bad one."""
    found = []
    for part in (text or "").split(","):
        if part.strip():
            try:
                found.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigError(f"trusted_proxies: {part.strip()!r} is not an address or CIDR") from None
    return tuple(found)


def default_data_dir(env: Mapping[str, str]) -> Path:
    """The user's data folder for c11, following the XDG base directory rules."""
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "c11"


def load_config(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Resolve the settings from defaults, the TOML file, `C11_*` variables and `overrides` (flags)."""
    env = os.environ if env is None else env
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    values: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    from_env = {s.key: _parse(s, env[s.env]) for s in SETTINGS if env.get(s.env, "") != ""}
    config_file = flags.get("config_file") or from_env.get("config_file")
    toml: dict[str, Any] = read_toml(Path(config_file)) if config_file else {}
    for key, raw in toml.items():
        if key == "oidc" or key in _notify_keys():
            continue
        if key not in _BY_KEY:
            raise ConfigError(f"unknown setting {key!r} in {config_file}")
        values[key] = _parse(_BY_KEY[key], raw)
    values.update(from_env)
    values.update({k: _parse(_BY_KEY[k], v) for k, v in flags.items() if k in _BY_KEY})
    return _build(values, toml.get("oidc", {}), env, config_file)


def _build(values: dict[str, Any], oidc_tables: Any, env: Mapping[str, str], src: str | None) -> Config:
    data_dir = Path(values["data_dir"]).expanduser() if values["data_dir"] else default_data_dir(env)
    url = values["database_url"] or f"sqlite:///{data_dir / 'c11.db'}"
    public = (values["public_url"] or "").rstrip("/")
    secure = values["cookie_secure"]
    if secure is None:
        secure = public.startswith("https://")
    if values["mail_transport"] not in ("outbox-folder", "smtp", "graph"):
        raise ConfigError(f"unknown mail_transport {values['mail_transport']!r} (known: outbox-folder, smtp, graph)")
    parse_networks(values.get("trusted_proxies"))  # refuse a bad CIDR at start
    from c11.server.ratelimit_groups import parse_groups

    parse_groups(values.get("rate_limits"))  # refuse a bad rate limit at start
    plain = {f.name for f in dataclasses.fields(Config)} - {"data_dir", "database_url", "oidc_providers"}
    kwargs = {k: values[k] for k in plain if k in values}
    kwargs.update(public_url=public, cookie_secure=bool(secure))
    return Config(data_dir=data_dir, database_url=url, oidc_providers=_providers(values, oidc_tables, src), **kwargs)


def _providers(values: dict[str, Any], tables: Any, src: str | None) -> tuple[OidcProvider, ...]:
    found: list[OidcProvider] = []
    if not isinstance(tables, dict):
        raise ConfigError(f"[oidc] in {src} must be a table of providers")
    for name, t in tables.items():
        try:
            found.append(
                OidcProvider(
                    name=name,
                    issuer=t["issuer"],
                    client_id=t["client_id"],
                    client_secret=t["client_secret"],
                    display_name=t.get("display_name", name),
                    scopes=tuple(t.get("scopes", OidcProvider.scopes)),
                )
            )
        except (KeyError, TypeError) as e:
            raise ConfigError(f"[oidc.{name}] in {src} needs issuer, client_id and client_secret") from e
    if values.get("oidc_issuer"):
        if not values.get("oidc_client_id") or values.get("oidc_client_secret") is None:
            raise ConfigError("C11_OIDC_ISSUER needs C11_OIDC_CLIENT_ID and C11_OIDC_CLIENT_SECRET")
        name = values["oidc_name"]
        found = [p for p in found if p.name != name]
        found.append(
            OidcProvider(
                name=name,
                issuer=values["oidc_issuer"],
                client_id=values["oidc_client_id"],
                client_secret=values["oidc_client_secret"],
                display_name=values.get("oidc_display_name") or name,
            )
        )
    return tuple(found)


def _notify_keys() -> set[str]:
    """TOML keys of the notification settings that c11.notify.config reads (docs/notifications.md)."""
    from c11.notify.config import NOTIFY_SETTINGS

    return {s.key for s in NOTIFY_SETTINGS} - set(_BY_KEY)


def _parse(setting: Setting, raw: Any) -> Any:
    return parse_value(setting.env, setting.kind, raw)


def settings_help() -> str:
    """The settings table as plain text, for `c11 serve --help`."""
    return "\n".join(f"{s.env:<32} {s.help}" for s in SETTINGS)
