"""Request headers by name, as the signature and the decision will read them.

A header sent twice is read differently by different readers: Starlette's
`headers.get` takes the first, a dict built from the list the last, SigV4 joins
them with commas, and a storage node picks its own. So that every reader sees one
value, a request repeating a header that addresses, frames or authenticates it is
refused outright; any other repeated header is joined with ',' (RFC 9110 §5.3, and
SigV4's canonical form), and a signed one is refused by `verify`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from iamgw.errors import InvalidRequest

# Headers that must appear at most once, signed or not.
SINGLE = frozenset({
    "host", "authorization", "content-length", "transfer-encoding", "content-type",
    "content-md5", "content-encoding", "expect", "range", "x-amz-content-sha256",
    "x-amz-date", "date", "x-amz-security-token", "x-amz-decoded-content-length",
    "x-amz-copy-source", "x-amz-trailer",
})  # fmt: skip


_LENGTH = re.compile(r"[0-9]{1,19}")  # ASCII digits that fit in 64 bits


def length_value(value: str) -> int | None:
    """A length header's value (Content-Length, x-amz-decoded-content-length), or None
    when it is not plain ASCII digits (`²` is a digit to `str.isdigit`; 5,000 digits
    are past what `int()` reads)."""
    value = value.strip()
    return int(value) if _LENGTH.fullmatch(value) else None


class Headers(dict[str, str]):
    """Lower-case header name -> value; `repeated` names the headers sent more than once."""

    repeated: frozenset[str] = frozenset()


def header_map(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """The headers of an ASGI scope (`scope["headers"]`, names already lower-case)."""
    headers = Headers()
    repeated: set[str] = set()
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in headers:
            if name in SINGLE:
                raise InvalidRequest(f"The {name} header may appear only once.")
            repeated.add(name)
            headers[name] = f"{headers[name]},{value}"
        else:
            headers[name] = value
    headers.repeated = frozenset(repeated)
    return headers
