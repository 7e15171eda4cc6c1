"""The gate's document record on SQLite: duplicate claims (replay-safe, race-free) and PO line billing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from pipeline.db import make_engine, migrate
from pipeline.refdata.claims import GateRecord, claim_keys, invoice_number_key
from pipeline.refdata.loader import load_dir
from pipeline.refdata.records import DocumentIndexEntry
from pipeline.refdata.repository import RefDataRepository
from pipeline.refdata.sample import write_sample
from tests.unit.refdata.claims_race import billing_race, duplicate_race


@pytest.fixture()
def url(tmp_path: Path) -> str:
    u = f"sqlite:///{tmp_path / 'ref.db'}"
    migrate(u)
    write_sample(tmp_path / "csv")
    load_dir(tmp_path / "csv", make_engine(u))
    return u


@pytest.fixture()
def repo(url: str) -> RefDataRepository:
    return RefDataRepository(make_engine(url))


def entry(doc: str, number: str | None = "INV-1", amount: str = "100.00", vendor: str = "V001") -> DocumentIndexEntry:
    return DocumentIndexEntry(doc * 64, vendor, number, Decimal(amount), date(2026, 11, 1), "EUR")


def ids(prior_duplicates: tuple[DocumentIndexEntry, ...]) -> list[str]:
    return [d.document_id for d in prior_duplicates]


def test_invoice_numbers_fold_to_letters_and_digits() -> None:
    assert invoice_number_key("inv 001") == invoice_number_key("INV-001") == "INV001"
    assert invoice_number_key("--") == "--"  # nothing alphanumeric: kept, not emptied
    assert claim_keys(DocumentIndexEntry("x", None, "INV-1", Decimal(1), date(2026, 1, 1))) == []
    assert [k[1] for k in claim_keys(entry("a"))] == ["amount_date", "number"]


def test_replay_never_flags_itself_and_copies_are_flagged(repo: RefDataRepository) -> None:
    a = GateRecord(entry("a"), "invoice")
    assert repo.record_and_claim(a).duplicates == ()
    assert repo.record_and_claim(a).duplicates == ()  # redelivered: its own claims
    same_number = GateRecord(entry("b", "inv 1", "5.00"), "invoice")
    assert ids(repo.record_and_claim(same_number).duplicates) == ["a" * 64]
    same_amount_date = GateRecord(entry("c", "INV-2"), "invoice")
    assert ids(repo.record_and_claim(same_amount_date).duplicates) == ["a" * 64]
    other_vendor = GateRecord(entry("d", vendor="V002"), "invoice")
    assert repo.record_and_claim(other_vendor).duplicates == ()
    assert repo.record_and_claim(a).duplicates == ()  # still the owner after others lost


def test_a_corrected_document_releases_the_keys_it_no_longer_has(repo: RefDataRepository) -> None:
    repo.record_and_claim(GateRecord(entry("a", "INV-9", "1.00"), "invoice"))
    # re-extracted with the right number and amount: INV-9 / 1.00 are no longer this document's
    repo.record_and_claim(GateRecord(entry("a", "INV-10", "2.00"), "invoice"))
    assert repo.record_and_claim(GateRecord(entry("b", "INV-9", "1.00"), "invoice")).duplicates == ()
    assert ids(repo.record_and_claim(GateRecord(entry("c", "INV-10", "3.00"), "invoice")).duplicates) == ["a" * 64]


def test_billing_counts_earlier_invoices_only_and_duplicates_bill_nothing(repo: RefDataRepository) -> None:
    first = GateRecord(entry("a", "INV-1", "150.00"), "invoice", "PO-1001", {1: Decimal(60)})
    second = GateRecord(entry("b", "INV-2", "100.00"), "invoice", "PO-1001", {1: Decimal(30), 2: Decimal(5)})
    assert repo.record_and_claim(first).billed == {1: Decimal(0)}
    assert repo.record_and_claim(second).billed == {1: Decimal(60), 2: Decimal(0)}
    # replays see exactly what they saw the first time (later invoices do not count)
    assert repo.record_and_claim(first).billed == {1: Decimal(0)}
    assert repo.record_and_claim(second).billed == {1: Decimal(60), 2: Decimal(0)}
    copy = GateRecord(entry("c", "INV-2", "100.00"), "invoice", "PO-1001", {1: Decimal(30)})
    prior = repo.record_and_claim(copy)
    assert ids(prior.duplicates) == ["b" * 64] and prior.billed == {1: Decimal(90)}
    third = GateRecord(entry("d", "INV-3", "7.00"), "invoice", "PO-1001", {1: Decimal(1)})
    assert repo.record_and_claim(third).billed == {1: Decimal(90)}  # the copy billed nothing


def test_concurrent_copies_of_one_invoice_have_exactly_one_owner(url: str) -> None:
    duplicate_race(url)


def test_concurrent_invoices_on_one_po_line_see_each_other(url: str) -> None:
    billing_race(url)


def test_no_database_no_silent_pass(tmp_path: Path) -> None:
    """An unmigrated database is an error the stage turns into a retry, never an empty answer."""
    from sqlalchemy.exc import SQLAlchemyError

    engine: Engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SQLAlchemyError):
        RefDataRepository(engine).record_and_claim(GateRecord(entry("a"), "invoice"))
