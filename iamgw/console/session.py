"""The console's cookies: the login in progress and the signed-in session.

Both are sealed (`cookies.Sealer`), HttpOnly, SameSite=Lax, Secure over HTTPS and
scoped to `/iamgw`. The login cookie holds what authlib keeps between the redirect to
the provider and the callback (`state`, `nonce`, the PKCE verifier) for ten minutes.
The session cookie holds the temporary credentials' access key and session token (the
token carries the secret key, sealed under the master key) and expires with them.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

from iamgw.identity import origin
from iamgw.store import MasterKey

from . import cookies

SESSION_COOKIE = "iamgw_session"
LOGIN_COOKIE = "iamgw_login"
LOGIN_SECONDS = 600  # a sign-in at the provider must finish within ten minutes
COOKIE_PATH = "/iamgw"


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in browser: its credentials and where they came from."""

    access_key: str
    token: str
    provider: str  # an [[oidc]] entry's name, or "ldap"
    id_token: str = ""  # the provider's ID token: the hint of its logout

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ConsoleSession | None:
        try:
            found = cls(**data)
        except TypeError:
            return None
        fields = (found.access_key, found.token, found.provider, found.id_token)
        return found if all(isinstance(v, str) for v in fields) else None


class Cookies:
    """Reads and writes the console's sealed cookies for one deployment (master key)."""

    def __init__(self, master_key: MasterKey) -> None:
        self.sealer = cookies.Sealer(master_key)
        self._csrf_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"iamgw console csrf v1").derive(
            master_key.raw
        )

    def session(self, request: Request) -> ConsoleSession | None:
        data = self._open(request, SESSION_COOKIE)
        return ConsoleSession.from_data(data) if data is not None else None

    def set_session(
        self, response: Response, request: Request, session: ConsoleSession, expires: float
    ) -> None:
        self._set(response, request, SESSION_COOKIE, asdict(session), expires)

    def login_state(self, request: Request) -> dict[str, Any]:
        """The login in progress (authlib's state data), empty when there is none."""
        return self._open(request, LOGIN_COOKIE) or {}

    def set_login_state(self, response: Response, request: Request, data: dict[str, Any]) -> None:
        self._set(response, request, LOGIN_COOKIE, data, time.time() + LOGIN_SECONDS)

    def clear(self, response: Response, request: Request, name: str) -> None:
        for cookie in cookies.names(request.cookies, name) or [name]:
            response.delete_cookie(cookie, path=COOKIE_PATH, httponly=True, samesite="lax")

    def csrf_token(self, session: ConsoleSession) -> str:
        """The token a console form or call sends back: bound to the session's key."""
        mac = hmac.new(self._csrf_key, session.access_key.encode(), hashlib.sha256)
        return mac.hexdigest()

    def csrf_ok(self, session: ConsoleSession, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(self.csrf_token(session), value or "")

    def _open(self, request: Request, name: str) -> dict[str, Any] | None:
        value = cookies.read(request.cookies, name)
        return self.sealer.open(name, value) if value else None

    def _set(
        self, response: Response, request: Request, name: str, data: dict[str, Any], expires: float
    ) -> None:
        self.clear(response, request, name)  # the parts of a longer value before
        sealed = self.sealer.seal(name, data, expires)
        max_age = max(1, int(expires - time.time()))
        for part, value in cookies.split(name, sealed):
            response.set_cookie(
                part,
                value,
                max_age=max_age,
                path=COOKIE_PATH,
                secure=origin(request).startswith("https:"),
                httponly=True,
                samesite="lax",
            )
