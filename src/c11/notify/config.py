"""Notification settings: `C11_*` environment variables, the same keys (lower case, no prefix) in the TOML
file, and the values `c11 notify graph configure` stored in `<data-dir>/notify.json`.

Precedence (highest first): explicit overrides (flags), environment, TOML file, notify.json, defaults.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from c11._internal.settings import parse_value, read_toml
from c11.errors import ConfigError

TRANSPORTS = ("outbox-folder", "smtp", "graph")
SECURITIES = ("none", "starttls", "tls")


@dataclass(frozen=True)
class NotifySetting:
    key: str
    kind: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"C11_{self.key.upper()}"


NOTIFY_SETTINGS: tuple[NotifySetting, ...] = (
    NotifySetting(
        "mail_transport", str, "outbox-folder", "outbox-folder (.eml files in <data-dir>/outbox/), smtp or graph."
    ),
    NotifySetting(
        "mail_from",
        str,
        "c11 <no-reply@localhost>",
        "From address (smtp, outbox-folder). Graph sends as C11_GRAPH_SENDER.",
    ),
    NotifySetting("mail_max_attempts", int, 10, "Delivery attempts before a message is moved to the dead letters."),
    NotifySetting(
        "mail_worker", bool, True, "Run the delivery worker inside the server process (false: run `c11 notify worker`)."
    ),
    NotifySetting(
        "mail_admins",
        str,
        None,
        "Comma-separated addresses that get admin alerts (e.g. the Graph certificate expires in 30 days).",
    ),
    NotifySetting("smtp_host", str, "localhost", "SMTP server host name."),
    NotifySetting("smtp_port", int, None, "SMTP port. Default: 25 (none), 587 (starttls), 465 (tls)."),
    NotifySetting("smtp_security", str, "starttls", "none, starttls (upgrade after connecting) or tls (implicit TLS)."),
    NotifySetting("smtp_username", str, None, "SMTP login name (optional)."),
    NotifySetting("smtp_password", str, None, "SMTP password (optional)."),
    NotifySetting(
        "smtp_ca_bundle", str, None, "PEM file of CA certificates trusted for the SMTP server (default: system)."
    ),
    NotifySetting("smtp_timeout", int, 30, "SMTP network timeout, seconds."),
    NotifySetting("graph_sender", str, None, "Mailbox that sends (Graph): the address the customer's admin gave."),
    NotifySetting("graph_tenant_id", str, None, "Entra tenant (directory) ID."),
    NotifySetting("graph_client_id", str, None, "Application (client) ID of the customer's app registration."),
    NotifySetting(
        "graph_login_host",
        str,
        "login.microsoftonline.com",
        "Microsoft identity platform host (national clouds: login.microsoftonline.us, login.partner.microsoftonline.cn).",
    ),
    NotifySetting(
        "graph_api_host",
        str,
        "graph.microsoft.com",
        "Microsoft Graph host (national clouds: graph.microsoft.us, dod-graph.microsoft.us, microsoftgraph.chinacloudapi.cn).",
    ),
    NotifySetting(
        "graph_ca_bundle",
        str,
        None,
        "PEM file of CA certificates trusted for the login and Graph hosts (default: system).",
    ),
    NotifySetting("graph_timeout", int, 30, "Graph network timeout, seconds."),
)
_BY_KEY = {s.key: s for s in NOTIFY_SETTINGS}
STORED_FILE = "notify.json"


@dataclass(frozen=True)
class NotifyConfig:
    data_dir: Path
    mail_transport: str = "outbox-folder"
    mail_from: str = "c11 <no-reply@localhost>"
    mail_max_attempts: int = 10
    mail_worker: bool = True
    smtp_host: str = "localhost"
    smtp_port: int | None = None
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = dataclasses.field(default=None, repr=False)
    smtp_ca_bundle: str | None = None
    smtp_timeout: int = 30
    graph_sender: str | None = None
    graph_tenant_id: str | None = None
    graph_client_id: str | None = None
    graph_login_host: str = "login.microsoftonline.com"
    graph_api_host: str = "graph.microsoft.com"
    graph_ca_bundle: str | None = None
    graph_timeout: int = 30
    mail_admins: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    database_url: str = ""

    @property
    def admins(self) -> list[str]:
        return [a.strip() for a in (self.mail_admins or "").split(",") if a.strip()]

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def port(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]

    def public(self) -> dict[str, Any]:
        """Settings for display: the password is never shown."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["data_dir"] = str(self.data_dir)
        if d.get("smtp_password"):
            d["smtp_password"] = "********"
        return d


def _parse(s: NotifySetting, raw: Any) -> Any:
    return parse_value(s.env, s.kind, raw)


def resolve_data_dir(data_dir: str | os.PathLike[str] | None, toml: Mapping[str, Any], env: Mapping[str, str]) -> Path:
    if data_dir:
        return Path(data_dir).expanduser()
    if env.get("C11_DATA_DIR"):
        return Path(env["C11_DATA_DIR"]).expanduser()
    if toml.get("data_dir"):
        return Path(str(toml["data_dir"])).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "c11"


def load_notify_config(
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
) -> NotifyConfig:
    """Resolve the notification settings from every source (see the module docstring)."""
    env = os.environ if env is None else env
    cfile = config_file or env.get("C11_CONFIG_FILE") or None
    toml = read_toml(Path(cfile)) if cfile else {}
    ddir = resolve_data_dir(data_dir, toml, env)
    values: dict[str, Any] = {s.key: s.default for s in NOTIFY_SETTINGS}
    stored = ddir / STORED_FILE
    if stored.is_file():
        try:
            saved = json.loads(stored.read_text())
        except ValueError as e:
            raise ConfigError(f"{stored} is not valid JSON: {e}") from e
        values.update({k: _parse(_BY_KEY[k], v) for k, v in saved.items() if k in _BY_KEY})
    values.update({k: _parse(_BY_KEY[k], v) for k, v in toml.items() if k in _BY_KEY})
    values.update({s.key: _parse(s, env[s.env]) for s in NOTIFY_SETTINGS if env.get(s.env, "") != ""})
    values.update({k: _parse(_BY_KEY[k], v) for k, v in (overrides or {}).items() if k in _BY_KEY and v is not None})
    url = (
        base_url
        or env.get("C11_PUBLIC_URL")
        or toml.get("public_url")
        or f"http://{env.get('C11_HOST') or toml.get('host') or '127.0.0.1'}:{env.get('C11_PORT') or toml.get('port') or 8000}"
    )
    db_url = env.get("C11_DATABASE_URL") or toml.get("database_url") or f"sqlite:///{ddir / 'c11.db'}"
    cfg = NotifyConfig(data_dir=ddir, base_url=str(url).rstrip("/"), database_url=str(db_url), **values)
    validate(cfg)
    return cfg


def validate(cfg: NotifyConfig) -> None:
    if cfg.mail_transport not in TRANSPORTS:
        raise ConfigError(f"C11_MAIL_TRANSPORT must be one of {', '.join(TRANSPORTS)}, not {cfg.mail_transport!r}")
    if cfg.smtp_security not in SECURITIES:
        raise ConfigError(f"C11_SMTP_SECURITY must be one of {', '.join(SECURITIES)}, not {cfg.smtp_security!r}")
    if cfg.mail_max_attempts < 1:
        raise ConfigError("C11_MAIL_MAX_ATTEMPTS must be at least 1")
    for key in ("smtp_ca_bundle", "graph_ca_bundle"):
        path = getattr(cfg, key)
        if path and not Path(path).is_file():
            raise ConfigError(f"C11_{key.upper()}: no such file: {path}")


def require_graph(cfg: NotifyConfig) -> None:
    missing = [
        f"C11_{k.upper()}" for k in ("graph_sender", "graph_tenant_id", "graph_client_id") if not getattr(cfg, k)
    ]
    if missing:
        raise ConfigError(f"the graph transport needs {', '.join(missing)} (or `c11 notify graph configure`)")


def store_values(data_dir: Path, values: Mapping[str, Any]) -> Path:
    """Merge `values` into `<data-dir>/notify.json` (0600; it may name a mailbox, never a secret key)."""
    unknown = set(values) - set(_BY_KEY)
    if unknown:
        raise ConfigError(f"unknown notification settings: {', '.join(sorted(unknown))}")
    path = Path(data_dir) / STORED_FILE
    current: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    current.update({k: v for k, v in values.items() if v is not None})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(current, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return path


def settings_help() -> str:
    return "\n".join(f"{s.env:<28} {s.help}" for s in NOTIFY_SETTINGS)
