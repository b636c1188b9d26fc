"""The `iamgw` command: serve, policy, ldap and oidc mappings, revoke, credentials, master-key,
login.

Startup problems (bad config, unreachable store, a master key that does not open it,
port in use, no storage node binary) end with one plain line on stderr and exit status
1; usage errors with status 2. Commands that act on a store never create one: a data
directory that is not there (a forgotten --config) is one line too.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from iamgw import datadir, sts
from iamgw.config import ConfigError, Settings, UpstreamSettings, load_settings
from iamgw.datadir import DataDirError
from iamgw.iam import load_canned_policies
from iamgw.policy import cli as policy_cli
from iamgw.s3 import EmbeddedNodeError, SeaweedNode, start_seaweedfs
from iamgw.store import MasterKey, Repository, StoreError, create_file_once, encode_key

log = logging.getLogger("iamgw")
EMBEDDED_DIR = "embedded-node"


class StartupError(Exception):
    """One line that says why the gateway cannot start."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(
        level=os.environ.get("IAMGW_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # A line per health check (httpx) or per loaded policy model (casbin) is noise.
    for noisy in ("httpx", "casbin"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except (StartupError, ConfigError, StoreError, EmbeddedNodeError, DataDirError) as exc:
        print(f"iamgw: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iamgw", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"iamgw {version()}")
    sub = parser.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument(
        "--config",
        "-c",
        type=Path,
        default=os.environ.get("IAMGW_CONFIG"),
        help="TOML settings file (default: none, the embedded default)",
    )
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.set_defaults(func=cmd_serve)

    policy = sub.add_parser("policy", help="validate and evaluate IAM policy documents")
    policy_cli.register(policy.add_subparsers(metavar="COMMAND", required=True))

    ldap = sub.add_parser("ldap", help="map LDAP users and groups (DNs) to policies")
    ldap_sub = ldap.add_subparsers(metavar="COMMAND", required=True)
    for name, verb, func in (
        ("attach-policy", "attach policies to", cmd_ldap_attach),
        ("detach-policy", "detach policies from", cmd_ldap_detach),
    ):
        change = ldap_sub.add_parser(name, help=f"{verb} an LDAP DN (from the next login)")
        who = change.add_mutually_exclusive_group(required=True)
        who.add_argument("--group", metavar="DN")
        who.add_argument("--user", metavar="DN")
        change.add_argument("policies", nargs="+", metavar="POLICY")
        _config_option(change)
        change.set_defaults(func=func)
    listing = ldap_sub.add_parser("list", help="the store's DN -> policy mappings")
    _config_option(listing)
    listing.set_defaults(func=cmd_ldap_list)

    oidc = sub.add_parser("oidc", help="map the groups of OpenID providers to policies")
    oidc_sub = oidc.add_subparsers(metavar="COMMAND", required=True)
    for name, verb, func in (
        ("attach-policy", "attach policies to", cmd_oidc_attach),
        ("detach-policy", "detach policies from", cmd_oidc_detach),
    ):
        change = oidc_sub.add_parser(
            name, help=f"{verb} a group of an [[oidc]] provider's groups_claim"
        )
        change.add_argument("--provider", metavar="NAME", required=True, help="[[oidc]] name")
        change.add_argument("--group", metavar="GROUP", required=True)
        change.add_argument("policies", nargs="+", metavar="POLICY")
        _config_option(change)
        change.set_defaults(func=func)
    listing = oidc_sub.add_parser("list", help="the store's group -> policy mappings")
    listing.add_argument("--provider", metavar="NAME", help="one provider only")
    _config_option(listing)
    listing.set_defaults(func=cmd_oidc_list)

    revoke = sub.add_parser(
        "revoke", help="revoke temporary credentials (honoured on the next request)"
    )
    what = revoke.add_mutually_exclusive_group(required=True)
    what.add_argument("--session", metavar="SID", help="one session: its ASIA... access key id")
    what.add_argument(
        "--user",
        metavar="ARN",
        help="every session of a user or role ARN, a session ARN, "
        "or a federated user's token subject (sub)",
    )
    what.add_argument(
        "--before", metavar="ISO8601", help="every session issued before this time (UTC if naive)"
    )
    revoke.add_argument("--config", "-c", type=Path, default=os.environ.get("IAMGW_CONFIG"))
    revoke.set_defaults(func=cmd_revoke)

    credentials = sub.add_parser(
        "credentials", help="root's keys for the aws cli: export lines or credential_process JSON"
    )
    credentials.add_argument(
        "--format",
        choices=("export", "json"),
        default="export",
        help='export: shell lines (eval "$(iamgw credentials)"); json: for credential_process',
    )
    _config_option(credentials)
    credentials.set_defaults(func=cmd_credentials)

    master = sub.add_parser("master-key", help="the master key: generate, check, rotate")
    master_sub = master.add_subparsers(metavar="COMMAND", required=True)
    generate = master_sub.add_parser(
        "generate", help="a new random key, base64, into FILE (mode 0600) or on stdout"
    )
    generate.add_argument("file", nargs="?", type=Path, metavar="FILE")
    generate.set_defaults(func=cmd_master_key_generate)
    check = master_sub.add_parser("check", help="does the configured key open the store?")
    _config_option(check)
    check.set_defaults(func=cmd_master_key_check)
    rotate = master_sub.add_parser(
        "rotate", help="re-seal every secret of the store under a new key, in one transaction"
    )
    rotate.add_argument(
        "--new-key-file",
        type=Path,
        metavar="FILE",
        help="the new key (default: the configured master_key_file; the configured keys, "
        "previous_master_key_file included, open what is sealed now)",
    )
    _config_option(rotate)
    rotate.set_defaults(func=cmd_master_key_rotate)

    login = sub.add_parser(
        "login", help="sign in from a terminal (browser or LDAP): credentials for the aws cli"
    )
    login.add_argument("--endpoint", required=True, metavar="URL", help="the gateway's URL")
    login.add_argument(
        "--provider", metavar="NAME", help="an OpenID provider of the gateway, or ldap"
    )
    login.add_argument(
        "--profile", metavar="NAME", default="default", help="aws cli profile (default: default)"
    )
    login.add_argument(
        "--credential-process",
        action="store_true",
        help="print credential_process JSON (cached, renewed) instead of writing a profile",
    )
    login.add_argument(
        "--timeout", type=float, default=300, metavar="SECONDS", help="browser sign-in limit"
    )
    login.add_argument("--username", metavar="NAME", help="LDAP user name (else asked)")
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the LDAP password from the first line of stdin (needs --username)",
    )
    login.set_defaults(func=cmd_login)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from iamgw.app import create_app
    from iamgw.http_server import BoundedHttpToolsProtocol, TlsContextFactory

    if args.workers < 1:
        raise StartupError("--workers must be at least 1")
    settings = load_settings(args.config)
    host, port = settings.server.host, settings.server.port
    _check_port_free(host, port)
    _check_store(settings)
    if settings.ldap.url and importlib.util.find_spec("ldap") is None:
        raise StartupError(
            "[ldap] url is set but python-ldap is not installed: pip install 'iamgw[ldap]'"
        )
    root = datadir.root_credentials(settings)
    if root.created:
        print(datadir.banner(settings, root, args.config), flush=True)
    node: SeaweedNode | None = None
    if not settings.upstream:
        node = start_seaweedfs(settings.data_dir / EMBEDDED_DIR)
        embedded = UpstreamSettings(
            node.endpoint, node.access_key, node.secret_key, settings.server.region
        )
        settings = replace(settings, upstream=[embedded])
    tls = {}
    if settings.server.tls_cert:
        # Built in each worker process; the certificate follows its files.
        tls = {"ssl_context_factory": TlsContextFactory.of(settings.server)}
    scheme = "https" if tls else "http"
    for line in sts.startup_lines(settings):
        log.info("%s", line)
    log.info(
        "iamgw listening on %s://%s:%d (%d worker%s)",
        scheme,
        host,
        port,
        args.workers,
        "s" if args.workers > 1 else "",
    )
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down; with these handlers
    # that ends here instead of killing the process, so the node below is stopped.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _note_signal)
    try:
        common = dict(
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
            timeout_graceful_shutdown=30,
            proxy_headers=False,
            http=BoundedHttpToolsProtocol,
            **tls,
        )
        if args.workers == 1:
            uvicorn.run(create_app(settings), **common)
        else:
            # Workers are new processes: they read the same settings from the environment.
            _export_for_workers(args.config, node)
            from iamgw.ops import prepare_multiprocess_dir

            # Each worker counts into files there; any of them answers /metrics for all.
            prepare_multiprocess_dir(settings.data_dir)
            uvicorn.run("iamgw.app:worker_app", factory=True, workers=args.workers, **common)
    finally:
        if node is not None:
            node.stop()
            log.info("storage node stopped")
    return 0


def _note_signal(signum: int, _frame: object) -> None:
    log.info("received %s: stopped", signal.Signals(signum).name)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _check_store(settings: Settings) -> None:
    """Open the store once before serving: migrations run, and a bad URL or a master key
    that does not open the store's secrets fails here, in one line."""
    repo = Repository.open(
        settings.store_url, datadir.master_key(settings), settings.server.account_id
    )
    try:
        datadir.check_store_key(repo)
    finally:
        repo.close()


def _export_for_workers(config: Path | None, node: SeaweedNode | None) -> None:
    if config is not None:
        os.environ["IAMGW_CONFIG"] = str(config)
    if node is not None:
        os.environ["IAMGW_UPSTREAM_ENDPOINT"] = node.endpoint
        os.environ["IAMGW_UPSTREAM_ACCESS_KEY"] = node.access_key
        os.environ["IAMGW_UPSTREAM_SECRET_KEY"] = node.secret_key


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", type=Path, default=os.environ.get("IAMGW_CONFIG"))


def _open_store(settings: Settings) -> Repository:
    """The store a gateway with `settings` uses: never created here (no data directory,
    key or SQLite file is made for a forgotten --config), and opened only with a key
    that opens its secrets."""
    datadir.require_existing(settings)
    repo = Repository.open(
        settings.store_url, datadir.master_key(settings, create=False), settings.server.account_id
    )
    try:
        datadir.check_store_key(repo)
    except BaseException:
        repo.close()
        raise
    return repo


@contextlib.contextmanager
def _store(settings: Settings) -> Iterator[Repository]:
    """The store of `settings`, migrated, with the canned policies loaded."""
    repo = _open_store(settings)
    try:
        load_canned_policies(repo)
        yield repo
    finally:
        repo.close()


def _check_policies(repo: Repository, names: list[str]) -> None:
    unknown = [p for p in names if repo.find_policy(p) is None]
    if unknown:
        raise StartupError(f"no such policy: {', '.join(unknown)}")


def cmd_ldap_attach(args: argparse.Namespace) -> int:
    kind, dn = ("group", args.group) if args.group else ("user", args.user)
    with _store(load_settings(args.config)) as repo:
        _check_policies(repo, args.policies)
        repo.attach_ldap_policies(kind, dn, args.policies)
    print(f"attached {', '.join(args.policies)} to {kind} {dn}")
    return 0


def cmd_ldap_detach(args: argparse.Namespace) -> int:
    kind, dn = ("group", args.group) if args.group else ("user", args.user)
    with _store(load_settings(args.config)) as repo:
        repo.detach_ldap_policies(kind, dn, args.policies)
    print(f"detached {', '.join(args.policies)} from {kind} {dn}")
    return 0


def cmd_ldap_list(args: argparse.Namespace) -> int:
    """One line per mapping: KIND, normalised DN, policy, separated by tabs."""
    with _store(load_settings(args.config)) as repo:
        rows = repo.ldap_mappings()
    for row in rows:
        print(f"{row.kind}\t{row.subject}\t{row.policy_name}")
    return 0


def _oidc_provider(settings: Settings, name: str) -> str:
    if name not in {o.name for o in settings.oidc}:
        raise StartupError(f"no [[oidc]] provider is named {name!r}")
    return name


def cmd_oidc_attach(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    provider = _oidc_provider(settings, args.provider)
    with _store(settings) as repo:
        _check_policies(repo, args.policies)
        repo.attach_oidc_group_policies(provider, args.group, args.policies)
    print(f"attached {', '.join(args.policies)} to group {args.group} of {provider}")
    return 0


def cmd_oidc_detach(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    with _store(settings) as repo:
        repo.detach_oidc_group_policies(args.provider, args.group, args.policies)
    print(f"detached {', '.join(args.policies)} from group {args.group} of {args.provider}")
    return 0


def cmd_oidc_list(args: argparse.Namespace) -> int:
    """One line per mapping: provider, group, policy, separated by tabs."""
    with _store(load_settings(args.config)) as repo:
        rows = repo.oidc_group_mappings(args.provider)
    for row in rows:
        print(f"{row.provider}\t{row.subject}\t{row.policy_name}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Deny-list temporary credentials in the store: every replica honours it at once."""
    before = None
    if args.before is not None:
        try:
            before = datetime.fromisoformat(args.before)
        except ValueError:
            raise StartupError(f"--before: {args.before!r} is not an ISO 8601 time") from None
        if before.tzinfo is None:
            before = before.replace(tzinfo=UTC)
        before = before.astimezone(UTC)
    repo = _open_store(load_settings(args.config))
    try:
        if args.session:
            repo.revoke("session", args.session)
            print(f"revoked session {args.session}")
        elif args.user:
            repo.revoke("user", args.user)
            print(f"revoked every session of {args.user} issued until now")
        else:
            repo.revoke("before", "", issued_before=before)
            print(f"revoked every session issued before {args.before}")
        repo.prune_revocations()  # entries no live credential can match any more
    finally:
        repo.close()
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    """Root's keys, from [root] or the data directory (never generated here)."""
    settings = load_settings(args.config)
    root = datadir.root_credentials(settings, create=False)
    if args.format == "json":
        print(datadir.credential_process_json(root))
    else:
        sys.stdout.write(datadir.export_lines(settings, root))
    return 0


def cmd_master_key_generate(args: argparse.Namespace) -> int:
    """32 random bytes, base64: the form of IAMGW_SERVER_MASTER_KEY and of a key file."""
    text = encode_key(secrets.token_bytes(32)) + "\n"
    if args.file is None:
        sys.stdout.write(text)
        return 0
    try:
        created = create_file_once(args.file, text.encode())
    except OSError as exc:
        raise StartupError(f"cannot write {args.file}: {exc.strerror}") from None
    if not created:
        raise StartupError(f"{args.file} exists: not overwritten")
    print(f"new master key (id {MasterKey.load(args.file).key_id}) in {args.file}, mode 0600")
    return 0


def cmd_master_key_check(args: argparse.Namespace) -> int:
    """Whether the configured keys open the store, and which one seals it."""
    repo = _open_store(load_settings(args.config))
    try:
        state, stored = repo.check_master_key(), repo.stored_key_id()
    finally:
        repo.close()
    if state == "previous":
        print(
            f"the store is sealed under the previous key (id {stored}), not the master key "
            f"(id {repo.master_key.key_id}): run `iamgw master-key rotate`"
        )
    else:
        print(f"the master key (id {stored}) opens the store")
    return 0


def cmd_master_key_rotate(args: argparse.Namespace) -> int:
    """Every sealed secret of the store, and its check value, re-sealed under the new key
    in one transaction (DESIGN.md §2 extended; the procedure: docs/master-key.md)."""
    settings = load_settings(args.config)
    repo = _open_store(settings)  # the configured keys must open the store as it is
    try:
        new = repo.master_key.current_only()
        if args.new_key_file is not None:
            new = datadir.read_key_file(args.new_key_file)
        before = repo.stored_key_id()
        count = repo.reseal_secrets(new)
    finally:
        repo.close()
    print(
        f"re-sealed {count} secret(s) and the check value under master key {new.key_id} "
        f"(they were under {before})"
    )
    if new.key_id != repo.master_key.key_id:
        print(
            "gateways whose master key is not this one no longer start, and fail IAM "
            "users' requests: give every replica master_key_file = the new key and "
            "previous_master_key_file = the old one"
        )
    return 0


def version() -> str:
    try:
        return importlib.metadata.version("iamgw")
    except importlib.metadata.PackageNotFoundError:  # a source tree, not installed
        return "unknown"


def cmd_login(args: argparse.Namespace) -> int:
    """Temporary credentials into an aws cli profile, or out as credential_process JSON."""
    from iamgw import terminal_login

    # httpx2 (authlib's client) logs every request at INFO: noise on a terminal.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    options = terminal_login.Options(
        endpoint=args.endpoint,
        provider=args.provider,
        profile=args.profile,
        credential_process=args.credential_process,
        timeout=args.timeout,
        username=args.username,
        password_stdin=args.password_stdin,
    )
    try:
        terminal_login.run(options)
    except terminal_login.LoginError as exc:
        print(f"iamgw login: {exc}", file=sys.stderr)
        return exc.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
