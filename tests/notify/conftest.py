"""Fixtures of the notification tests: a test PKI, the Graph/Entra stand-in, real SMTP servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from graph_standin import GraphStandIn, Pki, make_pki
from smtpkit import SmtpServer


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def standin(pki: Pki) -> Iterator[GraphStandIn]:
    with GraphStandIn(pki) as s:
        yield s


@pytest.fixture
def smtp_plain() -> Iterator[SmtpServer]:
    with SmtpServer("none") as s:
        yield s


@pytest.fixture
def smtp_starttls_auth(pki: Pki) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", cert=pki.cert_pem, key=pki.key_pem, auth=True) as s:
        yield s


@pytest.fixture
def smtp_tls_auth(pki: Pki) -> Iterator[SmtpServer]:
    with SmtpServer("tls", cert=pki.cert_pem, key=pki.key_pem, auth=True) as s:
        yield s


def pytest_configure(config: pytest.Config) -> None:
    # aiosmtpd warns about AUTH without STARTTLS when the socket is already TLS (implicit TLS, port 465 style)
    config.addinivalue_line("filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning")
