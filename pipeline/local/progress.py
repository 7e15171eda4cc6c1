"""Per-document timelines from status events: where the time goes, stage by stage (pure)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.local.tracker import Tracker


@dataclass
class Timeline:
    submitted_at: datetime | None = None
    stages: dict[str, datetime] = field(default_factory=dict)  # stage -> first "done"/terminal status time


@dataclass
class Timelines:
    tracker: Tracker = field(default_factory=Tracker)
    docs: dict[str, Timeline] = field(default_factory=dict)

    def expect(self, document_id: str) -> None:
        self.tracker.expect(document_id)
        self.docs.setdefault(document_id, Timeline())

    def observe(self, status_event: dict[str, Any]) -> None:
        doc = status_event.get("document_id")
        if doc not in self.docs:
            return
        self.tracker.observe(status_event)
        p = status_event["payload"]
        tl = self.docs[doc]
        if tl.submitted_at is None and status_event.get("submitted_at"):
            tl.submitted_at = datetime.fromisoformat(status_event["submitted_at"])
        if p["state"] in ("done", "dead_lettered", "approved", "rejected", "exception"):
            tl.stages.setdefault(p["stage"], datetime.fromisoformat(status_event["created_at"]))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summarize(timelines: Timelines, order: list[str], decision_stage: str = "gate") -> dict[str, Any]:
    """Latency from submit to decision (p50/p95) and the median time spent reaching each stage."""
    latencies: list[float] = []
    per_stage: dict[str, list[float]] = {s: [] for s in order}
    for tl in timelines.docs.values():
        if tl.submitted_at is None:
            continue
        if decision_stage in tl.stages:
            latencies.append((tl.stages[decision_stage] - tl.submitted_at).total_seconds())
        prev = tl.submitted_at
        for stage in order:
            if stage in tl.stages:
                per_stage[stage].append((tl.stages[stage] - prev).total_seconds())
                prev = tl.stages[stage]
    return {
        "decided": len(latencies),
        "latency_s": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
                      "max": max(latencies) if latencies else float("nan")},
        "stage_s": {s: {"median": statistics.median(v) if v else float("nan"),
                        "p95": percentile(v, 0.95), "count": len(v)} for s, v in per_stage.items()},
        "outcomes": timelines.tracker.counts(),
    }
