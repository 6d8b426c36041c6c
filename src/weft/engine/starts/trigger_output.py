"""What a start node outputs (`trigger` in expressions), per kind of trigger.

One place, so live runs and test runs of the same workflow see the same shape:
- manual (execute API) and event: the payload as sent;
- webhook: `{body, query, headers, method}` of the inbound request (credential headers removed);
- schedule: `{scheduled_at}` (the tick, ISO 8601).
- app (engine.starts.app_triggers): the polled item, or the app's delivery (its JSON body).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from weft.clock import isoformat, now


def webhook_output(
    body: Any, *, query: dict[str, str], headers: dict[str, str], method: str
) -> dict[str, Any]:
    """A webhook trigger's output for one inbound request."""
    return {"body": body, "query": query, "headers": headers, "method": method}


def schedule_output(tick: datetime) -> dict[str, Any]:
    """A schedule trigger's output for one tick."""
    return {"scheduled_at": isoformat(tick)}


def sample_output(trigger: str, sample: Any) -> Any:
    """The output a test run's start node gives for a sample (a webhook's sample is the body)."""
    if trigger == "webhook":
        return webhook_output(
            sample, query={}, headers={"content-type": "application/json"}, method="POST"
        )
    if trigger == "schedule":
        return schedule_output(now())
    return sample
