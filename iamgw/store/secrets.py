"""The master key and AES-256-GCM sealing of secrets at rest.

A sealed value is `version (1 byte) || nonce (12) || ciphertext+tag`. The
associated data binds a ciphertext to its row (e.g. the access key id), so a
secret copied onto another row no longer decrypts.

During a rotation of the master key a `MasterKey` also holds the previous key
(`[server] previous_master_key_file`): it seals under the current key only, and opens
under either, and so do the keys derived from it (session tokens, console cookies).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
KEY_BYTES = 32
_KEY_ID_INFO = b"iamgw master key id v1"


class SecretError(Exception):
    """A sealed secret does not open under this master key."""


def parse_key(data: bytes) -> bytes | None:
    """The 32 key bytes of a key file or variable: the raw bytes, or their base64 or hex
    text (a line of it: `openssl rand -base64 32`, `openssl rand -hex 32`); None if the
    data is none of these."""
    if len(data) == KEY_BYTES:
        return data
    text = data.strip()
    if re.fullmatch(rb"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text.decode())
    if re.fullmatch(rb"[A-Za-z0-9+/_-]{43}=?", text):
        try:
            key = base64.b64decode(text.replace(b"-", b"+").replace(b"_", b"/") + b"==")
        except (binascii.Error, ValueError):
            return None
        return key if len(key) == KEY_BYTES else None
    return None


def encode_key(key: bytes) -> str:
    """The text form written by `iamgw master-key generate` (base64, as the variable)."""
    return base64.b64encode(key).decode()


class MasterKey:
    def __init__(self, key: bytes, previous: Sequence[bytes] = ()) -> None:
        if len(key) != KEY_BYTES or any(len(k) != KEY_BYTES for k in previous):
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key
        self._previous = tuple(k for k in previous if k != key)
        self._fallbacks = tuple(AESGCM(k) for k in self._previous)

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id}{', with previous' if self._previous else ''})"

    @property
    def raw(self) -> bytes:
        """The key bytes, for deriving other keys (session tokens)."""
        return self._key

    @property
    def key_id(self) -> str:
        """A fingerprint that names the key in messages and in the store: derived one way
        (HKDF), it tells nothing about the key."""
        return _key_id(self._key)

    @property
    def previous(self) -> tuple[MasterKey, ...]:
        """The keys that still open (never seal), newest first."""
        return tuple(MasterKey(k) for k in self._previous)

    def current_only(self) -> MasterKey:
        return MasterKey(self._key) if self._previous else self

    def with_previous(self, *others: MasterKey) -> MasterKey:
        """This key sealing, and also opening under `others` (and their previous keys)."""
        keys = [*self._previous]
        for other in others:
            keys += [other._key, *other._previous]
        return MasterKey(self._key, list(dict.fromkeys(keys)))

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes) -> bytes:
        if len(sealed) < 1 + 12 + 16 or sealed[:1] != _VERSION:
            raise SecretError("sealed value has an unknown format")
        for aead in (self._aead, *self._fallbacks):
            try:
                return aead.decrypt(sealed[1:13], sealed[13:], associated)
            except InvalidTag:
                continue
        raise SecretError("sealed value does not open under this master key")

    def derive(self, info: bytes) -> DerivedKey:
        """An AES-256-GCM key derived (HKDF-SHA256, `info`) from this key, which also
        opens what the keys derived from the previous keys sealed."""
        return DerivedKey([_hkdf(k, info) for k in (self._key, *self._previous)])

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKey:
        """Read the key file, or create it (mode 0600) with a fresh random key."""
        path.parent.mkdir(parents=True, exist_ok=True)
        create_file_once(path, secrets.token_bytes(KEY_BYTES))
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> MasterKey:
        key = parse_key(path.read_bytes())
        if key is None:
            raise SecretError(
                f"{path} does not hold a 32-byte key (raw bytes, or their base64 or hex text)"
            )
        return cls(key)


class DerivedKey:
    """AESGCM's `encrypt` and `decrypt` over a derived key: encrypts under the current
    key's, decrypts under any (InvalidTag when none opens)."""

    def __init__(self, keys: list[bytes]) -> None:
        self._aeads = [AESGCM(k) for k in keys]

    def encrypt(self, nonce: bytes, data: bytes, associated: bytes | None) -> bytes:
        return self._aeads[0].encrypt(nonce, data, associated)

    def decrypt(self, nonce: bytes, data: bytes, associated: bytes | None) -> bytes:
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, data, associated)
            except InvalidTag:
                continue
        raise InvalidTag()


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(key)


def _key_id(key: bytes) -> str:
    return _hkdf(key, _KEY_ID_INFO)[:8].hex()


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
