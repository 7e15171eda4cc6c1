"""Concurrency scenarios for the gate's claims, shared by the SQLite (unit) and PostgreSQL (integration)
tests: N workers with their own engines start at one barrier and record competing documents."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

from pipeline.db import make_engine
from pipeline.refdata.claims import GateRecord, PriorDocuments
from pipeline.refdata.records import DocumentIndexEntry
from pipeline.refdata.repository import RefDataRepository

WORKERS = 6


def run_concurrently(url: str, records: list[GateRecord]) -> list[PriorDocuments]:
    """Each record on its own thread, engine and connection, released together."""
    barrier = threading.Barrier(len(records))
    results: list[PriorDocuments | BaseException | None] = [None] * len(records)

    def work(i: int) -> None:
        engine = make_engine(url)
        try:
            repo = RefDataRepository(engine)
            barrier.wait()
            results[i] = repo.record_and_claim(records[i])
        except BaseException as exc:  # surfaced below, with the thread's own error
            results[i] = exc
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(records))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, PriorDocuments)]


def doc_id(i: int) -> str:
    return f"{i:064d}"


def same_invoice_copies(n: int = WORKERS) -> list[GateRecord]:
    """n different files of one invoice (same vendor and number, amounts differ by OCR noise)."""
    return [
        GateRecord(
            DocumentIndexEntry(doc_id(i), "V001", "INV-77", Decimal(f"392.{70 + i}"), date(2026, 11, 15), "EUR"),
            "invoice",
        )
        for i in range(n)
    ]


def invoices_on_one_po_line(n: int = WORKERS, qty: str = "60") -> list[GateRecord]:
    """n distinct invoices, each billing `qty` on PO-1001 line 1."""
    return [
        GateRecord(
            DocumentIndexEntry(doc_id(100 + i), "V001", f"INV-{i}", Decimal(100 + i), date(2026, 11, 15), "EUR"),
            "invoice",
            "PO-1001",
            {1: Decimal(qty)},
        )
        for i in range(n)
    ]


def check_one_owner(results: list[PriorDocuments], records: list[GateRecord]) -> None:
    """Exactly one copy passes; every other copy names that one as the earlier document."""
    clean = [i for i, r in enumerate(results) if not r.duplicates]
    assert len(clean) == 1, f"{len(clean)} copies passed the duplicate check"
    winner = records[clean[0]].entry.document_id
    for i, r in enumerate(results):
        if i != clean[0]:
            assert winner in [d.document_id for d in r.duplicates]


def check_serialized_billing(results: list[PriorDocuments], qty: Decimal) -> None:
    """Every invoice saw all the invoices before it: billed-before values are 0, q, 2q, ..."""
    seen = sorted(r.billed[1] for r in results)
    assert seen == [qty * k for k in range(len(results))]


def duplicate_race(url: str) -> None:
    records = same_invoice_copies()
    check_one_owner(run_concurrently(url, records), records)


def billing_race(url: str) -> None:
    check_serialized_billing(run_concurrently(url, invoices_on_one_po_line()), Decimal(60))
