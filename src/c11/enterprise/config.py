"""Enterprise key server configuration: each setting, its `C11E_*` variable, TOML key, default and meaning.

Precedence (highest first): command-line flags, environment variables, the TOML file, defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from c11._internal.settings import parse_value, read_toml
from c11.enterprise.kek import KekSource, Pkcs11Token
from c11.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One configuration value: TOML key `key`, environment variable `C11E_<KEY>`."""

    key: str
    kind: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"C11E_{self.key.upper()}"


#: Every setting; `c11 enterprise-keyserver serve --help` and docs/enterprise.md list this table.
SETTINGS: tuple[Setting, ...] = (
    Setting("config_file", str, None, "TOML file with any of these settings (lower-case keys, no C11E_ prefix)."),
    Setting("data_dir", str, None, "Data folder (SQLite database, key files). Default: ~/.local/share/c11-enterprise."),
    Setting("database_url", str, None, "SQLAlchemy URL; default sqlite:///<data-dir>/enterprise.db (trials only)."),
    Setting("host", str, "127.0.0.1", "Address to listen on."),
    Setting("port", int, 8470, "TCP port to listen on."),
    Setting("kek", str, None, "Master key ID for new wraps: pkcs11:<label> (HSM) or file:<name> (weaker)."),
    Setting("pkcs11_module", str, None, "PKCS#11 module (.so), e.g. /usr/lib/softhsm/libsofthsm2.so."),
    Setting("pkcs11_token", str, None, "Label of the PKCS#11 token holding the master key."),
    Setting("pkcs11_pin", str, None, "User PIN of the token (prefer the environment or a secret-mounted file)."),
    Setting("pkcs11_pin_file", str, None, "File holding the user PIN (first line)."),
    Setting("oidc_issuer", str, None, "Issuer URL of the organization's OpenID provider (discovery is read)."),
    Setting("oidc_audience", str, None, "Audience (aud) tokens must carry: this key server's client ID."),
    Setting("email_claim", str, "email", "Claim holding the member's email address."),
    Setting("groups_claim", str, "groups", "Claim holding the member's groups (a list of strings)."),
    Setting("required_group", str, None, "If set, a member's token must list this group."),
    Setting("allowed_domains", str, "", "Comma-separated email domains members may have (empty: any)."),
    Setting(
        "trust_issuer_email",
        bool,
        False,
        "Accept the email claim without email_verified=true (Entra ID, whose tenant owns the domain).",
    ),
    Setting("max_token_lifetime", int, 3600, "Refuse tokens valid longer than this many seconds (exp - iat)."),
    Setting("admin_token", str, None, "Bearer token of the admin API (members, revocations); unset: CLI only."),
    Setting("cors_origin", str, None, "The organization's c11 web origin allowed to call /v1/unwrap."),
    Setting("log_level", str, "info", "Log level of the JSON logs on standard error."),
)
_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True, repr=False)
class EnterpriseConfig:
    """The resolved configuration of one enterprise key server."""

    data_dir: Path
    database_url: str
    host: str
    port: int
    kek: str
    kek_source: KekSource
    oidc_issuer: str | None
    oidc_audience: str | None
    email_claim: str
    groups_claim: str
    required_group: str | None
    allowed_domains: tuple[str, ...]
    trust_issuer_email: bool
    max_token_lifetime: int
    admin_token: str | None
    cors_origin: str | None
    log_level: str

    def __repr__(self) -> str:
        return f"EnterpriseConfig(database_url={self.database_url!r}, kek={self.kek!r}, issuer={self.oidc_issuer!r})"


def settings_help() -> str:
    """The settings table as plain text, for `--help`."""
    return "\n".join(f"{s.env:<28} {s.help}" for s in SETTINGS)


def load_config(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> EnterpriseConfig:
    """Resolve the settings from defaults, the TOML file, `C11E_*` variables and `overrides` (flags)."""
    env = os.environ if env is None else env
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    values: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    from_env = {s.key: parse_value(s.env, s.kind, env[s.env]) for s in SETTINGS if env.get(s.env, "") != ""}
    config_file = flags.get("config_file") or from_env.get("config_file")
    if config_file:
        for key, raw in read_toml(Path(config_file)).items():
            if key not in _BY_KEY:
                raise ConfigError(f"unknown setting {key!r} in {config_file}")
            values[key] = parse_value(key, _BY_KEY[key].kind, raw)
    values.update(from_env)
    values.update({k: parse_value(k, _BY_KEY[k].kind, v) for k, v in flags.items() if k in _BY_KEY})
    data_dir = Path(values["data_dir"] or Path.home() / ".local/share/c11-enterprise").expanduser()
    pin = values["pkcs11_pin"]
    if pin is None and values["pkcs11_pin_file"]:
        try:
            pin = Path(values["pkcs11_pin_file"]).read_text().splitlines()[0]
        except (OSError, IndexError):
            raise ConfigError(f"cannot read a PIN from {values['pkcs11_pin_file']}") from None
    token = None
    if values["pkcs11_module"] or values["pkcs11_token"]:
        if not (values["pkcs11_module"] and values["pkcs11_token"] and pin is not None):
            raise ConfigError("an HSM needs C11E_PKCS11_MODULE, C11E_PKCS11_TOKEN and C11E_PKCS11_PIN (or _PIN_FILE)")
        token = Pkcs11Token(values["pkcs11_module"], values["pkcs11_token"], pin)
    kek = values["kek"] or ("pkcs11:c11-kek-1" if token else "file:kek-1")
    return EnterpriseConfig(
        data_dir=data_dir,
        database_url=values["database_url"] or f"sqlite:///{data_dir / 'enterprise.db'}",
        host=values["host"],
        port=values["port"],
        kek=kek,
        kek_source=KekSource(token, data_dir / "keks"),
        oidc_issuer=(values["oidc_issuer"] or "").rstrip("/") or None,
        oidc_audience=values["oidc_audience"],
        email_claim=values["email_claim"],
        groups_claim=values["groups_claim"],
        required_group=values["required_group"],
        allowed_domains=tuple(d.strip().lower() for d in values["allowed_domains"].split(",") if d.strip()),
        trust_issuer_email=values["trust_issuer_email"],
        max_token_lifetime=values["max_token_lifetime"],
        admin_token=values["admin_token"],
        cors_origin=values["cors_origin"],
        log_level=values["log_level"],
    )
