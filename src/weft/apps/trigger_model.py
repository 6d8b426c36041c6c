"""App triggers as an app definition declares them: polling a list action, or receiving webhooks.

`AppDefinition.triggers` holds them (apps.model); what they do at run time lives in
`apps/polling.py` (which items are new), `apps/signatures.py` (is a delivery genuine) and
`engine/starts/app_triggers.py` (the poller, subscriptions, starting runs).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TRIGGER_NAME = r"^[a-z][a-z0-9_]{0,99}$"
# A dotted path into a JSON document: `data`, `results.items`; empty or `$`: the document.
DOTTED_PATH = r"^([A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*)?$"
# Below this a poll per workflow would hammer the app's API (and its rate limit) for nothing.
MIN_POLL_INTERVAL_S = 30
_SIGNED_FIELDS = re.compile(r"\{(\w+)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PollingTrigger(_Strict):
    """New items of a list action, found by a dedupe key and/or an increasing cursor field."""

    kind: Literal["polling"] = "polling"
    name: str = Field(pattern=TRIGGER_NAME)
    label: str
    description: str = ""
    action: str  # a read action of the same app that lists items, newest or oldest first
    params: dict[str, Any] = Field(default_factory=dict)  # fixed parameters of every poll
    items: str = Field("", pattern=DOTTED_PATH)  # where the list is in the response
    dedupe_key: str | None = Field(None, pattern=DOTTED_PATH, min_length=1)
    # An item field that only grows (`updated_at`, a numeric id); its largest value seen is
    # sent as `cursor_param` on the next poll when that is set.
    cursor: str | None = Field(None, pattern=DOTTED_PATH, min_length=1)
    cursor_param: str | None = None
    interval_s: int = Field(300, ge=MIN_POLL_INTERVAL_S, le=86_400)
    output: dict[str, Any] = Field(default_factory=dict)  # one item's shape, for the editor

    @model_validator(mode="after")
    def _finds_new_items(self) -> PollingTrigger:
        if self.dedupe_key is None and self.cursor is None:
            raise ValueError(f"polling trigger {self.name}: declare a dedupe_key or a cursor")
        if self.cursor_param is not None and self.cursor is None:
            raise ValueError(f"polling trigger {self.name}: cursor_param needs a cursor")
        return self


class SecretSource(_Strict):
    """Where a webhook's signing secret is: exactly one of the three."""

    # A field of the linked account's connection (e.g. Stripe's `webhook_secret`).
    connection_field: str | None = None
    # The org's app settings (`PUT /application/{slug}/settings {"webhook_secret": ...}`),
    # for secrets of the org's own registration with the provider (Slack's signing secret).
    org_setting: Literal["webhook_secret"] | None = None
    # The subscription: Weft makes a random secret and passes it to the subscribe action
    # (`subscribe.secret_param`), or takes the one the subscribe call answers
    # (`subscribe.secret_path`).
    subscription: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        chosen = [self.connection_field is not None, self.org_setting is not None]
        if sum([*chosen, self.subscription]) != 1:
            raise ValueError(
                "secret: name exactly one of connection_field, org_setting, subscription"
            )
        return self


class Signature(_Strict):
    """HMAC-SHA256 over the raw body, or over `signed` (a template of `{body}`, `{timestamp}`).

    `format: stripe` reads the header as `t=<timestamp>,v1=<sig>[,v1=<sig>]`; `plain` takes it
    whole after `prefix` (GitHub's `sha256=`, Slack's `v0=`) with the timestamp, if any, from
    `timestamp_header`. A timestamp older or newer than `tolerance_s` is refused (replays).
    """

    scheme: Literal["hmac_sha256"] = "hmac_sha256"
    header: str
    format: Literal["plain", "stripe"] = "plain"
    prefix: str = ""
    encoding: Literal["hex", "base64"] = "hex"
    signed: str = "{body}"
    timestamp_header: str | None = None
    tolerance_s: int = Field(300, ge=1)
    secret: SecretSource

    @model_validator(mode="after")
    def _timestamp_known(self) -> Signature:
        fields = set(_SIGNED_FIELDS.findall(self.signed))
        if not fields <= {"body", "timestamp"} or "body" not in fields:
            raise ValueError("signed must name {body} and may name {timestamp}, nothing else")
        if "timestamp" in fields and self.format == "plain" and not self.timestamp_header:
            raise ValueError("a signed {timestamp} needs timestamp_header (or format: stripe)")
        return self


class Subscription(_Strict):
    """Actions that register Weft's URL with the app on publish and remove it on unpublish."""

    action: str
    params: dict[str, Any] = Field(default_factory=dict)  # fixed parameters
    url_param: str  # the parameter that carries the webhook URL (a dotted path: `config.url`)
    secret_param: str | None = None  # where Weft's generated secret goes (dotted path)
    id_path: str = Field("id", pattern=DOTTED_PATH)  # the new subscription's id in the answer
    secret_path: str | None = Field(None, pattern=DOTTED_PATH)  # a secret the answer holds
    unsubscribe_action: str | None = None
    unsubscribe_id_param: str = "id"
    # Parameters the user gives in the trigger node (`owner`, `repo`) that these actions need.
    user_params: list[str] = Field(default_factory=list)


class Handshake(_Strict):
    """A delivery that proves the URL instead of reporting an event (Slack's
    `url_verification`): it is checked like any delivery, then answered 200 with
    `{<answer>: body[answer]}`, and starts no run."""

    path: str = Field(pattern=DOTTED_PATH, min_length=1)  # where the delivery says its type
    equals: str  # the type that marks the handshake
    answer: str = Field(pattern=DOTTED_PATH, min_length=1)  # the body field echoed back


class WebhookTrigger(_Strict):
    """Deliveries the app sends to a URL per workflow, checked by a declared signature."""

    kind: Literal["webhook"] = "webhook"
    name: str = Field(pattern=TRIGGER_NAME)
    label: str
    description: str = ""
    signature: Signature | None = None  # None: the URL's secret token is the only check
    # Where a delivery's unique id is: a header (`X-GitHub-Delivery`) or a body path (`id`);
    # a redelivered event with the same id starts no second run.
    event_id_header: str | None = None
    event_id_path: str | None = Field(None, pattern=DOTTED_PATH, min_length=1)
    subscribe: Subscription | None = None
    handshake: Handshake | None = None
    output: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _secret_has_a_source(self) -> WebhookTrigger:
        if self.signature and self.signature.secret.subscription:
            sub = self.subscribe
            if sub is None or (sub.secret_param is None and sub.secret_path is None):
                raise ValueError(
                    f"webhook trigger {self.name}: a subscription secret needs subscribe with "
                    "secret_param or secret_path"
                )
        return self


AppTrigger = Annotated[PollingTrigger | WebhookTrigger, Field(discriminator="kind")]


def trigger_problems(
    triggers: list[PollingTrigger | WebhookTrigger], actions: set[str]
) -> list[str]:
    """What is wrong with an app's triggers given its action names (empty: nothing)."""
    problems = []
    names = [trigger.name for trigger in triggers]
    problems += [f"duplicate trigger name {n!r}" for n in sorted(set(names)) if names.count(n) > 1]
    for trigger in triggers:
        used = []
        if isinstance(trigger, PollingTrigger):
            used.append(trigger.action)
        elif trigger.subscribe is not None:
            used += [trigger.subscribe.action, trigger.subscribe.unsubscribe_action]
        problems += [
            f"trigger {trigger.name} names unknown action {name!r}"
            for name in used
            if name is not None and name not in actions
        ]
    return problems
