"""Turn delivery failures into words an admin can act on.

Microsoft Entra answers token requests with `{"error", "error_description": "AADSTS<code>: ...", "error_codes"}`;
Microsoft Graph answers with `{"error": {"code", "message"}}`; SMTP servers with a reply code. Each function
here returns a `Diagnosis`: a one-line summary, an explanation with the fix, and whether retrying can help.
Codes are from Microsoft's published AADSTS table and the errors Graph returns for sendMail.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

POLICY_DELAY = (
    "Changes to Exchange application access policies (and RBAC for Applications) can take more "
    "than an hour to reach Microsoft Graph, even when Test-ApplicationAccessPolicy already shows "
    "Granted."
)


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong, what to do, and whether trying again later can help."""

    summary: str
    explanation: str
    transient: bool = False
    #: The cause is the set-up (credentials, consent, policy), so it affects every message.
    config: bool = True
    retry_after: float | None = None
    code: str = ""


@dataclass(frozen=True)
class GraphContext:
    """The configured values, to fill into explanations."""

    sender: str = ""
    tenant_id: str = ""
    client_id: str = ""
    login_host: str = "login.microsoftonline.com"
    api_host: str = "graph.microsoft.com"
    thumbprint: str = ""


_AADSTS = re.compile(r"AADSTS(\d+)")


def aadsts_codes(result: Mapping[str, Any] | str) -> list[int]:
    """The AADSTS codes in an Entra error answer (from `error_codes`, else from the description text)."""
    if isinstance(result, str):
        return [int(c) for c in _AADSTS.findall(result)]
    codes = [int(c) for c in result.get("error_codes") or [] if str(c).isdigit()]
    return codes or [int(c) for c in _AADSTS.findall(str(result.get("error_description") or ""))]


def explain_token_error(result: Mapping[str, Any] | str, ctx: GraphContext) -> Diagnosis:
    """Explain a failed app-only token request (MSAL's error dict, or an error text containing AADSTS codes)."""
    desc = result if isinstance(result, str) else str(result.get("error_description") or result.get("error") or "")
    first_line = _aadsts_summary(desc)
    codes = aadsts_codes(result)
    code = codes[0] if codes else 0
    tp = f" (SHA-1 thumbprint {ctx.thumbprint.upper()})" if ctx.thumbprint else ""
    app = f"the app registration with client ID {ctx.client_id}" if ctx.client_id else "the app registration"
    s = first_line
    if code == 90002 or "invalid_tenant" in desc:
        return Diagnosis(
            s,
            f"Tenant {ctx.tenant_id!r} was not found at {ctx.login_host}. Check C11_GRAPH_TENANT_ID: "
            "it is the Directory (tenant) ID on the app registration's Overview page in the Microsoft "
            "Entra admin center. For a national cloud, C11_GRAPH_LOGIN_HOST must be that cloud's login "
            "host (for example login.microsoftonline.us).",
            code="AADSTS90002",
        )
    if code == 700016:
        return Diagnosis(
            s,
            f"No application with client ID {ctx.client_id!r} exists in tenant {ctx.tenant_id!r}. "
            "Check C11_GRAPH_CLIENT_ID: it is the Application (client) ID on the app registration's "
            "Overview page; and check that the app was registered in this tenant (not in another "
            "directory of the same admin).",
            code="AADSTS700016",
        )
    if code in (700027, 7000274, 50012):
        low = desc.lower()
        if "expired" in low:
            return Diagnosis(
                s,
                f"The certificate uploaded to {app}{tp} has expired. Create a new one with "
                "`c11 notify graph certificate create --out c11-graph.cer`, upload the .cer file under "
                "Certificates & secrets > Certificates > Upload certificate, then send a test with "
                "`c11 notify test`.",
                code=f"AADSTS{code}",
            )
        if "not found" in low or "not registered" in low:
            return Diagnosis(
                s,
                f"The certificate we sign with{tp} is not uploaded to {app}. In the Microsoft Entra "
                "admin center open App registrations > the app > Certificates & secrets > Certificates "
                "> Upload certificate and upload the .cer file from `c11 notify graph certificate "
                "create` (the thumbprint shown there must match).",
                code=f"AADSTS{code}",
            )
        return Diagnosis(
            s,
            f"Entra could not verify the client assertion signed with our certificate{tp}. Upload "
            f"the current certificate to {app} (Certificates & secrets > Certificates), or create a new "
            "one with `c11 notify graph certificate create` and upload it.",
            code=f"AADSTS{code}",
        )
    if code == 700024:
        return Diagnosis(
            s,
            "The client assertion is outside its validity time range: the clock of this server is "
            "probably wrong. Synchronise it (NTP) and try again.",
            transient=True,
            code="AADSTS700024",
        )
    if code in (1000502,):
        return Diagnosis(
            s,
            f"The certificate{tp} is outside its validity window: it has expired or is not valid yet. "
            "Create a new one with `c11 notify graph certificate create` and upload it.",
            code=f"AADSTS{code}",
        )
    if code in (7000214, 7000277):
        return Diagnosis(
            s,
            f"The certificate{tp} was revoked. Create a new one with `c11 notify graph certificate "
            "create` and upload it to the app registration.",
            code=f"AADSTS{code}",
        )
    if code in (70011, 500011):
        return Diagnosis(
            s,
            f"The Graph host {ctx.api_host!r} is not valid for this cloud. C11_GRAPH_API_HOST must "
            "match C11_GRAPH_LOGIN_HOST (graph.microsoft.com with login.microsoftonline.com, "
            "graph.microsoft.us with login.microsoftonline.us, ...).",
            code=f"AADSTS{code}",
        )
    if code == 7000112:
        return Diagnosis(
            s,
            f"{app} is disabled in the tenant. Enable it (Enterprise applications > the app > "
            "Properties > Enabled for users to sign-in).",
            code="AADSTS7000112",
        )
    if code == 53003:
        return Diagnosis(
            s,
            "A Conditional Access policy for workload identities blocked the app. Ask the tenant "
            "admin to exclude it or allow this server's address.",
            code="AADSTS53003",
        )
    if code in (7000215, 7000222):
        return Diagnosis(
            s,
            "Entra expected a client secret; c11 signs in with a certificate. Upload the certificate "
            "from `c11 notify graph certificate create` to the app registration.",
            code=f"AADSTS{code}",
        )
    if code == 900023 or code == 90013:
        return Diagnosis(
            s,
            f"The tenant ID {ctx.tenant_id!r} is not valid. Use the Directory (tenant) ID GUID or "
            "the tenant's domain name.",
            code=f"AADSTS{code}",
        )
    if "unable to get authority configuration" in desc.lower() or "oidc discovery" in desc.lower():
        return Diagnosis(
            s,
            f"Could not read the sign-in configuration of tenant {ctx.tenant_id!r} at "
            f"{ctx.login_host}. Check C11_GRAPH_TENANT_ID and C11_GRAPH_LOGIN_HOST.",
        )
    error = "" if isinstance(result, str) else str(result.get("error") or "")
    if error in ("temporarily_unavailable", "server_error") or "temporarily_unavailable" in desc:
        return Diagnosis(
            s, "The Microsoft identity platform is having trouble; we will try again.", transient=True, config=False
        )
    return Diagnosis(
        s or "token request failed",
        f"Entra refused the token request{f' (AADSTS{code})' if code else ''}. Look the code up at "
        f"https://{ctx.login_host}/error and check the tenant ID, client ID and certificate.",
        code=f"AADSTS{code}" if code else "",
    )


def _aadsts_summary(desc: str) -> str:
    """The useful part of an Entra error text: from "AADSTS<code>:" up to the trace IDs and portal hints."""
    text = " ".join(desc.split())
    m = _AADSTS.search(text)
    if m:
        text = text[m.start() :]
    for cut in (" Trace ID:", ", Please visit", " Please visit"):
        if cut in text:
            text = text.split(cut)[0]
    if text.count("[") > text.count("]"):
        text += "]"
    return text[:400] or "token request failed"


def explain_graph_error(
    status: int,
    body: Mapping[str, Any] | None,
    ctx: GraphContext,
    *,
    roles: list[str] | None = None,
    retry_after: float | None = None,
) -> Diagnosis:
    """Explain a failed `POST /users/{sender}/sendMail` answer from Microsoft Graph."""
    err = (body or {}).get("error") if isinstance(body, Mapping) else None
    err = err if isinstance(err, Mapping) else {}
    gcode = str(err.get("code") or "")
    gmsg = str(err.get("message") or "")
    s = f"Graph answered {status}" + (f" {gcode}" if gcode else "") + (f": {gmsg}" if gmsg else "")
    s = s[:300]
    if status in (429, 503, 504) or gcode in ("ApplicationThrottled", "TooManyRequests"):
        wait = f" in {retry_after:g} s, as Graph asked" if retry_after is not None else " later"
        return Diagnosis(
            s,
            f"Microsoft Graph is throttling this app or the mailbox {ctx.sender}; we will try "
            f"again{wait}. Sustained throttling means too many messages per minute for one mailbox "
            "(Exchange Online sending limits).",
            transient=True,
            config=False,
            retry_after=retry_after,
            code=gcode or str(status),
        )
    if status >= 500:
        return Diagnosis(
            s,
            "Microsoft Graph had an internal error; we will try again.",
            transient=True,
            config=False,
            retry_after=retry_after,
            code=gcode or str(status),
        )
    if status == 401:
        return Diagnosis(
            s,
            f"Graph refused the access token. C11_GRAPH_API_HOST ({ctx.api_host}) must be the Graph "
            f"host of the same cloud as C11_GRAPH_LOGIN_HOST ({ctx.login_host}); a new token is "
            "requested on the next try.",
            code=gcode or "401",
        )
    if status == 403:
        policy = "RAOP" in gmsg or "AccessPolicy" in gmsg or "access policy" in gmsg.lower()
        if policy:
            return Diagnosis(
                s,
                f"The mailbox {ctx.sender} is not allowed by the Exchange application access policy for app "
                f"{ctx.client_id}. The sender mailbox must be a member of the mail-enabled security group named "
                "in New-ApplicationAccessPolicy -PolicyScopeGroupId (or in the management scope of RBAC for "
                f"Applications). Check with: Test-ApplicationAccessPolicy -Identity {ctx.sender} -AppId "
                f"{ctx.client_id}  (it must say AccessCheckResult : Granted). {POLICY_DELAY}",
                code=gcode or "ErrorAccessDenied",
            )
        if roles is not None and "Mail.Send" not in roles:
            return Diagnosis(
                s,
                "The app has no Mail.Send application permission with admin consent (its token carries the "
                f"{'roles ' + ', '.join(roles) if roles else 'no roles'}). In the Microsoft Entra admin center: App registrations > the app > API "
                "permissions > Add a permission > Microsoft Graph > Application permissions > Mail.Send > Add "
                "permissions, then Grant admin consent. A delegated Mail.Send permission is not enough.",
                code=gcode or "ErrorAccessDenied",
            )
        return Diagnosis(
            s,
            "Graph denied sending. Either the app lacks the Mail.Send application permission with admin consent "
            "(App registrations > API permissions > Microsoft Graph > Application permissions > Mail.Send, then "
            f"Grant admin consent), or {ctx.sender} is outside the mailboxes the app may use (the mail-enabled "
            f"security group of the application access policy; test with Test-ApplicationAccessPolicy -Identity "
            f"{ctx.sender} -AppId {ctx.client_id}). {POLICY_DELAY}",
            code=gcode or "ErrorAccessDenied",
        )
    if status == 404 or gcode in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ResourceNotFound"):
        return Diagnosis(
            s,
            f"{ctx.sender} is not a mailbox in tenant {ctx.tenant_id}, or it has no Exchange Online "
            "licence. C11_GRAPH_SENDER must be the address of a licensed (or shared) mailbox.",
            code=gcode or "404",
        )
    if status == 400:
        return Diagnosis(
            s,
            f"Graph refused this message as malformed (it will not be tried again): {gmsg or 'no details'}.",
            config=False,
            code=gcode or "400",
        )
    return Diagnosis(
        s, "Unexpected answer from Microsoft Graph.", transient=status >= 500, config=False, code=gcode or str(status)
    )


def explain_smtp_error(exc: BaseException, host: str = "", port: int = 0) -> Diagnosis:
    """Explain an smtplib / socket / TLS failure; SMTP 4xx and network failures are transient, 5xx permanent."""
    where = f"{host}:{port}" if host else "the SMTP server"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{r}: {c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
            for r, (c, m) in exc.recipients.items()
        )
        transient = bool(codes) and all(400 <= c < 500 for c in codes)
        return Diagnosis(
            f"recipient refused: {detail}"[:300],
            "The server will accept it later."
            if transient
            else "The server refused the recipient address; it will not be tried again.",
            transient=transient,
            config=False,
            code=str(codes[0] if codes else ""),
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        transient = 400 <= exc.smtp_code < 500
        return Diagnosis(
            f"{where} refused the login: {exc.smtp_code} {_msg(exc.smtp_error)}"[:300],
            "Check C11_SMTP_USERNAME and C11_SMTP_PASSWORD (for Microsoft 365 SMTP AUTH must be "
            "enabled for the mailbox; for Gmail use an app password).",
            transient=transient,
            code=str(exc.smtp_code),
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Diagnosis(
            f"{where}: {exc}"[:300],
            "The server does not offer what the configuration asks for "
            "(STARTTLS or AUTH). Check C11_SMTP_SECURITY and C11_SMTP_PORT (587 starttls, 465 tls).",
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        transient = 400 <= code < 500 or code < 0
        sender_problem = isinstance(exc, smtplib.SMTPSenderRefused)
        return Diagnosis(
            f"{where} answered {code} {_msg(exc.smtp_error)}"[:300],
            ("Temporary refusal; we will try again." if transient else "Permanent refusal; it will not be tried again.")
            + (" Check C11_MAIL_FROM: the server refuses that sender." if sender_problem else ""),
            transient=transient,
            config=sender_problem,
            code=str(code),
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Diagnosis(
            f"TLS certificate of {where} not trusted: {exc.verify_message or exc}"[:300],
            "Use the server's real host name in C11_SMTP_HOST, or point C11_SMTP_CA_BUNDLE at the "
            "CA certificate that signed it.",
            transient=False,
        )
    if isinstance(exc, ssl.SSLError):
        return Diagnosis(
            f"TLS with {where} failed: {exc}"[:300],
            "Check C11_SMTP_SECURITY: port 465 uses `tls` (implicit TLS), port 587 `starttls`.",
            transient=False,
        )
    if isinstance(exc, socket.gaierror):
        return Diagnosis(f"cannot resolve {host}: {exc}"[:300], "Check C11_SMTP_HOST.", transient=True)
    if isinstance(
        exc,
        (
            ConnectionRefusedError,
            smtplib.SMTPServerDisconnected,
            smtplib.SMTPConnectError,
            TimeoutError,
            socket.timeout,
            ConnectionError,
            OSError,
        ),
    ):
        return Diagnosis(
            f"{where} unreachable: {type(exc).__name__}: {exc}"[:300],
            "The mail server is down or unreachable; queued messages go out when it is back.",
            transient=True,
            config=False,
        )
    return Diagnosis(f"{type(exc).__name__}: {exc}"[:300], "Unexpected SMTP failure.", transient=True, config=False)


def _msg(raw: Any) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def parse_retry_after(value: str | None, default: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def describe(exc: BaseException) -> str:
    """One paragraph for a person: the error's message and, if it has one, its explanation."""
    explanation = getattr(exc, "explanation", "")
    return f"{exc}" + (f"\n{explanation}" if explanation else "")
