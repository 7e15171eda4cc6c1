"""Receipt layouts: narrow till slips (thermal printer look) and a wider card-terminal slip."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline.samples.content import ReceiptContent
from pipeline.samples.draw import DrawDoc
from pipeline.samples.pen import Pen, rate_text


@dataclass(frozen=True)
class ReceiptLayout:
    id: str
    family: str
    width_mm: float
    size: float
    centered_header: bool
    boxed_total: bool


RECEIPT_LAYOUTS: tuple[ReceiptLayout, ...] = (
    ReceiptLayout("rcp-thermal-mono", "Courier", 80, 8.5, True, False),
    ReceiptLayout("rcp-thermal-sans", "Helvetica", 80, 8.5, True, False),
    ReceiptLayout("rcp-narrow", "Courier", 58, 7.0, True, False),
    ReceiptLayout("rcp-slip-boxed", "Helvetica", 105, 9.0, False, True),
    ReceiptLayout("rcp-serif", "Times", 80, 9.0, False, False),
)
RECEIPT_LAYOUT_IDS = tuple(lay.id for lay in RECEIPT_LAYOUTS)
_BY_ID = {lay.id: lay for lay in RECEIPT_LAYOUTS}
_PT_PER_MM = 72 / 25.4


def build_receipt(c: ReceiptContent, layout_id: str, rng: random.Random) -> tuple[DrawDoc, dict[str, str]]:
    lay = _BY_ID[layout_id]
    width = lay.width_mm * _PT_PER_MM
    doc = DrawDoc(width, 2000.0)
    pen = Pen(doc, lay.family, lay.size)
    p, L = c.printing, c.printing.labels
    m = 10.0
    right = width - m
    lh = lay.size * 1.35
    y = 24.0
    fallback: dict[str, str] = {}
    cx, align = (width / 2, "center") if lay.centered_header else (m, "left")
    pen.text(cx, y, c.merchant, font=pen.bold, size=lay.size + 3, align=align, tag="merchant")
    y += lh + 3
    occ = pen.occurrence("merchant_address")
    for line in c.address:
        pen.text(cx, y, line, align=align, tag="merchant_address", occ=occ)
        y += lh
    y += 4
    pen.text(cx, y, L["receipt"], font=pen.bold, align=align)
    y += lh + 2
    pen.text(m, y, p.date(c.date), tag="date")
    time_right = m + pen.width(p.date(c.date)) + 8 + pen.width(c.time)
    pen.text(m + pen.width(p.date(c.date)) + 8, y, c.time)
    if time_right + 8 + pen.width(f"#{c.receipt_no}") > right:  # narrow slip: number on its own line
        y += lh
    pen.text(right, y, f"#{c.receipt_no}", align="right")
    y += lh
    pen.rule(m, y - lh * 0.4, right, y - lh * 0.4, 0.5)
    y += 4
    for name, qty, amount in c.items:
        label = f"{p.qty(qty)} x {name}" if qty != 1 else name
        pen.text(m, y, label)
        pen.text(right, y, p.amount(amount, "plain"), align="right")
        y += lh
    pen.rule(m, y - lh * 0.4, right, y - lh * 0.4, 0.5)
    y += 4
    tax_label = f"{c.printing.locale.tax_name} {rate_text(c.tax_rate, c.printing.locale)}%"
    if not c.tax_included:
        pen.text(m, y, L["subtotal"])
        pen.text(right, y, p.amount(c.total - c.tax, "plain"), align="right", tag="subtotal")
        y += lh
        pen.text(m, y, tax_label)
        pen.text(right, y, p.amount(c.tax), align="right", tag="tax")
        y += lh
    label = L["total"].upper()
    total_text = p.amount(c.total)
    total_size = lay.size + 2.5
    while total_size > lay.size and (
        pen.width(f"{label} {p.currency}", pen.bold, total_size)
        + pen.width(total_text, pen.bold, total_size)
        + 10
        > right - m
    ):
        total_size -= 0.5
    if lay.boxed_total:
        pen.rect(m - 2, y - total_size - 2, right - m + 4, total_size + 8, width=1.0)
    pen.text(m, y + 2, label, font=pen.bold, size=total_size)
    if p.amount_style == "plain":
        pen.text(
            m + pen.width(label, pen.bold, total_size) + 6,
            y + 2,
            p.currency,
            font=pen.bold,
            size=total_size,
            tag="currency",
        )
    else:
        fallback["currency"] = "total"
    pen.text(right, y + 2, p.amount(c.total), font=pen.bold, size=total_size, align="right", tag="total")
    y += lh + 8
    if c.paid_cash is not None and c.change is not None:
        pen.text(m, y, L["cash"])
        pen.text(right, y, p.amount(c.paid_cash, "plain"), align="right", tag="cash_tendered")
        y += lh
        pen.text(m, y, L["change"])
        pen.text(right, y, p.amount(c.change, "plain"), align="right", tag="change")
        y += lh
    else:
        pen.text(m, y, f"{L['card']} ****{rng.randint(1000, 9999)}")
        pen.text(right, y, p.amount(c.total, "plain"), align="right", tag="card_amount")
        y += lh
    if c.tax_included:
        y += 2
        incl = {"en": "incl.", "de": "enth.", "fr": "dont", "es": "incl.", "nl": "incl."}[
            c.printing.locale.language
        ]
        pen.text(m, y, f"{incl} {tax_label}")
        pen.text(right, y, p.amount(c.tax), align="right", tag="tax")
        y += lh
    if c.injection:
        y += 4
        small = lay.size - 1.5
        occ = pen.occurrence("injection")
        for part in pen.wrap(c.injection, right - m, size=small):
            pen.text(m, y, part, size=small, tag="injection", occ=occ)
            y += lh
    y += 6
    pen.text(width / 2, y, L["thanks"], align="center", size=lay.size - 1)
    y += lh
    if c.annotation:
        pen.handwriting(m + 4, y + 2, c.annotation, rng.uniform(14, 18), rng.uniform(-10, 6))
        y += 40
    doc.height = y + 16
    return doc, fallback
