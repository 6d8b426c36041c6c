"""Sealing short secrets at rest: AES-256-GCM under keys derived from the deployment's secret.

Every feature that stores a recoverable secret (notification signing secrets, app connection
credentials) seals it here. Each feature derives its own key with HKDF-SHA256 from the one
deployment secret (`WEFT_SECRET_KEY`) under a purpose label of its own, so no two features ever
share a key. Without the setting, a random secret is generated once into `data_dir/secret_key`
(file mode 0600); deployments with several hosts must set `WEFT_SECRET_KEY` so that every
process can open what another sealed.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from weft.settings import Settings

KEY_FILE = "secret_key"
_SEALED_PREFIX = "v1."
_NONCE_BYTES = 12


class SecretUnreadable(Exception):
    """A sealed secret does not open with this key (the secret key changed, or the row did)."""


class SecretBox:
    """Seals and opens short strings with AES-GCM, each bound to a context (the row's id)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings, *, purpose: bytes) -> SecretBox:
        """The box for one feature (`purpose`), keyed from the deployment's secret."""
        return cls(derive_key(deployment_secret(settings), purpose))

    def seal(self, plaintext: str, *, context: str) -> str:
        """Encrypt `plaintext`; the result opens only with the same key and context."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, context: str) -> str:
        """Decrypt what `seal` produced; raises SecretUnreadable on any mismatch."""
        if not sealed.startswith(_SEALED_PREFIX):
            raise SecretUnreadable("unknown sealed-secret format")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_SEALED_PREFIX) :])
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError) as error:
            raise SecretUnreadable("the sealed secret cannot be decrypted") from error
        return plain.decode()


@functools.lru_cache(maxsize=16)
def derive_key(material: str, purpose: bytes) -> bytes:
    """A 256-bit key for `purpose` from the deployment secret (HKDF-SHA256)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
    return hkdf.derive(material.encode())


def deployment_secret(settings: Settings) -> str:
    """`settings.secret_key`, or the key file in `data_dir` (created on first use)."""
    return settings.secret_key or _read_or_create_key_file(settings.data_dir)


def _read_or_create_key_file(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Write aside, then link into place: link fails if another process won the race, and
        # no reader ever sees a half-written key.
        temp = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(os.urandom(32)).decode())
        try:
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
        finally:
            temp.unlink()
    return path.read_text().strip()
