"""OpenID provider (npm `oidc-provider`) shaped like Keycloak and configured from the realm export.

`oidc_server.mjs` reads `keycloak-realm/realm.json`: the issuer is
`http://127.0.0.1:PORT/realms/<realm>`, the clients, users, passwords, attributes, groups and
protocol mappers (the `policy` and `groups` claims) come from the file. ID and access tokens
(JWT, RS256) carry the mapper claims; client-credentials tokens carry those of the client's
service-account user. The login page has Keycloak's ids (`#username`, `#password`, `#kc-login`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from ._process import PeerError, free_port, spawn, stop_pid, wait_ready

__all__ = ["REALM_PATH", "OidcProvider", "start_oidc_provider"]

PEERS_DIR = Path(__file__).resolve().parent
REALM_PATH = PEERS_DIR.parent.parent / "keycloak-realm" / "realm.json"
SCRIPT = PEERS_DIR / "oidc_server.mjs"
NPM_HINT = "cd tests/peers && npm ci (`make test` runs it)"


@dataclass
class OidcProvider:
    """A running provider; `token_for` logs a user in through the real authorization-code flow."""

    issuer: str
    port: int
    realm_path: Path
    keys_path: Path
    log_file: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    realm: dict[str, Any] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def data_dir(self) -> Path:
        """Where the log (`oidc.log`) and, by default, the signing keys (`jwks.json`) are."""
        return self.log_file.parent

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/auth"

    @property
    def end_session_endpoint(self) -> str:
        return f"{self.issuer}/session/end"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.issuer}/me"

    @property
    def users(self) -> dict[str, str]:
        """username -> password, from the realm."""
        out = {}
        for user in self.realm.get("users", []):
            for cred in user.get("credentials", []):
                if cred.get("type") == "password":
                    out[user["username"]] = cred["value"]
        return out

    @property
    def clients(self) -> dict[str, str | None]:
        """client_id -> secret (None for public clients), from the realm."""
        return {
            c["clientId"]: (None if c.get("publicClient") else c.get("secret"))
            for c in self.realm.get("clients", [])
        }

    def redirect_uri(self, client_id: str = "iamgw") -> str:
        client = next(c for c in self.realm["clients"] if c["clientId"] == client_id)
        return str(client["redirectUris"][0])

    def running(self) -> bool:
        return self.process.poll() is None

    def discovery(self) -> dict[str, Any]:
        response = httpx.get(self.discovery_url, timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def token_for(
        self,
        username: str,
        password: str | None = None,
        client_id: str = "iamgw",
        *,
        scope: str = "openid profile email",
        redirect_uri: str | None = None,
        http: httpx.Client | None = None,
    ) -> dict[str, Any]:
        """Log `username` in (login form, PKCE, code exchange); the token response as a dict.

        `password` defaults to the realm's. Pass `http` (an `httpx.Client`, which keeps the
        cookies) to act as one browser: a second call then rides the provider's SSO session.
        Raises `PeerError` when the login is refused.
        """
        if password is None:
            password = self.users[username]
        redirect_uri = redirect_uri or self.redirect_uri(client_id)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        params = {
            "client_id": client_id,
            "response_type": "code",
            "scope": scope,
            "redirect_uri": redirect_uri,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        with contextlib.ExitStack() as stack:
            if http is None:
                http = stack.enter_context(httpx.Client(timeout=10))
            response = http.get(self.authorization_endpoint, params=params, follow_redirects=False)
            code = None
            for _ in range(10):
                if response.is_redirect:
                    location = urljoin(str(response.url), response.headers["location"])
                    if location.startswith(redirect_uri):
                        query = parse_qs(urlsplit(location).query)
                        if "code" not in query:
                            raise PeerError(f"authorization refused: {query}")
                        code = query["code"][0]
                        break
                    response = http.get(location, follow_redirects=False)
                elif response.status_code == 200 and 'id="kc-form-login"' in response.text:
                    if 'id="input-error"' in response.text:
                        raise PeerError(f"login of {username!r} refused by {self.issuer}")
                    response = http.post(
                        str(response.url),
                        data={"username": username, "password": password},
                        follow_redirects=False,
                    )
                else:
                    raise PeerError(
                        f"unexpected answer {response.status_code} from {response.url}: "
                        f"{response.text[:500]}"
                    )
            if code is None:
                raise PeerError("authorization flow did not reach the redirect URI")
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
            return self._token_request(http, form, client_id)

    def client_credentials_token(
        self, client_id: str = "iamgw", secret: str | None = None
    ) -> dict[str, Any]:
        """A client_credentials token response; `access_token` is a JWT."""
        with httpx.Client(timeout=10) as http:
            return self._token_request(
                http, {"grant_type": "client_credentials"}, client_id, secret
            )

    def userinfo(self, access_token: str) -> dict[str, Any]:
        response = httpx.get(
            self.userinfo_endpoint, headers={"authorization": f"Bearer {access_token}"}, timeout=5
        )
        if response.status_code != 200:
            raise PeerError(f"userinfo said {response.status_code}: {response.text}")
        return dict(response.json())

    def refresh(self, refresh_token: str, client_id: str = "iamgw") -> dict[str, Any]:
        with httpx.Client(timeout=10) as http:
            form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
            return self._token_request(http, form, client_id)

    def _token_request(
        self,
        http: httpx.Client,
        form: dict[str, str],
        client_id: str,
        secret: str | None = None,
    ) -> dict[str, Any]:
        secret = secret if secret is not None else self.clients.get(client_id)
        if secret is None:
            response = http.post(self.token_endpoint, data={**form, "client_id": client_id})
        else:
            response = http.post(self.token_endpoint, data=form, auth=(client_id, secret))
        if response.status_code != 200:
            raise PeerError(f"token endpoint said {response.status_code}: {response.text}")
        return dict(response.json())

    def rotate_keys(self, *, keep_old: bool = False) -> str:
        """A new signing key; the old one stays in the JWKS only if `keep_old`. Returns the kid."""
        response = httpx.post(
            f"{self.base_url}/test/rotate-keys", json={"keep_old": keep_old}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["kid"])

    def stop(self) -> None:
        """SIGTERM by pid, SIGKILL fallback: the provider is down (its keys file stays)."""
        stop_pid(self.process)

    def restart(self) -> None:
        """Start again on the same port and keys (sessions are lost: they are in memory)."""
        self.stop()
        started = _start(self.log_file.parent, self.port, self.realm_path, self.keys_path)
        self.process = started.process


def start_oidc_provider(
    tmpdir: Path,
    port: int | None = None,
    realm_path: Path = REALM_PATH,
    *,
    keys_path: Path | None = None,
    attempts: int = 3,
) -> OidcProvider:
    """Start the provider under `tmpdir` (log `oidc.log`, signing keys `jwks.json`).

    `port=None` picks a free loopback port; `keys_path` reuses a JWKS (private keys) file,
    written there when absent.
    """
    tmpdir = Path(tmpdir)
    tmpdir.mkdir(parents=True, exist_ok=True)
    keys_path = keys_path or tmpdir / "jwks.json"
    last: PeerError | None = None
    for _ in range(attempts if port is None else 1):
        try:
            return _start(tmpdir, port or free_port(), Path(realm_path), keys_path)
        except PeerError as exc:  # the free port may have been taken meanwhile
            last = exc
    assert last is not None
    raise last


def _node() -> str:
    node = shutil.which("node") or ("/usr/bin/node" if Path("/usr/bin/node").exists() else None)
    if node is None:
        raise PeerError("the OpenID provider needs Node.js >= 20: apt-get install nodejs")
    if not (PEERS_DIR / "node_modules" / "oidc-provider").is_dir():
        raise PeerError(f"npm package oidc-provider is not installed: {NPM_HINT}")
    return node


def _start(tmpdir: Path, port: int, realm_path: Path, keys_path: Path) -> OidcProvider:
    node = _node()
    realm = json.loads(realm_path.read_text())
    log_file = tmpdir / "oidc.log"
    process = spawn(
        [
            node,
            str(SCRIPT),
            "--port",
            str(port),
            "--realm",
            str(realm_path),
            "--keys",
            str(keys_path),
        ],
        log_file,
        cwd=PEERS_DIR,
    )
    provider = OidcProvider(
        issuer=f"http://127.0.0.1:{port}/realms/{realm['realm']}",
        port=port,
        realm_path=realm_path,
        keys_path=keys_path,
        log_file=log_file,
        process=process,
        realm=realm,
    )

    def ready() -> bool:
        try:
            health = httpx.get(f"{provider.base_url}/test/health", timeout=2).json()
            if health.get("pid") != process.pid:  # another server holds the port
                return False
            return provider.discovery().get("issuer") == provider.issuer
        except (httpx.HTTPError, ValueError):
            return False

    try:
        wait_ready("OpenID provider (oidc_server.mjs)", process, log_file, ready, timeout=30)
    except PeerError:
        stop_pid(process)
        raise
    return provider
