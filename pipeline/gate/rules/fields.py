"""Field-level rules: presence, successful normalization, extraction confidence."""

from __future__ import annotations

from typing import NamedTuple

from pipeline.contracts import DocKind, NormalizedDocument, NormalizedField, Severity
from pipeline.gate.context import GateContext
from pipeline.gate.rules.base import Check, Params, Rule

ALL_KINDS = frozenset({DocKind.invoice, DocKind.receipt, DocKind.po_change})


def _required(ctx: GateContext, p: Params) -> Check:
    wanted = list(p.get(ctx.doc.kind.value, []))
    missing = [n for n in wanted if ctx.field(n) is None or ctx.field(n).value is None]  # type: ignore[union-attr]
    if missing:
        return Check(False, f"Missing required field(s): {', '.join(missing)}.", tuple(missing), {"required": wanted})
    return Check(
        True,
        f"All required fields are present ({', '.join(wanted) or 'none required'}).",
        details={"required": wanted},
    )


def _no_instructions(ctx: GateContext, p: Params) -> Check:
    found = [w for w in ctx.doc.warnings if w.startswith("instruction-like text")]
    if found:
        return Check(
            False,
            f"The document contains text addressed to a machine ({len(found)} line(s), quarantined "
            "and not used); a person must look at it.",
            details={"warnings": found},
        )
    return Check(True, "No instruction-like text on the document.")


def _valid(ctx: GateContext, p: Params) -> Check:
    bad = {
        n: f
        for n, f in sorted(ctx.doc.fields.items())
        if not f.valid and (f.raw is not None or n in p.get("derived", ()))
    }
    if bad:
        parts = [f"{n} ({f.notes[0] if f.notes else 'invalid'})" for n, f in bad.items()]
        return Check(
            False,
            f"Could not be read reliably: {'; '.join(parts)}.",
            tuple(bad),
            {n: f.notes for n, f in bad.items()},
        )
    return Check(True, "Every field found on the document was normalized without problems.")


UNGROUNDED_NOTE = "not found verbatim"


def gated_fields(doc: NormalizedDocument) -> dict[str, NormalizedField]:
    """Fields whose extraction confidence the gate checks: read from the document (not absent, not derived
    from reference data or configuration)."""
    return {n: f for n, f in sorted(doc.fields.items()) if f.value is not None and f.raw is not None}


def is_ungrounded(f: NormalizedField) -> bool:
    return any(UNGROUNDED_NOTE in n for n in f.notes)


class Gated(NamedTuple):
    """One value the confidence rule checks."""

    name: str
    key: str  # threshold key: the field name, or 'line_items'
    confidence: float
    ungrounded: bool
    corroborated_by: tuple[str, ...] = ()


def confidence_items(doc: NormalizedDocument) -> list[Gated]:
    """Everything the confidence rule checks: gated header fields and line items."""
    items = [
        Gated(n, n, f.confidence, is_ungrounded(f), tuple(f.corroborated_by)) for n, f in gated_fields(doc).items()
    ]
    items += [
        Gated(f"line_items[{li.line_no}]", "line_items", li.confidence, False)
        for li in doc.line_items
        if li.confidence is not None
    ]
    return items


def effective_confidence(item: Gated, accept_corroborated: frozenset[str], ungrounded_fails: bool) -> float:
    """The confidence the policy weighs: 0 for an ungrounded value, 1 for a value the policy lets
    independent evidence vouch for (a currency the vendor master gives, a tax that is a legal rate of
    the total), else the model's."""
    if ungrounded_fails and item.ungrounded:
        return 0.0
    if item.corroborated_by and item.key in accept_corroborated:
        return 1.0
    return item.confidence


def confidence_policy(p: Params) -> tuple[float, dict[str, float], bool, frozenset[str]]:
    """(default threshold, per-field thresholds, ungrounded_fails, accept_corroborated) of the rule."""
    return (
        float(p.get("default", 0.9)),
        {str(k): float(v) for k, v in (p.get("per_field") or {}).items()},
        bool(p.get("ungrounded_fails", True)),
        frozenset(str(n) for n in (p.get("accept_corroborated") or ())),
    )


def _confidence(ctx: GateContext, p: Params) -> Check:
    default, per_field, ungrounded_fails, accept = confidence_policy(p)
    low: dict[str, str] = {}
    vouched: dict[str, list[str]] = {}
    for item in confidence_items(ctx.doc):
        threshold = per_field.get(item.key, default)
        effective = effective_confidence(item, accept, ungrounded_fails)
        if item.confidence < threshold and effective < threshold:
            low[item.name] = f"{item.confidence:.2f} < {threshold:.2f}"
        elif ungrounded_fails and item.ungrounded:
            low[item.name] = "not found verbatim in the document"
        elif item.confidence < threshold:
            vouched[item.name] = list(item.corroborated_by)
    details: dict[str, object] = {"thresholds": {"default": default, **per_field}}
    if vouched:
        details["corroborated"] = vouched
    if low:
        return Check(
            False,
            "Low extraction confidence: " + "; ".join(f"{k} {v}" for k, v in low.items()) + ".",
            tuple(low),
            details,
        )
    summary = f"Every extracted field meets its confidence threshold (default {default:.2f})"
    if vouched:
        summary += "; " + "; ".join(f"{k} below it but corroborated ({', '.join(v)})" for k, v in vouched.items())
    return Check(True, summary + ".", details=details)


def _kind(ctx: GateContext, p: Params) -> Check:
    if ctx.doc.kind == DocKind.unknown:
        return Check(False, "The document type could not be determined: a person must classify it.", ("kind",))
    return Check(True, f"Document type is {ctx.doc.kind.value}.")


RULES = [
    Rule(
        "document.kind",
        "The document type (invoice, receipt, PO change) is known.",
        Severity.review,
        _kind,
        frozenset(DocKind),
    ),
    Rule(
        "fields.required",
        "Required fields for the document type are present.",
        Severity.review,
        _required,
        ALL_KINDS,
        {
            "invoice": ["vendor", "invoice_number", "invoice_date", "currency", "total"],
            "receipt": ["merchant", "date", "total"],
            "po_change": ["po_number", "change_number"],
        },
    ),
    Rule(
        "document.instructions",
        "The document contains no text addressed to a machine (prompt injection).",
        Severity.review,
        _no_instructions,
        ALL_KINDS,
    ),
    Rule(
        "fields.valid",
        "Every field on the document could be normalized (dates, amounts, ids).",
        Severity.review,
        _valid,
        ALL_KINDS,
        {"derived": ["currency", "changed_lines"]},
    ),
    Rule(
        "fields.confidence",
        "Every extracted field meets its confidence threshold.",
        Severity.review,
        _confidence,
        ALL_KINDS,
        {"default": 0.9, "per_field": {}, "ungrounded_fails": True, "accept_corroborated": []},
    ),
]
