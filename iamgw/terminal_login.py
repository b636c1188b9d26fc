"""`iamgw login`: temporary credentials for a terminal, as `aws sso login` gets them.

The gateway lists the providers this command may use at `GET /iamgw/api/providers`. An
OpenID login is a native app's authorization-code flow (RFC 8252): PKCE (S256), `state`
and `nonce` (authlib), the browser opened by Python's `webbrowser` (which honours
`BROWSER`), the redirect caught by a one-shot HTTP server on 127.0.0.1; the checked ID
token then buys temporary credentials from the gateway's STS (`AssumeRoleWithWebIdentity`,
an unsigned form POST). `--provider ldap` asks for a user name and password and calls
`AssumeRoleWithLDAPIdentity` instead.

The credentials go to an aws cli profile, or out as `credential_process` JSON, cached per
user with the provider's refresh token so that a later call renews them without a browser.
A failure is a `LoginError`: one line, and the exit status.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import http.server
import json
import os
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET  # noqa: S405 - expat refuses entity expansion attacks
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

try:  # authlib's httpx client runs on httpx2 when it is installed, else on httpx
    import httpx2

    HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:  # pragma: no cover
    HTTP_ERRORS = (httpx.HTTPError,)

__all__ = [
    "LDAP",
    "Credentials",
    "LoginError",
    "Options",
    "Provider",
    "cache_path",
    "run",
    "set_section",
    "write_profile",
]

LDAP = "ldap"
STS_VERSION = "2011-06-15"
RENEW_BEFORE = timedelta(minutes=5)
PROFILE = re.compile(r"[\w.@+-]+")
DONE_PAGE = "Signed in to iamgw: you can close this window and go back to the terminal.\n"
# Python's webbrowser, run in a child process of its own: a browser it starts must not
# inherit our stdout, which a credential_process reader (the aws cli) reads to its end.
OPEN_BROWSER = "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1]) else 1)"
T = TypeVar("T")


class LoginError(Exception):
    """Why the login failed, in one line; `status` is the exit status (2: a usage error)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Provider:
    """An OpenID provider the gateway offers to this command (its public client)."""

    name: str
    issuer: str
    client_id: str
    scopes: tuple[str, ...] = ("openid",)


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials from the gateway's STS."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    arn: str = ""

    def process_json(self) -> dict[str, Any]:
        """AWS `credential_process` output (Version 1)."""
        return {
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    @classmethod
    def from_process_json(cls, data: dict[str, Any], arn: str = "") -> Credentials:
        return cls(
            str(data["AccessKeyId"]),
            str(data["SecretAccessKey"]),
            str(data["SessionToken"]),
            _aware(datetime.fromisoformat(str(data["Expiration"]))),
            arn,
        )


@dataclass(frozen=True)
class Login:
    """The outcome of a sign-in: credentials, and what renews them without a browser."""

    credentials: Credentials
    provider: Provider | None = None
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Options:
    """The command line of `iamgw login`."""

    endpoint: str
    provider: str | None = None
    profile: str = "default"
    credential_process: bool = False
    timeout: float = 300
    username: str | None = None
    password_stdin: bool = False


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(options: Options) -> None:
    """Sign in and print the outcome: a line about the profile, or the JSON."""
    endpoint = normalise_endpoint(options.endpoint)
    if not PROFILE.fullmatch(options.profile):
        raise LoginError(f"--profile: {options.profile!r} is not a profile name", 2)
    if options.timeout <= 0:
        raise LoginError("--timeout must be a positive number of seconds", 2)
    with httpx.Client(timeout=30) as http:
        if options.credential_process:
            credentials = cached_or_new(http, endpoint, options)
            print(json.dumps(credentials.process_json()), flush=True)
            return
        credentials = sign_in(http, endpoint, options).credentials
    write_profile(credentials, options.profile, endpoint)
    until = credentials.expiration.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    who = f" as {credentials.arn}" if credentials.arn else ""
    print(f"Signed in{who}: profile {options.profile} holds credentials until {until}.")


def normalise_endpoint(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise LoginError("--endpoint must be the gateway's URL, e.g. http://127.0.0.1:9000", 2)
    return endpoint.rstrip("/")


def sign_in(http: httpx.Client, endpoint: str, options: Options) -> Login:
    """Ask the gateway for its providers, then sign in with the chosen one."""
    providers, ldap = fetch_providers(http, endpoint)
    provider = choose(providers, ldap, options.provider)
    if provider is None:
        username, password = ldap_secrets(options.username, options.password_stdin)
        return Login(ldap_identity(http, endpoint, username, password))
    return browser_login(
        http, endpoint, provider, options.timeout, quiet=options.credential_process
    )


# -- the gateway ----------------------------------------------------------------------


def fetch_providers(http: httpx.Client, endpoint: str) -> tuple[list[Provider], bool]:
    """The gateway's OpenID providers for this command, and whether it takes LDAP logins."""
    data = _get_json(http, f"{endpoint}/iamgw/api/providers", "the gateway")
    try:
        providers = [
            Provider(
                str(p["name"]),
                str(p["issuer"]),
                str(p["client_id"]),
                tuple(str(s) for s in p.get("scopes") or ["openid"]),
            )
            for p in data.get("providers") or []
        ]
    except (KeyError, TypeError, AttributeError):
        raise LoginError(
            f"the gateway at {endpoint} lists its providers in an unknown shape"
        ) from None
    return providers, data.get("ldap") is True


def choose(providers: list[Provider], ldap: bool, name: str | None) -> Provider | None:
    """The provider named `name`, or the only one there is; None means LDAP."""
    names = [p.name for p in providers] + ([LDAP] if ldap else [])
    if not names:
        raise LoginError(
            "the gateway offers no provider to `iamgw login`: no [[oidc]] entry sets "
            "cli_client_id, and [ldap] is not set"
        )
    if name is None:
        if len(names) > 1:
            raise LoginError(f"choose a provider with --provider: {', '.join(names)}", 2)
        name = names[0]
    for provider in providers:
        if provider.name == name:
            return provider
    if name == LDAP and ldap:
        return None
    raise LoginError(f"the gateway has no provider {name!r}; it has: {', '.join(names)}", 2)


def web_identity(http: httpx.Client, endpoint: str, id_token: str) -> Credentials:
    return assume(http, endpoint, "AssumeRoleWithWebIdentity", {"WebIdentityToken": id_token})


def ldap_identity(http: httpx.Client, endpoint: str, username: str, password: str) -> Credentials:
    params = {"LDAPUsername": username, "LDAPPassword": password}
    return assume(http, endpoint, "AssumeRoleWithLDAPIdentity", params)


def assume(http: httpx.Client, endpoint: str, action: str, params: dict[str, str]) -> Credentials:
    """An unsigned STS call, its parameters in the form body (never in the URL)."""
    try:
        response = http.post(
            f"{endpoint}/", data={"Action": action, "Version": STS_VERSION, **params}
        )
    except httpx.HTTPError as exc:
        raise LoginError(f"cannot reach the gateway at {endpoint}: {_reason(exc)}") from None
    try:
        root = ET.fromstring(response.content)  # noqa: S314 - expat refuses entity bombs
    except ET.ParseError:
        raise LoginError(
            f"the gateway at {endpoint} answered {action} with {response.status_code}, not STS XML"
        ) from None
    if response.status_code != 200:
        code = root.findtext(".//{*}Error/{*}Code") or f"HTTP {response.status_code}"
        message = root.findtext(".//{*}Error/{*}Message")
        raise LoginError(f"the gateway refused: {code}" + (f": {message}" if message else ""))
    found = {
        name: root.findtext(f".//{{*}}Credentials/{{*}}{name}")
        for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
    }
    if not all(found.values()):
        raise LoginError(f"the gateway's {action} answer holds no credentials")
    try:
        return Credentials.from_process_json(
            found, root.findtext(".//{*}AssumedRoleUser/{*}Arn") or ""
        )
    except ValueError:
        raise LoginError(f"the gateway's {action} answer has no valid Expiration") from None


# -- the OpenID provider --------------------------------------------------------------


def browser_login(
    http: httpx.Client, endpoint: str, provider: Provider, timeout: float, *, quiet: bool
) -> Login:
    """The authorization-code flow through the user's browser and a loopback redirect."""
    meta = discovery(http, provider)
    events: queue.Queue[tuple[str, str]] = queue.Queue()
    with _loopback(events) as loop, _oauth(provider, loop.redirect_uri) as oauth:
        verifier, nonce = generate_token(48), generate_token(20)
        url, state = oauth.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        loop.state = state
        note(f"Opening a browser to sign in with {provider.name} (waiting up to {timeout:g} s)...")
        _launch_browser(url, events, quiet=quiet)
        answer = _wait(events, time.monotonic() + timeout, timeout, url, provider)
        issuer = parse_qs(urlsplit(answer).query).get("iss", [provider.issuer])[0]
        if issuer != provider.issuer:  # RFC 9207: the answer of another provider
            raise LoginError(f"the sign-in answer came from {issuer}, not from {provider.name}")
        token = _provider_call(provider, lambda: oauth.fetch_token(
            meta["token_endpoint"], authorization_response=answer, state=state,
            code_verifier=verifier))  # fmt: skip
    id_token = checked_id_token(http, meta, provider, token, nonce)
    return Login(web_identity(http, endpoint, id_token), provider, token.get("refresh_token"))


def renew(http: httpx.Client, endpoint: str, provider: Provider, refresh_token: str) -> Login:
    """New credentials from the provider's refresh token: no browser."""
    meta = discovery(http, provider)
    with _oauth(provider) as oauth:
        token = _provider_call(provider, lambda: oauth.refresh_token(
            meta["token_endpoint"], refresh_token=refresh_token))  # fmt: skip
    id_token = checked_id_token(http, meta, provider, token, nonce=None)
    credentials = web_identity(http, endpoint, id_token)
    return Login(credentials, provider, token.get("refresh_token") or refresh_token)


def discovery(http: httpx.Client, provider: Provider) -> dict[str, Any]:
    url = f"{provider.issuer.rstrip('/')}/.well-known/openid-configuration"
    meta = _get_json(http, url, f"the provider {provider.name}")
    missing = [
        k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not meta.get(k)
    ]
    if missing:
        raise LoginError(f"the discovery document of {provider.name} lacks {', '.join(missing)}")
    return meta


def checked_id_token(
    http: httpx.Client, meta: dict[str, Any], provider: Provider, token: dict[str, Any],
    nonce: str | None,
) -> str:  # fmt: skip
    """The token response's ID token, its signature, issuer, audience, expiry, `at_hash`
    and (for a new sign-in) `nonce` checked."""
    raw = token.get("id_token")
    if not raw:
        raise LoginError(f"{provider.name} sent no ID token (is openid among its scopes?)")
    keys = KeySet.import_key_set(_get_json(http, meta["jwks_uri"], f"the keys of {provider.name}"))
    algorithms = meta.get("id_token_signing_alg_values_supported")
    try:
        decoded = jwt.decode(
            raw, keys, registry=JWSRegistry(algorithms=algorithms, strict_check_header=False)
        )
        params = {"nonce": nonce, "client_id": provider.client_id}
        if token.get("access_token"):
            params["access_token"] = token["access_token"]
        options = {"iss": {"essential": True, "values": [provider.issuer]}}
        CodeIDToken(decoded.claims, decoded.header, options, params).validate(leeway=120)
    except (JoseError, ValueError) as exc:
        raise LoginError(f"the ID token of {provider.name} is not valid: {exc}") from None
    return str(raw)


@contextlib.contextmanager
def _oauth(provider: Provider, redirect_uri: str | None = None) -> Iterator[Any]:
    client = OAuth2Client(
        client_id=provider.client_id,
        token_endpoint_auth_method="none",  # noqa: S106 - a public client: PKCE, no secret
        scope=" ".join(provider.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=30,
    )
    with client:
        yield client


def _provider_call(provider: Provider, call: Callable[[], T]) -> T:
    try:
        return call()
    except AuthlibBaseError as exc:
        raise LoginError(f"{provider.name} refused: {exc}") from None
    except HTTP_ERRORS as exc:
        raise LoginError(f"cannot reach {provider.name}: {_reason(exc)}") from None


# -- the browser and the loopback redirect --------------------------------------------


class _Loopback:
    """A one-shot HTTP server on 127.0.0.1 (a random port) that catches the redirect.

    The first answer at /callback decides: its `state` must be this login's, else the
    login ends refused. Each outcome goes to `events` as (kind, value).
    """

    def __init__(self, events: queue.Queue[tuple[str, str]]) -> None:
        self.events = events
        self.state = ""
        self.done = False
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the query holds the authorization code."""

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.redirect_uri = f"{self.base}/callback"

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        if url.path != "/callback":
            _reply(request, 404, "Not found.\n")
            return
        if self.done:
            _reply(request, 409, "This sign-in is already over.\n")
            return
        self.done = True
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        state = query.get("state", "")
        if not self.state or not secrets.compare_digest(state.encode(), self.state.encode()):
            _reply(
                request, 400, "Refused: this answer belongs to another sign-in (state mismatch).\n"
            )
            self.events.put(("bad-state", ""))
        elif "error" in query:
            reason = query["error"] + (
                f" ({query['error_description']})" if query.get("error_description") else ""
            )
            _reply(request, 400, f"The sign-in was refused: {reason}\n")
            self.events.put(("refused", reason))
        else:
            _reply(request, 200, DONE_PAGE)
            self.events.put(("callback", self.base + request.path))


def _reply(request: http.server.BaseHTTPRequestHandler, status: int, text: str) -> None:
    body = text.encode()
    request.send_response(status)
    request.send_header("Content-Type", "text/plain; charset=utf-8")
    request.send_header("Content-Length", str(len(body)))
    request.send_header("X-Content-Type-Options", "nosniff")
    request.send_header("Cache-Control", "no-store")
    request.send_header("Connection", "close")
    request.end_headers()
    request.wfile.write(body)


@contextlib.contextmanager
def _loopback(events: queue.Queue[tuple[str, str]]) -> Iterator[_Loopback]:
    loop = _Loopback(events)
    thread = threading.Thread(target=loop.server.serve_forever, name="iamgw-login", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.server.shutdown()
        loop.server.server_close()
        thread.join()


def _launch_browser(url: str, events: queue.Queue[tuple[str, str]], *, quiet: bool) -> None:
    """Open `url` in the user's browser; ("no-browser", "") goes to `events` if none opened.
    `quiet`: the browser gets none of our standard streams."""
    streams = subprocess.DEVNULL if quiet else None
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", OPEN_BROWSER, url], stdin=streams, stdout=streams, stderr=streams
        )
    except OSError:
        events.put(("no-browser", ""))
        return

    def watch() -> None:
        if child.wait() != 0:
            events.put(("no-browser", ""))

    threading.Thread(target=watch, name="iamgw-browser", daemon=True).start()


def _wait(
    events: queue.Queue[tuple[str, str]], deadline: float, timeout: float, url: str,
    provider: Provider,
) -> str:  # fmt: skip
    """The callback URL the browser brought back, or a LoginError."""
    while True:
        try:
            kind, value = events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise LoginError(
                f"nobody finished the sign-in within {timeout:g} s: run `iamgw login` again"
            ) from None
        if kind == "no-browser":
            note(f"No browser could be opened: open this address to sign in with {provider.name}:")
            note(f"  {url}")
        elif kind == "bad-state":
            raise LoginError("the answer that reached the loopback address belongs to another "
                             "sign-in (state mismatch): refused")  # fmt: skip
        elif kind == "refused":
            raise LoginError(f"{provider.name} refused the sign-in: {value}")
        else:
            return value


# -- LDAP -----------------------------------------------------------------------------


def ldap_secrets(username: str | None, password_stdin: bool) -> tuple[str, str]:
    """The LDAP user name (--username or asked) and password (the first line of stdin with
    --password-stdin, else asked on the terminal without echo)."""
    if password_stdin:
        if not username:
            raise LoginError("--password-stdin needs --username", 2)
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            username = username or _ask("LDAP user name: ")
            password = getpass.getpass("LDAP password: ")
        except (OSError, EOFError):
            raise LoginError(
                "no terminal to ask the LDAP user name and password on: "
                "pass --username and --password-stdin", 2
            ) from None  # fmt: skip
    if not username or not password:
        raise LoginError("an LDAP login needs a user name and a password", 2)
    return username, password


def _ask(prompt: str) -> str:
    with open("/dev/tty", "r+") as tty:
        tty.write(prompt)
        tty.flush()
        line = tty.readline()
    if not line:
        raise EOFError
    return line.strip()


# -- credential_process: the cache ----------------------------------------------------


def cache_path(endpoint: str, provider: str | None) -> Path:
    """The cache of one endpoint and --provider: under XDG_CACHE_HOME (~/.cache)/iamgw."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    digest = hashlib.sha256(f"{endpoint}\n{provider or ''}".encode()).hexdigest()[:32]
    return root / "iamgw" / f"login-{digest}.json"


def cached_or_new(http: httpx.Client, endpoint: str, options: Options) -> Credentials:
    """The cached credentials while they last 5 more minutes; then renewed with the
    refresh token; only if that fails, a new sign-in."""
    path = cache_path(endpoint, options.provider)
    cached = _read_cache(path, endpoint)
    if cached is not None:
        left = cached.credentials.expiration - datetime.now(UTC)
        if left > RENEW_BEFORE:
            return cached.credentials
        if cached.provider is not None and cached.refresh_token:
            try:
                login = renew(http, endpoint, cached.provider, cached.refresh_token)
            except LoginError as exc:
                note(f"The sign-in could not be renewed ({exc}): signing in again.")
            else:
                _write_cache(path, endpoint, login)
                return login.credentials
    login = sign_in(http, endpoint, options)
    _write_cache(path, endpoint, login)
    return login.credentials


def _read_cache(path: Path, endpoint: str) -> Login | None:
    try:
        data = json.loads(path.read_text())
        if data.get("endpoint") != endpoint:
            return None
        provider = data.get("provider")
        return Login(
            Credentials.from_process_json(data["credentials"], str(data.get("arn", ""))),
            Provider(**{**provider, "scopes": tuple(provider["scopes"])}) if provider else None,
            data.get("refresh_token"),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no cache, or one this version cannot read: sign in again


def _write_cache(path: Path, endpoint: str, login: Login) -> None:
    data = {
        "endpoint": endpoint,
        "provider": asdict(login.provider) if login.provider else None,
        "arn": login.credentials.arn,
        "credentials": login.credentials.process_json(),
        "refresh_token": login.refresh_token,
    }
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        _replace_file(path, json.dumps(data), 0o600)
    except OSError as exc:  # the credentials are still good: say so and go on
        note(f"Could not cache the credentials in {path}: {exc.strerror}")


# -- aws cli profiles -----------------------------------------------------------------


def write_profile(
    credentials: Credentials, profile: str, endpoint: str,
    credentials_file: Path | None = None, config_file: Path | None = None,
) -> None:  # fmt: skip
    """The keys into the shared credentials file (mode 0600) and `endpoint_url` into the
    config file, as the aws cli names them (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE);
    other profiles, keys and comments are kept."""
    credentials_file = credentials_file or _aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
    config_file = config_file or _aws_file("AWS_CONFIG_FILE", "config")
    keys = {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
        "aws_session_token": credentials.session_token,
    }
    _edit_ini(credentials_file, profile, keys, mode=0o600)
    section = profile if profile == "default" else f"profile {profile}"
    _edit_ini(config_file, section, {"endpoint_url": endpoint}, mode=None)


def _aws_file(variable: str, name: str) -> Path:
    return Path(os.environ.get(variable) or Path.home() / ".aws" / name).expanduser()


def _edit_ini(path: Path, section: str, values: dict[str, str], mode: int | None) -> None:
    path = Path(os.path.realpath(path))  # a symlinked file stays a symlink
    try:
        text = path.read_text() if path.exists() else ""
        if mode is None:
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _replace_file(path, set_section(text, section, values), mode)
    except OSError as exc:
        raise LoginError(f"cannot write {path}: {exc.strerror or exc}") from None


HEADER = re.compile(r"^\[([^\]]+)\]\s*(?:[#;].*)?$")
KEY = re.compile(r"^([^\s=:#;\[][^=:]*?)\s*[=:]")


def set_section(text: str, section: str, values: dict[str, str]) -> str:
    """`text` (an aws cli ini file) with `values` set in `[section]`: its other keys, the
    other sections and the comments kept; a missing section or key added."""
    out: list[str] = []
    pending = dict(values)
    wanted = {k.lower() for k in values}
    current: str | None = None
    found = skipping = False
    for line in text.splitlines():
        header = HEADER.match(line.strip())
        if header:
            if current == section:
                _insert_pending(out, pending)
            current = " ".join(header.group(1).split())
            found = found or current == section
            skipping = False
        elif current == section:
            if skipping and line[:1] in (" ", "\t") and line.strip():
                continue  # a continuation line of a value being replaced
            skipping = False
            key = KEY.match(line)
            if key and key.group(1).lower() in wanted:
                name = next(k for k in values if k.lower() == key.group(1).lower())
                if name in pending:
                    out.append(f"{name} = {pending.pop(name)}")
                skipping = True
                continue
        out.append(line)
    if current == section:
        _insert_pending(out, pending)
    if not found:
        if out and out[-1].strip():
            out.append("")
        out.append(f"[{section}]")
        out.extend(f"{k} = {v}" for k, v in pending.items())
    return "\n".join(out) + "\n"


def _insert_pending(out: list[str], pending: dict[str, str]) -> None:
    """Add the keys not yet written at the end of the section: before its trailing blank
    and comment lines, which belong to what follows."""
    at = len(out)
    while at > 0 and (not out[at - 1].strip() or out[at - 1].lstrip()[:1] in ("#", ";")):
        at -= 1
    out[at:at] = [f"{k} = {v}" for k, v in pending.items()]
    pending.clear()


def _replace_file(path: Path, text: str, mode: int) -> None:
    """Write `text` to a new file of `mode` beside `path`, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            os.fchmod(file.fileno(), mode)
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- helpers --------------------------------------------------------------------------


def _get_json(http: httpx.Client, url: str, what: str) -> dict[str, Any]:
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        raise LoginError(f"cannot reach {what} at {url}: {_reason(exc)}") from None
    if response.status_code != 200:
        raise LoginError(f"{what} answered {response.status_code} to GET {url}")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise LoginError(f"{what} did not answer GET {url} with a JSON object")
    return data


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
