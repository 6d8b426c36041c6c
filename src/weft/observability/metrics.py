"""Prometheus metrics: HTTP latencies, steps, ended runs, rate-limit hits, the queue's state.

Counters and histograms count what this process did. The queue's depth and age, the number
of active runs and today's usage are read from the database at scrape time, so every process
reports the same, whole-deployment figures for them however many API and worker processes run.
No label names an org, account or workflow (their number is unbounded): usage per tenant is the
usage API's (`GET /api/v2/public/usage`), not Prometheus'.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from weft.clock import now
from weft.store.tables import USAGE_COUNTS, Execution, UsageDaily

REGISTRY = CollectorRegistry()
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LoopHistogram(Collector):
    """A labelled histogram observed on the event loop's thread only, in plain numbers: counts
    per bucket and a sum per label set, made Prometheus families at scrape time.

    For the observations every request and every step makes: prometheus_client's `Histogram`
    takes a lock for its sum and one for the bucket found by a loop over the bounds, and its
    `labels()` a third, ~2 % of a five-step run's CPU. One thread observes (the event loop's),
    so nothing here can be interleaved.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, list(labelnames)
        self.bounds = (*(float(b) for b in buckets if b != math.inf), math.inf)
        # Label values -> one count per bucket (not cumulative), then the sum.
        self._series: dict[tuple[str, ...], list[float]] = {}
        registry.register(self)

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        """Count `value` under `labels` (one value per label name, in order)."""
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = [0] * len(self.bounds) + [0.0]
        series[bisect_left(self.bounds, value)] += 1  # the first bound >= value: `le`
        series[-1] += value

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, series in list(self._series.items()):
            counts, total = series[:-1], series[-1]
            cumulative, buckets = 0, []
            for bound, count in zip(self.bounds, counts, strict=True):
                cumulative += int(count)
                buckets.append(("+Inf" if bound == math.inf else repr(bound), cumulative))
            family.add_metric(list(labels), buckets, total)
        yield family

    def describe(self) -> list[HistogramMetricFamily]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]


HTTP_LATENCY = LoopHistogram(
    "weft_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template (never the raw path).",
    ["method", "route", "status"],
)
STEP_DURATION = LoopHistogram(
    "weft_step_duration_seconds",
    "Time one workflow step took, by node type and outcome.",
    ["node_type", "status"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)
CLAIM_LATENCY = Histogram(
    "weft_claim_latency_seconds",
    "Time from a run being due (queued, woken, or its lease expired) to a worker claiming it.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
RUNS_ENDED = Counter(
    "weft_runs_ended", "Runs that reached a terminal status.", ["status"], registry=REGISTRY
)
RATE_LIMITED = Counter(
    "weft_rate_limited", "Requests refused with 429, by limit.", ["limit"], registry=REGISTRY
)
DIRECT_ACTIONS = Histogram(
    "weft_direct_action_duration_seconds",
    "Time one direct app action took (the integration-schema API or an MCP tool), by source and "
    "outcome (success, failed: the app answered an error, error: not called or not reached).",
    ["source", "status"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
ACTIVE_RUNS = Gauge(
    "weft_active_runs", "Runs queued, running or waiting (database).", ["status"], registry=REGISTRY
)
QUEUE_DEPTH = Gauge(
    "weft_queue_depth", "Runs due now and not yet claimed (database).", registry=REGISTRY
)
QUEUE_AGE = Gauge(
    "weft_queue_oldest_age_seconds",
    "How long the oldest due, unclaimed run has been due (database).",
    registry=REGISTRY,
)

USAGE_TODAY = Gauge(
    "weft_usage_today",
    "What runs that ended today (UTC) used, all orgs together, by count: runs, steps, "
    "action_calls, code_ms (database).",
    ["count"],
    registry=REGISTRY,
)
QUOTA_REFUSALS = Counter(
    "weft_quota_refusals",
    "Starts refused with 429 QUOTA_EXCEEDED, by quota.",
    ["quota"],
    registry=REGISTRY,
)


def observe_quota_refused(quota: str) -> None:
    """Count one start refused past a quota (one of the four names: a bounded label)."""
    QUOTA_REFUSALS.labels(quota).inc()


def observe_step(node_type: str, status: str, seconds: float) -> None:
    """Count one step's duration."""
    STEP_DURATION.observe((node_type, status), max(seconds, 0.0))


def observe_claim_latency(due_at: datetime | None, claimed_at: datetime) -> None:
    """Count one claim: how long the run had been due when a worker took it."""
    if due_at is not None:
        CLAIM_LATENCY.observe(_age_s(due_at, claimed_at))


def observe_run_ended(status: str) -> None:
    """Count one run's end."""
    child = _ENDED_CHILDREN.get(status)
    if child is None:  # labels() costs a lock and a lookup: done once per status
        child = _ENDED_CHILDREN[status] = RUNS_ENDED.labels(status)
    child.inc()


_ENDED_CHILDREN: dict[str, Any] = {}


def observe_direct_action(source: str, status: str, seconds: float) -> None:
    """Count one direct action call (`source`: api or mcp)."""
    DIRECT_ACTIONS.labels(source, status).observe(max(seconds, 0.0))


def observe_rate_limited(limit: str) -> None:
    """Count one 429."""
    RATE_LIMITED.labels(limit).inc()


async def _read_queue(db: Any) -> None:
    moment = now()
    async with db.reading() as session:
        by_status = (
            await session.execute(
                select(Execution.status, func.count())
                .where(Execution.due_at.is_not(None))
                .group_by(Execution.status)
            )
        ).all()
        depth, oldest = (
            await session.execute(
                select(func.count(), func.min(Execution.due_at)).where(
                    Execution.due_at.is_not(None),
                    Execution.due_at <= moment,
                    Execution.status == "queued",
                )
            )
        ).one()
    for status in ("queued", "running", "waiting"):
        ACTIVE_RUNS.labels(status).set(0)
    for status, count in by_status:
        ACTIVE_RUNS.labels(status).set(count)
    QUEUE_DEPTH.set(depth or 0)
    QUEUE_AGE.set(_age_s(oldest, moment))
    today = moment.date().isoformat()
    async with db.reading() as session:
        sums = [func.sum(getattr(UsageDaily, count)) for count in USAGE_COUNTS]
        used = (await session.execute(select(*sums).where(UsageDaily.day == today))).one()
    for count, value in zip(USAGE_COUNTS, used, strict=True):
        USAGE_TODAY.labels(count).set(value or 0)


def _age_s(oldest: datetime | None, moment: datetime) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=moment.tzinfo)
    return max((moment - oldest).total_seconds(), 0.0)


async def exposition(db: Any) -> bytes:
    """The metrics page: the database-derived gauges refreshed, then every metric."""
    await _read_queue(db)
    return bytes(generate_latest(REGISTRY))
