"""observability.metrics.LoopHistogram exposes what prometheus_client's Histogram would."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from weft.observability.metrics import LoopHistogram

pytestmark = pytest.mark.unit

BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300)
# On a bound, between bounds, past the last, zero, and under another label set.
OBSERVED = [
    (("transform", "succeeded"), 0.005),
    (("transform", "succeeded"), 0.0031),
    (("transform", "succeeded"), 400.0),
    (("transform", "succeeded"), 0.0),
    (("http", "failed"), 1.0),
    (("http", "failed"), 12.5),
]


def _exposed(registry: CollectorRegistry) -> list[str]:
    return [
        line
        for line in generate_latest(registry).decode().splitlines()
        if not line.startswith("#") and "_created" not in line
    ]


@pytest.mark.parametrize("buckets", [BUCKETS, Histogram.DEFAULT_BUCKETS])
def test_the_same_lines_as_prometheus_clients_histogram(buckets: tuple[float, ...]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop = LoopHistogram("step_s", "Steps.", ["node_type", "status"], buckets, registry=ours)
    reference = Histogram(
        "step_s", "Steps.", ["node_type", "status"], buckets=buckets, registry=theirs
    )
    for labels, value in OBSERVED:
        loop.observe(labels, value)
        reference.labels(*labels).observe(value)
    assert sorted(_exposed(ours)) == sorted(_exposed(theirs))
    assert any(
        'le="+Inf",node_type="transform"' in line and line.endswith(" 4.0")
        for line in _exposed(ours)
    )
