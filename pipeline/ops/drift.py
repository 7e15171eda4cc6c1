"""Drift report: confidence and straight-through rate per time window, flagging drops against a baseline.

A model or a supplier's new invoice layout rarely fails loudly: fields come out with lower confidence,
more documents fall to review, and the straight-through rate sinks over days. This report makes that
visible from the events the pipeline already writes.

Input records (JSON lines), recognised by shape:
- decided events (`docs.decided` envelopes): outcome -> straight-through; field confidences -> confidence;
- status events (`docs.status` envelopes) of terminal states: `approved` by the gate counts as
  straight-through, `exception`/`rejected` as not; approvals by later stages (after review) are skipped,
  because their document was already counted when it became an exception;
- flat records `{"at": ISO time, "outcome" | "straight_through": ..., "confidence": 0..1}`.
A window is flagged when its rate (or mean confidence) is lower than the baseline's by at least the
threshold AND the drop is statistically clear (one-sided z >= z_min), so small windows do not cry wolf.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

STRAIGHT_THROUGH = "auto_approved"


class DriftInputError(ValueError):
    """A line of the input cannot be read (one line, names the line number, never the content)."""


@dataclass(frozen=True)
class Observation:
    at: datetime
    straight_through: bool | None
    confidence: float | None
    kind: str | None = None


@dataclass
class WindowStats:
    start: datetime
    end: datetime
    documents: int = 0
    decided: int = 0
    straight_through: int = 0
    confidence_n: int = 0
    confidence_sum: float = 0.0
    confidence_sq: float = 0.0
    flags: list[str] = field(default_factory=list)
    stp_drop: float | None = None
    stp_z: float | None = None
    confidence_drop: float | None = None
    confidence_z: float | None = None

    @property
    def stp_rate(self) -> float | None:
        return self.straight_through / self.decided if self.decided else None

    @property
    def confidence_mean(self) -> float | None:
        return self.confidence_sum / self.confidence_n if self.confidence_n else None

    @property
    def confidence_var(self) -> float | None:
        if self.confidence_n < 2:
            return None
        mean = self.confidence_sum / self.confidence_n
        return max(self.confidence_sq / self.confidence_n - mean * mean, 0.0) * self.confidence_n / (
            self.confidence_n - 1)

    def add(self, obs: Observation) -> None:
        self.documents += 1
        if obs.straight_through is not None:
            self.decided += 1
            self.straight_through += int(obs.straight_through)
        if obs.confidence is not None:
            self.confidence_n += 1
            self.confidence_sum += obs.confidence
            self.confidence_sq += obs.confidence * obs.confidence

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("confidence_sum", "confidence_sq")}
        d.update(start=self.start.isoformat(), end=self.end.isoformat(),
                 stp_rate=_round(self.stp_rate), confidence_mean=_round(self.confidence_mean))
        for k in ("stp_drop", "stp_z", "confidence_drop", "confidence_z"):
            d[k] = _round(d[k])
        return d


@dataclass(frozen=True)
class DriftOptions:
    window: timedelta = timedelta(hours=1)
    baseline_windows: int = 1
    stp_threshold: float = 0.10  # absolute drop in straight-through rate (0.10 = 10 points)
    confidence_threshold: float = 0.05  # absolute drop in mean document confidence
    min_count: int = 20  # windows with fewer decided documents are reported, never flagged
    z_min: float = 1.645  # one-sided 95 %


@dataclass
class DriftReport:
    options: DriftOptions
    baseline: WindowStats | None
    windows: list[WindowStats]
    records: int
    skipped: int

    @property
    def drift(self) -> bool:
        return any(w.flags for w in self.windows)

    def to_dict(self) -> dict[str, Any]:
        o = self.options
        return {
            "drift": self.drift, "records": self.records, "skipped": self.skipped,
            "options": {"window_s": o.window.total_seconds(), "baseline_windows": o.baseline_windows,
                        "stp_threshold": o.stp_threshold, "confidence_threshold": o.confidence_threshold,
                        "min_count": o.min_count, "z_min": o.z_min},
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "windows": [w.to_dict() for w in self.windows],
        }


def _round(v: float | None, nd: int = 4) -> float | None:
    return None if v is None else round(v, nd)


# ------------------------------------------------------------------------------------------ parsing
def parse_duration(text: str) -> timedelta:
    """'15m', '1h', '6h', '1d', '30s' -> timedelta."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not m:
        raise ValueError(f"invalid duration {text!r} (examples: 30m, 1h, 1d)")
    value = float(m.group(1))
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
    delta = timedelta(**{unit: value})
    if delta.total_seconds() <= 0:
        raise ValueError("duration must be positive")
    return delta


_EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _time(value: Any) -> datetime | None:
    """ISO 8601 text or epoch seconds/milliseconds -> aware UTC datetime; None when not a sane time."""
    dt: datetime | None = None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            secs = value / 1000 if abs(value) > 1e11 else value  # epoch ms or s
            dt = datetime.fromtimestamp(secs, UTC)
        elif isinstance(value, str) and len(value) <= 64:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            dt = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if dt is None or not _EARLIEST <= dt < _LATEST:
        return None
    return dt


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) and 0.0 <= v <= 1.0 else None


def document_confidence(fields: Any) -> float | None:
    """Mean confidence of the valid, present fields of a normalized document (None if there are none)."""
    if not isinstance(fields, dict):
        return None
    values = []
    for f in fields.values():
        if not isinstance(f, dict) or f.get("value") is None or f.get("valid") is False:
            continue
        c = _confidence(f.get("confidence"))
        if c is not None:
            values.append(c)
    return sum(values) / len(values) if values else None


def parse_record(obj: Any) -> Observation | None:
    """One input record -> Observation, or None when the record carries no drift signal."""
    if not isinstance(obj, dict):
        return None
    payload = obj.get("payload")
    if isinstance(payload, dict):
        at = _time(obj.get("created_at")) or _time(obj.get("submitted_at"))
        if at is None:
            return None
        if "outcome" in payload and "document" in payload:  # docs.decided
            raw_doc = payload.get("document")
            doc: dict[str, Any] = raw_doc if isinstance(raw_doc, dict) else {}
            kind = doc.get("kind") if isinstance(doc.get("kind"), str) else None
            return Observation(at, payload["outcome"] == STRAIGHT_THROUGH,
                               document_confidence(doc.get("fields")), kind)
        state, stage = payload.get("state"), payload.get("stage")
        if state in ("exception", "rejected"):  # docs.status
            return Observation(at, False, None)
        if state == "approved" and stage == "gate":
            return Observation(at, True, None)
        return None
    at = next((t for t in (_time(obj.get(k)) for k in ("at", "ts", "decided_at", "created_at", "time")) if t),
              None)
    if at is None:
        return None
    stp: bool | None = None
    if isinstance(obj.get("straight_through"), bool):
        stp = obj["straight_through"]
    elif isinstance(obj.get("outcome"), str):
        stp = obj["outcome"] == STRAIGHT_THROUGH
    conf = _confidence(obj.get("confidence"))
    if stp is None and conf is None:
        return None
    return Observation(at, stp, conf, obj.get("kind") if isinstance(obj.get("kind"), str) else None)


def read_jsonl(stream: TextIO) -> Iterator[tuple[int, Any]]:
    for n, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise DriftInputError(f"line {n}: not JSON ({exc.__class__.__name__})") from None


# ------------------------------------------------------------------------------------------ analysis
def _z_proportion(base: WindowStats, win: WindowStats) -> float | None:
    n1, n2 = base.decided, win.decided
    if not n1 or not n2:
        return None
    pooled = (base.straight_through + win.straight_through) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    return ((base.stp_rate or 0.0) - (win.stp_rate or 0.0)) / se


def _z_mean(base: WindowStats, win: WindowStats) -> float | None:
    vb, vw = base.confidence_var, win.confidence_var
    if vb is None or vw is None:
        return None
    se = math.sqrt(vb / base.confidence_n + vw / win.confidence_n)
    if se == 0:
        drop = (base.confidence_mean or 0.0) - (win.confidence_mean or 0.0)
        return math.inf if drop > 0 else None
    return ((base.confidence_mean or 0.0) - (win.confidence_mean or 0.0)) / se


def _window_start(at: datetime, width: timedelta) -> datetime:
    secs = width.total_seconds()
    return datetime.fromtimestamp(math.floor(at.timestamp() / secs) * secs, UTC)


def analyse(observations: Iterable[Observation], options: DriftOptions = DriftOptions(),
            records: int | None = None, skipped: int = 0) -> DriftReport:
    """Bucket observations into windows, build the baseline from the first windows, flag drops."""
    buckets: dict[datetime, WindowStats] = {}
    n = 0
    for obs in observations:
        n += 1
        start = _window_start(obs.at, options.window)
        if start not in buckets:
            buckets[start] = WindowStats(start, start + options.window)
        buckets[start].add(obs)
    windows = [buckets[k] for k in sorted(buckets)]
    if options.baseline_windows < 1:
        raise ValueError("baseline needs at least one window")
    base_windows, rest = windows[: options.baseline_windows], windows[options.baseline_windows:]
    baseline = None
    if base_windows:
        baseline = WindowStats(base_windows[0].start, base_windows[-1].end)
        for w in base_windows:
            for attr in ("documents", "decided", "straight_through", "confidence_n", "confidence_sum",
                         "confidence_sq"):
                setattr(baseline, attr, getattr(baseline, attr) + getattr(w, attr))
    for w in rest:
        assert baseline is not None
        if baseline.stp_rate is not None and w.stp_rate is not None:
            w.stp_drop = baseline.stp_rate - w.stp_rate
            w.stp_z = _z_proportion(baseline, w)
            if (w.decided >= options.min_count and w.stp_drop >= options.stp_threshold
                    and (w.stp_z is not None and w.stp_z >= options.z_min)):
                w.flags.append("straight_through_drop")
        if baseline.confidence_mean is not None and w.confidence_mean is not None:
            w.confidence_drop = baseline.confidence_mean - w.confidence_mean
            w.confidence_z = _z_mean(baseline, w)
            if (w.confidence_n >= options.min_count and w.confidence_drop >= options.confidence_threshold
                    and (w.confidence_z is not None and w.confidence_z >= options.z_min)):
                w.flags.append("confidence_drop")
    return DriftReport(options, baseline, rest, records if records is not None else n, skipped)


def report_from_stream(stream: TextIO, options: DriftOptions = DriftOptions(), *,
                       strict: bool = False) -> DriftReport:
    """Read JSON lines, skip records without a signal (or fail on them with strict=True), analyse."""
    observations: list[Observation] = []
    records = skipped = 0
    for line_no, obj in read_jsonl(stream):
        records += 1
        obs = parse_record(obj)
        if obs is None:
            if strict:
                raise DriftInputError(f"line {line_no}: not a decided event, status event or drift record")
            skipped += 1
            continue
        observations.append(obs)
    return analyse(observations, options, records=records, skipped=skipped)


def render_table(report: DriftReport) -> str:
    """Human-readable report: one row per window, flags at the end."""
    def pct(v: float | None) -> str:
        return "   -  " if v is None else f"{v * 100:5.1f}%"

    def num(v: float | None) -> str:
        return "  -  " if v is None else f"{v:.3f}"

    lines = []
    b = report.baseline
    if b is None:
        return "no records with a drift signal"
    lines.append(f"baseline {b.start:%Y-%m-%d %H:%M} .. {b.end:%Y-%m-%d %H:%M}: {b.decided} decided, "
                 f"straight-through {pct(b.stp_rate).strip()}, mean confidence {num(b.confidence_mean)}")
    lines.append(f"{'window start (UTC)':<18} {'docs':>6} {'STP':>7} {'ΔSTP':>7} {'conf':>6} "
                 f"{'Δconf':>6}  flags")
    for w in report.windows:
        lines.append(f"{w.start:%Y-%m-%d %H:%M}   {w.documents:>6} {pct(w.stp_rate)} "
                     f"{pct(0.0 - w.stp_drop if w.stp_drop is not None else None)} {num(w.confidence_mean)} "
                     f"{num(0.0 - w.confidence_drop if w.confidence_drop is not None else None):>6}  "
                     f"{', '.join(w.flags) or ''}")
    verdict = "DRIFT: " + ", ".join(sorted({f for w in report.windows for f in w.flags})) if report.drift \
        else "no drift flagged"
    lines.append(f"{verdict} ({report.records} records, {report.skipped} without a drift signal)")
    return "\n".join(lines)
