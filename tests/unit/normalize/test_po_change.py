from decimal import Decimal

import pytest

from pipeline.normalize.po_change import POChangeError, compute_po_change
from tests.unit.normalize.factories import PO_1001


def change(*lines: dict) -> dict:
    return {
        "document_type": "po_change",
        "po_number": "PO-1001",
        "change_number": "3",
        "vendor_id": "V001",
        "currency": "EUR",
        "issued": "2026-11-10",
        "lines": list(lines),
    }


def test_deltas_totals_and_lead_time() -> None:
    s = compute_po_change(
        change(
            {"line_no": 1, "action": "change", "quantity": "120", "need_by_date": "2026-12-05"},
            {"line_no": 2, "action": "remove"},
            {
                "line_no": 3,
                "action": "add",
                "sku": "SKU-3",
                "description": "Washers",
                "quantity": "50",
                "unit_price": "0.10",
                "need_by_date": "2026-11-25",
            },
        ),
        PO_1001,
    )
    kinds = [(d.line_no, d.change) for d in s.deltas]
    assert kinds == [(1, "quantity"), (1, "date"), (2, "removed"), (3, "added")]
    assert s.total_before == Decimal("330.00")
    assert s.total_after == Decimal("305.00")  # 120*2.50 + 50*0.10
    assert s.total_delta == Decimal("-25.00")
    assert s.max_lead_time_impact_days == 15
    assert s.summary == (
        "PO PO-1001 change 3: 1 line(s) added, 1 removed, 1 quantity, 0 price, 1 date and "
        "0 description change(s); value EUR 330.00 -> EUR 305.00 (-25.00); latest delivery "
        "moves 15 day(s) later than the need-by date."
    )


def test_price_change_and_no_date_change() -> None:
    s = compute_po_change(change({"line_no": 2, "action": "change", "unit_price": "0.45"}), PO_1001)
    assert [d.change for d in s.deltas] == ["price"]
    assert s.total_delta == Decimal("10.00") and s.max_lead_time_impact_days is None
    assert "no delivery date changes" in s.summary


def test_unchanged_line_is_reported() -> None:
    s = compute_po_change(change({"line_no": 1, "action": "change", "quantity": "100"}), PO_1001)
    assert [d.change for d in s.deltas] == ["unchanged"]


def test_deterministic() -> None:
    payload = change({"line_no": 1, "action": "change", "need_by_date": "2026-11-10"})
    assert compute_po_change(payload, PO_1001) == compute_po_change(payload, PO_1001)


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ([{"line_no": 9, "action": "remove"}], "does not exist"),
        ([{"line_no": 1, "action": "add", "quantity": "1", "unit_price": "1"}], "already exists"),
        ([{"line_no": 1, "action": "explode"}], "action must be"),
        ([{"line_no": "x", "action": "remove"}], "line_no"),
        ([{"line_no": 1, "action": "change", "quantity": "ten"}], "not a decimal"),
        ([{"line_no": 1, "action": "change", "need_by_date": "05/12/2026"}], "ISO date"),
        ([{"line_no": 1, "action": "remove"}, {"line_no": 1, "action": "remove"}], "twice"),
        ([{"line_no": 5, "action": "add", "quantity": "1"}], "needs quantity and unit_price"),
        (["nope"], "must be an object"),
    ],
)
def test_malformed_changes_raise_typed_error(lines: list, fragment: str) -> None:
    with pytest.raises(POChangeError, match=fragment):
        compute_po_change(change(*lines), PO_1001)


def test_lines_must_be_list() -> None:
    with pytest.raises(POChangeError):
        compute_po_change({"po_number": "PO-1001", "lines": "all"}, PO_1001)
