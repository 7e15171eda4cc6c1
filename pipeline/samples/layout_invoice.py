"""Invoice layouts: 14 combinations of header, meta block, table and totals styles.

Each layout is data (InvoiceLayout); one builder interprets it. Tables flow over pages with
carried-forward / brought-forward running totals, so any layout becomes multi-page when needed and
the `long` layouts always are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from pipeline.samples.content import InvoiceContent
from pipeline.samples.draw import A4, LETTER, Color, DrawDoc
from pipeline.samples.pen import Pen, rate_text

WHITE: Color = (1.0, 1.0, 1.0)
GREY: Color = (0.92, 0.92, 0.92)


@dataclass(frozen=True)
class InvoiceLayout:
    id: str
    family: str  # Helvetica | Times | Courier
    header: str  # left | right | center | band | minimal
    meta: str  # stack | grid | inline
    buyer: str  # left | right
    table: str  # grid | hlines | none | zebra | boxed
    columns: tuple[str, ...]
    totals: str  # stack | boxed | wide
    bank: str  # footer | below
    long: bool = False  # always many lines -> multi-page with carried totals
    accent: Color = (0.15, 0.3, 0.55)
    size: float = 9.0


_C4 = ("description", "quantity", "unit_price", "amount")
_C5 = ("pos", "description", "quantity", "unit_price", "amount")
_C6 = ("pos", "sku", "description", "quantity", "unit_price", "amount")
_CQ = ("quantity", "description", "unit_price", "amount")
_CT = ("sku", "description", "quantity", "unit_price", "tax_rate", "amount")

INVOICE_LAYOUTS: tuple[InvoiceLayout, ...] = (
    InvoiceLayout("inv-classic", "Helvetica", "left", "stack", "left", "hlines", _C4, "stack", "footer"),
    InvoiceLayout("inv-grid", "Helvetica", "right", "grid", "left", "grid", _C5, "boxed", "below"),
    InvoiceLayout(
        "inv-band",
        "Helvetica",
        "band",
        "stack",
        "left",
        "zebra",
        _C6,
        "stack",
        "footer",
        accent=(0.55, 0.1, 0.15),
    ),
    InvoiceLayout("inv-serif", "Times", "center", "inline", "left", "none", _C4, "wide", "below", size=10),
    InvoiceLayout("inv-mono", "Courier", "left", "stack", "right", "none", _CQ, "stack", "below", size=8.5),
    InvoiceLayout(
        "inv-boxed",
        "Helvetica",
        "right",
        "stack",
        "left",
        "boxed",
        _CT,
        "boxed",
        "footer",
        accent=(0.1, 0.4, 0.3),
    ),
    InvoiceLayout("inv-minimal", "Helvetica", "minimal", "inline", "right", "hlines", _C5, "wide", "footer"),
    InvoiceLayout(
        "inv-times-grid", "Times", "left", "grid", "right", "grid", _C6, "stack", "footer", size=10
    ),
    InvoiceLayout(
        "inv-compact", "Helvetica", "center", "stack", "left", "zebra", _C4, "boxed", "below", size=8
    ),
    InvoiceLayout(
        "inv-longform", "Helvetica", "left", "stack", "left", "hlines", _C5, "stack", "footer", long=True
    ),
    InvoiceLayout(
        "inv-ledger",
        "Courier",
        "band",
        "grid",
        "left",
        "grid",
        _CT,
        "wide",
        "below",
        long=True,
        size=8,
        accent=(0.2, 0.2, 0.2),
    ),
    InvoiceLayout(
        "inv-statement",
        "Times",
        "right",
        "inline",
        "left",
        "none",
        _C6,
        "boxed",
        "footer",
        long=True,
        size=9.5,
    ),
    InvoiceLayout("inv-tax-columns", "Helvetica", "left", "grid", "right", "hlines", _CT, "stack", "below"),
    InvoiceLayout(
        "inv-letterhead",
        "Times",
        "minimal",
        "stack",
        "left",
        "boxed",
        _CQ,
        "wide",
        "footer",
        accent=(0.35, 0.2, 0.5),
    ),
)
INVOICE_LAYOUT_IDS = tuple(lay.id for lay in INVOICE_LAYOUTS)
_BY_ID = {lay.id: lay for lay in INVOICE_LAYOUTS}


def invoice_layout(layout_id: str) -> InvoiceLayout:
    return _BY_ID[layout_id]


_COL_WEIGHTS = {
    "pos": 0.06,
    "sku": 0.13,
    "description": 0.0,
    "quantity": 0.09,
    "unit_price": 0.15,
    "amount": 0.16,
    "tax_rate": 0.08,
}
_NUMERIC = {"pos", "quantity", "unit_price", "amount", "tax_rate"}
_MARGIN = 48.0
_FOOTER_H = 64.0


class _Builder:
    def __init__(self, c: InvoiceContent, lay: InvoiceLayout, rng: random.Random) -> None:
        self.c, self.lay, self.rng = c, lay, rng
        self.p = c.printing
        self.L = self.p.labels
        w, h = LETTER if c.locale.page == "letter" else A4
        self.doc = DrawDoc(w, h)
        self.pen = Pen(self.doc, lay.family, lay.size)
        self.W, self.H = w, h
        self.fallback: dict[str, str] = {}

    # ------------------------------------------------------------------ blocks
    def title_room(self, title_size: float) -> float:
        """Width left for the vendor name beside the document title on the same header row."""
        title = self.L["credit_note"] if self.c.is_credit else self.L["invoice"]
        return self.W - 2 * _MARGIN - self.pen.width(title, self.pen.bold, title_size) - 24

    def vendor_block(self, x: float, y: float, align: str) -> float:
        pen, v = self.pen, self.c.vendor
        size = pen.fit_size(self.c.vendor_printed, pen.bold, self.lay.size + 7, self.title_room(20))
        pen.text(x, y, self.c.vendor_printed, font=pen.bold, size=size, align=align, tag="vendor")
        y += self.lay.size + 6
        for line in v.address.lines:
            pen.text(x, y, line, align=align, size=self.lay.size)
            y += self.lay.size * 1.3
        if self.rng.random() < 0.6:
            pen.text(x, y, f"{v.phone}  {v.email}", align=align, size=self.lay.size - 1)
            y += self.lay.size * 1.3
        return y

    def tax_id_line(self, x: float, y: float, align: str = "left") -> float:
        pen = self.pen
        label = self.L["tax_id"] if self.c.vendor.country != "US" else "EIN"
        if align == "right":
            pen.text(x, y, self.c.tax_id_printed, align="right", tag="vendor_tax_id")
            pen.text(x - pen.width(self.c.tax_id_printed) - 4, y, f"{label}:", font=pen.bold, align="right")
        else:
            pen.label_value(x, y, label, self.c.tax_id_printed, "vendor_tax_id")
        return y + self.lay.size * 1.4

    def header(self) -> float:
        lay, pen, c = self.lay, self.pen, self.c
        title = self.L["credit_note"] if c.is_credit else self.L["invoice"]
        top = _MARGIN + 14
        if lay.header == "left":
            y = self.vendor_block(_MARGIN, top, "left")
            y = self.tax_id_line(_MARGIN, y)
            pen.text(
                self.W - _MARGIN, top + 4, title, font=pen.bold, size=20, align="right", color=lay.accent
            )
        elif lay.header == "right":
            y = self.vendor_block(self.W - _MARGIN, top, "right")
            y = self.tax_id_line(self.W - _MARGIN, y, "right")
            pen.text(_MARGIN, top + 4, title, font=pen.bold, size=20, color=lay.accent)
        elif lay.header == "center":
            pen.text(
                self.W / 2,
                top,
                c.vendor_printed,
                font=pen.bold,
                size=lay.size + 8,
                align="center",
                tag="vendor",
            )
            pen.text(
                self.W / 2, top + 16, " · ".join(c.vendor.address.lines).replace("·", "-"), align="center"
            )
            y = top + 24
            pen.rule(_MARGIN, y, self.W - _MARGIN, y, 1.0, lay.accent)
            y += 14
            pen.text(_MARGIN, y + 6, title, font=pen.bold, size=16)
            y = self.tax_id_line(self.W - _MARGIN, y + 6, "right") + 6
        elif lay.header == "band":
            pen.rect(0, 0, self.W, 70, fill=lay.accent, stroke=None)
            size = pen.fit_size(c.vendor_printed, pen.bold, 18, self.title_room(18))
            pen.text(_MARGIN, 42, c.vendor_printed, font=pen.bold, size=size, color=WHITE, tag="vendor")
            pen.text(self.W - _MARGIN, 42, title, font=pen.bold, size=18, color=WHITE, align="right")
            pen.text(_MARGIN, 86, c.vendor.address.one_line(), size=lay.size)
            y = self.tax_id_line(_MARGIN, 100)
        else:  # minimal: title only, vendor identity in the footer
            pen.text(_MARGIN, top + 6, title, font=pen.bold, size=22, color=lay.accent)
            y = top + 24
        return y + 10

    def buyer_block(self, y: float) -> float:
        pen = self.pen
        x = _MARGIN if self.lay.buyer == "left" else self.W / 2 + 30
        pen.text(x, y, self.L["buyer"], font=pen.bold, size=self.lay.size - 0.5, color=self.lay.accent)
        y += self.lay.size * 1.5
        pen.text(x, y, self.c.buyer.name, tag="buyer")
        for line in self.c.buyer.address.lines:
            y += self.lay.size * 1.3
            pen.text(x, y, line)
        return y + self.lay.size * 1.3

    def meta_items(self) -> list[tuple[str, str, str]]:
        c, L, p = self.c, self.L, self.p
        items = [
            (L["credit_number"] if c.is_credit else L["invoice_number"], c.invoice_number, "invoice_number"),
            (L["invoice_date"], p.date(c.invoice_date), "invoice_date"),
            (L["due_date"], p.date(c.due_date), "due_date"),
        ]
        if c.po_number:
            items.append((L["po_number"], c.po_number, "po_number"))
        if self.p.amount_style in ("plain", "parentheses") or self.rng.random() < 0.3:
            items.append(
                (
                    {"en": "Currency", "de": "Währung", "fr": "Devise", "es": "Moneda", "nl": "Valuta"}[
                        c.locale.language
                    ],
                    c.printing.currency,
                    "currency",
                )
            )
        else:
            self.fallback["currency"] = "total"
        return items

    def meta_block(self, y_start: float) -> float:
        lay, pen = self.lay, self.pen
        items = self.meta_items()
        if lay.meta == "stack":
            label_w = max(pen.width(f"{label}:", pen.bold) for label, _, _ in items)
            value_w = max(pen.width(value) for _, value, _ in items)
            need = label_w + value_w + 10
            if lay.buyer == "left":  # block on the right half, values flush right
                x_value = self.W - _MARGIN
                x_label = min(self.W / 2 + 40, x_value - need)
            else:  # block on the left half, values in a column after the longest label
                x_label = _MARGIN
                x_value = _MARGIN + max(190.0, need)
            y = y_start
            for label, value, tag in items:
                pen.text(x_label, y, f"{label}:", font=pen.bold)
                pen.text(x_value, y, value, align="right", tag=tag)
                y += lay.size * 1.5
            return y
        return y_start

    def meta_row(self, y: float) -> float:
        """Grid or inline meta blocks sit in a full-width row under buyer/header."""
        lay, pen = self.lay, self.pen
        items = self.meta_items()
        if lay.meta == "grid":
            cell_w = (self.W - 2 * _MARGIN) / len(items)
            h = lay.size * 3.4
            for i, (label, value, tag) in enumerate(items):
                x = _MARGIN + i * cell_w
                pen.rect(x, y, cell_w, h, fill=GREY if i % 2 == 0 else None)
                label_size = pen.fit_size(label, pen.bold, lay.size - 1, cell_w - 8)
                pen.text(x + 4, y + lay.size + 2, label, font=pen.bold, size=label_size)
                value_size = pen.fit_size(value, pen.regular, lay.size, cell_w - 8)
                pen.text(x + 4, y + 2 * lay.size + 6, value, size=value_size, tag=tag)
            return y + h + 12
        # inline: pairs flowing over one or two lines
        x = _MARGIN
        for label, value, tag in items:
            need = pen.width(f"{label}: ", pen.bold) + pen.width(value) + 18
            if x + need > self.W - _MARGIN:
                x = _MARGIN
                y += lay.size * 1.6
            pen.label_value(x, y, label, value, tag)
            x += need
        return y + lay.size * 2

    # ------------------------------------------------------------------ table
    def columns(self) -> list[tuple[str, float, float]]:
        """(column, left x, right x)."""
        total_w = self.W - 2 * _MARGIN
        fixed = sum(_COL_WEIGHTS[c] for c in self.lay.columns)
        desc_w = total_w * (1 - fixed)
        out, x = [], _MARGIN
        for col in self.lay.columns:
            w = desc_w if col == "description" else total_w * _COL_WEIGHTS[col]
            out.append((col, x, x + w))
            x += w
        return out

    def header_row(self, y: float, cols: list[tuple[str, float, float]]) -> float:
        lay, pen, L = self.lay, self.pen, self.L
        rh = lay.size * 2.0
        names = {
            "pos": "#",
            "sku": L["sku"],
            "description": L["description"],
            "quantity": L["quantity"],
            "unit_price": L["unit_price"],
            "amount": L["amount"],
            "tax_rate": "%",
        }
        color = (0.0, 0.0, 0.0)
        if lay.table == "boxed":
            pen.rect(_MARGIN, y, self.W - 2 * _MARGIN, rh, fill=lay.accent, stroke=None)
            color = WHITE
        elif lay.table in ("zebra", "grid"):
            pen.rect(_MARGIN, y, self.W - 2 * _MARGIN, rh, fill=GREY, stroke=None)
        for col, x0, x1 in cols:
            if col in _NUMERIC:
                pen.text(x1 - 4, y + rh * 0.68, names[col], font=pen.bold, align="right", color=color)
            else:
                pen.text(x0 + 4, y + rh * 0.68, names[col], font=pen.bold, color=color)
        if lay.table in ("hlines", "grid", "none"):
            pen.rule(_MARGIN, y + rh, self.W - _MARGIN, y + rh, 0.9)
        if lay.table == "grid":
            pen.rule(_MARGIN, y, self.W - _MARGIN, y, 0.9)
        return y + rh

    def row(self, y: float, i: int, cols: list[tuple[str, float, float]]) -> float:
        lay, pen, p = self.lay, self.pen, self.p
        ln = self.c.lines[i]
        rh = lay.size * 1.85
        if lay.table == "zebra" and i % 2 == 1:
            pen.rect(_MARGIN, y, self.W - 2 * _MARGIN, rh, fill=(0.95, 0.95, 0.97), stroke=None)
        values = {
            "pos": (str(i + 1), None),
            "sku": (ln.sku, None),
            "description": (ln.description, f"line_items.{i}.description"),
            "quantity": (p.qty(ln.quantity), f"line_items.{i}.quantity"),
            "unit_price": (p.line_amount(ln.unit_price), f"line_items.{i}.unit_price"),
            "amount": (p.line_amount(ln.amount), f"line_items.{i}.amount"),
            "tax_rate": (rate_text(ln.tax_rate, self.c.locale), None),
        }
        base = y + rh * 0.68
        for col, x0, x1 in cols:
            text, tag = values[col]
            if col in _NUMERIC:
                pen.text(x1 - 4, base, text, align="right", tag=tag)
            else:
                pen.text(x0 + 4, base, text, tag=tag)
        if lay.table in ("hlines", "grid", "boxed"):
            pen.rule(
                _MARGIN,
                y + rh,
                self.W - _MARGIN,
                y + rh,
                0.3 if lay.table != "grid" else 0.6,
                (0.5, 0.5, 0.5) if lay.table == "hlines" else (0, 0, 0),
            )
        return y + rh

    def vertical_rules(self, y0: float, y1: float, cols: list[tuple[str, float, float]]) -> None:
        if self.lay.table == "grid":
            xs = [x0 for _, x0, _ in cols] + [cols[-1][2]]
            for x in xs:
                self.pen.rule(x, y0, x, y1, 0.6)
        elif self.lay.table == "boxed":
            self.pen.rect(_MARGIN, y0, self.W - 2 * _MARGIN, y1 - y0, width=0.9)

    def running_line(
        self, y: float, label: str, amount: Decimal, cols: list[tuple[str, float, float]], tag: str
    ) -> float:
        pen = self.pen
        amount_right = next(x1 for col, _, x1 in cols if col == "amount")
        desc_left = next(x0 for col, x0, _ in cols if col == "description")
        pen.text(desc_left + 4, y + self.lay.size * 1.3, label, font=pen.italic)
        pen.text(
            amount_right - 4,
            y + self.lay.size * 1.3,
            self.p.line_amount(amount),
            font=pen.bold,
            align="right",
            tag=tag,
        )
        return y + self.lay.size * 2.0

    def continuation_header(self) -> float:
        pen, c = self.pen, self.c
        y = _MARGIN + 10
        if self.lay.header != "minimal":
            pen.text(_MARGIN, y, c.vendor_printed, font=pen.bold, size=self.lay.size + 2, tag="vendor")
        label = self.L["credit_number"] if c.is_credit else self.L["invoice_number"]
        pen.text(self.W - _MARGIN, y, c.invoice_number, align="right", tag="invoice_number")
        pen.text(
            self.W - _MARGIN - pen.width(c.invoice_number) - 4, y, f"{label}:", font=pen.bold, align="right"
        )
        return y + 22

    def table(self, y: float) -> float:
        cols = self.columns()
        limit = self.H - _FOOTER_H - 40
        y = self.header_row(y, cols)
        seg_top = y - self.lay.size * 2.0
        running = Decimal(0)
        n = len(self.c.lines)
        for i in range(n):
            rh = self.lay.size * 1.85
            last = i == n - 1
            reserve = self.lay.size * 2.2 if not last else 0.0
            if y + rh + reserve > limit:
                self.vertical_rules(seg_top, y, cols)
                self.running_line(y, self.L["carried"], running, cols, f"carried_forward.{self.pen.page}")
                self.pen.page += 1
                y = self.continuation_header()
                y = self.running_line(
                    y,
                    self.L["brought"].format(p=self.pen.page),
                    running,
                    cols,
                    f"brought_forward.{self.pen.page}",
                )
                seg_top = y
                y = self.header_row(y, cols)
            y = self.row(y, i, cols)
            running += self.c.lines[i].amount
        self.vertical_rules(seg_top, y, cols)
        return y + 10

    # ------------------------------------------------------------------ totals
    def totals_rows(self) -> list[tuple[str, str, str | None, bool]]:
        c, L, p = self.c, self.L, self.p
        spec = c.locale
        tax_name = spec.tax_name
        rows: list[tuple[str, str, str | None, bool]] = []
        if c.discount:
            rows.append((L["amount"], p.amount(c.lines_total), "lines_total", False))
            rows.append(
                (
                    f"{L['discount']} {rate_text(c.discount_pct, spec)} %",
                    p.amount(-c.discount),
                    "discount",
                    False,
                )
            )
        rows.append((L["subtotal"], p.amount(c.subtotal), "subtotal", False))
        if len(c.taxes) == 1:
            rate = c.taxes[0][0]
            rows.append((f"{tax_name} {rate_text(rate, spec)} %", p.amount(c.tax), "tax", False))
        else:
            for k, (rate, base, tax) in enumerate(c.taxes):
                rows.append(
                    (
                        f"{tax_name} {rate_text(rate, spec)} % ({p.amount(base, 'plain')})",
                        p.amount(tax),
                        f"tax_breakdown.{k}",
                        False,
                    )
                )
            rows.append((f"{tax_name}", p.amount(c.tax), "tax", False))
        rows.append((L[c.total_label_key], p.amount(c.total), "total", True))
        if c.prepaid:
            rows.append((L["prepaid"], p.amount(-c.prepaid), "prepaid", False))
            rows.append((L["total_due"], p.amount(c.amount_due), "amount_due", True))
        return rows

    def totals(self, y: float) -> float:
        lay, pen = self.lay, self.pen
        rows = self.totals_rows()
        need = len(rows) * lay.size * 1.7 + 20
        if y + need > self.H - _FOOTER_H - 30:
            self.pen.page += 1
            y = self.continuation_header()
        right = self.W - _MARGIN
        x_label = _MARGIN + 4 if lay.totals == "wide" else self.W - _MARGIN - 250
        if lay.totals == "boxed":
            pen.rect(x_label - 8, y, right - x_label + 8, len(rows) * lay.size * 1.7 + 8, width=0.9)
        y += 4
        for label, value, tag, strong in rows:
            y += lay.size * 1.7
            font = pen.bold if strong else pen.regular
            if strong and lay.totals != "boxed":
                pen.rule(x_label, y - lay.size * 1.2, right, y - lay.size * 1.2, 0.8)
            pen.text(x_label, y, label, font=font)
            pen.text(right - 4, y, value, font=font, align="right", tag=tag)
        return y + 18

    def notes(self, y: float) -> float:
        pen, c, L = self.pen, self.c, self.L
        lines = [L["terms"].format(d=c.terms_days)]
        for text in lines:
            pen.text(_MARGIN, y, text, font=pen.italic)
            y += self.lay.size * 1.5
        if c.ytd_amount is not None:
            pen.label_value(_MARGIN, y, L["ytd"], self.p.amount(c.ytd_amount), "ytd_amount")
            y += self.lay.size * 1.5
        if c.injection:
            pen.text(_MARGIN, y, c.injection, tag="injection")
            y += self.lay.size * 1.5
        pen.text(_MARGIN, y, L["thanks"])
        return y + self.lay.size * 1.8

    def bank_lines(self) -> list[tuple[str, str, str | None]]:
        c, L = self.c, self.L
        if c.vendor.country == "US":
            return [
                (L["routing"], c.vendor.routing, "routing_number"),
                (L["account"], c.vendor.account, "account_number"),
            ]
        return [("IBAN" if L["iban"] == "IBAN" else L["iban"], c.iban_printed, "iban")]

    def bank_below(self, y: float) -> float:
        pen = self.pen
        pen.text(_MARGIN, y, self.L["bank"], font=pen.bold, color=self.lay.accent)
        y += self.lay.size * 1.5
        for label, value, tag in self.bank_lines():
            pen.label_value(_MARGIN, y, label, value, tag)
            y += self.lay.size * 1.4
        return y

    def footer(self, page: int) -> None:
        """Vendor identity and bank details at the bottom of every page (letterhead style)."""
        pen, c = self.pen, self.c
        saved = pen.page
        pen.page = page
        size = self.lay.size - 1.5
        y = self.H - _FOOTER_H + 8
        pen.rule(_MARGIN, y - 10, self.W - _MARGIN, y - 10, 0.5, (0.4, 0.4, 0.4))
        col_w = (self.W - 2 * _MARGIN) / 3
        name_size = pen.fit_size(c.vendor_printed, pen.bold, size, col_w - 6)
        pen.text(_MARGIN, y, c.vendor_printed, size=name_size, font=pen.bold, tag="vendor")
        for k, line in enumerate(c.vendor.address.lines):
            pen.text(_MARGIN, y + (k + 1) * size * 1.3, line, size=size)
        x2 = _MARGIN + col_w
        label = self.L["tax_id"] if c.vendor.country != "US" else "EIN"
        pen.text(x2, y, f"{label}:", size=size)
        pen.text(x2 + pen.width(f"{label}: ", size=size), y, c.tax_id_printed, size=size, tag="vendor_tax_id")
        pen.text(x2, y + size * 1.3, c.vendor.phone, size=size)
        pen.text(x2, y + size * 2.6, c.vendor.email, size=size)
        x3 = _MARGIN + 2 * col_w
        pen.text(x3, y, self.L["bank"], size=size, font=pen.bold)
        for k, (lab, value, tag) in enumerate(self.bank_lines()):
            yy = y + (k + 1) * size * 1.3
            pen.text(x3, yy, f"{lab}:", size=size)
            pen.text(x3 + pen.width(f"{lab}: ", size=size), yy, value, size=size, tag=tag)
        pen.page = saved

    def page_numbers(self) -> None:
        pages = self.doc.pages
        saved = self.pen.page
        for page in range(pages):
            self.pen.page = page
            self.pen.text(
                self.W - _MARGIN,
                self.H - 20,
                self.L["page"].format(n=page + 1, m=pages),
                size=self.lay.size - 1.5,
                align="right",
            )
        self.pen.page = saved

    def annotation(self, y_free: float) -> None:
        """Pen note in free space on the last page (below the notes, or beside them if no room)."""
        if not self.c.annotation:
            return
        saved = self.pen.page
        self.pen.page = self.doc.pages - 1
        x = self.rng.uniform(self.W * 0.5, self.W * 0.62)
        y = y_free + self.rng.uniform(4, 24)
        if y > self.H - _FOOTER_H - 50:
            y = y_free - 80
        self.pen.handwriting(x, y, self.c.annotation, self.rng.uniform(18, 24), self.rng.uniform(-10, 8))
        self.pen.page = saved

    # ------------------------------------------------------------------ whole document
    def build(self) -> DrawDoc:
        lay = self.lay
        y = self.header()
        y_buyer = y + 8
        y_after_buyer = self.buyer_block(y_buyer)
        if lay.meta == "stack":
            y_after_meta = self.meta_block(y_buyer)
            y = max(y_after_buyer, y_after_meta) + 14
        else:
            y = self.meta_row(y_after_buyer + 12)
        y = self.table(y + 6)
        y = self.totals(y)
        if y + 70 > self.H - _FOOTER_H:
            self.pen.page += 1
            y = self.continuation_header()
        y = self.notes(y + 6)
        if lay.bank == "below":
            y = self.bank_below(y + 6)
        if lay.bank == "footer" or lay.header == "minimal":
            for page in range(self.doc.pages):
                self.footer(page)
        if self.doc.pages > 1 or lay.meta == "grid":
            self.page_numbers()
        self.annotation(y)
        return self.doc


def build_invoice(c: InvoiceContent, layout_id: str, rng: random.Random) -> tuple[DrawDoc, dict[str, str]]:
    """Lay out an invoice; returns the display list and fallbacks (field -> field whose box carries it)."""
    builder = _Builder(c, invoice_layout(layout_id), rng)
    return builder.build(), builder.fallback
