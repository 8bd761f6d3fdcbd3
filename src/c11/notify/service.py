"""Notifications inside the server process: the in-process worker, queuing from request handlers, wake-ups.

    notifier = notifier_for(server_config, db.engine)  # app creation (kept on the server's context)
    start_configured(notifier)                         # app start-up (lifespan)
    notifier.notify(session, "document_shared", to=..., sender="Alice", link=notifier.brand.link("/d/1"))
    notifier.wake()                                    # after the transaction committed: deliver now
    notifier.stop()                                    # app shutdown

The settings come from the same sources as the server's (`C11_*` variables and the TOML file), plus the
values `c11 notify graph configure` stored; `C11_MAIL_WORKER=false` leaves delivery to `c11 notify worker`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from c11.notify.branding import Branding, branding_from_env
from c11.notify.config import STORED_FILE, NotifyConfig, load_notify_config
from c11.notify.outbox import enqueue_rendered
from c11.notify.render import render
from c11.notify.transports import Transport, make_transport
from c11.notify.worker import Worker, due_certificate_alerts

_log = logging.getLogger("c11.notify")
ALERT_CHECK_SECONDS = 3600.0


def notify_config_for(server_config: Any) -> NotifyConfig:
    """The notification settings of a server `Config`: its data dir, database, URL and config file; the
    transport and sender too when they differ from the defaults (else `c11 notify graph configure` may
    have chosen them: notify.json)."""
    from c11.notify.config import NOTIFY_SETTINGS

    defaults = {s.key: s.default for s in NOTIFY_SETTINGS}
    overrides = {k: getattr(server_config, k, None) for k in ("mail_transport", "mail_from")}
    cfg = load_notify_config(
        {k: v for k, v in overrides.items() if v is not None and v != defaults[k]},
        data_dir=server_config.data_dir,
        config_file=getattr(server_config, "config_file", None),
        base_url=server_config.base_url,
    )
    from dataclasses import replace

    return replace(cfg, database_url=server_config.database_url)


class Notifier:
    """Queues notifications and (optionally) runs the delivery worker in a background thread."""

    def __init__(
        self,
        cfg: NotifyConfig,
        engine: Engine,
        *,
        transport: Transport | None = None,
        brand: Branding | None = None,
        reload: Callable[[], NotifyConfig] | None = None,
        **worker_options: Any,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.brand = brand or branding_from_env(cfg.base_url)
        self.transport = transport or make_transport(cfg)
        sender = cfg.graph_sender if cfg.mail_transport == "graph" else cfg.mail_from
        self._next_alert_check = 0.0
        self._alert_lock = threading.Lock()
        #: Re-reads the settings when notify.json changes (the admin API or `c11 notify graph configure`).
        self._reload = reload
        self._stored_stamp = self._stamp()
        self.worker = Worker(
            engine,
            self.transport,
            sender=sender or cfg.mail_from,
            max_attempts=cfg.mail_max_attempts,
            on_tick=self._tick,
            **worker_options,
        )

    # -- queuing ---------------------------------------------------------------------------------------

    def notify(self, s: Session, kind: str, *, to: str, **context: Any) -> str:
        """Render and queue a notification in the caller's transaction; returns its outbox ID."""
        return enqueue_rendered(s, render(kind, to=to, brand=self.brand, **context))

    def wake(self) -> None:
        """Deliver what is queued now (call after the transaction that queued it committed)."""
        self.worker.wake()

    # -- worker ----------------------------------------------------------------------------------------

    def _stamp(self) -> int | None:
        try:
            return (self.cfg.data_dir / STORED_FILE).stat().st_mtime_ns
        except OSError:
            return None

    def reconfigure(self, cfg: NotifyConfig) -> None:
        """Deliver with the transport `cfg` names from now on (the old one is closed)."""
        old, self.transport = self.transport, make_transport(cfg)
        self.cfg = cfg
        self.worker.transport = self.transport
        self.worker.sender = (cfg.graph_sender if cfg.mail_transport == "graph" else cfg.mail_from) or cfg.mail_from
        try:
            old.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        _log.info("notify: settings changed; delivering via %s", self.transport.name)

    def _tick(self) -> None:
        stamp = self._stamp()
        if self._reload is not None and stamp != self._stored_stamp:
            self._stored_stamp = stamp
            try:
                self.reconfigure(self._reload())
            except Exception:  # noqa: BLE001 - a bad edit must not stop delivery with the old settings
                _log.exception("notify: new settings not applied")
        now = time.monotonic()
        if self.cfg.mail_transport != "graph" or now < self._next_alert_check:
            return
        with self._alert_lock:
            self._next_alert_check = now + ALERT_CHECK_SECONDS
            try:
                if due_certificate_alerts(self.engine, self.cfg.data_dir, self.cfg.admins, self.brand):
                    self.worker.wake()
            except Exception:  # noqa: BLE001 - an alert must never stop delivery
                _log.exception("notify: certificate expiry check failed")

    def start(self) -> Notifier:
        self.worker.start()
        _log.info("notify: delivery worker started (transport %s)", self.transport.name)
        return self

    def stop(self) -> None:
        self.worker.stop()
        try:
            self.transport.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def notifier_for(server_config: Any, engine: Engine) -> Notifier:
    """The notifier of a server `Config` (not started): its settings re-read when notify.json changes."""
    return Notifier(notify_config_for(server_config), engine, reload=lambda: notify_config_for(server_config))


def start_configured(notifier: Notifier) -> Notifier:
    """Start the in-process worker unless C11_MAIL_WORKER is false (then `c11 notify worker` delivers)."""
    if notifier.cfg.mail_worker:
        notifier.start()
    else:
        _log.info("notify: C11_MAIL_WORKER=false: run `c11 notify worker` to deliver")
    return notifier


def start_notifications(server_config: Any, db: Any) -> Notifier:
    """Build the notifier of a server `Config` and start it as configured."""
    return start_configured(notifier_for(server_config, db.engine))
