"""One reading of an object key: the one the gateway decides on is the one it forwards.

A decision is made on the key as the gateway reads it; a storage node must then act
on that same key. SeaweedFS does not store every key as sent: it is a filer, and a
key is a file path to it (tests/s3/test_key_forms.py probes each of these):

- a leading `/` and an empty segment (`a//b`) are collapsed: `/prot/a` and
  `prot//a` are `prot/a`, and the key `/` of `PUT /bucket/%2F` is the bucket itself;
- `\\` is read as `/`: `prot\\a` is `prot/a`;
- `.` and `..` segments are refused by the node or resolved into another name;
- a control character cannot travel in a DeleteObjects document as sent (XML 1.0
  has no `\\x01`, and a parser reads `\\r` as `\\n`) and comes back altered in
  listings; `\\x00` is refused by the node;
- a percent-escape that is not UTF-8 is read by the node as U+FFFD.

Such keys are refused rather than mapped: no client has a reason to send them, and a
refusal cannot be mapped wrongly. A single trailing `/` (`dir/`, the folder marker
consoles create) is a key of its own on the node and is kept.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from iamgw.errors import InvalidBucketName, InvalidObjectName, S3Error

MAX_KEY_BYTES = 1024  # S3's limit, in bytes of UTF-8
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class KeyTooLong(S3Error):
    code = "KeyTooLongError"
    status = 400
    default_message = "Your key is too long."


class InvalidURI(S3Error):
    code = "InvalidURI"
    status = 400
    default_message = "Couldn't parse the specified URI."


def decode(text: str | bytes) -> str:
    """Percent-decode once, as UTF-8; InvalidURI for bytes that are not UTF-8 (a node
    would read them as U+FFFD, a key the client did not name). A str is taken as the
    request's bytes (latin-1), as servers hand over the raw path."""
    try:
        raw = text.encode("latin-1") if isinstance(text, str) else text
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeError:  # not UTF-8, or a str that was never bytes
        raise InvalidURI() from None


def bucket_name(name: str) -> str:
    """The bucket name, or InvalidBucketName."""
    if not _BUCKET_NAME.fullmatch(name) or ".." in name:
        raise InvalidBucketName(resource=name)
    return name


def object_key(key: str) -> str:
    """The key, if every storage node reads it as this very key; otherwise the S3 error
    that refuses it (see the module's docstring for what a node would read instead).

    Used for the key of the path, each DeleteObjects <Key> and a copy source's key.
    """
    if not key:
        raise InvalidObjectName("The object key is empty.")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyTooLong()
    if "\\" in key:
        raise InvalidObjectName("Object name contains a backslash, which the store reads as '/'.")
    if _CONTROL.search(key):
        raise InvalidObjectName("Object name contains a control character.")
    segments = key.split("/")
    if any(not segment for segment in segments[:-1]):
        raise InvalidObjectName(
            "Object name starts with '/' or contains '//', which the store collapses."
        )
    if any(segment in (".", "..") for segment in segments):
        raise InvalidObjectName("Object name contains an unsupported path segment ('.' or '..').")
    return key


def same_entry(key: str) -> str:
    """The other key a storage node keeps in the same entry: SeaweedFS stores the folder
    marker `K/` as the directory `K`, so `DELETE K` deletes the marker and `PUT K`
    replaces it (and `K/` likewise acts on the object `K`)."""
    return key[:-1] if key.endswith("/") else key + "/"
