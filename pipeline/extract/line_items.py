"""Invoice line items from the OCR table layout, checked arithmetically.

OCR lines are grouped into visual rows by their boxes; a header row (description / qty / price /
amount words, several languages) fixes the column positions; each following row until a totals row
becomes an item whose numbers are assigned to the nearest header column. Checks: quantity x unit
price = amount per row, and the amounts sum to the subtotal (or total). Confidence reflects the
checks: rows that reconcile are trusted, rows that do not are flagged for review.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pipeline.contracts import DocKind, ExtractedField, ExtractedLineItem, Line, OcrResult, Provenance
from pipeline.extract.candidates import AMOUNT_RE, parse_amount

COLUMNS: dict[str, re.Pattern[str]] = {
    "description": re.compile(
        r"\b(DESCRIPTION|ITEM|ARTICLE|PRODUCT|SERVICE|BESCHREIBUNG|ARTIKEL|BEZEICHNUNG|LEISTUNG|D[EÉ]SIGNATION|"
        r"DESCRIPCI[OÓ]N|DESCRIZIONE|OMSCHRIJVING)\b",
        re.I,
    ),
    "quantity": re.compile(
        r"\b(QTY|QUANTITY|QTE|QT[EÉ]|MENGE|ANZAHL|CANTIDAD|QUANTIT[AÀ]|AANTAL|PCS|UNITS)\b", re.I
    ),
    "unit_price": re.compile(
        r"\b(UNIT\s*PRICE|PRICE|RATE|EINZELPREIS|PREIS|PRIX(\s*UNIT\.?)?|PRECIO|PREZZO|PRIJS|U/?P)\b", re.I
    ),
    "amount": re.compile(
        r"\b(AMOUNT|TOTAL|LINE\s*TOTAL|BETRAG|GESAMT|MONTANT|IMPORTE|IMPORTO|BEDRAG|SUM)\b", re.I
    ),
}
TOTALS_ROW = re.compile(
    r"\b(SUB\s*-?TOTAL|TOTAL|ZWISCHENSUMME|GESAMTBETRAG|SUMME|NET\s*AMOUNT|TAX|VAT|MWST|"
    r"TVA|IVA|BTW)\b",
    re.I,
)
INT_RE = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w.,])")


@dataclass
class Row:
    lines: list[Line]

    @property
    def text(self) -> str:
        return " ".join(ln.text for ln in sorted(self.lines, key=lambda ln: ln.bbox.x0))

    @property
    def y(self) -> float:
        return sum((ln.bbox.y0 + ln.bbox.y1) / 2 for ln in self.lines) / len(self.lines)


def group_rows(lines: list[Line]) -> list[Row]:
    """Visual rows: OCR's `row` index when given, else lines whose vertical centres are close."""
    if lines and all(ln.row is not None for ln in lines):
        by: dict[int, list[Line]] = {}
        for ln in lines:
            by.setdefault(int(ln.row or 0), []).append(ln)
        return [Row(by[k]) for k in sorted(by)]
    rows: list[Row] = []
    for ln in sorted(lines, key=lambda ln: (ln.bbox.y0 + ln.bbox.y1) / 2):
        h = max(1.0, ln.bbox.y1 - ln.bbox.y0)
        c = (ln.bbox.y0 + ln.bbox.y1) / 2
        if rows and abs(rows[-1].y - c) <= 0.5 * h:
            rows[-1].lines.append(ln)
        else:
            rows.append(Row([ln]))
    return rows


def _header_columns(row: Row) -> dict[str, float] | None:
    """Column name -> x centre, if this row looks like a table header (>= 3 known columns)."""
    cols: dict[str, float] = {}
    for ln in row.lines:
        for name, rx in COLUMNS.items():
            if name not in cols and rx.search(ln.text):
                cols[name] = (ln.bbox.x0 + ln.bbox.x1) / 2
                break
    return cols if len(cols) >= 3 and "amount" in cols else None


def _cells(row: Row) -> list[tuple[float, str, Line]]:
    """(x centre, text, source line) for every whitespace-separated number or text run of a row."""
    out = []
    for ln in row.lines:
        width = max(1.0, ln.bbox.x1 - ln.bbox.x0)
        n = max(1, len(ln.text))
        for m in re.finditer(r"\S+(?: \S+)*?(?=\s{2,}|$)|\S+", ln.text):
            # approximate each token's x from its character position inside the line box
            x = ln.bbox.x0 + width * ((m.start() + m.end()) / 2) / n
            out.append((x, m.group(0), ln))
    return out


def _assign(row: Row, cols: dict[str, float]) -> tuple[dict[str, str], list[Line]] | None:
    nums: list[tuple[float, str]] = []
    words: list[str] = []
    src: list[Line] = []
    for x, text, ln in _cells(row):
        if ln not in src:
            src.append(ln)
        tokens = text.split()
        if all(INT_RE.fullmatch(t.replace("'", "")) or AMOUNT_RE.fullmatch(t) for t in tokens):
            nums.extend((x, t) for t in tokens)
        else:
            words.append(text)
    if not nums:
        return None
    values: dict[str, str] = {}
    num_cols = {k: v for k, v in cols.items() if k != "description"}
    for x, t in nums:
        name = min(num_cols, key=lambda k: abs(num_cols[k] - x))
        values.setdefault(name, t)
    if words:
        values["description"] = " ".join(words)
    return values, src


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= max(Decimal("0.011"), abs(b) * Decimal("0.005"))


def extract_line_items(
    ocr: OcrResult, subtotal: str | None = None, total: str | None = None
) -> tuple[list[ExtractedLineItem], dict[str, object]]:
    """Items of every table found, and the reconciliation checks (for reviewers and the gate)."""
    items: list[ExtractedLineItem] = []
    row_checks: list[bool | None] = []
    for page in ocr.pages:
        cols: dict[str, float] | None = None
        for row in group_rows(page.lines):
            if cols is None:
                cols = _header_columns(row)
                continue
            first = min(row.lines, key=lambda ln: ln.bbox.x0).text.strip()
            if TOTALS_ROW.match(first):  # "Subtotal ...", "Total ...", "VAT ...": the table ended
                cols = None
                continue
            got = _assign(row, cols)
            if got is None:
                if items and row.text.strip():  # wrapped description line
                    items[-1].description = f"{items[-1].description or ''} {row.text}".strip()
                continue
            values, src = got
            qty, price, amount = (
                parse_amount(values.get(k, "") or "") if values.get(k) else None
                for k in ("quantity", "unit_price", "amount")
            )
            check = (_close(qty * price, amount) if qty is not None and price is not None and amount is not None
                     else None)
            row_checks.append(check)
            items.append(
                ExtractedLineItem(
                    description=values.get("description"),
                    quantity=values.get("quantity"),
                    unit_price=values.get("unit_price"),
                    amount=values.get("amount"),
                    confidence=0.9 if check else (0.5 if check is None else 0.2),
                    provenance=[
                        Provenance(page=page.index, bbox=ln.bbox, line_index=ln.order, source_text=ln.text)
                        for ln in src
                    ],
                )
            )
    amounts = [parse_amount(i.amount) for i in items if i.amount]
    target = parse_amount(subtotal) if subtotal else (parse_amount(total) if total else None)
    sum_ok = None
    known = [a for a in amounts if a is not None]
    if items and target is not None and len(known) == len(amounts):
        sum_ok = _close(sum(known, Decimal(0)), target)
        if sum_ok:
            for it in items:
                it.confidence = min(0.99, it.confidence + 0.09)
    checks: dict[str, object] = {
        "rows": len(items),
        "rows_reconciled": sum(1 for c in row_checks if c),
        "rows_failed": sum(1 for c in row_checks if c is False),
        "sum_matches": sum_ok,
    }
    return items, checks


def line_items_for(ocr: OcrResult, kind: DocKind, fields: Mapping[str, ExtractedField]) -> list[ExtractedLineItem]:
    """Invoice table rows reconciled against the extracted subtotal/total; other kinds have none."""
    if kind != DocKind.invoice:
        return []
    sub, tot = fields.get("subtotal"), fields.get("total")
    items, _ = extract_line_items(ocr, sub.value if sub else None, tot.value if tot else None)
    return items
