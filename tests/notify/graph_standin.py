"""A stand-in for Microsoft Entra (token endpoint, discovery) and Microsoft Graph (`sendMail`) over HTTPS on loopback.

It enforces the real protocol rather than echoing success:

* `GET /{tenant}/v2.0/.well-known/openid-configuration` (MSAL's tenant discovery) and
  `GET /common/discovery/instance` (MSAL's instance discovery, for hosts it does not know).
* `POST /{tenant}/oauth2/v2.0/token`, client credentials with a JWT client assertion
  (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`): the signature (RS256 or
  PS256) is verified against the certificates *uploaded* to the app, found by the header's `x5t` (SHA-1) or
  `x5t#S256` (SHA-256) thumbprint; `aud` must be the token endpoint URL, `iss` = `sub` = client ID, `exp` /
  `nbf` valid (5 minutes of skew), `jti` never seen before (replay refused), and the scope
  `https://{api_host}/.default`. Errors are answered as Entra does: JSON with `error`, `error_description`
  starting with the AADSTS code, and `error_codes`. The access token is a JWT signed by the stand-in's own key,
  with `roles: ["Mail.Send"]` only when the app has that application permission with admin consent.
* `POST /v1.0/users/{sender}/sendMail`: the bearer token (signature, expiry, audience), the `Mail.Send` role,
  the JSON body's shape as Graph documents it, and an Exchange application access policy (RestrictAccess to
  the members of a group) answering 403 ErrorAccessDenied with Graph's text for policy denials; 202 on success;
  `throttle(n, retry_after)` makes the next n calls answer 429 with Retry-After.

Delivered messages are kept in `delivered` for assertions. The replay error code is the stand-in's choice
(Entra documents no dedicated code for it); every other code is the one Entra returns for that case.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
RAOP_MESSAGE = "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
SKEW = 300


# -- test PKI -----------------------------------------------------------------------------------------


@dataclass
class Pki:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_pki(folder: Path, hosts: tuple[str, ...] = ("localhost",)) -> Pki:
    """A throw-away CA and a server certificate for `hosts` and 127.0.0.1, written as PEM files."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "c11 test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sans = [x509.DNSName(h) for h in hosts] + [x509.IPAddress(IPv4Address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pki


# -- the directory ------------------------------------------------------------------------------------


@dataclass
class KeyCredential:
    """A certificate uploaded to an app registration (Certificates & secrets > Certificates)."""

    cert: x509.Certificate
    start: datetime
    end: datetime

    @property
    def sha1(self) -> bytes:
        return self.cert.fingerprint(hashes.SHA1())

    @property
    def sha256(self) -> bytes:
        return self.cert.fingerprint(hashes.SHA256())


@dataclass
class App:
    client_id: str
    keys: list[KeyCredential] = field(default_factory=list)
    #: Application permissions on Microsoft Graph with admin consent.
    roles: set[str] = field(default_factory=set)

    def upload(self, cert_pem_or_der: bytes, *, end: datetime | None = None) -> KeyCredential:
        if cert_pem_or_der.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(cert_pem_or_der)
        else:
            cert = x509.load_der_x509_certificate(cert_pem_or_der)
        k = KeyCredential(cert, cert.not_valid_before_utc, end or cert.not_valid_after_utc)
        self.keys.append(k)
        return k


@dataclass
class Tenant:
    tenant_id: str
    mailboxes: set[str] = field(default_factory=set)
    apps: dict[str, App] = field(default_factory=dict)
    #: Application access policies: client ID -> mailboxes of the policy's scope group (RestrictAccess).
    access_policies: dict[str, set[str]] = field(default_factory=dict)

    def add_app(self, client_id: str, *, roles: set[str] | None = None) -> App:
        app = App(client_id, roles=set(roles or ()))
        self.apps[client_id] = app
        return app

    def restrict(self, client_id: str, group_members: set[str]) -> None:
        """New-ApplicationAccessPolicy -AppId client_id -PolicyScopeGroupId <group> -AccessRight RestrictAccess."""
        self.access_policies[client_id] = {m.lower() for m in group_members}


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EntraError(Exception):
    def __init__(self, status: int, error: str, code: int, text: str) -> None:
        super().__init__(text)
        self.status, self.error, self.code, self.text = status, error, code, text

    def body(self) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace = str(uuid.uuid4())
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.text} Trace ID: {trace} Correlation ID: "
            f"{uuid.uuid4()} Timestamp: {now}",
            "error_codes": [self.code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": str(uuid.uuid4()),
                },
            }
        }


class GraphStandIn:
    """Entra + Graph on one HTTPS loopback port. Use as a context manager, or `start()` / `stop()`."""

    def __init__(self, pki: Pki, *, api_host: str | None = None) -> None:
        self.pki = pki
        self.tenants: dict[str, Tenant] = {}
        self.delivered: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.token_errors: list[dict[str, Any]] = []
        self.seen_jti: set[str] = set()
        self._throttle = 0
        self._retry_after = "1"
        self._lock = threading.Lock()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = _b64u(
            hashlib.sha256(
                self._key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ).digest()[:15]
        )
        self._api_host_override = api_host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> GraphStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.pki.cert_pem, self.pki.key_pem)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GraphStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        """The login host and (unless overridden) the Graph host: `localhost:<port>`."""
        return f"localhost:{self.port}"

    @property
    def api_host(self) -> str:
        return self._api_host_override or self.host

    # -- directory set-up ----------------------------------------------------------------------------------

    def add_tenant(self, tenant_id: str, mailboxes: set[str] | list[str] = ()) -> Tenant:
        t = Tenant(tenant_id, {m.lower() for m in mailboxes})
        self.tenants[tenant_id] = t
        return t

    def throttle(self, times: int, retry_after: str | int = 1) -> None:
        """The next `times` sendMail calls answer 429 with this Retry-After."""
        with self._lock:
            self._throttle = times
            self._retry_after = str(retry_after)

    # -- Entra ---------------------------------------------------------------------------------------------

    def token_endpoint(self, tenant: str) -> str:
        return f"https://{self.host}/{tenant}/oauth2/v2.0/token"

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        if tenant not in self.tenants:
            raise EntraError(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
                "are signing into the correct cloud. Check with your subscription administrator, this "
                "may happen if there are no active subscriptions for the tenant.",
            )
        base = f"https://{self.host}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"https://{self.host}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
        }

    def instance_discovery(self, query: dict[str, list[str]]) -> dict[str, Any]:
        endpoint = (query.get("authorization_endpoint") or [""])[0]
        parts = urlsplit(endpoint)
        tenant = parts.path.strip("/").split("/")[0] if parts.path else "common"
        return {
            "tenant_discovery_endpoint": f"https://{self.host}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": self.host, "preferred_cache": self.host, "aliases": [self.host]}],
        }

    def issue_token(self, tenant_id: str, form: dict[str, str]) -> dict[str, Any]:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            raise EntraError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant_id}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        if form.get("grant_type") != "client_credentials":
            raise EntraError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        client_id = form.get("client_id", "")
        app = tenant.apps.get(client_id)
        if app is None:
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant_id}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may have "
                "sent your authentication request to the wrong tenant.",
            )
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise EntraError(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            )
        claims = self._check_assertion(tenant, app, form["client_assertion"])
        scope = form.get("scope", "")
        expected = f"https://{self.api_host}/.default"
        if scope != expected:
            if scope.endswith("/.default"):
                raise EntraError(
                    400,
                    "invalid_resource",
                    500011,
                    f"The resource principal named {scope[: -len('/.default')]} was not found in the "
                    f"tenant named {tenant_id}.",
                )
            raise EntraError(
                400,
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
            )
        with self._lock:
            if claims["jti"] in self.seen_jti:
                raise EntraError(
                    401,
                    "invalid_client",
                    50027,
                    "JWT token is invalid or malformed. [Reason - the client assertion's jti was "
                    "already used (replay).]",
                )
            self.seen_jti.add(claims["jti"])
        now = int(time.time())
        payload: dict[str, Any] = {
            "aud": f"https://{self.api_host}",
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + 3599,
            "appid": client_id,
            "azp": client_id,
            "tid": tenant_id,
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "ver": "1.0",
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
        }
        if app.roles:
            payload["roles"] = sorted(app.roles)
        return {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": self._sign(payload)}

    def _check_assertion(self, tenant: Tenant, app: App, assertion: str) -> dict[str, Any]:
        try:
            h64, p64, s64 = assertion.split(".")
            header = json.loads(_unb64u(h64))
            claims = json.loads(_unb64u(p64))
            signature = _unb64u(s64)
        except ValueError:
            raise EntraError(401, "invalid_client", 50027, "JWT token is invalid or malformed.") from None
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            raise EntraError(
                401, "invalid_client", 5002738, f"Invalid JWT token. '{alg}' is not a supported signature algorithm."
            )
        x5t, x5t256 = header.get("x5t"), header.get("x5t#S256")
        if not x5t and not x5t256:
            raise EntraError(
                401,
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. [Reason - The key was not found.]",
            )
        try:
            wanted = _unb64u(x5t256) if x5t256 else _unb64u(x5t)
        except ValueError:
            raise EntraError(401, "invalid_client", 50027, "JWT token is invalid or malformed.") from None
        key = next((k for k in app.keys if (k.sha256 if x5t256 else k.sha1) == wanted), None)
        used = wanted.hex().upper()
        if key is None:
            raise EntraError(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not registered "
                f"on application. [Reason - The key was not found., Thumbprint of key used by client: "
                f"'{used}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to "
                f"see configured keys for app Id '{app.client_id}'.]",
            )
        now = datetime.now(UTC)
        fmt = "%m/%d/%Y %H:%M:%S"
        if not (key.start <= now < key.end):
            raise EntraError(
                401,
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. [Reason - The key used is expired., "
                f"Thumbprint of key used by client: '{used}', Found key 'Start="
                f"{key.start.strftime(fmt)}, End={key.end.strftime(fmt)}']",
            )
        public = key.cert.public_key()
        pad: Any = (
            padding.PKCS1v15()
            if alg == "RS256"
            else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        )
        try:
            public.verify(signature, f"{h64}.{p64}".encode(), pad, hashes.SHA256())  # type: ignore[union-attr]
        except InvalidSignature:
            raise EntraError(
                401,
                "invalid_client",
                700027,
                "Client assertion failed signature validation. [Reason - The provided signature "
                f"value did not match the expected signature value., Thumbprint of key used by client: "
                f"'{used}']",
            ) from None
        if claims.get("aud") != self.token_endpoint(tenant.tenant_id):
            raise EntraError(
                401,
                "invalid_client",
                700212,
                f"The client assertion audience '{claims.get('aud')}' is not the token endpoint "
                f"{self.token_endpoint(tenant.tenant_id)}.",
            )
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise EntraError(
                401,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            )
        t = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, (int, float)) or exp + SKEW < t or (isinstance(nbf, (int, float)) and nbf - SKEW > t):
            raise EntraError(
                401,
                "invalid_client",
                700024,
                f"Client assertion is not within its valid time range. Current time: "
                f"{datetime.fromtimestamp(t, UTC):%Y-%m-%dT%H:%M:%S.0000000Z}, assertion valid "
                f"from {nbf}, expiry time of assertion {exp}.",
            )
        if not claims.get("jti"):
            raise EntraError(401, "invalid_client", 50027, "JWT token is invalid or malformed. [Reason - no jti.]")
        return claims

    def _sign(self, payload: dict[str, Any]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "kid": self._kid}
        h64 = _b64u(json.dumps(header, separators=(",", ":")).encode())
        p64 = _b64u(json.dumps(payload, separators=(",", ":")).encode())
        sig = self._key.sign(f"{h64}.{p64}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{h64}.{p64}.{_b64u(sig)}"

    # -- Graph ---------------------------------------------------------------------------------------------

    def _check_bearer(self, auth: str | None) -> dict[str, Any]:
        if not auth or not auth.startswith("Bearer "):
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        token = auth[len("Bearer ") :]
        try:
            h64, p64, s64 = token.split(".")
            self._key.public_key().verify(_unb64u(s64), f"{h64}.{p64}".encode(), padding.PKCS1v15(), hashes.SHA256())
            claims = json.loads(_unb64u(p64))
        except (ValueError, InvalidSignature):
            raise GraphError(
                401, "InvalidAuthenticationToken", "Access token validation failure. Invalid signature."
            ) from None
        if claims.get("aud") not in (f"https://{self.api_host}", f"https://{self.api_host}/", GRAPH_APP_ID):
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
        if claims.get("exp", 0) < time.time():
            raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
        return claims

    def send_mail(self, mailbox: str, auth: str | None, raw: bytes) -> None:
        claims = self._check_bearer(auth)
        with self._lock:
            if self._throttle > 0:
                self._throttle -= 1
                raise GraphError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": self._retry_after},
                )
        tenant = self.tenants.get(claims.get("tid", ""))
        if tenant is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.")
        if "Mail.Send" not in (claims.get("roles") or []):
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if mailbox.lower() not in tenant.mailboxes:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")
        members = tenant.access_policies.get(claims.get("appid", ""))
        if members is not None and mailbox.lower() not in members:
            raise GraphError(403, "ErrorAccessDenied", RAOP_MESSAGE)
        body = self._check_body(raw)
        with self._lock:
            self.delivered.append(
                {"mailbox": mailbox, "client_id": claims.get("appid"), "body": body, "at": time.time()}
            )

    @staticmethod
    def _check_body(raw: bytes) -> dict[str, Any]:
        def bad(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
            return GraphError(400, code, message)

        try:
            body = json.loads(raw or b"")
        except ValueError:
            raise bad("Invalid JSON in the request body.", "RequestBodyRead") from None
        if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
            raise bad("The 'message' parameter is missing in the request body.")
        for k in body:
            if k not in ("message", "saveToSentItems"):
                raise bad(f"The parameter '{k}' in the request payload is not a valid parameter.", "RequestBodyRead")
        if "saveToSentItems" in body and not isinstance(body["saveToSentItems"], bool):
            raise bad("Cannot convert the literal to the expected type 'Edm.Boolean'.", "RequestBodyRead")
        msg = body["message"]
        allowed = {
            "subject",
            "body",
            "toRecipients",
            "ccRecipients",
            "bccRecipients",
            "replyTo",
            "from",
            "internetMessageHeaders",
            "attachments",
            "importance",
            "categories",
        }
        for k in msg:
            if k not in allowed:
                raise bad(f"The property '{k}' does not exist on type 'microsoft.graph.message'.", "RequestBodyRead")
        if "subject" in msg and not isinstance(msg["subject"], str):
            raise bad("Invalid subject.", "RequestBodyRead")
        b = msg.get("body")
        if b is not None:
            if (
                not isinstance(b, dict)
                or str(b.get("contentType", "")).lower() not in ("text", "html")
                or not isinstance(b.get("content"), str)
            ):
                raise bad("The body must have contentType Text or HTML and a string content.", "RequestBodyRead")
        total = 0
        for key in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
            value = msg.get(key, [])
            if not isinstance(value, list):
                raise bad(f"'{key}' must be a collection.", "RequestBodyRead")
            for r in value:
                addr = r.get("emailAddress", {}).get("address") if isinstance(r, dict) else None
                if not isinstance(addr, str) or "@" not in addr:
                    raise bad(
                        "At least one recipient is not valid., Recipient is not resolved.", "ErrorInvalidRecipients"
                    )
            if key != "replyTo":
                total += len(value)
        if total == 0:
            raise bad("At least one recipient is required, but none were found.", "ErrorInvalidRecipients")
        for h in msg.get("internetMessageHeaders", []):
            if not isinstance(h, dict) or not str(h.get("name", "")).lower().startswith("x-"):
                raise bad(
                    "The internet message header name should start with 'x-' or 'X-'.", "InvalidInternetMessageHeader"
                )
        return body


class _Handler(BaseHTTPRequestHandler):
    owner: GraphStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.owner.requests.append(("GET", url.path))
        segs = [s for s in url.path.split("/") if s]
        try:
            if segs[:3] == ["common", "discovery", "instance"]:
                return self._reply(200, self.owner.instance_discovery(parse_qs(url.query)))
            if len(segs) == 4 and segs[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                return self._reply(200, self.owner.openid_configuration(segs[0]))
        except EntraError as e:
            return self._reply(e.status, e.body())
        return self._reply(404, {"error": {"code": "ResourceNotFound", "message": "Resource not found."}})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        self.owner.requests.append(("POST", url.path))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        segs = [s for s in url.path.split("/") if s]
        if len(segs) == 4 and segs[1:] == ["oauth2", "v2.0", "token"]:
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            try:
                return self._reply(200, self.owner.issue_token(segs[0], form))
            except EntraError as e:
                self.owner.token_errors.append(e.body())
                return self._reply(e.status, e.body())
        if len(segs) == 4 and segs[0] == "v1.0" and segs[1] == "users" and segs[3] == "sendMail":
            try:
                self.owner.send_mail(unquote(segs[2]), self.headers.get("Authorization"), raw)
                return self._reply(202)
            except GraphError as e:
                return self._reply(e.status, e.body(), e.headers)
        return self._reply(404, {"error": {"code": "ResourceNotFound", "message": "Resource not found."}})
