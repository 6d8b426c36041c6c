"""App webhook signatures: Stripe, GitHub and Slack shapes, with vectors computed here from
each provider's documented recipe (not with the code under test)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from weft.apps.catalog import shipped_definitions
from weft.apps.signatures import SignatureRejected, sign, verify
from weft.apps.trigger_model import SecretSource, Signature

pytestmark = pytest.mark.unit

SECRET = "whsec_test_5ecret"
BODY = b'{"id": "evt_1", "type": "charge.succeeded", "amount": 1200}'
NOW = 1_760_000_000


def shipped_trigger(slug: str, name: str) -> Signature:
    trigger = shipped_definitions()[slug].trigger(name)
    assert trigger is not None and trigger.kind == "webhook" and trigger.signature is not None
    return trigger.signature


def _hmac_hex(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_stripe_signature_over_timestamp_and_body_is_accepted() -> None:
    signature = shipped_trigger("stripe", "event")
    v1 = _hmac_hex(f"{NOW}.".encode() + BODY)
    header = f"t={NOW},v1={v1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    verify(signature, SECRET, BODY, {"stripe-signature": header}, at=NOW + 10)


def test_stripe_accepts_any_of_several_v1_signatures_during_a_secret_roll() -> None:
    signature = shipped_trigger("stripe", "event")
    good = _hmac_hex(f"{NOW}.".encode() + BODY)
    header = f"t={NOW},v1={'0' * 64},v1={good}"
    verify(signature, SECRET, BODY, {"stripe-signature": header}, at=NOW)


@pytest.mark.parametrize(
    ("header", "at", "reason"),
    [
        (None, NOW, "missing"),
        (f"t={NOW}", NOW, "no signature"),
        (f"v1={'a' * 64}", NOW, "no timestamp"),
        (f"t=soon,v1={'a' * 64}", NOW, "not a number"),
        (f"t={NOW},v1={'a' * 64}", NOW, "does not match"),
        ("t={now},v1={sig}", NOW + 301, "more than 300 s"),
    ],
)
def test_stripe_refuses_what_is_missing_wrong_or_stale(
    header: str | None, at: int, reason: str
) -> None:
    signature = shipped_trigger("stripe", "event")
    if header is not None:
        header = header.format(now=NOW, sig=_hmac_hex(f"{NOW}.".encode() + BODY))
    headers = {} if header is None else {"stripe-signature": header}
    with pytest.raises(SignatureRejected, match=reason):
        verify(signature, SECRET, BODY, headers, at=at)


def test_stripe_refuses_a_body_changed_after_signing() -> None:
    signature = shipped_trigger("stripe", "event")
    header = f"t={NOW},v1={_hmac_hex(f'{NOW}.'.encode() + BODY)}"
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(
            signature, SECRET, BODY.replace(b"1200", b"9999"), {"stripe-signature": header}, at=NOW
        )


def test_github_sha256_header_over_the_raw_body() -> None:
    signature = shipped_trigger("github", "repository_event")
    # GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!"
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert _hmac_hex(b"Hello, World!", "It's a Secret to Everybody") == expected
    headers = {"x-hub-signature-256": f"sha256={expected}"}
    verify(signature, "It's a Secret to Everybody", b"Hello, World!", headers, at=NOW)
    with pytest.raises(SignatureRejected, match="no signature"):
        verify(signature, "It's a Secret to Everybody", b"Hello, World!",
               {"x-hub-signature-256": expected}, at=NOW)  # fmt: skip
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(signature, "another secret", b"Hello, World!", headers, at=NOW)


def test_slack_v0_signature_with_its_timestamp_header() -> None:
    signature = shipped_trigger("slack", "event")
    body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather"
    stamp = str(NOW)
    good = "v0=" + _hmac_hex(b"v0:" + stamp.encode() + b":" + body)
    headers = {"x-slack-signature": good, "x-slack-request-timestamp": stamp}
    verify(signature, SECRET, body, headers, at=NOW + 299)
    with pytest.raises(SignatureRejected, match="more than 300 s"):
        verify(signature, SECRET, body, headers, at=NOW - 301)
    with pytest.raises(SignatureRejected, match="no timestamp"):
        verify(signature, SECRET, body, {"x-slack-signature": good}, at=NOW)


def test_plain_hmac_in_base64_over_the_body() -> None:
    signature = Signature(
        header="X-Signature", encoding="base64", secret=SecretSource(connection_field="s")
    )
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    verify(signature, SECRET, BODY, {"x-signature": base64.b64encode(digest).decode()}, at=NOW)
    assert sign(signature, SECRET, BODY) == base64.b64encode(digest).decode()


def test_a_signed_template_must_name_the_body_and_only_known_fields() -> None:
    with pytest.raises(ValueError, match="must name"):
        Signature(header="x", signed="{timestamp}", secret=SecretSource(connection_field="s"))
    with pytest.raises(ValueError, match="timestamp_header"):
        Signature(
            header="x",
            signed="{timestamp}.{body}",
            secret=SecretSource(org_setting="webhook_secret"),
        )
    with pytest.raises(ValueError, match="exactly one"):
        SecretSource(connection_field="s", subscription=True)
