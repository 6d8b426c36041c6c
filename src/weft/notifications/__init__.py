"""Org notification webhooks: subscriptions, the delivery outbox and its dispatcher."""

from weft.notifications.crypto import SecretBox, sign, signing_box
from weft.notifications.dispatcher import SIGNATURE_HEADER, NotificationDispatcher
from weft.notifications.events import (
    EMITTED,
    EVENTS,
    WORKFLOW_COMPLETED,
    WORKFLOW_ERRORED,
    WORKFLOW_PAUSED,
)
from weft.notifications.outbox import (
    enqueue_run_notifications,
    notify_run_finished,
    run_deliveries,
    wants_run_notifications,
)

__all__ = [
    "EMITTED",
    "EVENTS",
    "SIGNATURE_HEADER",
    "WORKFLOW_COMPLETED",
    "WORKFLOW_ERRORED",
    "WORKFLOW_PAUSED",
    "NotificationDispatcher",
    "SecretBox",
    "enqueue_run_notifications",
    "notify_run_finished",
    "run_deliveries",
    "sign",
    "signing_box",
    "wants_run_notifications",
]
