"""Helpers of the enterprise key server tests (tests/enterprise/conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "4711-test-pin"


@dataclass
class Hsm:
    """A SoftHSM2 token in a private folder (SOFTHSM2_CONF is set for the whole test process)."""

    conf: Path
    token: str
    pin: str = PIN
    module: str = SOFTHSM_MODULE

    def env(self) -> dict[str, str]:
        return {
            "SOFTHSM2_CONF": str(self.conf),
            "C11E_PKCS11_MODULE": self.module,
            "C11E_PKCS11_TOKEN": self.token,
            "C11E_PKCS11_PIN": self.pin,
        }


AUDIENCE = "c11-enterprise"


def mint(idp: Any, email: str, **over: Any) -> str:
    """A token signed by the IdP's current key, as its token endpoint would issue one for the key server."""
    from joserfc import jwt

    now = int(time.time())
    claims = {
        "iss": idp.issuer,
        "aud": AUDIENCE,
        "sub": f"sub-{email}",
        "iat": now,
        "exp": now + 300,
        "email": email,
        "email_verified": True,
        **over,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": idp.key.kid}, claims, idp.key)


@dataclass
class RunningEnterprise:
    url: str
    services: Any
    stop: Callable[[], None]


def start_enterprise(config: Any) -> RunningEnterprise:
    """`create_app` over `open_services(config)` on a loopback port."""
    from srvkit import loopback_socket, serve_in_thread

    from c11.enterprise import open_services
    from c11.enterprise.app import create_app

    svc = open_services(config, create_kek=True)
    sock = loopback_socket()
    server, thread = serve_in_thread(create_app(svc), sock)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        svc.db.dispose()
        svc.ring.close()

    return RunningEnterprise(f"http://127.0.0.1:{sock.getsockname()[1]}", svc, stop)


def enterprise_config(idp: Any, hsm: Hsm | None, data_dir: Path, database_url: str | None = None, **kw: Any) -> Any:
    from c11.enterprise.config import load_config

    env = {
        "C11E_DATA_DIR": str(data_dir),
        "C11E_OIDC_ISSUER": idp.issuer,
        "C11E_OIDC_AUDIENCE": AUDIENCE,
        "C11E_ADMIN_TOKEN": "admin-secret",
        **({k: v for k, v in hsm.env().items() if k.startswith("C11E_")} if hsm else {}),
        **({"C11E_DATABASE_URL": database_url} if database_url else {}),
    }
    return load_config(kw, env)
