"""Signing secrets: generated per subscription, sealed at rest (weft.crypto), used for HMACs.

The secret must be recoverable to sign each delivery, so it is sealed, not hashed, under a key
of this feature's own purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from weft.crypto import SecretBox, SecretUnreadable
from weft.settings import Settings

SECRET_PREFIX = "whsec_"
SIGNING_PURPOSE = b"weft notification signing secrets v1"

__all__ = ["SecretBox", "SecretUnreadable", "new_signing_secret", "sign", "signing_box"]


def new_signing_secret() -> str:
    """A fresh random signing secret, shown once to the org."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """Refold's `x-cobalt-signature`: hex HMAC-SHA256 of the raw body under the secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signing_box(settings: Settings) -> SecretBox:
    """The box that seals and opens notification signing secrets."""
    return SecretBox.from_settings(settings, purpose=SIGNING_PURPOSE)
