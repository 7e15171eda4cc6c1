"""PO change notice layout: the printed twin of the PO change JSON."""

from __future__ import annotations

import random

from pipeline.samples.content import POChangeContent
from pipeline.samples.draw import A4, DrawDoc
from pipeline.samples.locales import fmt_date
from pipeline.samples.pen import Pen

PO_CHANGE_LAYOUT_IDS = ("poc-table", "poc-table-serif")
_M = 48.0


def build_po_change(c: POChangeContent, layout_id: str, rng: random.Random) -> tuple[DrawDoc, dict[str, str]]:
    family = "Times" if layout_id == "poc-table-serif" else "Helvetica"
    doc = DrawDoc(*A4)
    pen = Pen(doc, family, 9)
    p, L = c.printing, c.printing.labels
    W = doc.width
    pen.text(_M, 60, c.vendor.name, font=pen.bold, size=15, tag="vendor")
    pen.text(_M, 76, c.vendor.address.one_line())
    pen.text(W - _M, 60, L["po_change"], font=pen.bold, size=14, align="right")
    y = 110.0
    for label, value, tag in (
        (L["po_number"], c.po.po_number, "po_number"),
        (L["change_number"], c.change_number, "change_number"),
        (L["issued"], p.date(c.issued), "issued"),
        (L["vendor"], c.vendor.vendor_id, "vendor_id"),
    ):
        pen.label_value(_M, y, label, value, tag, value_x=_M + 120)
        y += 14
    y += 10
    cols = (
        (L["line"], _M, "left"),
        (L["action"], _M + 40, "left"),
        (L["sku"], _M + 95, "left"),
        ("", _M + 160, "left"),
        (L["quantity"], W - _M - 170, "right"),
        (L["unit_price"], W - _M - 90, "right"),
        (L["need_by"], W - _M, "right"),
    )
    for label, x, align in cols:
        pen.text(x, y, label, font=pen.bold, align=align)
    pen.rule(_M, y + 5, W - _M, y + 5, 0.9)
    y += 20
    actions = {
        "en": {"add": "ADD", "change": "CHANGE", "remove": "REMOVE"},
        "de": {"add": "NEU", "change": "ÄNDERN", "remove": "STORNO"},
        "fr": {"add": "AJOUT", "change": "MODIF.", "remove": "ANNUL."},
        "es": {"add": "ALTA", "change": "CAMBIO", "remove": "BAJA"},
        "nl": {"add": "NIEUW", "change": "WIJZIG", "remove": "VERVALT"},
    }[c.printing.locale.language]
    occ = pen.occurrence("changed_lines")
    for ln in c.lines:
        need_by = fmt_date(ln.need_by, c.printing.locale, c.printing.locale.numeric_dates[0])
        values = (
            str(ln.line_no),
            actions[ln.action],
            ln.sku,
            ln.description[:34],
            p.qty(ln.quantity),
            p.amount(ln.unit_price),
            need_by,
        )
        for (_, x, align), text in zip(cols, values, strict=True):
            pen.text(x, y, text, align=align, tag="changed_lines", occ=occ)
        y += 13
        if ln.old and ln.action == "change":
            was = {"en": "was", "de": "bisher", "fr": "avant", "es": "antes", "nl": "was"}[
                c.printing.locale.language
            ]
            pen.text(
                _M + 160,
                y,
                f"({was}: {p.qty(ln.old.quantity)} x {p.amount(ln.old.unit_price)}, "
                f"{fmt_date(ln.old.need_by, c.printing.locale, c.printing.locale.numeric_dates[0])})",
                font=pen.italic,
                size=8,
            )
            y += 13
        pen.rule(_M, y - 8, W - _M, y - 8, 0.3, (0.6, 0.6, 0.6))
    doc.pages = 1
    return doc, {}
