"""The master key and AES-256-GCM sealing of secrets at rest.

A sealed value is `version (1 byte) || nonce (12) || ciphertext+tag`. The
associated data binds a ciphertext to its row (e.g. the access key id), so a
secret copied onto another row no longer decrypts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
KEY_BYTES = 32


class SecretError(Exception):
    """A sealed secret does not open under this master key."""


class MasterKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    def __repr__(self) -> str:
        return "MasterKey(<hidden>)"

    @property
    def raw(self) -> bytes:
        """The key bytes, for deriving other keys (session tokens)."""
        return self._key

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes) -> bytes:
        if len(sealed) < 1 + 12 + 16 or sealed[:1] != _VERSION:
            raise SecretError("sealed value has an unknown format")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], associated)
        except InvalidTag:
            raise SecretError("sealed value does not open under this master key") from None

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKey:
        """Read the key file, or create it (mode 0600) with a fresh random key."""
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(KEY_BYTES)
            # O_EXCL: two processes starting at once must not write two keys.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                key = path.read_bytes()
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(key)
        if len(key) != KEY_BYTES:
            raise SecretError(f"{path} does not hold a 32-byte key")
        return cls(key)
