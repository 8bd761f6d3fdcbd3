"""Opening files with a key held by the organization's enterprise key server (docs/enterprise.md, "Protocol").

`EnterpriseKey` is a decryption capability passed next to identities: it sends the file's header to the enterprise
key server with the member's IdP token and a fresh key of this client, and opens the sealed file key it gets back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from urllib.parse import quote

import httpx

from c11.crypto.kem import HYBRID, kem_type
from c11.errors import AuthError, ServerError, UsageError
from c11.format.enterprise import UnwrapRequest, open_answer
from c11.format.envelope import StanzaOpener
from c11.format.header import Header
from c11.keys.publickey import PublicKey


class EnterpriseKey(StanzaOpener):
    """A member's enterprise key: `public` (from the registry or the key server), and how to get an IdP token."""

    def __init__(
        self,
        server: str,
        public: PublicKey,
        token: Callable[[], str],
        *,
        client_kem: str = HYBRID,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.server = server.rstrip("/")
        self.public = public
        self.key_id = public.key_id
        self.kem = public.kem
        self._token = token
        self._client_kem = client_kem
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def open_header(self, header: Header) -> bytes:
        """Ask the enterprise key server for this header's file key, sealed to a key made for this request."""
        kt = kem_type(self._client_kem)
        seed = os.urandom(32)
        req = UnwrapRequest(header.encode(), self.key_id, self._client_kem, kt.public_bytes(seed))
        token = self._token()
        headers = {"content-type": "application/json"} | ({"authorization": f"Bearer {token}"} if token else {})
        try:
            r = self._http.post(f"{self.server}/v1/unwrap", content=req.to_json(), headers=headers)
        except httpx.HTTPError as e:
            raise ServerError(
                f"the enterprise key server {self.server} cannot be reached ({type(e).__name__}): "
                "check your network or ask your IT department whether it is running"
            ) from None
        if r.status_code == 403:
            raise AuthError(
                f"the enterprise key server {self.server} refused to open this file for you: sign in again, "
                "or ask your administrator whether you may open it",
                403,
            )
        if r.status_code != 200:
            raise ServerError(f"the enterprise key server {self.server} answered HTTP {r.status_code}", r.status_code)
        return open_answer(req, header.doc_id, kt.private_key(seed), r.content)


def token_email(token: str) -> str:
    """The email claim of an IdP token, read without checking it (only to ask for the right public key: the
    enterprise key server checks the token itself)."""
    import base64
    import json

    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        email = claims["email"] if isinstance(claims, dict) else None
    except (IndexError, ValueError, KeyError):
        email = None
    if not isinstance(email, str) or "@" not in email:
        raise UsageError(
            "the sign-in token is not a JWT with an email claim: get a new one from your identity provider"
        )
    return email.strip().lower()


def member_key(server: str, email: str, *, transport: httpx.BaseTransport | None = None) -> PublicKey:
    """The enterprise public key the key server holds for `email` (ServerError if it has none or is down)."""
    server = server.rstrip("/")
    try:
        with httpx.Client(timeout=30.0, transport=transport) as h:
            r = h.get(f"{server}/v1/members/{quote(email)}/key")
    except httpx.HTTPError as e:
        raise ServerError(
            f"the enterprise key server {server} cannot be reached ({type(e).__name__}): "
            "check your network or ask your IT department whether it is running"
        ) from None
    if r.status_code != 200:
        raise ServerError(f"the enterprise key server {server} has no active key for {email}", r.status_code)
    body = r.json()
    if not isinstance(body, dict) or not isinstance(body.get("public_key"), str):
        raise ServerError(f"the enterprise key server {server} answered without a public key", r.status_code)
    return PublicKey.parse(body["public_key"])


def publish_proof(server: str, token: str, *, transport: httpx.BaseTransport | None = None) -> dict[str, str]:
    """The member's proof of possession of their enterprise key, signed inside the enterprise key server, ready for
    the c11 registry (`RegistryAPI.publish_signed`)."""
    server = server.rstrip("/")
    try:
        with httpx.Client(timeout=30.0, transport=transport) as h:
            r = h.post(f"{server}/v1/publish-proof", headers={"authorization": f"Bearer {token}"})
    except httpx.HTTPError as e:
        raise ServerError(f"the enterprise key server {server} cannot be reached ({type(e).__name__})") from None
    if r.status_code == 403:
        raise AuthError(f"the enterprise key server {server} refused: sign in again with your organization", 403)
    if r.status_code != 200:
        raise ServerError(f"the enterprise key server {server} answered HTTP {r.status_code}", r.status_code)
    body = r.json()
    keys = ("email", "public_key", "timestamp", "signature")
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in keys):
        raise ServerError(f"the enterprise key server {server} answered without a proof", r.status_code)
    return {k: body[k] for k in keys}


__all__ = ["EnterpriseKey", "member_key", "publish_proof", "token_email"]
