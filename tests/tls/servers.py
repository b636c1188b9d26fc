"""What the TLS tests start: certificates made by the test (trustme, and `cryptography`
for the ones trustme will not make), a gateway served over HTTPS by uvicorn in a thread
(as `iamgw serve` serves it), and a TLS terminator that requires a client certificate in
front of a storage node."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import trustme
import uvicorn
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from iamgw.app import create_app
from iamgw.config import Settings, load_settings
from iamgw.http_server import BoundedHttpToolsProtocol, TlsContextFactory
from tests.gateway_server import ROOT_KEY, ROOT_SECRET, free_port
from tests.waiting import wait_until


@dataclass
class CertFiles:
    cert: Path
    key: Path

    @property
    def pair(self) -> tuple[str, str]:
        return str(self.cert), str(self.key)


def write_leaf(leaf: trustme.LeafCert, directory: Path, name: str) -> CertFiles:
    directory.mkdir(parents=True, exist_ok=True)
    files = CertFiles(directory / f"{name}.crt", directory / f"{name}.key")
    files.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    files.key.write_bytes(leaf.private_key_pem.bytes())
    return files


def write_ca(ca: trustme.CA, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ca.cert_pem.bytes())
    return path


def serial_of_pem(pem: bytes) -> int:
    return x509.load_pem_x509_certificate(pem).serial_number


def expired_client_cert(ca: trustme.CA, common_name: str, directory: Path) -> CertFiles:
    """A client certificate of `ca` that expired an hour ago (trustme makes only valid
    ones by default): built with `cryptography` directly, signed with the CA's key."""
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(now - timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = CertFiles(directory / f"{common_name}-expired.crt", directory / f"{common_name}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def client_context(ca_file: Path, cert: CertFiles | None = None) -> ssl.SSLContext:
    """A client's TLS context trusting `ca_file`, presenting `cert` when given."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if cert is not None:
        context.load_cert_chain(*cert.pair)
    return context


def served_serial(port: int, ca_file: Path) -> int:
    """The serial of the certificate a new TLS connection to the port is served."""
    context = client_context(ca_file)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


@dataclass
class TlsGateway:
    """A gateway served as `iamgw serve` serves it (over HTTPS or HTTP)."""

    url: str
    port: int
    settings: Settings
    ca_file: Path  # the CA of the gateway's certificate, as its clients trust it
    server: uvicorn.Server
    thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str = "s3", key: str = ROOT_KEY, secret: str = ROOT_SECRET,
               token: str | None = None) -> Any:  # fmt: skip
        return boto3.client(
            service,
            endpoint_url=self.url,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name="us-east-1",
            verify=str(self.ca_file),
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
            ),
        )

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def gateway_env(data_dir: Path, port: int, node: Any, scheme: str) -> dict[str, str]:
    return {
        "IAMGW_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "IAMGW_SERVER_PUBLIC_URL": f"{scheme}://127.0.0.1:{port}",
        "IAMGW_SERVER_DATA_DIR": str(data_dir),
        "IAMGW_ROOT_ACCESS_KEY": ROOT_KEY,
        "IAMGW_ROOT_SECRET_KEY": ROOT_SECRET,
        "IAMGW_AUDIT_TARGETS": f"file:{data_dir / 'audit.log'}",
        "IAMGW_UPSTREAM_ENDPOINT": node.endpoint,
        "IAMGW_UPSTREAM_ACCESS_KEY": node.access_key,
        "IAMGW_UPSTREAM_SECRET_KEY": node.secret_key,
    }


@contextlib.contextmanager
def serve_gateway(
    data_dir: Path,
    node: Any,
    ca_file: Path,
    server_cert: CertFiles | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[TlsGateway]:
    """A gateway in front of `node`, served by uvicorn in a thread with the options of
    `iamgw serve` (uvicorn's own X-Forwarded-* handling off, the bounded protocol):
    over HTTPS with `server_cert` (reloaded from its files), else over HTTP."""
    port = free_port()
    scheme = "https" if server_cert else "http"
    env = gateway_env(data_dir, port, node, scheme)
    if server_cert is not None:
        env["IAMGW_SERVER_TLS_CERT"], env["IAMGW_SERVER_TLS_KEY"] = server_cert.pair
    env.update(extra_env or {})
    settings = load_settings(None, environ=env)
    tls: dict[str, Any] = {}
    if server_cert is not None:
        tls = {"ssl_context_factory": TlsContextFactory.of(settings.server)}
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        server_header=False,
        proxy_headers=False,
        http=BoundedHttpToolsProtocol,
        **tls,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    url = f"{scheme}://127.0.0.1:{port}"
    trust = client_context(ca_file)

    def healthy() -> bool:
        try:
            return httpx.get(url + "/healthz", verify=trust, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 30, what="the gateway starts")
    gateway = TlsGateway(url, port, settings, ca_file, server, thread)
    try:
        yield gateway
    finally:
        gateway.stop()


def tls_gateway(
    data_dir: Path,
    node: Any,
    server_cert: CertFiles,
    ca_file: Path,
    extra_env: dict[str, str] | None = None,
) -> contextlib.AbstractContextManager[TlsGateway]:
    """A gateway over HTTPS, its certificate read from `server_cert` (and reloaded)."""
    return serve_gateway(data_dir, node, ca_file, server_cert, extra_env)


class TlsTerminator:
    """A TLS endpoint that requires a client certificate of `client_ca` and passes the
    bytes of every connection on to `target_port` (a storage node speaking plain HTTP),
    as a node's own TLS or a sidecar would. `clients`: the subject CNs it let in."""

    def __init__(self, target_port: int, server_leaf: trustme.LeafCert, client_ca: trustme.CA):
        self.target_port = target_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_leaf.configure_cert(self.context)
        client_ca.configure_trust(self.context)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.clients: list[str] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> TlsTerminator:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.context, ssl_handshake_timeout=10
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        for rdn in peer.get("subject", ()):
            for name, value in rdn:
                if name == "commonName":
                    self.clients.append(value)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
