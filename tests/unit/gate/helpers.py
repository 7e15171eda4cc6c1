from __future__ import annotations

from datetime import date

from pipeline.contracts import Decision, Extraction, RuleResult
from pipeline.gate.engine import build_context, decide
from pipeline.gate.policy import Policy, load_policy
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.document import normalize_extraction
from pipeline.refdata.records import DocumentIndexEntry
from pipeline.refdata.snapshot import RefSnapshot
from tests.unit.normalize.factories import ref

TODAY = date(2026, 11, 23)
POLICY = load_policy()


def run_gate(
    ex: Extraction,
    snapshot: RefSnapshot | None = None,
    *,
    today: date = TODAY,
    duplicates: tuple[DocumentIndexEntry, ...] = (),
    policy: Policy = POLICY,
    config: NormalizeConfig | None = None,
) -> Decision:
    snap = snapshot or ref()
    doc = normalize_extraction(ex, snap, config or NormalizeConfig())
    po_field = doc.fields.get("po_number")
    po = snap.purchase_order(po_field.value) if po_field is not None and po_field.value else None
    ctx = build_context(
        doc,
        policy,
        today=today,
        document_id="d" * 64,
        vendor=snap.vendor(doc.vendor.vendor_id if doc.vendor else None),
        po=po,
        duplicates=duplicates,
    )
    return decide(ctx, policy)


def reason(decision: Decision, rule_id: str) -> RuleResult:
    return next(r for r in decision.reasons if r.rule_id == rule_id)


def failed(decision: Decision) -> set[str]:
    return {r.rule_id for r in decision.reasons if not r.passed}
