"""The master key and AES-256-GCM sealing of secrets at rest.

A sealed value is `version (1 byte) || nonce (12) || ciphertext+tag`. The
associated data binds a ciphertext to its row (e.g. the access key id), so a
secret copied onto another row no longer decrypts.
"""

from __future__ import annotations

import os
import secrets
import tempfile
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
        path.parent.mkdir(parents=True, exist_ok=True)
        create_file_once(path, secrets.token_bytes(KEY_BYTES))
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise SecretError(f"{path} does not hold a 32-byte key")
        return cls(key)


def create_file_once(path: Path, data: bytes) -> bool:
    """Create `path` (mode 0600) holding `data`, unless it exists; True if this call made it.

    The file appears whole or not at all: written and synced under a temporary name,
    then hard-linked into place, which fails if another process got there first. (With
    O_EXCL on the file itself, a process starting at the same moment could read it
    empty, between its creation and its write: replicas sharing a data volume did.)
    """
    if path.exists():
        return False
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp: mode 0600
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)
