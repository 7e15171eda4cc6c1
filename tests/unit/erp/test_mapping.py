from decimal import Decimal

import pytest

from pipeline.contracts import NormalizedLineItem
from pipeline.erp import mapping
from pipeline.erp.examples import approved_event
from pipeline.erp.stage import sql_sink_stage
from pipeline.runtime import LocalRunner
from pipeline.runtime.errors import PermanentError


def test_document_row_carries_header_approvals_and_versions() -> None:
    ev = approved_event(3, version=2)
    row = mapping.document_row(ev)
    doc = ev.payload
    assert (row["document_id"], row["document_version"], row["event_id"]) == (ev.document_id, 2, ev.event_id)
    assert row["total"] == doc.total and row["currency"] == doc.currency
    assert row["approved_by"] == "r.meier,s.okafor"
    assert row["approved_at"] == max(a.at for a in doc.approvals).replace(tzinfo=None)
    assert row["model"] == "docpipe-qa-minilm@2026.11.1" and row["policy"] == "ap-default@7"
    assert row["po_match_status"] == "matched" and row["source_sha256"] == ev.document_id
    assert row["event_created_at"].tzinfo is None


def test_lines_sorted_by_line_no() -> None:
    ev = approved_event(5, lines=3)
    ev.payload.line_items.reverse()
    assert [r["line_no"] for r in mapping.line_rows(ev)] == [1, 2, 3]


def test_decimal_strings_never_use_exponents() -> None:
    assert mapping.dec_str(Decimal("1E+2")) == "100"
    assert mapping.dec_str(Decimal("0.000001")) == "0.000001"
    assert mapping.dec_str(None) is None


def test_csv_rows_one_per_line_and_one_for_headers_only() -> None:
    ev = approved_event(8, lines=2)
    rows = mapping.csv_rows(ev)
    assert len(rows) == 2 and all(len(r) == len(mapping.CSV_COLUMNS) for r in rows)
    empty = approved_event(9, lines=0)
    (only,) = mapping.csv_rows(empty)
    assert only[mapping.CSV_COLUMNS.index("line_no") :] == [""] * len(mapping.LINE_COLUMNS)
    assert only[mapping.CSV_COLUMNS.index("straight_through")] in ("true", "false")


def test_csv_column_order_is_stable() -> None:
    """Importers map columns by position: changing this tuple is a breaking change (append only)."""
    assert mapping.CSV_COLUMNS[:6] == (
        "document_id",
        "document_version",
        "event_id",
        "tenant",
        "kind",
        "vendor_id",
    )
    assert mapping.CSV_COLUMNS[-6:] == mapping.LINE_COLUMNS
    assert len(mapping.CSV_COLUMNS) == len(set(mapping.CSV_COLUMNS)) == 38


def test_jsonl_record_decimals_are_strings() -> None:
    rec = mapping.jsonl_record(approved_event(4))
    assert isinstance(rec["total"], str) and isinstance(rec["document_version"], int)
    assert all(isinstance(ln["unit_price"], str) for ln in rec["lines"])


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (Decimal("12345678901234.123456"), True),
        (Decimal("1.1000000"), True),  # trailing zeros beyond scale 6 are harmless
        (Decimal("1.1234567"), False),
        (Decimal("123456789012345"), False),
        (Decimal("NaN"), False),
    ],
)
def test_amount_range_matches_numeric_20_6(value: Decimal, ok: bool) -> None:
    if ok:
        mapping.check_decimal("total", value)
    else:
        with pytest.raises(PermanentError):
            mapping.check_decimal("total", value)


def test_bad_documents_are_dead_lettered_with_a_reason() -> None:
    dup = approved_event(1, lines=2)
    dup.payload.line_items.append(NormalizedLineItem(line_no=1, amount=Decimal(1)))
    precise = approved_event(2)
    precise.payload.total = Decimal("1.0000001")
    good = approved_event(3)
    res = LocalRunner(sql_sink_stage()).run([dup, precise, good, b"{oops"])
    reasons = [d.event.payload.error for d in res.dead_letters if d.topic == "docs.dlq"]
    assert reasons[0] == "duplicate line_no 1"
    assert reasons[1] == "total has more than 6 decimal places"
    assert reasons[2].startswith("not JSON")
    assert len(reasons) == 3
