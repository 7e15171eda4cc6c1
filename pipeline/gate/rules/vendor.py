"""Vendor rules: known (one unambiguous master record), active, and paid to a bank account on file."""

from __future__ import annotations

from pipeline.contracts import DocKind, Severity
from pipeline.gate.context import GateContext
from pipeline.gate.rules.base import Check, Params, Rule, not_applicable

VENDOR_KINDS = frozenset({DocKind.invoice, DocKind.receipt, DocKind.po_change})


def _mask(iban: str) -> str:
    return f"{iban[:4]}…{iban[-4:]}" if len(iban) > 8 else iban


def _applies(ctx: GateContext, p: Params) -> bool:
    return ctx.doc.kind.value in p.get("kinds", ["invoice", "po_change"])


def _known(ctx: GateContext, p: Params) -> Check:
    if not _applies(ctx, p):
        return not_applicable(f"vendor master is not required for {ctx.doc.kind.value}s")
    m = ctx.doc.vendor
    if m is None or (m.vendor_id is None and not m.ambiguous):
        return Check(False, "The vendor is not in the vendor master.", ("vendor",))
    if m.ambiguous:
        ids = ", ".join(f"{vid} ({score:.0f})" for vid, score in m.candidates)
        return Check(
            False,
            f"The vendor matches more than one master record: {ids}.",
            ("vendor",),
            {"candidates": m.candidates, "method": m.method},
        )
    if ctx.vendor is None:
        return Check(False, f"Vendor {m.vendor_id} is no longer in the vendor master.", ("vendor",))
    return Check(
        True,
        f"Vendor is {ctx.vendor.name} ({ctx.vendor.vendor_id}), matched by {m.method} "
        f"with score {m.score:.0f}.",
        details={"vendor_id": m.vendor_id, "method": m.method, "score": m.score},
    )


def _active(ctx: GateContext, p: Params) -> Check:
    if ctx.vendor is None:
        return not_applicable("no vendor matched")
    if not ctx.vendor.active:
        return Check(
            False,
            f"Vendor {ctx.vendor.name} ({ctx.vendor.vendor_id}) is inactive/blocked in the vendor master.",
            ("vendor",),
        )
    return Check(True, f"Vendor {ctx.vendor.vendor_id} is active.")


def _bank(ctx: GateContext, p: Params) -> Check:
    iban = ctx.value("iban")
    f = ctx.field("iban")
    if iban is None:
        if f is not None and f.raw is not None:
            return Check(
                False,
                "The bank account on the document is not a valid IBAN: a person must check "
                "the payment details.",
                ("iban",),
            )
        return not_applicable("no bank account on the document")
    if ctx.vendor is None:
        return Check(
            False, f"Bank account {_mask(iban)} cannot be verified: the vendor is not known.", ("iban",)
        )
    if iban in ctx.vendor.ibans:
        return Check(True, f"Bank account {_mask(iban)} is on file for {ctx.vendor.vendor_id}.")
    on_file = ", ".join(_mask(i) for i in ctx.vendor.ibans) or "none"
    return Check(
        False,
        f"Bank account {_mask(iban)} differs from the vendor master (on file: {on_file}). "
        "Possible payment fraud: a person must confirm with the vendor.",
        ("iban",),
        {"on_file": [_mask(i) for i in ctx.vendor.ibans]},
    )


RULES = [
    Rule(
        "vendor.known",
        "The vendor matches exactly one vendor master record.",
        Severity.review,
        _known,
        VENDOR_KINDS,
        {"kinds": ["invoice", "po_change"]},
    ),
    Rule(
        "vendor.active", "The vendor is active in the vendor master.", Severity.reject, _active, VENDOR_KINDS
    ),
    Rule(
        "vendor.bank_account",
        "The bank account equals one on file (otherwise always a person: fraud signal).",
        Severity.review,
        _bank,
        frozenset({DocKind.invoice, DocKind.receipt}),
    ),
]
