"""Reading Prometheus samples in tests: an absent series reads as 0, as a scrape would graph it."""

from __future__ import annotations

from pipeline.observability import Metrics


def val(m: Metrics, name: str, **labels: str) -> float:
    v = m.registry.get_sample_value(name, labels or None)
    return 0.0 if v is None else v
