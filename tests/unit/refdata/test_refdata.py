from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from pipeline.db import make_engine, migrate
from pipeline.refdata.loader import RefDataLoadError, load_dir
from pipeline.refdata.models import POLine, Vendor
from pipeline.refdata.repository import RefDataRepository
from pipeline.refdata.sample import write_sample
from pipeline.refdata.snapshot import CachedRefData


@pytest.fixture()
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'ref.db'}"
    eng = make_engine(url)
    migrate(url)
    return eng


def test_migration_creates_tables(engine) -> None:  # type: ignore[no-untyped-def]
    names = set(inspect(engine).get_table_names())
    assert {
        "vendors",
        "vendor_bank_accounts",
        "purchase_orders",
        "po_lines",
        "goods_receipts",
        "document_index",
        "duplicate_claims",
        "po_line_billings",
    } <= names


def test_sample_loads_and_snapshot_reads_back(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_sample(tmp_path / "csv")
    report = load_dir(tmp_path / "csv", engine)
    assert report.counts == {"vendors": 6, "purchase_orders": 3, "po_lines": 4, "goods_receipts": 3}
    load_dir(tmp_path / "csv", engine)  # idempotent upsert
    snap = RefDataRepository(engine).snapshot()
    acme = snap.vendor("V001")
    assert acme is not None and acme.ibans == ("DE89370400440532013000",) and acme.locale == "de_DE"
    assert acme.aliases == ("ACME Supplies", "ACME GmbH")
    po = snap.purchase_order("po 1001")
    assert po is not None and po.total == Decimal("330.00") and po.received(2) == Decimal(150)
    assert po.line(1).need_by_date == date(2026, 11, 20)  # type: ignore[union-attr]
    assert not snap.vendor("V003").active  # type: ignore[union-attr]


def _write(dir_: Path, name: str, text: str) -> None:
    dir_.mkdir(parents=True, exist_ok=True)
    (dir_ / name).write_text(text)


@pytest.mark.parametrize(
    ("file", "bad_row", "fragment"),
    [
        ("vendors.csv", "V9,Bad,,DE,de_DE,EUR,DE136695977,,true", "vendors.csv:8: tax_id"),
        ("vendors.csv", "V9,Bad,,DE,de_DE,EUR,,DE00123,true", "vendors.csv:8: iban"),
        ("vendors.csv", "V9,Bad,,DE,xx_YY,EUR,,,true", "locale"),
        ("vendors.csv", "V9,Bad,,DE,de_DE,EURO,,,true", "ISO 4217"),
        ("vendors.csv", "V9,,,DE,de_DE,EUR,,,true", "name is required"),
        ("vendors.csv", "V1,Dup,,DE,de_DE,EUR,,,maybe", "true or false"),
        ("vendors.csv", "V001,Dup,,DE,de_DE,EUR,,,true", "duplicate vendor_id"),
        ("purchase_orders.csv", "PO-9,V999,EUR,2026-01-01,open", "unknown vendor_id"),
        ("purchase_orders.csv", "PO-9,V001,EUR,01/01/2026,open", "ISO date"),
        ("po_lines.csv", "PO-7777,3,S,Thing,1,2,", "unknown po_number"),
        ("po_lines.csv", 'PO-1001,3,S,Thing,1,"1,5",', "plain decimal"),
        ("po_lines.csv", "PO-1001,x,S,Thing,1,2,", "positive integer"),
        ("po_lines.csv", "PO-1001,3,S,Thing,-1,2,", "non-negative"),
        ("goods_receipts.csv", "GR-9,PO-1001,7,1,2026-01-01", "no PO line"),
    ],
)
def test_bad_rows_are_reported_with_file_and_line_and_nothing_is_loaded(
    engine, tmp_path: Path, file: str, bad_row: str, fragment: str
) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "csv"
    write_sample(d)
    with (d / file).open("a") as fh:
        fh.write(bad_row + "\n")
    with pytest.raises(RefDataLoadError) as err:
        load_dir(d, engine)
    assert any(fragment in e for e in err.value.errors), err.value.errors
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Vendor)) == 0
        assert s.scalar(select(func.count()).select_from(POLine)) == 0


def test_missing_column_and_missing_dir(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path / "c", "vendors.csv", "vendor_id,name\nV1,A\n")
    with pytest.raises(RefDataLoadError, match="missing column"):
        load_dir(tmp_path / "c", engine)
    with pytest.raises(RefDataLoadError, match="not a directory"):
        load_dir(tmp_path / "nope", engine)


def test_cached_loader_reloads_after_ttl() -> None:
    from pipeline.refdata.snapshot import RefSnapshot

    calls = []
    now = [0.0]

    def loader() -> RefSnapshot:
        calls.append(1)
        return RefSnapshot()

    cache = CachedRefData(loader, ttl_s=10, clock=lambda: now[0])
    cache.get()
    cache.get()
    assert len(calls) == 1
    now[0] = 11
    cache.get()
    assert len(calls) == 2
