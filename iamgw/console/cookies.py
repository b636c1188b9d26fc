"""Sealed cookies: a small dict kept by the browser, encrypted and authenticated.

The console keeps no state in a process (DESIGN.md §5): the login's `state`, `nonce`
and PKCE verifier between redirect and callback, and the signed-in session, travel in
cookies sealed with AES-256-GCM under a key derived (HKDF) from the master key, so any
replica opens them and no one else can read or forge them. The cookie's name is the
AEAD's associated data: a value cannot move from one cookie to another. Each value
carries its own expiry, checked on opening, whatever the browser keeps.

A browser keeps at most about 4 KiB per cookie; a value longer than that is split into
numbered cookies (`NAME.0`, `NAME.1`, ...), as a session holding a long token needs.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag

from iamgw.store import MasterKey

_INFO = b"iamgw console cookie v1"
_VERSION = b"\x01"
CHUNK = 3800  # characters per cookie value, under browsers' 4,096 bytes with the name
MAX_CHUNKS = 8


class Sealer:
    """Seals and opens cookie values under a key derived from the master key."""

    def __init__(self, master_key: MasterKey) -> None:
        # Under the current key; cookies of the previous one (a rotation) still open.
        self._aead = master_key.derive(_INFO)

    def seal(self, name: str, data: Mapping[str, Any], expires: float) -> str:
        payload = json.dumps({"exp": int(expires), "d": data}, separators=(",", ":")).encode()
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, payload, name.encode())
        return base64.urlsafe_b64encode(_VERSION + nonce + sealed).rstrip(b"=").decode()

    def open(self, name: str, value: str, now: float | None = None) -> dict[str, Any] | None:
        """The dict sealed in `value` for cookie `name`; None if it is not one of ours,
        was edited, or has expired."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) < 1 + 12 + 16 or raw[:1] != _VERSION:
            return None
        try:
            payload = json.loads(self._aead.decrypt(raw[1:13], raw[13:], name.encode()))
        except (InvalidTag, ValueError):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("d"), dict):
            return None
        if not isinstance(payload.get("exp"), int):
            return None
        if (now if now is not None else time.time()) >= payload["exp"]:
            return None
        data: dict[str, Any] = payload["d"]
        return data


def read(cookies: Mapping[str, str], name: str) -> str:
    """The value of cookie `name`, joined from its numbered parts when it was split."""
    if name in cookies:
        return cookies[name]
    parts = []
    for i in range(MAX_CHUNKS):
        part = cookies.get(f"{name}.{i}")
        if part is None:
            break
        parts.append(part)
    return "".join(parts)


def split(name: str, value: str) -> list[tuple[str, str]]:
    """(cookie name, value) pairs holding `value`: one cookie, or numbered parts."""
    if len(value) <= CHUNK:
        return [(name, value)]
    parts = [value[i : i + CHUNK] for i in range(0, len(value), CHUNK)]
    if len(parts) > MAX_CHUNKS:
        raise ValueError(f"cookie {name} would need {len(parts)} parts")
    return [(f"{name}.{i}", part) for i, part in enumerate(parts)]


def names(cookies: Mapping[str, str], name: str) -> list[str]:
    """Every cookie the browser holds for `name` (to clear them all)."""
    return [n for n in cookies if n == name or n.startswith(name + ".")]
