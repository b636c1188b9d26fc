"""Settings: the TOML file of DESIGN.md §3, overridden by IAMGW_<SECTION>_<KEY> variables.

Every value is typed and validated here, once. A bad value raises `ConfigError`
naming the key and the problem; the value itself is never echoed, so a secret
put in the wrong key cannot leak into a log line.

Arrays of tables (`[[upstream]]`, `[[oidc]]`) take their environment overrides
as `IAMGW_UPSTREAM_ENDPOINT` (the first entry, created when missing) or
`IAMGW_UPSTREAM_1_ENDPOINT` (entry 1, counting from 0). Lists are given as JSON
(`["a", "b"]`) or comma-separated text; tables (`ldap.group_policies`) as JSON.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

ENV_PREFIX = "IAMGW_"
NOT_SETTINGS = {"IAMGW_CONFIG", "IAMGW_LOG_LEVEL"}  # read by the CLI, not settings
AWS_MIN_SESSION = 900
AWS_MAX_SESSION = 43200
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(Exception):
    """A setting is missing, unknown or invalid: the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config: {key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class ServerSettings:
    address: str = "127.0.0.1:9000"
    region: str = "us-east-1"
    account_id: str = "000000000000"
    public_url: str = "http://127.0.0.1:9000"
    data_dir: str = "./iamgw-data"
    # The master key (32 bytes: raw, or their base64 or hex text) that seals the store's
    # secrets, session tokens and console cookies: one key for every replica of a store.
    # None given: data_dir/master.key, generated there only for a SQLite store in data_dir.
    master_key_file: str = ""
    master_key: str = field(default="", repr=False)  # base64 or hex: IAMGW_SERVER_MASTER_KEY
    # During a rotation (`iamgw master-key rotate`): the key being replaced, which still
    # opens what it sealed (never seals).
    previous_master_key_file: str = ""
    previous_master_key: str = field(default="", repr=False)
    tls_cert: str = ""  # PEM; with tls_key: HTTPS, reloaded when the files change
    tls_key: str = ""
    # PEM CA bundle: client certificates it issued are asked for (not required) over
    # TLS, and AssumeRoleWithCertificate turns them into sessions.
    tls_client_ca: str = ""
    # CIDRs whose X-Forwarded-For / X-Forwarded-Proto are believed (aws:SourceIp,
    # aws:SecureTransport); from any other peer those headers are ignored.
    trusted_proxies: list[str] = field(default_factory=list)

    @functools.cached_property
    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        """`trusted_proxies` parsed (validated when the settings were loaded)."""
        return tuple(ipaddress.ip_network(cidr) for cidr in self.trusted_proxies)

    @property
    def host(self) -> str:
        return split_address(self.address)[0]

    @property
    def port(self) -> int:
        return split_address(self.address)[1]

    @property
    def public_host(self) -> str:
        """Host of `public_url`: requests to BUCKET.<this host> are virtual-host style."""
        return (urlsplit(self.public_url).hostname or "").lower()


@dataclass(frozen=True)
class StoreSettings:
    url: str = ""  # empty -> sqlite under server.data_dir


@dataclass(frozen=True)
class RootSettings:
    access_key: str = ""
    secret_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class StsSettings:
    default_duration_seconds: int = 3600
    min_duration_seconds: int = AWS_MIN_SESSION
    max_duration_seconds: int = AWS_MAX_SESSION


@dataclass(frozen=True)
class UpstreamSettings:
    endpoint: str = ""
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    region: str = "us-east-1"
    # A GET, HEAD, PUT or DELETE whose answer's head takes longer is retried on another
    # node, and this one taken out until its health check passes.
    first_byte_timeout_seconds: int = 10
    # https:// nodes: the CA bundle their certificates are verified with (empty: the
    # system's), and a client certificate and key for nodes that require one (mTLS).
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""


@dataclass(frozen=True)
class OidcSettings:
    name: str = ""
    issuer: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    claim_name: str = "policy"
    claim_prefix: str = ""
    role_policy: str = ""
    scopes: list[str] = field(default_factory=lambda: ["openid", "profile", "email"])
    redirect_uri: str = "http://127.0.0.1:9000/iamgw/callback"
    limit_to_token_expiry: bool = False  # sessions end no later than the token presented
    # Claim holding the user's groups (dotted path allowed): each group's policies, mapped
    # in the store (`iamgw oidc attach-policy`), join the claim's in claim mode.
    groups_claim: str = ""
    # A public client at the provider for `iamgw login` (RFC 8252): its ID tokens are
    # accepted as this entry's own, and /iamgw/api/providers names it to the command.
    cli_client_id: str = ""


@dataclass(frozen=True)
class LdapSettings:
    url: str = ""  # empty -> LDAP login disabled
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)
    user_search_base: str = ""
    user_search_filter: str = "(uid={username})"
    group_search_base: str = ""
    group_search_filter: str = "(&(objectClass=groupOfNames)(member={user_dn}))"
    start_tls: bool = False
    ca_file: str = ""  # CA bundle for ldaps:// and StartTLS; empty: libldap's default
    group_policies: dict[str, list[str]] = field(default_factory=dict)
    user_policies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        return self.url.split()


@dataclass(frozen=True)
class AuditSettings:
    targets: list[str] = field(default_factory=lambda: ["file:./iamgw-data/audit.log"])
    # Records a target has not taken yet wait on disk (data_dir/audit-queue/), at most
    # this much per target and worker process; then `when_full` decides.
    queue_max_mb: int = 1024
    # "refuse": new requests get 503 until the target takes records again (an audited
    # system does not serve unaudited requests); "drop-oldest": they are served and the
    # target's oldest waiting records are given up, counted and logged.
    when_full: str = "refuse"
    file_max_mb: int = 100  # a file target is rotated at this size (0: never)
    file_keep: int = 10  # rotated files kept: audit.log.1 (newest) ... audit.log.N
    access_log: bool = True  # a line per request on stdout (logger iamgw.access)


@dataclass(frozen=True)
class MetricsSettings:
    # Set: GET /metrics needs `Authorization: Bearer <token>` (else 401).
    bearer_token: str = ""


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    root: RootSettings = field(default_factory=RootSettings)
    sts: StsSettings = field(default_factory=StsSettings)
    upstream: list[UpstreamSettings] = field(default_factory=list)
    oidc: list[OidcSettings] = field(default_factory=list)
    ldap: LdapSettings = field(default_factory=LdapSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{self.data_dir / 'iamgw.db'}"


_SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "store": StoreSettings,
    "root": RootSettings,
    "sts": StsSettings,
    "ldap": LdapSettings,
    "audit": AuditSettings,
    "metrics": MetricsSettings,
}
_LIST_SECTIONS: dict[str, type] = {"upstream": UpstreamSettings, "oidc": OidcSettings}


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file (if any), apply the environment, validate, and return settings."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_toml(Path(path))
    _apply_environment(raw, env)
    settings = _build(raw)
    _validate(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message names line and column, never a value.
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None


def _apply_environment(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section, _, key = rest.partition("_")
        if section in _SECTIONS:
            raw.setdefault(section, {})
            if not isinstance(raw[section], dict):
                raise ConfigError(section, "must be a table")
            raw[section][key] = _EnvValue(value)
        elif section in _LIST_SECTIONS:
            index = 0
            match = re.fullmatch(r"(\d+)_(.+)", key)
            if match:
                index, key = int(match.group(1)), match.group(2)
            entries = raw.setdefault(section, [])
            if not isinstance(entries, list):
                raise ConfigError(section, f"must be an array of tables ([[{section}]])")
            if index > len(entries):
                raise ConfigError(name, f"no [[{section}]] entry {index - 1} to follow")
            if index == len(entries):
                entries.append({})
            entries[index][key] = _EnvValue(value)
        else:
            raise ConfigError(name, "unknown setting")


class _EnvValue(str):
    """Text from the environment: converted to the key's type when the section is built."""


def _build(raw: dict[str, Any]) -> Settings:
    sections: dict[str, Any] = {}
    for key in raw:
        if key not in _SECTIONS and key not in _LIST_SECTIONS:
            raise ConfigError(key, "unknown section")
    for name, cls in _SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(name, "must be a table")
        sections[name] = _build_section(name, cls, table)
    for name, cls in _LIST_SECTIONS.items():
        entries = raw.get(name, [])
        if isinstance(entries, dict):
            raise ConfigError(name, f"must be written [[{name}]] (an array of tables)")
        if not isinstance(entries, list):
            raise ConfigError(name, "must be an array of tables")
        sections[name] = [
            _build_section(f"{name}[{i}]", cls, entry) for i, entry in enumerate(entries)
        ]
    audit = raw.get("audit", {})
    if "targets" not in audit:  # the default audit file lives in data_dir, wherever that is
        default = f"file:{Path(sections['server'].data_dir) / 'audit.log'}"
        sections["audit"] = replace(sections["audit"], targets=[default])
    return Settings(**sections)


def _build_section(prefix: str, cls: type, table: Any) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(prefix, "must be a table")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{prefix}.{key}", "unknown key")
        values[key] = _convert(f"{prefix}.{key}", hints[key], value)
    return cls(**values)


def _convert(key: str, hint: Any, value: Any) -> Any:
    from_env = isinstance(value, _EnvValue)
    origin = get_origin(hint)
    if hint is bool:
        if from_env:
            lowered = value.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
        if isinstance(value, bool):
            return value
        raise ConfigError(key, "must be true or false")
    if hint is int:
        if from_env and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(key, "must be an integer")
    if hint is str:
        if isinstance(value, str):
            return str(value)
        raise ConfigError(key, "must be a string")
    if origin is list:
        if from_env:
            value = _env_list(key, value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [str(v) for v in value]
        raise ConfigError(key, "must be a list of strings")
    if origin is dict:
        if from_env:
            value = _env_json(key, value)
        inner = get_args(hint)[1]
        if isinstance(value, dict):
            return {str(k): _convert(f"{key}.{k}", inner, v) for k, v in value.items()}
        raise ConfigError(key, "must be a table")
    raise ConfigError(key, "unsupported setting type")  # pragma: no cover


def _env_list(key: str, text: str) -> Any:
    if text.lstrip().startswith("["):
        return _env_json(key, text)
    return [part.strip() for part in text.split(",") if part.strip()]


def _env_json(key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(key, "must be JSON in the environment") from None


def split_address(address: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port); raises ValueError."""
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([^:\[\]]*):(\d+)", address)
    if not match:
        raise ValueError(address)
    host = match.group(1) or match.group(3) or "0.0.0.0"  # noqa: S104 - ":9000" means all
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise ValueError(address)
    return host, port


def _check_url(key: str, value: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(
            key, f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
        )


def _validate(s: Settings) -> None:
    try:
        split_address(s.server.address)
    except ValueError:
        raise ConfigError("server.address", "must be host:port with a port 1-65535") from None
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", s.server.region):
        raise ConfigError("server.region", "must be an AWS-style region such as us-east-1")
    if not re.fullmatch(r"\d{12}", s.server.account_id):
        raise ConfigError("server.account_id", "must be 12 digits")
    _check_url("server.public_url", s.server.public_url, ("http", "https"))
    if not s.server.data_dir:
        raise ConfigError("server.data_dir", "must not be empty")
    _validate_master_key(s.server)
    _validate_tls(s.server)
    scheme = s.store_url.split(":", 1)[0]
    if scheme not in {"sqlite", "postgresql", "postgresql+psycopg"}:
        raise ConfigError("store.url", "must start with sqlite:/// or postgresql+psycopg://")
    if bool(s.root.access_key) != bool(s.root.secret_key):
        raise ConfigError("root.access_key", "access_key and secret_key must be set together")
    if s.root.access_key and not re.fullmatch(r"[A-Za-z0-9]{3,128}", s.root.access_key):
        raise ConfigError("root.access_key", "must be 3-128 letters and digits")
    if s.root.secret_key and len(s.root.secret_key) < 8:
        raise ConfigError("root.secret_key", "must be at least 8 characters")
    _validate_sts(s.sts)
    for i, up in enumerate(s.upstream):
        key = f"upstream[{i}]"
        _check_url(f"{key}.endpoint", up.endpoint, ("http", "https"))
        if not up.access_key or not up.secret_key:
            raise ConfigError(f"{key}.access_key", "access_key and secret_key are required")
        if not 1 <= up.first_byte_timeout_seconds <= 300:
            raise ConfigError(f"{key}.first_byte_timeout_seconds", "must be between 1 and 300")
        _validate_upstream_tls(key, up)
    names: set[str] = set()
    for i, op in enumerate(s.oidc):
        key = f"oidc[{i}]"
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", op.name):
            raise ConfigError(f"{key}.name", "must be 1-64 letters, digits, '.', '_' or '-'")
        if op.name in names:
            raise ConfigError(f"{key}.name", "is used by another [[oidc]] entry")
        if op.name == "ldap":  # the LDAP directory's name in the store's group mappings
            raise ConfigError(f"{key}.name", "must not be ldap (the LDAP directory's name)")
        names.add(op.name)
        _check_url(f"{key}.issuer", op.issuer, ("http", "https"))
        if not op.client_id:
            raise ConfigError(f"{key}.client_id", "must not be empty")
        if op.cli_client_id == op.client_id:
            raise ConfigError(f"{key}.cli_client_id", "must differ from client_id")
        _check_url(f"{key}.redirect_uri", op.redirect_uri, ("http", "https"))
        if "openid" not in op.scopes:
            raise ConfigError(f"{key}.scopes", "must include openid")
    if s.ldap.url:
        for url in s.ldap.urls:
            _check_url("ldap.url", url, ("ldap", "ldaps"))
        if "{username}" not in s.ldap.user_search_filter:
            raise ConfigError("ldap.user_search_filter", "must contain {username}")
        if not s.ldap.user_search_base:
            raise ConfigError("ldap.user_search_base", "must not be empty")
        if s.ldap.ca_file and not Path(s.ldap.ca_file).is_file():
            raise ConfigError("ldap.ca_file", "file not found")
    _validate_metrics(s.metrics)
    _validate_audit(s.audit)


WHEN_FULL = ("refuse", "drop-oldest")


def _validate_audit(audit: AuditSettings) -> None:
    seen: set[str] = set()
    for i, target in enumerate(audit.targets):
        key = f"audit.targets[{i}]"
        if target.startswith("file:"):
            if not target[len("file:") :]:
                raise ConfigError(key, "file: needs a path")
        elif target != "stdout":
            _check_url(key, target, ("http", "https"))
        # Compared without credentials: each target has one queue, named without them.
        shown = re.sub(r"//[^/@]*@", "//", target)
        if shown in seen:
            raise ConfigError(key, "names a target already listed")
        seen.add(shown)
    if not 1 <= audit.queue_max_mb <= 1 << 20:
        raise ConfigError("audit.queue_max_mb", "must be between 1 and 1048576")
    if audit.when_full not in WHEN_FULL:
        raise ConfigError("audit.when_full", 'must be "refuse" or "drop-oldest"')
    if not 0 <= audit.file_max_mb <= 1 << 20:
        raise ConfigError("audit.file_max_mb", "must be between 0 (never rotate) and 1048576")
    if not 1 <= audit.file_keep <= 1000:
        raise ConfigError("audit.file_keep", "must be between 1 and 1000")


def _validate_tls(server: ServerSettings) -> None:
    if bool(server.tls_cert) != bool(server.tls_key):
        raise ConfigError("server.tls_cert", "tls_cert and tls_key must be set together")
    for key in ("tls_cert", "tls_key", "tls_client_ca"):
        value = getattr(server, key)
        if value and not Path(value).is_file():
            raise ConfigError(f"server.{key}", "file not found")
    if server.tls_cert:
        _check_pair("server.tls_cert", server.tls_cert, server.tls_key, ssl.PROTOCOL_TLS_SERVER)
    if server.tls_client_ca:
        if not server.tls_cert:
            raise ConfigError("server.tls_client_ca", "needs tls_cert and tls_key (HTTPS)")
        _check_ca("server.tls_client_ca", server.tls_client_ca)
    for i, cidr in enumerate(server.trusted_proxies):
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            raise ConfigError(
                f"server.trusted_proxies[{i}]",
                "must be an IP address or a CIDR such as 10.0.0.0/8 (no host bits set)",
            ) from None


def _validate_upstream_tls(key: str, up: UpstreamSettings) -> None:
    names = ("ca_file", "client_cert", "client_key")
    if urlsplit(up.endpoint).scheme != "https":
        for name in names:
            if getattr(up, name):
                raise ConfigError(f"{key}.{name}", "is for https:// endpoints only")
        return
    if bool(up.client_cert) != bool(up.client_key):
        raise ConfigError(f"{key}.client_cert", "client_cert and client_key must be set together")
    for name in names:
        value = getattr(up, name)
        if value and not Path(value).is_file():
            raise ConfigError(f"{key}.{name}", "file not found")
    if up.ca_file:
        _check_ca(f"{key}.ca_file", up.ca_file)
    if up.client_cert:
        _check_pair(f"{key}.client_cert", up.client_cert, up.client_key, ssl.PROTOCOL_TLS_CLIENT)


def _check_pair(key: str, cert: str, private_key: str, protocol: int) -> None:
    """A certificate chain and its key that OpenSSL loads (the gateway serves or presents
    them): checked at startup, so that a bad pair is one line, not a failed handshake."""
    try:
        # An empty password: an encrypted key fails here instead of prompting on a tty.
        ssl.SSLContext(protocol).load_cert_chain(cert, private_key, password="")
    except (ssl.SSLError, OSError):
        raise ConfigError(
            key,
            "the certificate and key do not load as a PEM certificate chain and its "
            "private key (unencrypted, the key matching the certificate)",
        ) from None


def _check_ca(key: str, path: str) -> None:
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError):
        raise ConfigError(key, "holds no PEM CA certificate") from None


def _validate_master_key(server: ServerSettings) -> None:
    for prefix in ("", "previous_"):
        text = getattr(server, f"{prefix}master_key")
        path = getattr(server, f"{prefix}master_key_file")
        if text and path:
            raise ConfigError(
                f"server.{prefix}master_key_file",
                f"set it or server.{prefix}master_key (IAMGW_SERVER_{prefix.upper()}MASTER_KEY), "
                "not both",
            )
        if path and not Path(path).is_file():
            raise ConfigError(f"server.{prefix}master_key_file", "file not found")
        if text and len(_key_bytes(text)) != 32:
            raise ConfigError(
                f"server.{prefix}master_key",
                "must be 32 bytes written in base64 (openssl rand -base64 32) or hex",
            )


def _key_bytes(text: str) -> bytes:
    text = text.strip()
    try:
        if re.fullmatch(r"[0-9a-fA-F]{64}", text):
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _validate_metrics(metrics: MetricsSettings) -> None:
    # Sent in a header: visible ASCII, no spaces (RFC 6750's b64token and more).
    if metrics.bearer_token and not re.fullmatch(r"[!-~]{1,4096}", metrics.bearer_token):
        raise ConfigError(
            "metrics.bearer_token", "must be 1-4096 visible ASCII characters, no spaces"
        )


def _validate_sts(sts: StsSettings) -> None:
    for key in ("min_duration_seconds", "default_duration_seconds", "max_duration_seconds"):
        value = getattr(sts, key)
        if not AWS_MIN_SESSION <= value <= AWS_MAX_SESSION:
            raise ConfigError(
                f"sts.{key}", f"must be between {AWS_MIN_SESSION} and {AWS_MAX_SESSION}"
            )
    if not sts.min_duration_seconds <= sts.default_duration_seconds <= sts.max_duration_seconds:
        raise ConfigError(
            "sts.default_duration_seconds",
            "must lie between min_duration_seconds and max_duration_seconds",
        )
