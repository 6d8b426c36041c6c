"""Random credentials and their stored form: only SHA-256 hashes ever reach the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = {"test": "weft_test_", "production": "weft_live_"}
TOKEN_PREFIX = "wst_"


def hash_secret(raw: str) -> str:
    """The stored form of an API key or token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def same_hash(stored: str, raw: str) -> bool:
    """Constant-time check that `raw` hashes to `stored`."""
    return hmac.compare_digest(stored, hash_secret(raw))


def new_api_key(environment: str) -> str:
    """A fresh API key; its prefix tells the environment at a glance."""
    return KEY_PREFIX[environment] + secrets.token_urlsafe(32)


def new_session_token() -> str:
    """A fresh opaque session token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)
