"""The client's HTTP core: one httpx client, bearer auth, and problem details turned into c11 errors.

401/403 become `AuthError`, 429 `RateLimitError`, anything else `ServerError` (status 0: unreachable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from c11.errors import AuthError, RateLimitError, ServerError

if TYPE_CHECKING:
    import httpx


class HttpCore:
    """Sends requests to one server, with an optional bearer token."""

    def __init__(
        self, server: str, token: str | None = None, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        import httpx  # on first use: commands that need no server (an offline `c11 encrypt`) never load it

        self.server = server.rstrip("/")
        self.token = token
        self._http = httpx.Client(
            base_url=self.server, timeout=timeout, transport=transport, headers={"accept": "application/json"}
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self, method: str, path: str, json: Any = None, auth: bool = True, params: dict[str, Any] | None = None
    ) -> Any:
        """Send a request; returns the decoded JSON body (None when empty) or raises a c11 error."""
        import httpx

        headers = {"authorization": f"Bearer {self.token}"} if auth and self.token else {}
        try:
            r = self._http.request(method, path, json=json, headers=headers, params=params)
        except httpx.UnsupportedProtocol:
            raise ServerError(
                f"{self.server} is not a server URL: it starts with http:// or https:// "
                f"(for example http://{self.server.split('://')[-1]})",
                0,
            ) from None
        except httpx.HTTPError as e:
            raise ServerError(
                f"cannot reach {self.server} ({type(e).__name__}): is the server running, and is the URL right?", 0
            ) from None
        if r.is_success:
            return r.json() if r.content else None
        raise _error(r, self.server)


def _error(r: httpx.Response, server: str = "") -> ServerError:
    try:
        problem = r.json() if r.content else {}
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    text = problem.get("detail") or problem.get("title") or r.reason_phrase or "error"
    summary = _validation_summary(problem.get("errors"))
    text = text.rstrip(".") + summary if summary else text
    message = f"server answered {r.status_code}: {text}"
    if str(problem.get("type", "")).endswith(":missing-permission"):
        message += " Ask an admin who holds it to grant it (`c11 org admins add`) or to do this."
    if str(problem.get("type", "")).endswith(":not-a-member"):
        message += " An admin of your organization adds you (`c11 org members add YOUR-EMAIL`)."
    if r.status_code == 404 and problem.get("type", "about:blank") == "about:blank" and not problem.get("detail"):
        message += _not_found_hint(server)
    if r.status_code in (401, 403):
        return AuthError(message, r.status_code, problem)
    if r.status_code == 429:
        retry = int(r.headers.get("retry-after", "0") or 0) if r.headers.get("retry-after", "").isdigit() else 0
        return RateLimitError(message + (f" (retry in {retry} s)" if retry else ""), 429, problem, retry)
    return ServerError(message, r.status_code, problem)


def _not_found_hint(server: str) -> str:
    """Why a whole API can be missing: a server URL with a path, or not a c11 server (of this version)."""
    parts = urlsplit(server)
    if parts.path.strip("/"):
        return f" ({server} has a path: give the server's address alone, for example {parts.scheme}://{parts.netloc})"
    return f" (is {server} a c11 server of this version?)" if server else ""


def _field_message(e: dict[str, Any]) -> str:
    """A validation error's message in plain words: no "Value error," prefix, no regular expression."""
    if e.get("type") == "string_pattern_mismatch":
        return "is not in the expected form"
    msg = str(e.get("msg", "invalid"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _validation_summary(errors: object, most: int = 3) -> str:
    """' (field: what is wrong; ...)' from a validation problem's `errors`, so the user knows what to fix."""
    if not isinstance(errors, list) or not errors:
        return ""
    parts = []
    for e in errors[:most]:
        if isinstance(e, dict):
            loc = [str(x) for x in e.get("loc", []) if x not in ("body", "query", "path")]
            parts.append(f"{'.'.join(loc) or 'request'}: {_field_message(e)}")
    more = f"; and {len(errors) - most} more" if len(errors) > most else ""
    return f" ({'; '.join(parts)}{more})" if parts else ""


def json_object(value: Any) -> dict[str, Any]:
    """A server answer that must be a JSON object (ServerError when it is not)."""
    if not isinstance(value, dict):
        raise ServerError("the server sent a malformed answer (expected a JSON object)")
    return value


def json_objects(value: Any) -> list[dict[str, Any]]:
    """A server answer that must be a JSON array of objects (ServerError when it is not)."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ServerError("the server sent a malformed answer (expected a list of JSON objects)")
    return value
