"""Race-free duplicate detection and PO line billing: one database transaction per gated document.

Why: a read-then-write duplicate check lets two copies of one invoice, decided at the same instant on
two partitions, both pass. Here a document *claims* its duplicate keys (vendor + invoice number, vendor
+ amount + date) in a table whose primary key is the key itself, so the database admits exactly one
owner per key (insert-or-ignore, then read the owner); whoever commits second sees the first as owner.
Claims belong to a document id, so a replayed document finds its own claims and never flags itself.

Billed quantities per PO line are written in the same transaction after a row lock on the PO (on
SQLite the transaction's first write already serializes writers), and each invoice counts only the
billings recorded before its own (lower `id`): two invoices against one PO line cannot both see it
unbilled, and a replay sees the same earlier invoices as the first run did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.refdata.models import DocumentIndex, DuplicateClaim, POLineBilling, PurchaseOrder
from pipeline.refdata.records import DocumentIndexEntry

CENT = Decimal("0.01")
NUMBER, AMOUNT_DATE = "number", "amount_date"


def amount_key(amount: Decimal | None) -> Decimal | None:
    """Amounts are compared at cent precision (the index and the claims store this form)."""
    return None if amount is None else amount.quantize(CENT)


def invoice_number_key(number: str) -> str:
    """'INV-001', 'inv 001' and 'INV001' are one invoice number: letters and digits, upper case."""
    folded = re.sub(r"[^0-9A-Z]", "", number.upper())
    return folded or number.strip()


def claim_keys(entry: DocumentIndexEntry) -> list[tuple[str, str, str]]:
    """(vendor, kind, value) keys in a fixed order (so concurrent claimers lock in one order)."""
    if entry.vendor_id is None:
        return []
    keys = []
    if entry.invoice_number:
        keys.append((entry.vendor_id, NUMBER, invoice_number_key(entry.invoice_number)[:200]))
    amount = amount_key(entry.amount)
    if amount is not None and entry.doc_date is not None:
        keys.append((entry.vendor_id, AMOUNT_DATE, f"{amount}|{entry.doc_date.isoformat()}"))
    return sorted(keys)


@dataclass(frozen=True)
class GateRecord:
    """What the gate writes for one document: its index entry and what it bills on a PO."""

    entry: DocumentIndexEntry
    kind: str
    po_number: str | None = None
    quantities: Mapping[int, Decimal] = field(default_factory=dict)  # PO line -> invoiced quantity


@dataclass(frozen=True)
class PriorDocuments:
    """What earlier documents mean for this one: duplicates, and quantities billed per PO line."""

    duplicates: tuple[DocumentIndexEntry, ...] = ()
    billed: Mapping[int, Decimal] = field(default_factory=dict)


def _insert(session: Session, model: type[Any]) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"insert-or-ignore is implemented for PostgreSQL and SQLite, not {name}")


def _upsert_index(session: Session, rec: GateRecord, at: datetime) -> None:
    e = rec.entry
    values = {
        "vendor_id": e.vendor_id,
        "invoice_number": e.invoice_number,
        "amount": amount_key(e.amount),
        "currency": e.currency,
        "doc_date": e.doc_date,
        "kind": rec.kind,
    }
    stmt = _insert(session, DocumentIndex).values(document_id=e.document_id, recorded_at=at, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["document_id"], set_=values))


def _claim(session: Session, document_id: str, keys: list[tuple[str, str, str]], at: datetime) -> list[str]:
    """Claim every key (releasing keys this document no longer has); return other owners' ids."""
    stale = [
        c
        for c in session.scalars(select(DuplicateClaim).where(DuplicateClaim.document_id == document_id))
        if (c.vendor_id, c.claim_kind, c.claim_value) not in keys
    ]
    for c in stale:
        session.delete(c)
    session.flush()
    for vendor_id, kind, value in keys:
        stmt = _insert(session, DuplicateClaim).values(
            vendor_id=vendor_id, claim_kind=kind, claim_value=value, document_id=document_id, claimed_at=at
        )
        session.execute(stmt.on_conflict_do_nothing())
    if not keys:
        return []
    key_cols = tuple_(DuplicateClaim.vendor_id, DuplicateClaim.claim_kind, DuplicateClaim.claim_value)
    owners = session.scalars(
        select(DuplicateClaim.document_id)
        .where(key_cols.in_(keys), DuplicateClaim.document_id != document_id)
        .order_by(DuplicateClaim.claimed_at, DuplicateClaim.document_id)
    )
    return list(dict.fromkeys(owners))


def _bill(session: Session, rec: GateRecord, record: bool, at: datetime) -> dict[int, Decimal]:
    """Record this invoice's quantities (unless `record` is false) and sum earlier invoices' per line."""
    doc_id, po = rec.entry.document_id, rec.po_number
    if po is None:
        return {}
    # Serialize invoices against one PO (PostgreSQL; SQLite already holds the database write lock).
    session.execute(select(PurchaseOrder.po_number).where(PurchaseOrder.po_number == po).with_for_update())
    mine = {
        b.line_no: b
        for b in session.scalars(
            select(POLineBilling).where(POLineBilling.po_number == po, POLineBilling.document_id == doc_id)
        )
    }
    wanted = rec.quantities if record else {}
    for line_no, row in list(mine.items()):
        if line_no not in wanted:
            session.delete(row)
            del mine[line_no]
    for line_no, qty in wanted.items():
        if line_no in mine:
            mine[line_no].quantity = qty
        else:
            row = POLineBilling(po_number=po, line_no=line_no, document_id=doc_id, quantity=qty, recorded_at=at)
            session.add(row)
            mine[line_no] = row
    session.flush()
    billed: dict[int, Decimal] = {}
    for line_no in rec.quantities:
        q = select(POLineBilling.quantity).where(
            POLineBilling.po_number == po, POLineBilling.line_no == line_no, POLineBilling.document_id != doc_id
        )
        if line_no in mine:
            q = q.where(POLineBilling.id < mine[line_no].id)
        billed[line_no] = sum(session.scalars(q), Decimal(0))
    return billed


def record_and_claim(engine: Engine, rec: GateRecord, at: datetime | None = None) -> PriorDocuments:
    """Record the document, claim its duplicate keys and bill its PO lines, atomically.

    A document that loses a claim to another document is a possible duplicate and bills nothing (a
    person decides; billing it too would block the original's later siblings)."""
    at = at or datetime.now(UTC)
    keys = claim_keys(rec.entry)
    with Session(engine) as s, s.begin():
        _upsert_index(s, rec, at)  # a write first: SQLite takes the write lock for the whole transaction
        owners = _claim(s, rec.entry.document_id, keys, at)
        billed = _bill(s, rec, record=not owners, at=at)
        rows = (
            s.scalars(select(DocumentIndex).where(DocumentIndex.document_id.in_(owners))).all() if owners else []
        )
        by_id = {
            r.document_id: DocumentIndexEntry(
                r.document_id, r.vendor_id, r.invoice_number, r.amount, r.doc_date, r.currency
            )
            for r in rows
        }
    return PriorDocuments(tuple(by_id[o] for o in owners if o in by_id), billed)



def release(session: Session, document_id: str) -> int:
    """Forget a document's duplicate claims and PO billings, in the caller's transaction: a rejected
    invoice is not paid, so a corrected re-issue with the same number is no duplicate and its quantities
    are free again. Returns the number of rows removed."""
    removed = 0
    for model in (DuplicateClaim, POLineBilling):
        result = session.execute(delete(model).where(model.document_id == document_id))
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed
