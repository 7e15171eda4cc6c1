"""2-way (invoice vs PO) and 3-way (invoice vs PO vs goods receipts) matching, as a pure function.

Invoice lines are paired with PO lines by SKU, then by description similarity, then (single-line
documents only) by position. Prices must lie within a percentage of the PO price; invoiced
quantities, together with what earlier invoices already billed on the same PO line, may not exceed
ordered (2-way) or received (3-way) quantities beyond a tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from rapidfuzz import fuzz

from pipeline.contracts import NormalizedDocument, NormalizedLineItem, POMatch
from pipeline.refdata.records import POLineRecord, PORecord

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class MatchTolerance:
    price_pct: Decimal = Decimal("2")
    quantity_pct: Decimal = Decimal("0")
    amount_abs: Decimal = Decimal("1.00")
    description_score: float = 80.0


def _pair(
    items: list[NormalizedLineItem], po: PORecord, tol: MatchTolerance
) -> list[tuple[NormalizedLineItem, POLineRecord | None, str]]:
    free = list(po.lines)
    out: list[tuple[NormalizedLineItem, POLineRecord | None, str]] = []
    for item in items:
        found: POLineRecord | None = None
        how = "none"
        if item.sku:
            found = next((ln for ln in free if ln.sku and ln.sku.upper() == item.sku.upper()), None)
            how = "sku" if found else how
        if found is None and item.description:
            scored = sorted(
                (
                    (fuzz.token_set_ratio(item.description.lower(), (ln.description or "").lower()), -i, ln)
                    for i, ln in enumerate(free)
                ),
                key=lambda t: (t[0], t[1]),
                reverse=True,
            )
            if scored and scored[0][0] >= tol.description_score:
                found, how = scored[0][2], "description"
        if found is None and len(items) == 1 and len(free) == 1:
            found, how = free[0], "position"
        if found is not None:
            free.remove(found)
        out.append((item, found, how))
    return out


def invoiced_quantities(
    doc: NormalizedDocument, po: PORecord, tol: MatchTolerance = MatchTolerance()
) -> dict[int, Decimal]:
    """Quantity this invoice bills per PO line (the pairing `match_po` uses): what the gate records."""
    out: dict[int, Decimal] = {}
    for item, line, _ in _pair(doc.line_items, po, tol):
        if line is not None and item.quantity is not None:
            out[line.line_no] = out.get(line.line_no, Decimal(0)) + item.quantity
    return out


def _within(actual: Decimal, expected: Decimal, pct: Decimal) -> bool:
    return abs(actual - expected) <= abs(expected) * pct / HUNDRED


def match_po(
    doc: NormalizedDocument,
    po: PORecord,
    subtotal: Decimal | None,
    tol: MatchTolerance = MatchTolerance(),
    billed: Mapping[int, Decimal] | None = None,
) -> POMatch:
    """Compare the invoice with the PO (and its receipts); details say why per line.

    `billed`: quantity per PO line already billed by earlier invoices (from the gate's database)."""
    billed = billed or {}
    if not doc.line_items:
        if subtotal is None:
            return POMatch(
                po_number=po.po_number,
                status="unmatched",
                details={"reason": "no line items and no subtotal to compare"},
            )
        ok = subtotal <= po.total + tol.amount_abs
        return POMatch(
            po_number=po.po_number,
            status="matched" if ok else "unmatched",
            three_way=False,
            details={"level": "header", "invoice_subtotal": str(subtotal), "po_total": str(po.total)},
        )
    lines: list[dict[str, Any]] = []
    ok_2way = ok_3way = 0
    for item, line, how in _pair(doc.line_items, po, tol):
        entry: dict[str, Any] = {
            "invoice_line": item.line_no,
            "po_line": line.line_no if line else None,
            "paired_by": how,
            "problems": [],
        }
        if line is None:
            entry["problems"].append("no matching PO line")
            lines.append(entry)
            continue
        problems = entry["problems"]
        if item.unit_price is not None and not _within(item.unit_price, line.unit_price, tol.price_pct):
            problems.append(f"price {item.unit_price} vs PO {line.unit_price} (tolerance {tol.price_pct}%)")
        qty = item.quantity
        before = billed.get(line.line_no, Decimal(0))
        entry["billed_before"] = str(before)
        if qty is not None and qty + before > line.quantity * (1 + tol.quantity_pct / HUNDRED):
            if before:
                problems.append(
                    f"quantity {qty} plus {before} already billed by earlier invoices exceeds "
                    f"ordered {line.quantity}"
                )
            else:
                problems.append(f"quantity {qty} exceeds ordered {line.quantity}")
        if item.unit_price is None or qty is None:
            problems.append("quantity or unit price missing on the invoice line")
        if not problems:
            ok_2way += 1
        received = po.received(line.line_no)
        entry["received"] = str(received)
        if qty is not None and qty + before <= received * (1 + tol.quantity_pct / HUNDRED):
            ok_3way += 1
        elif before:
            entry["not_received"] = f"invoiced {qty} plus {before} billed earlier but received {received}"
        else:
            entry["not_received"] = f"invoiced {qty} but received {received}"
        lines.append(entry)
    n = len(lines)
    status: Literal["matched", "partial", "unmatched"] = (
        "matched" if ok_2way == n else "partial" if ok_2way else "unmatched"
    )
    return POMatch(
        po_number=po.po_number,
        status=status,
        three_way=status == "matched" and ok_3way == n,
        details={
            "level": "line",
            "lines": lines,
            "matched_lines": ok_2way,
            "received_lines": ok_3way,
            "invoice_lines": n,
        },
    )
