"""Gate stage: docs.normalized -> docs.decided (routing of auto-approved documents happens downstream).

Per event: read the reference snapshot (cached); in ONE database transaction record this document,
claim its duplicate keys and bill its PO lines (pipeline.refdata.claims: race-free across partitions,
keyed by document id so a replay never flags itself); then decide with the pure engine. 'today' is the
event's submission date: deterministic on replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from pipeline.config import Settings
from pipeline.contracts import DocKind, Envelope, NormalizedDocument
from pipeline.gate.context import index_entry
from pipeline.gate.engine import build_context, decide, match_tolerance
from pipeline.gate.po_match import invoiced_quantities
from pipeline.gate.policy import Policy, load_policy
from pipeline.refdata.claims import GateRecord, PriorDocuments
from pipeline.refdata.records import PORecord
from pipeline.refdata.snapshot import RefSnapshot
from pipeline.runtime import Emit, StageSpec, database_transient
from pipeline.topics import DECIDED, NORMALIZED

STAGE = "gate"
VERSION = "1"


class DocumentHistory(Protocol):
    def record_and_claim(self, rec: GateRecord) -> PriorDocuments: ...


def _billing(doc: NormalizedDocument, po: PORecord | None, policy: Policy) -> dict[int, Decimal]:
    """What an invoice bills on its PO; nothing when the PO is another vendor's (2-way fails anyway)."""
    if po is None or doc.kind != DocKind.invoice:
        return {}
    vendor_id = doc.vendor.vendor_id if doc.vendor else None
    if po.vendor_id and vendor_id != po.vendor_id:
        return {}
    return invoiced_quantities(doc, po, match_tolerance(policy))


def gate_record(document_id: str, doc: NormalizedDocument, po: PORecord | None, policy: Policy) -> GateRecord:
    """What the gate writes for a document (index entry, duplicate keys, PO billing): stage and eval alike."""
    po_number = po.po_number if po else None
    return GateRecord(index_entry(document_id, doc), doc.kind.value, po_number, _billing(doc, po, policy))


def _submission_day(event: Envelope[NormalizedDocument]) -> date:
    return event.submitted_at.date()


def make_stage(
    refdata: Callable[[], RefSnapshot],
    history: DocumentHistory,
    policy: Policy,
    today: Callable[[Envelope[NormalizedDocument]], date] = _submission_day,
) -> StageSpec:
    spec: StageSpec

    def handle(event: Envelope[NormalizedDocument]) -> Sequence[Emit]:
        doc = event.payload
        with database_transient("reference data"):
            ref = refdata()
        vendor = ref.vendor(doc.vendor.vendor_id if doc.vendor else None)
        po_field = doc.fields.get("po_number")
        po = ref.purchase_order(po_field.value) if po_field is not None and po_field.value else None
        rec = gate_record(event.document_id, doc, po, policy)
        with database_transient("document index"):
            prior = history.record_and_claim(rec)
        ctx = build_context(
            doc,
            policy,
            today=today(event),
            document_id=event.document_id,
            vendor=vendor,
            po=po,
            duplicates=prior.duplicates,
            billed=prior.billed,
        )
        decision = decide(ctx, policy)
        return [Emit(DECIDED, event.follow(DECIDED, decision, spec.producer))]

    spec = StageSpec(
        name=STAGE,
        version=VERSION,
        input_topic=NORMALIZED,
        input_model=NormalizedDocument,
        handler=handle,
        description="Policy decision with every rule evaluated.",
        output_topics=(DECIDED,),
    )
    return spec


def build_stage(settings: Settings) -> StageSpec:
    from pipeline.refdata.snapshot import cached_refdata

    cache, repo = cached_refdata(settings)
    return make_stage(cache.get, repo, load_policy(settings.gate_policy))
