"""OpenLDAP `slapd` (Debian `slapd`, `ldap-utils`): a throwaway directory with the memberof
and ppolicy overlays, optionally TLS.

Its own `slapd.conf` in a temp dir (mdb backend, schemas core/cosine/inetorgperson/nis),
suffix `dc=example,dc=org`, seeded from `ldap/seed.ldif` with `ldapadd`: ou=people (alice,
bob, carol, and dave who is locked) and ou=groups (`s3-readers`: bob, `s3-writers`: alice,
`auditors`: bob and dave; nested: `s3-admins` holds `s3-writers`, `staff` holds
`s3-admins` and `s3-readers`), memberOf kept by the overlay. carol is in no group. The
ppolicy overlay's default policy (ou=policies) refuses binds of entries that carry
`pwdAccountLockedTime`. With `tls=TlsFiles(...)`, slapd serves StartTLS on `.url` and
LDAPS on `.ldaps_url` with that certificate. slapd runs in the foreground (`-d 0`), so the
Popen pid is the server's.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ._process import PeerError, free_port, spawn, stop_pid, wait_ready

__all__ = ["SEED_LDIF", "Slapd", "TlsFiles", "start_slapd"]

SEED_LDIF = Path(__file__).resolve().parent / "ldap" / "seed.ldif"
APT_HINT = "apt-get install slapd ldap-utils (`make test` installs them)"
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMA_DIR = Path("/etc/ldap/schema")

SLAPD_CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema

pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath {modules}
moduleload back_mdb
moduleload memberof
moduleload ppolicy
{tls}
database mdb
maxsize 104857600
suffix "{base}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/data
index objectClass eq
index uid,cn,member eq

overlay ppolicy
ppolicy_default "cn=default,ou=policies,{base}"

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint true

# Passwords: only for binding; everything else readable (a test directory).
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""

TLS_CONF = """\
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
"""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for slapd's TLS: `cert` (the server certificate, chain after it) and `key`."""

    cert: Path
    key: Path


@dataclass
class Slapd:
    """A running slapd: `.url`, admin `.bind_dn`/`.bind_password`, `.users` (uid -> password
    of those who can log in), `.locked_users` (the same for locked accounts), and with TLS
    `.ldaps_url` (`.url` then also takes StartTLS)."""

    url: str
    port: int
    base_dn: str
    bind_dn: str
    bind_password: str = field(repr=False)
    users: dict[str, str] = field(repr=False)
    data_dir: Path
    log_file: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    locked_users: dict[str, str] = field(default_factory=dict, repr=False)
    ldaps_url: str | None = None
    ldaps_port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def people_dn(self) -> str:
        return f"ou=people,{self.base_dn}"

    @property
    def groups_dn(self) -> str:
        return f"ou=groups,{self.base_dn}"

    def user_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people_dn}"

    def group_dn(self, cn: str) -> str:
        return f"cn={cn},{self.groups_dn}"

    def running(self) -> bool:
        return self.process.poll() is None

    def search(
        self,
        filter_: str = "(objectClass=*)",
        *attrs: str,
        base: str | None = None,
        bind_dn: str | None = None,
        password: str | None = None,
    ) -> str:
        """`ldapsearch -LLL` (as the admin unless `bind_dn` is given); its LDIF output."""
        bind_dn = bind_dn or self.bind_dn
        password = self.bind_password if password is None else password
        return self._tool(
            "ldapsearch",
            "-LLL",
            "-b",
            base or self.base_dn,
            filter_,
            *attrs,
            bind_dn=bind_dn,
            password=password,
        )

    def add(self, ldif: str) -> None:
        """`ldapadd` the entries of `ldif` as the admin."""
        self._tool("ldapadd", input_=ldif)

    def modify(self, ldif: str) -> None:
        """`ldapmodify` with `ldif` (changetype records) as the admin."""
        self._tool("ldapmodify", input_=ldif)

    def _tool(
        self,
        tool: str,
        *args: str,
        input_: str | None = None,
        bind_dn: str | None = None,
        password: str | None = None,
    ) -> str:
        command = [
            _binary(tool),
            "-x",
            "-H",
            self.url,
            "-D",
            bind_dn or self.bind_dn,
            "-w",
            password or self.bind_password,
            *args,
        ]
        result = subprocess.run(
            command, input=input_, capture_output=True, text=True, timeout=30, check=False
        )
        if result.returncode != 0:
            raise PeerError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def stop(self) -> None:
        stop_pid(self.process)


def _binary(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    raise PeerError(f"`{name}` not found: {APT_HINT}")


def seed_users(ldif: str, *, locked: bool = False) -> dict[str, str]:
    """uid -> userPassword of the seed's people who can log in (`locked=True`: who cannot)."""
    users = {}
    for block in ldif.split("\n\n"):
        uid = re.search(r"^uid: (.+)$", block, re.MULTILINE)
        password = re.search(r"^userPassword: (.+)$", block, re.MULTILINE)
        is_locked = re.search(r"^pwdAccountLockedTime: ", block, re.MULTILINE) is not None
        if uid and password and is_locked == locked:
            users[uid.group(1).strip()] = password.group(1).strip()
    return users


def start_slapd(
    tmpdir: Path,
    *,
    base_dn: str = "dc=example,dc=org",
    seed: Path | None = SEED_LDIF,
    tls: TlsFiles | None = None,
    attempts: int = 3,
) -> Slapd:
    """Start slapd on a free loopback port under `tmpdir` and seed it (`seed=None`: empty).

    `tls`: also listen for LDAPS on a second port, and offer StartTLS on the first."""
    slapd = _binary("slapd")
    _binary("ldapadd")
    modules = [MODULE_DIR / f"{name}.la" for name in ("back_mdb", "memberof", "ppolicy")]
    for path in (*modules, SCHEMA_DIR):
        if not path.exists():
            raise PeerError(f"{path} missing: {APT_HINT}")
    tmpdir = Path(tmpdir).resolve()
    last: PeerError | None = None
    for attempt in range(attempts):
        data_dir = tmpdir if attempt == 0 else tmpdir / f"retry-{attempt}"
        try:
            server = _start(slapd, data_dir, base_dn, tls)
        except PeerError as exc:  # port taken between the check and slapd's bind
            last = exc
            continue
        if seed is not None:
            try:
                ldif = seed.read_text()
                server.add(ldif)
                server.users.update(seed_users(ldif))
                server.locked_users.update(seed_users(ldif, locked=True))
            except PeerError as exc:
                server.stop()
                raise PeerError(f"slapd started but seeding {seed} failed: {exc}") from exc
        return server
    assert last is not None
    raise last


def _start(slapd: str, data_dir: Path, base_dn: str, tls: TlsFiles | None) -> Slapd:
    (data_dir / "data").mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)
    conf = data_dir / "slapd.conf"
    conf.write_text(
        SLAPD_CONF.format(
            schema=SCHEMA_DIR,
            modules=MODULE_DIR,
            dir=data_dir,
            base=base_dn,
            rootdn=f"cn=admin,{base_dn}",
            rootpw=password,
            tls=TLS_CONF.format(cert=tls.cert.resolve(), key=tls.key.resolve()) if tls else "",
        )
    )
    conf.chmod(0o600)
    port = free_port()
    url = f"ldap://127.0.0.1:{port}/"
    listen = url
    ldaps_port = ldaps_url = None
    if tls is not None:
        ldaps_port = free_port()
        ldaps_url = f"ldaps://127.0.0.1:{ldaps_port}"
        listen = f"{url} {ldaps_url}/"
    log_file = data_dir / "slapd.log"
    process = spawn([slapd, "-f", str(conf), "-h", listen, "-d", "0"], log_file, cwd=data_dir)
    server = Slapd(
        url=url.rstrip("/"),
        port=port,
        base_dn=base_dn,
        bind_dn=f"cn=admin,{base_dn}",
        bind_password=password,
        users={},
        data_dir=data_dir,
        log_file=log_file,
        process=process,
        ldaps_url=ldaps_url,
        ldaps_port=ldaps_port,
    )

    def ready() -> bool:
        # Binding with this instance's own rootpw proves it is ours that holds the port.
        try:
            for open_port in (port, ldaps_port):
                if open_port is not None:
                    with socket.create_connection(("127.0.0.1", open_port), timeout=0.5):
                        pass
            server._tool("ldapwhoami")
        except (OSError, PeerError):
            return False
        return True

    wait_ready("slapd", process, log_file, ready, timeout=20)
    return server
