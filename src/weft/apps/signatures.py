"""Checking an app webhook delivery's signature as its definition declares (pure: no I/O).

The three common shapes are one scheme with options (apps.trigger_model.Signature):
- Stripe: `Stripe-Signature: t=<ts>,v1=<hex>` over `{timestamp}.{body}`;
- GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body;
- Slack: `X-Slack-Signature: v0=<hex>` over `v0:{timestamp}:{body}`, the timestamp in
  `X-Slack-Request-Timestamp`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from weft.apps.trigger_model import Signature


class SignatureRejected(ValueError):
    """A delivery whose signature is missing, malformed, stale or wrong (the reason says which)."""


def sign(signature: Signature, secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The signature value (without prefix) `secret` gives `body` under this declaration."""
    text = signature.signed.replace("{timestamp}", timestamp or "")
    before, _, after = text.partition("{body}")
    message = before.encode() + body + after.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    if signature.encoding == "base64":
        return base64.b64encode(digest).decode()
    return digest.hex()


def _candidates(signature: Signature, header: str) -> tuple[list[str], str | None]:
    """The signatures a header offers and the timestamp it carries (format: stripe)."""
    if signature.format == "stripe":
        pairs = [part.strip().partition("=") for part in header.split(",")]
        stamps = [value for key, _, value in pairs if key == "t"]
        offered = [value for key, _, value in pairs if key == "v1"]
        return offered, stamps[0] if stamps else None
    if not header.startswith(signature.prefix):
        return [], None
    return [header[len(signature.prefix) :].strip()], None


def verify(
    signature: Signature,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    at: float,
) -> None:
    """Raise SignatureRejected unless `body` and `headers` carry a valid, fresh signature.

    `headers` are keyed in lower case; `at` is now, in Unix seconds.
    """
    header = headers.get(signature.header.lower())
    if not header:
        raise SignatureRejected(f"the {signature.header} header is missing")
    offered, timestamp = _candidates(signature, header)
    if not offered:
        raise SignatureRejected(f"the {signature.header} header holds no signature")
    if signature.timestamp_header:
        timestamp = headers.get(signature.timestamp_header.lower())
    if "{timestamp}" in signature.signed:
        if not timestamp:
            raise SignatureRejected("the delivery carries no timestamp")
        try:
            stamp = int(timestamp)
        except ValueError:
            raise SignatureRejected("the delivery's timestamp is not a number") from None
        if abs(at - stamp) > signature.tolerance_s:
            raise SignatureRejected(
                f"the delivery's timestamp is more than {signature.tolerance_s} s from now"
            )
    expected = sign(signature, secret, body, timestamp)
    # compare_digest: how much of a guess matches must not show in the time it takes.
    if not any(hmac.compare_digest(expected.encode(), value.encode()) for value in offered):
        raise SignatureRejected("the signature does not match")
