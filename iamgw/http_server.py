"""The HTTP/1.1 protocol the gateway is served with: uvicorn's httptools protocol,
with every request head (request line and headers) bounded.

httptools keeps a request's URL and headers in memory until the head is complete,
with no limit of its own: three requests with 33 MiB headers held 130 MiB. Here the
bytes of a head are counted as they arrive, and a head larger than `MAX_HEAD_BYTES`
is answered at once with S3's `RequestHeaderSectionTooLarge` and its connection
closed, before it is parsed further, so memory per connection stays bounded for
callers who have not authenticated. 64 KiB is eight times what S3 itself accepts for
headers, room for a presigned URL carrying a session token.
"""

from __future__ import annotations

import logging
import secrets

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from iamgw.errors import S3Error

log = logging.getLogger("iamgw.http")
MAX_HEAD_BYTES = 64 * 1024


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
