"""Gate stage: docs.normalized -> docs.decided (routing of auto-approved documents happens downstream).

Per event: read the reference snapshot (cached), look up earlier documents that may be duplicates,
decide with the pure engine, then record this document in the index (idempotent upsert by document
id, so a replay never flags itself). 'today' is the event's submission date: deterministic on replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from pipeline.config import Settings
from pipeline.contracts import Envelope, NormalizedDocument
from pipeline.gate.context import index_entry
from pipeline.gate.engine import build_context, decide
from pipeline.gate.policy import Policy, load_policy
from pipeline.refdata.records import DocumentIndexEntry
from pipeline.refdata.snapshot import RefSnapshot
from pipeline.runtime import Emit, StageSpec, TransientError
from pipeline.topics import DECIDED, NORMALIZED

STAGE = "gate"
VERSION = "1"


class DocumentHistory(Protocol):
    def find_duplicates(self, entry: DocumentIndexEntry) -> list[DocumentIndexEntry]: ...

    def record_document(self, entry: DocumentIndexEntry, kind: str) -> None: ...


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
        entry = index_entry(event.document_id, doc)
        try:
            ref = refdata()
            duplicates = tuple(history.find_duplicates(entry))
        except SQLAlchemyError as exc:
            raise TransientError(f"reference data unavailable: {exc.__class__.__name__}") from None
        vendor = ref.vendor(doc.vendor.vendor_id if doc.vendor else None)
        po_field = doc.fields.get("po_number")
        po = ref.purchase_order(po_field.value) if po_field is not None and po_field.value else None
        ctx = build_context(
            doc,
            policy,
            today=today(event),
            document_id=event.document_id,
            vendor=vendor,
            po=po,
            duplicates=duplicates,
        )
        decision = decide(ctx, policy)
        try:
            history.record_document(entry, doc.kind.value)
        except SQLAlchemyError as exc:
            raise TransientError(f"document index unavailable: {exc.__class__.__name__}") from None
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
