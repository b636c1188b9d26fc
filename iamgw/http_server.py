"""The HTTP/1.1 protocol the gateway is served with: uvicorn's httptools protocol,
with every request head (request line and headers) bounded.

httptools keeps a request's URL and headers in memory until the head is complete,
with no limit of its own: three requests with 33 MiB headers held 130 MiB. Here the
bytes of a head are counted as they arrive, and a head larger than `MAX_HEAD_BYTES`
is answered at once with S3's `RequestHeaderSectionTooLarge` and its connection
closed, before it is parsed further, so memory per connection stays bounded for
callers who have not authenticated. 64 KiB is eight times what S3 itself accepts for
headers, room for a presigned URL carrying a session token.

HTTPS (`[server] tls_cert` / `tls_key`): `ServerTls` is the listening socket's
`ssl.SSLContext`, given to uvicorn by `TlsContextFactory` (uvicorn's
`ssl_context_factory`, run in every worker process). cert-manager and its kind rotate
the files in place; every new connection's ClientHello looks at the files' identity
(inode, size, mtime) at most every `RELOAD_CHECK_SECONDS`, and a changed pair is loaded
into a *new* context which the handshakes from then on use (the SNI callback switches
them to it). Open connections keep the context they began with, so none is dropped; a
pair that does not load (half written, key and certificate of different rotations) is
logged and the last good one kept until the files change again.

With `tls_client_ca`, a client certificate is asked for but not required
(CERT_OPTIONAL); OpenSSL verifies the chain of one that is given, and refuses the
handshake for a certificate of a foreign CA. Validity dates are left to the handler
that uses the certificate (AssumeRoleWithCertificate), so that an expired one gets an
AWS error rather than a TLS alert. The leaf reaches the app as ASGI's TLS extension,
`scope["extensions"]["tls"]["client_cert_chain"]` (PEM), which uvicorn does not fill.
"""

from __future__ import annotations

import logging
import os
import secrets
import ssl
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from iamgw.errors import S3Error

log = logging.getLogger("iamgw.http")
MAX_HEAD_BYTES = 64 * 1024
RELOAD_CHECK_SECONDS = 2.0  # how stale a rotated certificate may be served, at most
# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: the client certificate's dates are checked by
# the handler that uses it, and answered as an AWS error.
_NO_CHECK_TIME = 0x200000
# ASGI TLS extension: tls_version as the protocol's wire number.
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class RequestHeaderSectionTooLarge(S3Error):
    code = "RequestHeaderSectionTooLarge"
    status = 400
    default_message = "Your request header section exceeds the maximum allowed size."


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` that refuses a request head over `MAX_HEAD_BYTES`."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._head_bytes: int | None = 0  # None while a body is being read
        self._messages = 0  # requests completed on this connection
        self._tls: dict[str, Any] | None = None  # ASGI's TLS extension, over TLS

    def data_received(self, data: bytes) -> None:
        # Fed first: one read (at most 256 KiB) may end a head and start its body, or end
        # a body and start the next head. A read that stayed within one head counts
        # whole, so a head never outgrows the limit by more than one read.
        in_head, messages = self._head_bytes is not None, self._messages
        super().data_received(data)
        if in_head and self._head_bytes is not None and messages == self._messages:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head_bytes = 0  # the next request's head starts after this one's body
        self._messages += 1
        super().on_message_complete()

    def _refuse_head(self) -> None:
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown client"
        log.warning("refused a request head over %d bytes from %s", MAX_HEAD_BYTES, client)
        request_id = secrets.token_hex(8).upper()
        body = RequestHeaderSectionTooLarge().to_xml("s3", request_id).encode()
        self.transport.write(
            b"HTTP/1.1 400 Bad Request\r\n"
            b"content-type: application/xml\r\n"
            b"x-amz-request-id: " + request_id.encode() + b"\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()

    # The ASGI TLS extension: the client certificate (when one was given and verified)
    # for handlers that authenticate with it.

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            der = ssl_object.getpeercert(binary_form=True)
            self._tls = {
                "server_cert": None,
                "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
                "client_cert_name": None,
                "client_cert_error": None,
                "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
                "cipher_suite": None,
            }

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls is not None:
            self.scope.setdefault("extensions", {})["tls"] = dict(self._tls)  # type: ignore[typeddict-item]


def _identity(path: str) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class ServerTls:
    """The TLS side of the listening socket, following its certificate files."""

    def __init__(self, cert_file: str, key_file: str, client_ca: str = "") -> None:
        self.cert_file, self.key_file, self.client_ca = cert_file, key_file, client_ca
        self._files = self._identities()
        self._checked = time.monotonic()
        # The listening context (a bad pair stops startup here; the config checked it).
        # Its handshakes switch to the current context, once the files changed, at the
        # ClientHello.
        self.context = self._load()
        self.context.sni_callback = self._on_client_hello
        self._current = self.context

    def _identities(self) -> tuple[tuple[int, int, int, int], ...]:
        return _identity(self.cert_file), _identity(self.key_file)

    def _load(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # An empty password: an encrypted key fails instead of prompting on a terminal.
        context.load_cert_chain(self.cert_file, self.key_file, password="")
        if self.client_ca:
            context.load_verify_locations(self.client_ca)
            context.verify_mode = ssl.CERT_OPTIONAL
            context.verify_flags |= _NO_CHECK_TIME
        return context

    def _on_client_hello(
        self, ssl_object: ssl.SSLObject, _server_name: str | None, listening: ssl.SSLContext
    ) -> None:
        try:
            self.reload_if_changed()
        except Exception:  # noqa: BLE001 - never fail a handshake over a reload
            log.exception("checking the TLS certificate files failed")
        if self._current is not listening:
            ssl_object.context = self._current

    def reload_if_changed(self, *, now: float | None = None) -> bool:
        """Load the files into a new context when they changed since the last look
        (at most every RELOAD_CHECK_SECONDS); True when a new pair is served."""
        now = time.monotonic() if now is None else now
        if now - self._checked < RELOAD_CHECK_SECONDS:
            return False
        self._checked = now
        try:
            files = self._identities()
        except OSError as exc:  # e.g. between a delete and a create
            log.warning("TLS certificate files unreadable (%s): still serving the last pair", exc)
            return False
        if files == self._files:
            return False
        self._files = files  # tried once per change: a broken pair is not retried
        try:
            context = self._load()
        except (ssl.SSLError, OSError) as exc:
            log.warning(
                "TLS certificate %s / key %s do not load (%s): still serving the last pair",
                self.cert_file,
                self.key_file,
                exc,
            )
            return False
        self._current = context
        log.info("TLS certificate %s reloaded", self.cert_file)
        return True


@dataclass(frozen=True)
class TlsContextFactory:
    """uvicorn's `ssl_context_factory`: picklable (paths only), so every worker process
    builds its own `ServerTls`."""

    cert_file: str
    key_file: str
    client_ca: str = ""

    @classmethod
    def of(cls, server: Any) -> TlsContextFactory:
        """The factory for `[server]` settings (`tls_cert`, `tls_key`, `tls_client_ca`)."""
        return cls(server.tls_cert, server.tls_key, server.tls_client_ca)

    def __call__(self, _config: object, _default: object) -> ssl.SSLContext:
        return ServerTls(self.cert_file, self.key_file, self.client_ca).context
