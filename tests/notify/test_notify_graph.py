"""The Graph transport against the Entra + Graph stand-in over HTTPS (real MSAL, real httpx, real JWTs)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from graph_standin import RAOP_MESSAGE, GraphStandIn, Pki

from c11.errors import PermanentDeliveryError, TransientDeliveryError
from c11.notify.branding import Branding
from c11.notify.graph_certificate import CertificateStore
from c11.notify.render import build_message, render
from c11.notify.transports.graph import GraphTransport, graph_body

TENANT = "9d1c2f3e-0a4b-4c5d-8e6f-7a8b9c0d1e2f"
CLIENT = "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f"
SENDER = "notifications@contoso.example"
OTHER = "ceo@contoso.example"
BRAND = Branding(base_url="https://c11.contoso.example")


def _message(to: str = "bob@example.org"):
    r = render("document_shared", to=to, brand=BRAND, sender="Alice", link=BRAND.link("/d/42"))
    return build_message(r, f"Contoso <{SENDER}>")


def _setup(
    standin: GraphStandIn, data_dir: Path, *, roles: set[str] | None = None, upload: bool = True, policy: bool = True
):
    tenant = standin.add_tenant(TENANT, mailboxes={SENDER, OTHER})
    app = tenant.add_app(CLIENT, roles={"Mail.Send"} if roles is None else roles)
    if policy:
        tenant.restrict(CLIENT, {SENDER})
    store = CertificateStore(data_dir)
    cert = store.create()
    if upload:
        app.upload(cert.der)
    return tenant, app, store, cert


def _transport(standin: GraphStandIn, pki: Pki, store, **kw) -> GraphTransport:
    args = dict(
        sender=SENDER,
        tenant_id=TENANT,
        client_id=CLIENT,
        certificates=store,
        login_host=standin.host,
        api_host=standin.api_host,
        ca_bundle=str(pki.ca_pem),
        timeout=10,
    )
    args.update(kw)
    return GraphTransport(**args)


def test_success_delivers_documented_body(standin, pki, tmp_path):
    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path))
    t.send(_message())
    t.send(_message("carol@example.org"))
    assert len(standin.delivered) == 2
    d = standin.delivered[0]
    assert d["mailbox"] == SENDER and d["client_id"] == CLIENT
    msg = d["body"]["message"]
    assert msg["toRecipients"] == [{"emailAddress": {"address": "bob@example.org"}}]
    assert msg["body"]["contentType"] == "HTML" and "https://c11.contoso.example/d/42" in msg["body"]["content"]
    assert msg["subject"] == "Alice shared a protected document with you"
    assert d["body"]["saveToSentItems"] is False
    # one token for both messages (MSAL's cache), with the Mail.Send role
    assert sum(1 for m, p in standin.requests if p.endswith("/oauth2/v2.0/token")) == 1
    assert t.last_token_claims["roles"] == ["Mail.Send"]
    # no instance discovery towards login.microsoftonline.com; tenant discovery against our host
    assert ("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration") in standin.requests
    t.close()


def test_sha1_thumbprint_assertion_rs256(standin, pki, tmp_path):
    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path), assertion="sha1")
    t.send(_message())
    assert len(standin.delivered) == 1


def test_ca_bundle_wins_over_requests_ca_bundle_env(standin, pki, tmp_path, monkeypatch):
    """REQUESTS_CA_BUNDLE names the system store (which does not know our test CA): the configured bundle wins."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path))
    t.send(_message())
    assert len(standin.delivered) == 1


def test_without_ca_bundle_the_test_ca_is_not_trusted(standin, pki, tmp_path):
    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path), ca_bundle=None)
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "C11_GRAPH_CA_BUNDLE" in e.value.explanation


def test_wrong_tenant(standin, pki, tmp_path):
    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path), tenant_id="00000000-1111-2222-3333-444444444444")
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "AADSTS90002" in str(e.value) or "90002" in e.value.explanation or "was not found" in e.value.explanation
    assert "C11_GRAPH_TENANT_ID" in e.value.explanation
    assert e.value.config


def test_wrong_client_id(standin, pki, tmp_path):
    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path), client_id="11111111-2222-3333-4444-555555555555")
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "AADSTS700016" in str(e.value)
    assert "C11_GRAPH_CLIENT_ID" in e.value.explanation


def test_certificate_not_uploaded(standin, pki, tmp_path):
    _, _, _, cert = _setup(standin, tmp_path, upload=False)
    t = _transport(standin, pki, CertificateStore(tmp_path))
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "AADSTS700027" in str(e.value)
    assert "not uploaded" in e.value.explanation and cert.sha1_thumbprint in e.value.explanation
    assert not standin.delivered


def test_certificate_expired_in_entra(standin, pki, tmp_path):
    """The key credential in the app registration has expired (Entra: 'The key used is expired')."""
    _, app, store, cert = _setup(standin, tmp_path, upload=False)
    app.upload(cert.der, end=datetime.now(UTC) - timedelta(days=1))
    t = _transport(standin, pki, store)
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "AADSTS700027" in str(e.value) and "expired" in e.value.explanation
    assert "certificate create" in e.value.explanation


def test_certificate_expired_locally(standin, pki, tmp_path):
    _setup(standin, tmp_path, upload=False)
    old = tmp_path / "old"
    store = CertificateStore(old)
    store.create(days=1, now=datetime.now(UTC) - timedelta(days=3))
    t = _transport(standin, pki, store)
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "no valid Graph certificate" in str(e.value)


def test_missing_mail_send_consent(standin, pki, tmp_path):
    _setup(standin, tmp_path, roles=set())
    t = _transport(standin, pki, CertificateStore(tmp_path))
    with pytest.raises(PermanentDeliveryError) as e:
        t.send(_message())
    assert "ErrorAccessDenied" in str(e.value)
    assert "Mail.Send application permission" in e.value.explanation
    assert "Grant admin consent" in e.value.explanation


def test_denied_mailbox_explained(standin, pki, tmp_path):
    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path))
    with pytest.raises(PermanentDeliveryError) as e:
        t.send_as(_message(), OTHER)
    assert "403" in str(e.value) and "ErrorAccessDenied" in str(e.value) and "[RAOP]" in str(e.value)
    x = e.value.explanation
    assert "must be a member of the mail-enabled security group" in x
    assert f"Test-ApplicationAccessPolicy -Identity {OTHER} -AppId {CLIENT}" in x
    assert "more than an hour" in x
    assert RAOP_MESSAGE in str(e.value)
    # the allowed mailbox still works with the same token
    t.send(_message())
    assert len(standin.delivered) == 1


def test_429_is_transient_with_retry_after(standin, pki, tmp_path):
    _setup(standin, tmp_path)
    standin.throttle(1, retry_after=7)
    t = _transport(standin, pki, CertificateStore(tmp_path))
    with pytest.raises(TransientDeliveryError) as e:
        t.send(_message())
    assert e.value.retry_after == 7
    assert "throttl" in e.value.explanation
    t.send(_message())
    assert len(standin.delivered) == 1


def test_rotation_two_live_newest_used_with_fallback(standin, pki, tmp_path):
    tenant, app, store, old = _setup(standin, tmp_path)
    new = store.create(now=datetime.now(UTC) + timedelta(seconds=1))
    assert store.active().sha1_thumbprint == new.sha1_thumbprint
    # the new certificate is not uploaded yet: the old one keeps mail flowing
    t = _transport(standin, pki, store)
    t.send(_message())
    assert t.last_certificate.sha1_thumbprint == old.sha1_thumbprint
    assert len(standin.delivered) == 1
    # the admin uploads the new certificate: a new transport (or after the refusal window) uses the newest
    app.upload(new.der)
    t2 = _transport(standin, pki, store)
    t2.send(_message())
    assert t2.last_certificate.sha1_thumbprint == new.sha1_thumbprint
    # then the old one is removed from the app registration: still fine
    app.keys = [k for k in app.keys if k.sha1.hex().upper() == new.sha1_thumbprint]
    t3 = _transport(standin, pki, store)
    t3.send(_message())
    assert len(standin.delivered) == 3


def _assertion(cert, aud: str, *, alg: str = "PS256", jti: str | None = None, exp_in: int = 600) -> str:
    import base64
    import uuid

    import jwt

    now = int(time.time())
    digest = bytes.fromhex(cert.sha256_thumbprint if alg == "PS256" else cert.sha1_thumbprint)
    header = {"x5t#S256" if alg == "PS256" else "x5t": base64.urlsafe_b64encode(digest).decode().rstrip("=")}
    claims = {
        "aud": aud,
        "iss": CLIENT,
        "sub": CLIENT,
        "iat": now,
        "nbf": now,
        "exp": now + exp_in,
        "jti": jti or str(uuid.uuid4()),
    }
    return jwt.encode(claims, cert.private_key_pem(), algorithm=alg, headers=header)


def test_standin_checks_assertion_claims_and_refuses_replay(standin, pki, tmp_path):
    import ssl

    import httpx

    _, _, store, cert = _setup(standin, tmp_path)
    url = standin.token_endpoint(TENANT)
    scope = f"https://{standin.api_host}/.default"

    def post(assertion: str, scope: str = scope) -> httpx.Response:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(pki.ca_pem))) as c:
            return c.post(
                url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT,
                    "scope": scope,
                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    "client_assertion": assertion,
                },
            )

    a = _assertion(cert, url)
    assert post(a).status_code == 200
    r = post(a)  # same jti again
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert "replay" in r.json()["error_description"]
    r = post(_assertion(cert, url, alg="RS256"))
    assert r.status_code == 200
    r = post(_assertion(cert, "https://elsewhere.example/token"))
    assert r.status_code == 401 and r.json()["error_description"].startswith("AADSTS")
    r = post(_assertion(cert, url, exp_in=-3600))
    assert r.json()["error_codes"] == [700024]
    r = post(_assertion(cert, url), scope="https://graph.microsoft.com/.default")
    assert r.json()["error_codes"] == [500011]
    other = CertificateStore(tmp_path / "other").create()
    r = post(_assertion(other, url))
    assert r.json()["error_codes"] == [700027] and "The key was not found" in r.json()["error_description"]
    # a signature by another key under the uploaded certificate's thumbprint
    forged = _assertion(cert, url)
    h, p, _ = forged.split(".")
    s = _assertion(other, url).split(".")[2]
    r = post(f"{h}.{p}.{s}")
    assert r.json()["error_codes"] == [700027] and "signature" in r.json()["error_description"]


def test_msal_instance_discovery_endpoint_of_standin(standin, pki, tmp_path):
    """MSAL asks /common/discovery/instance for hosts it does not know, when instance discovery is on."""
    import msal

    from c11.notify.transports.graph import _session

    _, _, store, cert = _setup(standin, tmp_path)
    app = msal.ConfidentialClientApplication(
        CLIENT,
        authority=f"https://{standin.host}/{TENANT}",
        instance_discovery=f"https://{standin.host}/common/discovery/instance",
        client_credential={"private_key": cert.private_key_pem().decode(), "thumbprint": cert.sha1_thumbprint},
        http_client=_session(str(pki.ca_pem)),
    )
    assert "access_token" in app.acquire_token_for_client(scopes=[f"https://{standin.api_host}/.default"])
    assert ("GET", "/common/discovery/instance") in standin.requests


def test_graph_host_for_national_cloud_is_the_scope(pki, tmp_path):
    """With graph.microsoft.com as the API host the scope is https://graph.microsoft.com/.default."""
    with GraphStandIn(pki, api_host="graph.microsoft.com") as s:
        _setup(s, tmp_path)
        t = _transport(s, pki, CertificateStore(tmp_path), api_host="graph.microsoft.com")
        assert t.scope == "https://graph.microsoft.com/.default"
        assert "access_token" and t.token()
        assert t.last_token_claims["aud"] == "https://graph.microsoft.com"


def test_body_shape_refused_by_standin(standin, pki, tmp_path):
    import httpx

    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path))
    token = t.token()
    url = f"https://{standin.host}/v1.0/users/{SENDER}/sendMail"
    with httpx.Client(verify=__import__("ssl").create_default_context(cafile=str(pki.ca_pem))) as c:
        r = c.post(
            url, json={"message": {"subject": "x", "toRecipients": []}}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "ErrorInvalidRecipients"
        r = c.post(url, json={"subject": "x"}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 400
        r = c.post(url, json=graph_body(_message()), headers={"Authorization": "Bearer x.y.z"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
        r = c.post(url, json=graph_body(_message()), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 202


def test_token_is_cached_between_sends(standin, pki, tmp_path):
    _setup(standin, tmp_path)
    t = _transport(standin, pki, CertificateStore(tmp_path))
    start = time.perf_counter()
    for i in range(20):
        t.send(_message(f"user{i}@example.org"))
    assert len(standin.delivered) == 20
    assert sum(1 for _, p in standin.requests if p.endswith("/token")) == 1
    assert time.perf_counter() - start < 20
