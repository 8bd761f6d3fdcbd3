"""Microsoft Graph transport: `POST https://{api_host}/v1.0/users/{sender}/sendMail` as the customer's mailbox.

Authentication is app-only (OAuth 2.0 client credentials) with a certificate: MSAL's
`ConfidentialClientApplication` signs a client assertion with the private key from our secret store,
and `acquire_token_for_client(scopes=["https://{api_host}/.default"])` returns a token carrying the
`Mail.Send` application role once the customer's admin granted consent. The three values the customer
gives us are the sender address, the tenant ID and the client ID.

CA bundle: `requests` (used by MSAL) lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's
`verify`, so with a configured bundle we hand MSAL a session that passes `verify` on every request,
which the environment cannot override. httpx gets an SSL context built from the same bundle.

Errors: 202 is success; 429/503 are transient and honour Retry-After; 401/403/404 and token failures
are permanent (with `config=True`: the set-up is wrong, not the message) and explained by `diagnose`.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from datetime import UTC
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from c11.errors import NotifyError, PermanentDeliveryError, TransientDeliveryError
from c11.notify.diagnose import (
    Diagnosis,
    GraphContext,
    explain_graph_error,
    explain_token_error,
    parse_retry_after,
)
from c11.notify.graph_certificate import CertificateStore, GraphCertificate
from c11.notify.render import parts

#: How long a certificate Entra refused is skipped before it is tried again (rotation fallback).
REFUSED_CERT_SECONDS = 600.0
#: Token errors that mean "this certificate is not (or no longer) accepted": try the next live one.
_CERT_CODES = {700027, 7000274, 50012, 1000502, 7000214, 7000277}


def _session(ca_bundle: str | None) -> Any:
    """A requests session for MSAL whose TLS verification the environment cannot override."""
    import requests

    class _PinnedVerifySession(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            if kwargs.get("verify") in (None, True):
                kwargs["verify"] = ca_bundle
            return super().request(method, url, *args, **kwargs)

    s: requests.Session = _PinnedVerifySession() if ca_bundle else requests.Session()
    if ca_bundle:
        s.verify = ca_bundle
    return s


def token_claims(token: str) -> dict[str, Any]:
    """The (unverified) claims of a JWT access token, for diagnosis only."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims if isinstance(claims, dict) else {}
    except (IndexError, ValueError):
        return {}


def graph_body(message: EmailMessage, *, save_to_sent_items: bool = False) -> dict[str, Any]:
    """The JSON body of `sendMail` as Graph documents it, from an RFC 5322 message."""

    def addresses(header: str) -> list[dict[str, Any]]:
        out = []
        for value in message.get_all(header, []):
            for a in getattr(value, "addresses", ()):
                if a.addr_spec:
                    entry: dict[str, Any] = {"address": a.addr_spec}
                    if a.display_name:
                        entry["name"] = a.display_name
                    out.append({"emailAddress": entry})
        return out

    text, html = parts(message)
    msg: dict[str, Any] = {
        "subject": str(message.get("Subject") or ""),
        "body": {"contentType": "HTML" if html else "Text", "content": html if html else text},
        "toRecipients": addresses("To"),
    }
    for header, key in (("Cc", "ccRecipients"), ("Bcc", "bccRecipients"), ("Reply-To", "replyTo")):
        found = addresses(header)
        if found:
            msg[key] = found
    custom = [{"name": k, "value": str(v)} for k, v in message.items() if k.lower().startswith("x-")]
    if custom:
        msg["internetMessageHeaders"] = custom[:5]
    return {"message": msg, "saveToSentItems": save_to_sent_items}


class GraphTransport:
    name = "graph"

    def __init__(
        self,
        *,
        sender: str,
        tenant_id: str,
        client_id: str,
        certificates: CertificateStore | list[GraphCertificate],
        login_host: str = "login.microsoftonline.com",
        api_host: str = "graph.microsoft.com",
        ca_bundle: str | None = None,
        timeout: float = 30,
        save_to_sent_items: bool = False,
        assertion: str = "sha256",
    ) -> None:
        if not (sender and tenant_id and client_id):
            raise NotifyError("the graph transport needs the sender address, the tenant ID and the client ID")
        self.sender = sender
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.certificates = certificates
        self.login_host = login_host
        self.api_host = api_host
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.save_to_sent_items = save_to_sent_items
        #: "sha256": PS256 with x5t#S256 (MSAL's default since 1.35); "sha1": RS256 with x5t.
        self.assertion = assertion
        self._apps: dict[str, Any] = {}
        self._refused: dict[str, float] = {}
        self._lock = threading.RLock()
        self._http: Any = None
        self.last_token_claims: dict[str, Any] = {}
        self.last_certificate: GraphCertificate | None = None

    # -- identity ------------------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        return f"https://{self.login_host}/{self.tenant_id}"

    @property
    def scope(self) -> str:
        return f"https://{self.api_host}/.default"

    def _ctx(self, cert: GraphCertificate | None = None) -> GraphContext:
        return GraphContext(
            sender=self.sender,
            tenant_id=self.tenant_id,
            client_id=self.client_id,
            login_host=self.login_host,
            api_host=self.api_host,
            thumbprint=cert.sha1_thumbprint if cert else "",
        )

    def _live(self) -> list[GraphCertificate]:
        if isinstance(self.certificates, CertificateStore):
            return self.certificates.live()
        from datetime import datetime

        now = datetime.now(UTC)
        return sorted(
            (c for c in self.certificates if c.valid_at(now)), key=lambda c: (c.not_before, c.not_after), reverse=True
        )

    def _app(self, cert: GraphCertificate) -> Any:
        import msal  # type: ignore[import-untyped]

        key = cert.sha1_thumbprint
        app = self._apps.get(key)
        if app is None:
            credential: dict[str, Any] = {"private_key": cert.private_key_pem().decode()}
            if self.assertion == "sha1":
                credential["thumbprint"] = cert.sha1_thumbprint
            else:
                credential["public_certificate"] = cert.cert_pem.decode()
            app = msal.ConfidentialClientApplication(
                self.client_id,
                authority=self.authority,
                client_credential=credential,
                http_client=_session(self.ca_bundle),
                timeout=self.timeout,
                # Instance discovery would ask login.microsoftonline.com about any other host; the login
                # host is configured by the operator, so it is trusted as is (tenant discovery still runs).
                instance_discovery=False,
                token_cache=msal.TokenCache(),
            )
            self._apps[key] = app
        return app

    def _forget(self, cert: GraphCertificate | None = None) -> None:
        """Drop MSAL apps (their cached token and client assertion), so the next try starts afresh."""
        if cert is None:
            self._apps.clear()
        else:
            self._apps.pop(cert.sha1_thumbprint, None)

    def _token_with(self, cert: GraphCertificate) -> dict[str, Any]:
        import requests

        try:
            app = self._app(cert)
            result: dict[str, Any] = app.acquire_token_for_client(scopes=[self.scope])
            return result
        except ValueError as e:  # MSAL: authority / tenant discovery failed (the cause holds Entra's answer)
            text = str(e)
            cause = e.__context__
            while cause is not None:
                text += " " + str(cause)
                cause = cause.__context__
            self._forget(cert)
            return {"error": "invalid_authority", "error_description": text}
        except requests.exceptions.SSLError as e:
            self._forget(cert)
            raise PermanentDeliveryError(
                f"TLS certificate of {self.login_host} not trusted: {_root(e)}",
                "Set C11_GRAPH_CA_BUNDLE to the CA bundle that signs the login and Graph hosts (or leave it unset "
                "to use the system's).",
                config=True,
            ) from e
        except requests.exceptions.RequestException as e:
            self._forget(cert)
            raise TransientDeliveryError(
                f"cannot reach {self.login_host}: {_root(e)}",
                "The Microsoft identity platform is unreachable; we will try again.",
            ) from e

    def token(self) -> str:
        """An app-only access token for Graph (cached by MSAL until it nearly expires)."""
        with self._lock:
            live = self._live()
            if not live:
                raise PermanentDeliveryError(
                    "no valid Graph certificate",
                    "Run `c11 notify graph certificate create --out c11-graph.cer` "
                    "and upload the .cer file to the app registration (Certificates & secrets).",
                    config=True,
                )
            now = time.monotonic()
            candidates = [c for c in live if self._refused.get(c.sha1_thumbprint, 0) <= now] or live
            last: tuple[GraphCertificate, dict[str, Any]] | None = None
            for cert in candidates:
                result = self._token_with(cert)
                if "access_token" in result:
                    self._refused.pop(cert.sha1_thumbprint, None)
                    self.last_certificate = cert
                    self.last_token_claims = token_claims(result["access_token"])
                    return str(result["access_token"])
                self._forget(cert)  # a fresh client assertion (new jti) next time
                last = (cert, result)
                codes = set(result.get("error_codes") or [])
                if not codes & _CERT_CODES:
                    break
                self._refused[cert.sha1_thumbprint] = now + REFUSED_CERT_SECONDS
            assert last is not None
            cert, result = last
            d = explain_token_error(result, self._ctx(cert))
            self._raise(d)
            raise AssertionError("unreachable")

    def _raise(self, d: Diagnosis) -> None:
        if d.transient:
            raise TransientDeliveryError(d.summary, d.explanation, retry_after=d.retry_after, config=d.config)
        raise PermanentDeliveryError(d.summary, d.explanation, config=d.config)

    # -- sending -------------------------------------------------------------------------------------

    def _client(self) -> Any:
        import httpx

        if self._http is None:
            verify: Any = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else True
            self._http = httpx.Client(verify=verify, timeout=self.timeout)
        return self._http

    def send(self, message: EmailMessage) -> None:
        self.send_as(message, self.sender)

    def send_as(self, message: EmailMessage, mailbox: str) -> None:
        """Send through `mailbox` (the configured sender normally; another one to check the policy denies it)."""
        import httpx

        body = graph_body(message, save_to_sent_items=self.save_to_sent_items)
        if not body["message"]["toRecipients"] and "bccRecipients" not in body["message"]:
            raise PermanentDeliveryError("message has no recipient", config=False)
        token = self.token()
        url = f"https://{self.api_host}/v1.0/users/{quote(mailbox, safe='@')}/sendMail"
        try:
            r = self._client().post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.ConnectError as e:
            if isinstance(e.__context__, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e):
                raise PermanentDeliveryError(
                    f"TLS certificate of {self.api_host} not trusted: {e}",
                    "Set C11_GRAPH_CA_BUNDLE to the CA bundle that signs the Graph host.",
                    config=True,
                ) from e
            raise TransientDeliveryError(
                f"cannot reach {self.api_host}: {e}", "Microsoft Graph is unreachable; we will try again."
            ) from e
        except httpx.HTTPError as e:
            raise TransientDeliveryError(
                f"cannot reach {self.api_host}: {type(e).__name__}: {e}",
                "Microsoft Graph is unreachable; we will try again.",
            ) from e
        if r.status_code in (200, 202):
            return
        try:
            payload = r.json()
        except ValueError:
            payload = {"error": {"code": str(r.status_code), "message": r.text[:300]}}
        if r.status_code == 401:
            with self._lock:
                self._forget()
        roles = self.last_token_claims.get("roles") if self.last_token_claims else None
        ctx = GraphContext(
            sender=mailbox,
            tenant_id=self.tenant_id,
            client_id=self.client_id,
            login_host=self.login_host,
            api_host=self.api_host,
        )
        d = explain_graph_error(
            r.status_code,
            payload,
            ctx,
            roles=list(roles) if roles is not None else [],
            retry_after=parse_retry_after(r.headers.get("Retry-After")),
        )
        self._raise(d)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _root(e: BaseException) -> str:
    while e.__cause__ is not None or (e.__context__ is not None and not e.__suppress_context__):
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return str(e)[:200]
