"""PO change documents: deterministic deltas against the stored PO and a fixed-template summary.

Input is the structured PO change JSON (see docs/normalize-gate.md); output a POChangeSummary.
Positive lead-time impact means delivery moves later than the stored need-by date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.contracts import POChangeSummary, POLineDelta
from pipeline.refdata.records import POLineRecord, PORecord

ACTIONS = ("add", "change", "remove")
CENT = Decimal("0.01")


class POChangeError(ValueError):
    """The PO change payload is malformed (reason is one readable line, no document content)."""


def _dec(value: Any, where: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation:
        raise POChangeError(f"{where}: not a decimal number") from None
    if not out.is_finite():
        raise POChangeError(f"{where}: not a finite number")
    return out


def _date(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise POChangeError(f"{where}: not an ISO date (YYYY-MM-DD)") from None


def _line_view(line: POLineRecord) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "need_by_date": line.need_by_date.isoformat() if line.need_by_date else None,
    }


def parse_change_lines(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate and type the `lines` of a PO change; raise POChangeError with the first problem."""
    lines = payload.get("lines")
    if not isinstance(lines, list):
        raise POChangeError("'lines' must be a list")
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i, raw in enumerate(lines):
        where = f"lines[{i}]"
        if not isinstance(raw, dict):
            raise POChangeError(f"{where}: must be an object")
        action = raw.get("action")
        if action not in ACTIONS:
            raise POChangeError(f"{where}.action must be one of {', '.join(ACTIONS)}")
        try:
            line_no = int(raw.get("line_no"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise POChangeError(f"{where}.line_no must be an integer") from None
        if line_no in seen:
            raise POChangeError(f"{where}: line {line_no} appears twice")
        seen.add(line_no)
        quantity = _dec(raw.get("quantity"), f"{where}.quantity")
        if quantity is not None and quantity < 0:
            raise POChangeError(f"{where}.quantity must not be negative")
        out.append(
            {
                "line_no": line_no,
                "action": action,
                "sku": raw.get("sku"),
                "description": raw.get("description"),
                "quantity": quantity,
                "unit_price": _dec(raw.get("unit_price"), f"{where}.unit_price"),
                "need_by_date": _date(raw.get("need_by_date"), f"{where}.need_by_date"),
            }
        )
    return out


def _money(v: Decimal) -> str:
    return f"{v.quantize(CENT):,}"


def compute_po_change(payload: dict[str, Any], po: PORecord) -> POChangeSummary:
    """Deltas of a PO change against the stored PO, sorted by line and change kind."""
    changes = parse_change_lines(payload)
    current = {ln.line_no: ln for ln in po.lines}
    after_lines: dict[int, tuple[Decimal, Decimal]] = {
        n: (ln.quantity, ln.unit_price) for n, ln in current.items()
    }
    deltas: list[POLineDelta] = []
    lead_days: list[int] = []
    for ch in sorted(changes, key=lambda c: c["line_no"]):
        n, old = ch["line_no"], current.get(ch["line_no"])
        if ch["action"] == "add":
            if old is not None:
                raise POChangeError(f"line {n} is added but already exists on the PO")
            if ch["quantity"] is None or ch["unit_price"] is None:
                raise POChangeError(f"added line {n} needs quantity and unit_price")
            after_lines[n] = (ch["quantity"], ch["unit_price"])
            deltas.append(
                POLineDelta(
                    line_no=n,
                    change="added",
                    after={
                        "sku": ch["sku"],
                        "description": ch["description"],
                        "quantity": str(ch["quantity"]),
                        "unit_price": str(ch["unit_price"]),
                        "need_by_date": ch["need_by_date"].isoformat() if ch["need_by_date"] else None,
                    },
                )
            )
            continue
        if old is None:
            raise POChangeError(f"line {n} does not exist on PO {po.po_number}")
        if ch["action"] == "remove":
            after_lines.pop(n, None)
            deltas.append(POLineDelta(line_no=n, change="removed", before=_line_view(old)))
            continue
        line_deltas: list[POLineDelta] = []
        qty, price = old.quantity, old.unit_price
        if ch["quantity"] is not None and ch["quantity"] != old.quantity:
            qty = ch["quantity"]
            line_deltas.append(
                POLineDelta(
                    line_no=n,
                    change="quantity",
                    before={"quantity": str(old.quantity)},
                    after={"quantity": str(qty)},
                )
            )
        if ch["unit_price"] is not None and ch["unit_price"] != old.unit_price:
            price = ch["unit_price"]
            line_deltas.append(
                POLineDelta(
                    line_no=n,
                    change="price",
                    before={"unit_price": str(old.unit_price)},
                    after={"unit_price": str(price)},
                )
            )
        new_date = ch["need_by_date"]
        if new_date is not None and new_date != old.need_by_date:
            days = (new_date - old.need_by_date).days if old.need_by_date else None
            if days is not None:
                lead_days.append(days)
            line_deltas.append(
                POLineDelta(
                    line_no=n,
                    change="date",
                    before={"need_by_date": old.need_by_date.isoformat() if old.need_by_date else None},
                    after={"need_by_date": new_date.isoformat(), "days": days},
                )
            )
        if ch["description"] is not None and ch["description"] != old.description:
            line_deltas.append(
                POLineDelta(
                    line_no=n,
                    change="description",
                    before={"description": old.description},
                    after={"description": ch["description"]},
                )
            )
        after_lines[n] = (qty, price)
        deltas.extend(line_deltas or [POLineDelta(line_no=n, change="unchanged")])
    before = po.total
    after = sum((q * p for q, p in after_lines.values()), Decimal(0))
    summary = POChangeSummary(
        po_number=po.po_number,
        change_number=str(payload.get("change_number")) if payload.get("change_number") is not None else None,
        deltas=deltas,
        total_before=before,
        total_after=after,
        total_delta=after - before,
        max_lead_time_impact_days=max(lead_days) if lead_days else None,
    )
    summary.summary = render_summary(summary, po.currency)
    return summary


def render_summary(s: POChangeSummary, currency: str | None) -> str:
    """Fixed template (no free text): reviewers and the ERP read the same sentence every time."""
    count = {
        k: sum(1 for d in s.deltas if d.change == k)
        for k in ("added", "removed", "quantity", "price", "date", "description")
    }
    cur = f"{currency} " if currency else ""
    before, after, delta = (
        s.total_before or Decimal(0),
        s.total_after or Decimal(0),
        s.total_delta or Decimal(0),
    )
    sign = "+" if delta >= 0 else "-"
    if s.max_lead_time_impact_days is None:
        lead = "no delivery date changes"
    elif s.max_lead_time_impact_days > 0:
        lead = f"latest delivery moves {s.max_lead_time_impact_days} day(s) later than the need-by date"
    else:
        lead = f"delivery dates move {-s.max_lead_time_impact_days} day(s) earlier or stay"
    return (
        f"PO {s.po_number} change {s.change_number or '-'}: {count['added']} line(s) added, "
        f"{count['removed']} removed, {count['quantity']} quantity, {count['price']} price, "
        f"{count['date']} date and {count['description']} description change(s); value {cur}{_money(before)} "
        f"-> {cur}{_money(after)} ({sign}{_money(abs(delta))}); {lead}."
    )
