"""Calibrate the confidence threshold: on labelled extractions, how precise are auto-approved values and
how many documents go straight through, as the threshold moves?

Input: JSONL lines {"extraction": <Extraction>, "truth": {field: raw value}}. Each document is normalized
and decided once by the real gate with the confidence rule switched off; a document is auto-approved
at threshold t when that decision is auto-approved and every gated field's confidence is >= t (exactly
what fields.confidence checks with a uniform threshold). Truth values go through the same normalizers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.contracts import Extraction, NormalizedDocument, Outcome
from pipeline.gate.engine import build_context, decide
from pipeline.gate.policy import Policy
from pipeline.gate.rules.fields import confidence_items, is_ungrounded
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.document import normalize_extraction, normalize_field
from pipeline.refdata.snapshot import RefSnapshot

# Rules that need neither reference data nor history nor a calendar: the default for evaluation.
INTRINSIC_RULES = {
    "document.kind",
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
class ItemResult:
    line: int
    base_pass: bool  # auto-approved by every other rule
    min_confidence: float  # lowest effective confidence over the gated fields
    fields: tuple[FieldOutcome, ...]
    failed_rules: tuple[str, ...] = ()


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


@dataclass
class EvalReport:
    documents: int
    skipped: list[str] = field(default_factory=list)
    curve: list[CurvePoint] = field(default_factory=list)
    chosen: CurvePoint | None = None
    target_precision: float = 0.995
    rules: list[str] = field(default_factory=list)
    field_errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "skipped": self.skipped,
            "target_precision": self.target_precision,
            "rules": self.rules,
            "chosen": asdict(self.chosen) if self.chosen else None,
            "field_errors": self.field_errors,
            "curve": [asdict(p) for p in self.curve],
        }


# SROIE labels (key/NNN.json) use other names for the receipt fields of the team's schema.
TRUTH_ALIASES = {"company": "merchant", "address": "merchant_address"}


def canonical_text(value: str | None) -> str | None:
    return " ".join(value.casefold().split()) if value else None


def _correct(doc: NormalizedDocument, name: str, truth_raw: str | None, cfg: NormalizeConfig) -> bool:
    got = doc.fields[name]
    if truth_raw is None or not str(truth_raw).strip():
        return got.value is None
    truth = normalize_field(name, str(truth_raw), locale=doc.locale, currency=doc.currency, cfg=cfg)
    if got.value_type == "text":
        return canonical_text(got.value) == canonical_text(truth.value or str(truth_raw))
    return truth.value is not None and got.value == truth.value


def evaluate_item(
    line: int,
    ex: Extraction,
    truth: dict[str, Any],
    policy: Policy,
    ref: RefSnapshot,
    cfg: NormalizeConfig,
    today: date,
) -> ItemResult:
    doc = normalize_extraction(ex, ref, cfg)
    po_field = doc.fields.get("po_number")
    ctx = build_context(
        doc,
        policy,
        today=today,
        vendor=ref.vendor(doc.vendor.vendor_id if doc.vendor else None),
        po=ref.purchase_order(po_field.value) if po_field is not None and po_field.value else None,
    )
    decision = decide(ctx, policy)
    ungrounded_fails = bool(policy.params("fields.confidence").get("ungrounded_fails", True))
    confidences = [
        0.0 if ungrounded_fails and ungrounded else c for _, _, c, ungrounded in confidence_items(doc)
    ]
    outcomes = tuple(
        FieldOutcome(
            name,
            0.0 if ungrounded_fails and is_ungrounded(doc.fields[name]) else doc.fields[name].confidence,
            _correct(doc, name, truth.get(name), cfg),
        )
        for name in sorted(truth)
        if name in doc.fields and doc.fields[name].value is not None
    )
    return ItemResult(
        line=line,
        base_pass=decision.outcome == Outcome.auto_approved,
        min_confidence=min(confidences, default=1.0),
        fields=outcomes,
        failed_rules=tuple(r.rule_id for r in decision.reasons if not r.passed),
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


def curve_point(items: Sequence[ItemResult], t: float) -> CurvePoint:
    auto = [it for it in items if it.base_pass and it.min_confidence >= t]
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
    )


def choose_threshold(points: Sequence[CurvePoint], target: float = 0.995) -> CurvePoint | None:
    """The threshold with the most straight-through documents whose auto-approved fields AND documents meet
    the precision target (ties: the higher, safer threshold)."""
    ok = [
        p
        for p in points
        if p.auto_documents > 0
        and (p.field_precision or 0) >= target
        and (p.document_precision or 0) >= target
    ]
    if not ok:
        return None
    return max(ok, key=lambda p: (p.straight_through, p.threshold))


def read_jsonl(
    path: Path, limit: int | None = None
) -> tuple[list[tuple[int, Extraction, dict[str, Any]]], list[str]]:
    rows: list[tuple[int, Extraction, dict[str, Any]]] = []
    skipped: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict) or not isinstance(data.get("truth"), dict):
                    raise ValueError("needs an object with 'extraction' and 'truth'")
                truth = {TRUTH_ALIASES.get(k, k): v for k, v in data["truth"].items()}
                rows.append((n, Extraction.model_validate(data["extraction"]), truth))
            except ValidationError as exc:
                skipped.append(f"{path.name}:{n}: extraction schema-invalid ({exc.error_count()} error(s))")
            except (ValueError, KeyError) as exc:
                skipped.append(f"{path.name}:{n}: {exc.__class__.__name__}: {str(exc)[:120]}")
            if limit and len(rows) >= limit:
                break
    return rows, skipped


def run_eval(
    rows: Iterable[tuple[int, Extraction, dict[str, Any]]],
    policy: Policy,
    ref: RefSnapshot,
    cfg: NormalizeConfig,
    today: date,
    *,
    rules: set[str] | None = None,
    target: float = 0.995,
    steps: int = 101,
) -> EvalReport:
    base = policy.only((rules or INTRINSIC_RULES) - {"fields.confidence"})
    items = [evaluate_item(n, ex, truth, base, ref, cfg, today) for n, ex, truth in rows]
    points = [curve_point(items, i / (steps - 1)) for i in range(steps)]
    errors: dict[str, int] = {}
    for it in items:
        for f in it.fields:
            if not f.correct:
                errors[f.name] = errors.get(f.name, 0) + 1
    return EvalReport(
        documents=len(items),
        curve=points,
        chosen=choose_threshold(points, target),
        target_precision=target,
        rules=sorted((rules or INTRINSIC_RULES) | {"fields.confidence"}),
        field_errors=dict(sorted(errors.items())),
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
        ax1.axvline(
            report.chosen.threshold, color="red", linewidth=0.8, label=f"chosen t={report.chosen.threshold}"
        )
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
