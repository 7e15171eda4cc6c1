"""Calibrate the confidence threshold: on labelled extractions, how precise are auto-approved values and
how many documents go straight through, as the threshold moves?

Input: JSONL lines {"extraction": <Extraction>, "truth": {field: raw value | {"value": canonical}}}, plus
optional "source", "doc_id", "must_stop" (hard cases the gate has to stop) and "error" (the OCR/extract
stage rejected the document: it counts, and never goes straight through) as written by
pipeline.gate.corpus. Each document is normalized and decided once by the real gate with the confidence
rule switched off (with reference data: in input order, recording duplicate claims and PO billing like
the stage); at threshold t it is auto-approved when that decision is and every gated field's confidence
is >= its threshold: the policy's per-field thresholds where set, else t (exactly what fields.confidence
checks with `default: t`). Raw truth values go through the same normalizers.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.contracts import Extraction, NormalizedDocument, Outcome
from pipeline.gate.engine import build_context, decide
from pipeline.gate.policy import Policy
from pipeline.gate.rules.fields import confidence_items, confidence_policy, effective_confidence, is_ungrounded
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.document import normalize_extraction, normalize_field
from pipeline.refdata.claims import PriorDocuments
from pipeline.refdata.records import PORecord
from pipeline.refdata.snapshot import RefSnapshot

# Rules that need neither reference data nor history nor a calendar: the default for evaluation.
INTRINSIC_RULES = {
    "document.kind",
    "document.instructions",
    "fields.required",
    "fields.valid",
    "amounts.totals",
    "amounts.line_items",
    "currency.allowed",
}


@dataclass(frozen=True)
class FieldOutcome:
    name: str
    confidence: float
    correct: bool


@dataclass(frozen=True)
class EvalRow:
    """One labelled document; `extraction` is None when the pipeline rejected it (`error`)."""

    line: int
    extraction: Extraction | None
    truth: dict[str, Any]
    source: str = "file"
    doc_id: str = ""
    must_stop: tuple[str, ...] = ()
    error: str | None = None
    locale: str | None = None  # the tenant's default locale for this source (e.g. en_MY for SROIE)


@dataclass(frozen=True)
class ItemResult:
    line: int
    base_pass: bool  # auto-approved by every other rule
    gated: tuple[tuple[str, str, float], ...]  # (field, threshold key, effective confidence)
    fields: tuple[FieldOutcome, ...]
    failed_rules: tuple[str, ...] = ()
    source: str = "file"
    must_stop: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()  # fields the truth has a value for but the extraction left empty

    def low_fields(self, t: float, per_field: dict[str, float]) -> list[str]:
        """Threshold keys of the gated fields below their threshold at default t."""
        return [key for _, key, c in self.gated if c < per_field.get(key, t)]

    def auto(self, t: float, per_field: dict[str, float]) -> bool:
        return self.base_pass and not self.low_fields(t, per_field)

    @property
    def min_confidence(self) -> float:
        return min((c for _, _, c in self.gated), default=1.0)


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    straight_through: float
    auto_documents: int
    document_precision: float | None
    field_precision: float | None
    field_precision_lower95: float | None
    auto_fields: int
    field_level_precision: float | None  # every field judged on its own confidence (field-level gating)
    field_level_coverage: float
    must_stop_auto: int = 0  # auto-approved documents with a hard case the gate must stop (should be 0)
    auto_missed_fields: int = 0  # values on auto-approved documents the extraction left empty (not in precision)


@dataclass
class EvalReport:
    documents: int
    skipped: list[str] = field(default_factory=list)
    curve: list[CurvePoint] = field(default_factory=list)
    chosen: CurvePoint | None = None
    target_precision: float = 0.995
    rules: list[str] = field(default_factory=list)
    field_errors: dict[str, int] = field(default_factory=dict)
    breakdown_threshold: float | None = None  # the chosen threshold, else the policy's default
    blocking: dict[str, dict[str, int]] = field(default_factory=dict)
    low_fields: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "skipped": self.skipped,
            "target_precision": self.target_precision,
            "rules": self.rules,
            "chosen": asdict(self.chosen) if self.chosen else None,
            "field_errors": self.field_errors,
            "breakdown_threshold": self.breakdown_threshold,
            "blocking": self.blocking,
            "low_fields": self.low_fields,
            "by_source": self.by_source,
            "pipeline_errors": self.errors,
            "curve": [asdict(p) for p in self.curve],
        }


# SROIE labels (key/NNN.json) use other names for the receipt fields of the team's schema.
TRUTH_ALIASES = {"company": "merchant", "address": "merchant_address"}


def canonical_text(value: str | None) -> str | None:
    return " ".join(value.casefold().split()) if value else None


def _correct(doc: NormalizedDocument, name: str, truth_raw: Any, cfg: NormalizeConfig) -> bool:
    got = doc.fields[name]
    if isinstance(truth_raw, dict):  # canonical truth (generated samples): compared as is
        want = truth_raw.get("value")
        if want is None or got.value_type != "text":
            return got.value == (None if want is None else str(want))
        return canonical_text(got.value) == canonical_text(str(want))
    if truth_raw is None or not str(truth_raw).strip():
        return got.value is None
    truth = normalize_field(name, str(truth_raw), locale=doc.locale, currency=doc.currency, cfg=cfg)
    if got.value_type == "text":
        return canonical_text(got.value) == canonical_text(truth.value or str(truth_raw))
    return truth.value is not None and got.value == truth.value


def _has_value(truth: Any) -> bool:
    value = truth.get("value") if isinstance(truth, dict) else truth
    return value is not None and bool(str(value).strip())


History = Callable[[str, NormalizedDocument, PORecord | None], PriorDocuments]


def evaluate_item(
    row: EvalRow,
    policy: Policy,
    ref: RefSnapshot,
    cfg: NormalizeConfig,
    today: date,
    history: History | None = None,
) -> ItemResult:
    if row.extraction is None:
        return ItemResult(row.line, False, (), (), ("pipeline.error",), row.source, row.must_stop)
    ex, truth = row.extraction, row.truth
    if row.locale:
        cfg = replace(cfg, default_locale=row.locale)
    doc = normalize_extraction(ex, ref, cfg)
    po_field = doc.fields.get("po_number")
    po = ref.purchase_order(po_field.value) if po_field is not None and po_field.value else None
    doc_id = ex.blob.sha256  # the pipeline's document id (a sample's PDF and JSON are two documents)
    prior = history(doc_id, doc, po) if history is not None else PriorDocuments()
    ctx = build_context(
        doc,
        policy,
        today=today,
        document_id=doc_id,
        vendor=ref.vendor(doc.vendor.vendor_id if doc.vendor else None),
        po=po,
        duplicates=prior.duplicates,
        billed=prior.billed,
    )
    decision = decide(ctx, policy)
    _, _, ungrounded_fails, accept = confidence_policy(policy.params("fields.confidence"))
    items = confidence_items(doc)
    gated = tuple((it.name, it.key, effective_confidence(it, accept, ungrounded_fails)) for it in items)
    weighed = {it.name: c for (_, _, c), it in zip(gated, items, strict=True)}
    outcomes = tuple(
        FieldOutcome(
            name,
            weighed.get(
                name, 0.0 if ungrounded_fails and is_ungrounded(doc.fields[name]) else doc.fields[name].confidence
            ),
            _correct(doc, name, truth.get(name), cfg),
        )
        for name in sorted(truth)
        if name in doc.fields and doc.fields[name].value is not None
    )
    missed = tuple(
        name
        for name in sorted(truth)
        if _has_value(truth[name]) and (name not in doc.fields or doc.fields[name].value is None)
    )
    return ItemResult(
        line=row.line,
        base_pass=decision.outcome == Outcome.auto_approved,
        gated=gated,
        fields=outcomes,
        failed_rules=tuple(r.rule_id for r in decision.reasons if not r.passed),
        source=row.source,
        must_stop=row.must_stop,
        missed=missed,
    )


def wilson_lower(successes: int, n: int, z: float = 1.96) -> float | None:
    """95% Wilson lower bound: how sure the measured precision is on a small sample."""
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return round((centre - margin) / denom, 4)


def curve_point(items: Sequence[ItemResult], t: float, per_field: dict[str, float] | None = None) -> CurvePoint:
    per_field = per_field or {}
    auto = [it for it in items if it.auto(t, per_field)]
    fields = [f for it in auto for f in it.fields]
    correct = sum(f.correct for f in fields)
    all_fields = [f for it in items for f in it.fields]
    level = [f for f in all_fields if f.confidence >= t]
    return CurvePoint(
        threshold=round(t, 4),
        straight_through=round(len(auto) / len(items), 4) if items else 0.0,
        auto_documents=len(auto),
        document_precision=round(sum(all(f.correct for f in it.fields) for it in auto) / len(auto), 4)
        if auto
        else None,
        field_precision=round(correct / len(fields), 4) if fields else None,
        field_precision_lower95=wilson_lower(correct, len(fields)),
        auto_fields=len(fields),
        field_level_precision=round(sum(f.correct for f in level) / len(level), 4) if level else None,
        field_level_coverage=round(len(level) / len(all_fields), 4) if all_fields else 0.0,
        must_stop_auto=sum(bool(it.must_stop) for it in auto),
        auto_missed_fields=sum(len(it.missed) for it in auto),
    )


def blocking_rules(items: Sequence[ItemResult], t: float, per_field: dict[str, float]) -> dict[str, dict[str, int]]:
    """Per rule: documents it stops at threshold t, and documents it alone stops (fixing it would
    send them straight through). The confidence rule is evaluated at t; a pipeline error counts too."""
    stops: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    for it in items:
        failed = set(it.failed_rules) | ({"fields.confidence"} if it.low_fields(t, per_field) else set())
        stops.update(failed)
        if len(failed) == 1:
            alone.update(failed)
    return {r: {"documents": n, "only_reason": alone[r]} for r, n in stops.most_common()}


def low_confidence_fields(items: Sequence[ItemResult], t: float, per_field: dict[str, float]) -> dict[str, int]:
    """Per threshold key: documents in which that field is below its threshold at t."""
    c: Counter[str] = Counter()
    for it in items:
        c.update(set(it.low_fields(t, per_field)))
    return dict(c.most_common())


def per_source(items: Sequence[ItemResult], t: float, per_field: dict[str, float]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for src in sorted({it.source for it in items}):
        p = curve_point([it for it in items if it.source == src], t, per_field)
        out[src] = {
            "documents": sum(it.source == src for it in items),
            "straight_through": p.straight_through,
            "auto_documents": p.auto_documents,
            "field_precision": p.field_precision,
            "document_precision": p.document_precision,
            "must_stop_auto": p.must_stop_auto,
            "auto_missed_fields": p.auto_missed_fields,
        }
    return out


def choose_threshold(points: Sequence[CurvePoint], target: float = 0.995) -> CurvePoint | None:
    """The threshold with the most straight-through documents whose auto-approved fields AND documents meet
    the precision target and that lets no must-stop document through (ties: the higher, safer one)."""
    ok = [
        p
        for p in points
        if p.auto_documents > 0
        and (p.field_precision or 0) >= target
        and (p.document_precision or 0) >= target
        and p.must_stop_auto == 0
    ]
    if not ok:
        return None
    return max(ok, key=lambda p: (p.straight_through, p.threshold))


def _row(n: int, data: Any) -> EvalRow:
    if not isinstance(data, dict) or not isinstance(data.get("truth"), dict):
        raise ValueError("needs an object with 'extraction' and 'truth'")
    truth = {TRUTH_ALIASES.get(k, k): v for k, v in data["truth"].items()}
    source, doc_id = str(data.get("source") or "file"), str(data.get("doc_id") or "")
    must_stop = tuple(str(h) for h in data.get("must_stop") or ())
    locale = str(data["locale"]) if data.get("locale") else None
    if data.get("extraction") is None and data.get("error"):
        return EvalRow(n, None, truth, source, doc_id, must_stop, str(data["error"])[:200], locale)
    return EvalRow(n, Extraction.model_validate(data["extraction"]), truth, source, doc_id, must_stop, None, locale)


def read_jsonl(path: Path, limit: int | None = None) -> tuple[list[EvalRow], list[str]]:
    rows: list[EvalRow] = []
    skipped: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(_row(n, json.loads(line)))
            except ValidationError as exc:
                skipped.append(f"{path.name}:{n}: extraction schema-invalid ({exc.error_count()} error(s))")
            except (ValueError, KeyError, TypeError) as exc:
                skipped.append(f"{path.name}:{n}: {exc.__class__.__name__}: {str(exc)[:120]}")
            if limit and len(rows) >= limit:
                break
    return rows, skipped


def run_eval(
    rows: Iterable[EvalRow],
    policy: Policy,
    ref: RefSnapshot,
    cfg: NormalizeConfig,
    today: date,
    *,
    rules: set[str] | None = None,
    target: float = 0.995,
    steps: int = 101,
    history: History | None = None,
) -> EvalReport:
    """`history`: record each document like the gate stage does (duplicates, PO billing), in row order."""
    base = policy.only((rules or INTRINSIC_RULES) - {"fields.confidence"})
    conf = policy.params("fields.confidence")
    per_field = {str(k): float(v) for k, v in (conf.get("per_field") or {}).items()}
    rows = list(rows)
    items = [evaluate_item(row, base, ref, cfg, today, history) for row in rows]
    points = [curve_point(items, i / (steps - 1), per_field) for i in range(steps)]
    errors: dict[str, int] = {}
    for it in items:
        for f in it.fields:
            if not f.correct:
                errors[f.name] = errors.get(f.name, 0) + 1
    chosen = choose_threshold(points, target)
    t = chosen.threshold if chosen else float(conf.get("default", 0.9))
    return EvalReport(
        documents=len(items),
        curve=points,
        chosen=chosen,
        target_precision=target,
        rules=sorted((rules or INTRINSIC_RULES) | {"fields.confidence"}),
        field_errors=dict(sorted(errors.items())),
        breakdown_threshold=t,
        blocking=blocking_rules(items, t, per_field),
        low_fields=low_confidence_fields(items, t, per_field),
        by_source=per_source(items, t, per_field),
        errors=[f"{r.source}:{r.doc_id or r.line}: {r.error}" for r in rows if r.error],
    )


def plot_curve(report: EvalReport, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p.threshold for p in report.curve]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(xs, [p.straight_through for p in report.curve], label="straight-through rate")
    ax1.plot(
        xs,
        [p.field_precision if p.field_precision is not None else float("nan") for p in report.curve],
        label="precision of auto-approved fields",
    )
    ax1.plot(
        xs,
        [p.document_precision if p.document_precision is not None else float("nan") for p in report.curve],
        label="precision of auto-approved documents",
        linestyle="--",
    )
    ax1.axhline(report.target_precision, color="grey", linewidth=0.8, linestyle=":")
    if report.chosen:
        ax1.axvline(report.chosen.threshold, color="red", linewidth=0.8, label=f"chosen t={report.chosen.threshold}")
    ax1.set_xlabel("confidence threshold")
    ax1.set_ylim(0, 1.02)
    ax1.legend(loc="lower left", fontsize=8)
    ax1.set_title(f"Gate calibration ({report.documents} documents)")
    ax2.plot(
        [p.straight_through for p in report.curve],
        [p.field_precision if p.field_precision is not None else float("nan") for p in report.curve],
        marker=".",
    )
    ax2.axhline(report.target_precision, color="grey", linewidth=0.8, linestyle=":")
    ax2.set_xlabel("straight-through rate")
    ax2.set_ylabel("field precision (auto-approved)")
    ax2.set_title("Precision vs straight-through")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
