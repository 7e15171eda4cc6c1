"""What a document says (independent of how it looks): values, printing choices and hard cases.

Every value keeps its typed form; the printed (raw) form is derived here through the document's
locale and style choices, so the ground truth's raw and canonical values can never disagree.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from pipeline.samples import ids
from pipeline.samples.locales import (
    INJECTIONS,
    LOCALES,
    LocaleSpec,
    currency_symbol,
    fmt_amount,
    fmt_date,
    fmt_quantity,
    labels_for,
    pick_date_pattern,
)
from pipeline.samples.world import CATALOG, Buyer, POLine, PurchaseOrder, Vendor, World

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class LineItem:
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal


@dataclass
class Printing:
    """Per-document print choices: the same value can look different from one vendor to the next."""

    locale: LocaleSpec
    currency: str
    date_pattern: str
    amount_style: str  # totals: plain / symbol / code / parentheses
    line_style: str  # line items: plain or symbol
    labels: dict[str, str]

    def date(self, value: dt.date) -> str:
        return fmt_date(value, self.locale, self.date_pattern)

    def amount(self, value: Decimal, style: str | None = None) -> str:
        return fmt_amount(value, self.currency, self.locale, style or self.amount_style)

    def line_amount(self, value: Decimal) -> str:
        return fmt_amount(value, self.currency, self.locale, self.line_style)

    def qty(self, value: Decimal) -> str:
        return fmt_quantity(value, self.locale)

    def currency_mark(self) -> str:
        """How the currency shows inside a printed total: its symbol or its ISO code."""
        if self.amount_style == "symbol":
            return currency_symbol(self.currency, self.locale)
        return self.currency


def _printing(rng: random.Random, spec: LocaleSpec, currency: str, negative: bool) -> Printing:
    styles = ["plain", "symbol", "code"]
    if spec.language == "en" and negative:
        styles.append("parentheses")
    return Printing(
        spec,
        currency,
        pick_date_pattern(rng, spec),
        rng.choice(styles),
        rng.choice(("plain", "plain", "symbol")),
        labels_for(spec, rng),
    )


@dataclass
class InvoiceContent:
    doc_id: str
    vendor: Vendor
    buyer: Buyer
    printing: Printing
    is_credit: bool
    invoice_number: str
    invoice_date: dt.date
    due_date: dt.date
    po_number: str | None
    po_match: str  # match | partial | unknown_po | none
    lines: list[LineItem]
    discount_pct: Decimal
    discount: Decimal
    lines_total: Decimal
    subtotal: Decimal
    taxes: list[tuple[Decimal, Decimal, Decimal]]  # (rate, base, tax)
    tax: Decimal
    total: Decimal
    prepaid: Decimal
    amount_due: Decimal
    iban: str  # as owned by the account printed on the invoice (compact); "" for US ACH
    terms_days: int
    tax_id_printed: str
    iban_printed: str
    total_label_key: str  # "total" or "total_due"
    vendor_printed: str = ""  # the name as printed: the master name or one of its aliases
    hard_cases: list[str] = field(default_factory=list)
    injection: str | None = None
    annotation: str | None = None
    ytd_amount: Decimal | None = None
    duplicate_of: str | None = None

    @property
    def locale(self) -> LocaleSpec:
        return self.printing.locale

    def fields(self) -> dict[str, tuple[str | None, str | None]]:
        """field -> (raw as printed, canonical value); None when the document does not carry it."""
        p = self.printing
        return {
            "vendor": (self.vendor_printed or self.vendor.name, self.vendor.name),
            "vendor_tax_id": (
                self.tax_id_printed,
                self.vendor.tax_id.replace("-", "") if self.vendor.country == "US" else self.vendor.tax_id,
            ),
            "invoice_number": (self.invoice_number, self.invoice_number),
            "invoice_date": (p.date(self.invoice_date), self.invoice_date.isoformat()),
            "due_date": (p.date(self.due_date), self.due_date.isoformat()),
            "po_number": (self.po_number, self.po_number),
            "currency": (self.currency_raw(), p.currency),
            "subtotal": (p.amount(self.subtotal), str(self.subtotal)),
            "tax": (p.amount(self.tax), str(self.tax)),
            "total": (p.amount(self.total), str(self.total)),
            "iban": (self.iban_printed or None, self.iban or None),
            "buyer": (self.buyer.name, self.buyer.name),
        }

    def currency_raw(self) -> str:
        return self.printing.currency


def _pick_lines(rng: random.Random, spec: LocaleSpec, n: int, sign: Decimal) -> list[LineItem]:
    lines = []
    for _ in range(n):
        item = rng.choice(CATALOG)
        if item.unit_fraction:
            qty = Decimal(rng.choice(("0.5", "1.5", "2", "2.5", "4", "7.5", "8", "12.25", "16")))
        else:
            choices = (
                (1, 1, 2, 3, 4, 5) if item.price > 100 else (1, 2, 3, 4, 5, 6, 10, 12, 20, 24, 50, 100, 250)
            )
            qty = Decimal(rng.choice(choices))
        price = money(item.price * Decimal(rng.uniform(0.85, 1.2)))
        rate = (
            rng.choice(spec.tax_rates[:2])
            if len(spec.tax_rates) > 1 and rng.random() < 0.25
            else spec.tax_rates[0]
        )
        lines.append(
            LineItem(item.sku, item.names[spec.language], qty, price, money(qty * price) * sign, rate)
        )
    return lines


def _tax_id_print(vendor: Vendor, rng: random.Random) -> str:
    tid = vendor.tax_id
    if vendor.country == "GB" and rng.random() < 0.5:
        return f"GB {tid[2:5]} {tid[5:9]} {tid[9:]}"
    if vendor.country in ("DE", "FR") and rng.random() < 0.3:
        return f"{tid[:2]} {tid[2:]}"
    return tid


def make_invoice(
    world: World,
    rng: random.Random,
    doc_id: str,
    seq: int,
    *,
    many_lines: bool,
    earlier: list[InvoiceContent],
) -> InvoiceContent:
    """One invoice or credit note with its hard cases. A few re-issue an earlier invoice (duplicates)."""
    if earlier and rng.random() < 0.05:
        return _duplicate(rng, doc_id, rng.choice(earlier))
    hard: list[str] = []
    roll = rng.random()
    if roll < 0.02 and world.inactive_vendors:
        vendor = rng.choice(world.inactive_vendors)
        hard.append("inactive_vendor")
    elif roll < 0.04:
        vendor = world.stranger(rng)
        hard.append("unknown_vendor")
    else:
        vendor = rng.choice(world.active_vendors)
    spec = LOCALES[vendor.locale]
    is_credit = rng.random() < 0.08
    sign = Decimal(-1) if is_credit else Decimal(1)
    currency = vendor.currency
    if rng.random() < 0.04:
        currency = rng.choice([c for c in ("EUR", "USD", "GBP") if c != vendor.currency])
        hard.append("foreign_currency")
    printing = _printing(rng, spec, currency, is_credit)
    buyer = rng.choice(world.buyers)
    n_lines = rng.randint(34, 60) if many_lines else rng.choice((1, 2, 3, 3, 4, 5, 6, 8))
    lines = _pick_lines(rng, spec, n_lines, sign)
    lines_total = sum((ln.amount for ln in lines), Decimal(0))
    discount_pct = Decimal(rng.choice((2, 3, 5, 10))) if rng.random() < 0.18 else Decimal(0)
    # Taxes per rate on the discounted bases; the discount applies proportionally to every rate.
    bases: dict[Decimal, Decimal] = {}
    for ln in lines:
        bases[ln.tax_rate] = bases.get(ln.tax_rate, Decimal(0)) + ln.amount
    discount = Decimal(0)
    if discount_pct:
        discount = money(lines_total * discount_pct / 100)
        bases = {r: money(b * (1 - discount_pct / 100)) for r, b in bases.items()}
        hard.append("discount")
    subtotal = sum(bases.values(), Decimal(0))
    discount = lines_total - subtotal  # exact, after per-rate rounding
    taxes = [(rate, base, money(base * rate / 100)) for rate, base in sorted(bases.items(), reverse=True)]
    if len(taxes) > 1:
        hard.append("multiple_tax_rates")
    tax = sum((t for _, _, t in taxes), Decimal(0))
    total = subtotal + tax
    invoice_date = world.as_of - dt.timedelta(days=rng.randint(1, 75))
    terms = rng.choice((14, 30, 30, 45, 60))
    no_po = is_credit or "unknown_vendor" in hard or "foreign_currency" in hard
    po_number, po_match = _po_for_invoice(world, rng, vendor, lines, invoice_date, no_po)
    iban = vendor.iban
    if iban and rng.random() < 0.06:
        iban = ids.iban(vendor.country, rng)
        hard.append("changed_bank_account")
    prefix = rng.choice(("INV-", "RE", "F", "", "FAC-", "2026/"))
    number = (
        f"{prefix}{rng.randint(10000, 99999)}"
        if prefix != "2026/"
        else f"{prefix}{rng.randint(100, 9999):04d}"
    )
    if is_credit:
        number = rng.choice(("CN-", "GS-", "AV-", "R-")) + number.split("-")[-1].split("/")[-1]
        hard.append("credit_note")
    prepaid = Decimal(0)
    total_label_key = "total"
    roll = rng.random()
    if not is_credit and roll < 0.12:
        total_label_key = "total_due"
        hard.append("subtotal_vs_total_due")
    elif not is_credit and roll < 0.2:
        prepaid = money(total * Decimal(rng.choice(("0.2", "0.3", "0.5"))))
        hard.append("prepayment_balance_due")
    content = InvoiceContent(
        doc_id=doc_id,
        vendor=vendor,
        buyer=buyer,
        printing=printing,
        is_credit=is_credit,
        invoice_number=number,
        invoice_date=invoice_date,
        due_date=invoice_date + dt.timedelta(days=terms),
        po_number=po_number,
        po_match=po_match,
        lines=lines,
        discount_pct=discount_pct,
        discount=discount,
        lines_total=lines_total,
        subtotal=subtotal,
        taxes=taxes,
        tax=tax,
        total=total,
        prepaid=prepaid,
        amount_due=total - prepaid,
        iban=iban,
        terms_days=terms,
        tax_id_printed=_tax_id_print(vendor, rng),
        iban_printed=ids.format_iban(iban) if iban and rng.random() < 0.8 else iban,
        total_label_key=total_label_key,
        hard_cases=hard,
    )
    content.vendor_printed = vendor.name
    if vendor.aliases and rng.random() < 0.15:
        content.vendor_printed = rng.choice(vendor.aliases)
        hard.append("vendor_alias")
    if (
        printing.date_pattern in spec.numeric_dates
        and invoice_date.day <= 12
        and invoice_date.day != invoice_date.month
    ):
        hard.append("ambiguous_date")  # numeric day/month both <= 12: only the locale resolves it
    if rng.random() < 0.06:
        content.injection = rng.choice(INJECTIONS[spec.language])
        hard.append("prompt_injection")
    if rng.random() < 0.12:
        content.annotation = rng.choice(
            ("ok to pay", "approved", "check PO!", "paid", "JK 12/11", "booked", "wrong price?", "ok - M.S.")
        )
        hard.append("handwritten_annotation")
    if rng.random() < 0.12 or (not is_credit and abs(total) < 500 and rng.random() < 0.1):
        content.ytd_amount = money(abs(total) * Decimal(rng.uniform(3, 40)))
        hard.append("total_not_largest")
    if po_match in ("partial", "unknown_po"):
        hard.append(f"po_{po_match}")
    return content


def _duplicate(rng: random.Random, doc_id: str, original: InvoiceContent) -> InvoiceContent:
    """Same invoice sent again (possibly re-printed differently): the gate must flag it."""
    import copy

    dup = copy.copy(original)
    dup.doc_id = doc_id
    dup.duplicate_of = original.doc_id
    dup.hard_cases = [*(h for h in original.hard_cases if h != "duplicate"), "duplicate"]
    dup.annotation = None if rng.random() < 0.5 else "2nd reminder"
    return dup


def _po_for_invoice(
    world: World,
    rng: random.Random,
    vendor: Vendor,
    lines: list[LineItem],
    invoice_date: dt.date,
    no_po: bool,
) -> tuple[str | None, str]:
    """Store a PO that the invoice matches exactly, partly (price/quantity off, partial receipt), or
    print a PO number unknown to the reference data, or no PO at all."""
    roll = rng.random()
    if no_po:  # credit notes, unknown vendors, foreign currency: at most an unknown PO reference
        return (world.unknown_po_number(rng), "unknown_po") if roll < 0.1 else (None, "none")
    if roll < 0.22:
        return None, "none"
    if roll < 0.32:
        return world.unknown_po_number(rng), "unknown_po"
    partial = roll < 0.52
    po_number = world.new_po_number(rng)
    order_date = invoice_date - dt.timedelta(days=rng.randint(5, 40))
    po_lines = []
    for i, ln in enumerate(lines, start=1):
        qty, price = ln.quantity, ln.unit_price
        if partial and i == 1:
            if rng.random() < 0.5:
                price = money(price * Decimal("0.9"))  # invoice charges 10 % more than agreed
            else:
                qty = qty + max(Decimal(1), money(qty / 2))  # invoice bills fewer units than ordered
        po_lines.append(POLine(i, ln.sku, ln.description, qty, price, order_date + dt.timedelta(days=14)))
    world.add_po(PurchaseOrder(po_number, vendor.vendor_id, vendor.currency, order_date, "open", po_lines))
    received = invoice_date - dt.timedelta(days=rng.randint(0, 4))
    for pl, ln in zip(po_lines, lines, strict=True):
        qty = ln.quantity
        if partial and pl.line_no == len(po_lines) and rng.random() < 0.5:
            qty = max(Decimal(0), qty - 1)  # short delivery: 3-way match must catch it
        if qty > 0:
            world.add_receipt(po_number, pl.line_no, qty, received)
    return po_number, "partial" if partial else "match"


# --------------------------------------------------------------------------- receipts

_MERCHANTS: dict[str, tuple[str, ...]] = {
    "US": ("CORNER MARKET", "QUICKSTOP #214", "GREEN LEAF CAFE", "HARDWARE DEPOT"),
    "GB": ("HIGH ST NEWS", "THE OLD BAKERY", "PARKSIDE PHARMACY", "CITY CABS LTD"),
    "DE": ("BÄCKEREI KRUMM", "EDEKA MARKT HOFMANN", "TANKSTELLE NORD", "CAFÉ AM RING"),
    "FR": ("BOULANGERIE DUPAIN", "TABAC DU CENTRE", "PHARMACIE DES LILAS", "CAFÉ DE LA GARE"),
    "ES": ("PANADERÍA SOL", "FARMACIA CENTRAL", "BAR EL PUERTO", "FERRETERÍA LÓPEZ"),
    "NL": ("BAKKERIJ DE ZON", "ALBERT VAN DAM", "CAFÉ HET HOEKJE", "DROGISTERIJ NOORD"),
}

# price, then the till text in en, de, fr, es, nl (till printers abbreviate and shout)
_RECEIPT_ITEMS: tuple[tuple[str, dict[str, str]], ...] = tuple(
    (price, dict(zip(("en", "de", "fr", "es", "nl"), names, strict=True)))
    for price, *names in (
        ("3.20", "COFFEE", "KAFFEE", "CAFE", "CAFE SOLO", "KOFFIE"),
        ("1.90", "CROISSANT", "CROISSANT", "CROISSANT", "CRUASAN", "CROISSANT"),
        ("1.20", "WATER 0.5L", "WASSER 0,5L", "EAU 50CL", "AGUA 0,5L", "WATER 0,5L"),
        ("4.80", "SANDWICH", "BELEGTES BROT", "SANDWICH JAMBON", "BOCADILLO", "BROODJE KAAS"),
        ("2.50", "NEWSPAPER", "ZEITUNG", "JOURNAL", "PERIODICO", "KRANT"),
        ("6.99", "BATTERIES AA", "BATTERIEN AA", "PILES AA", "PILAS AA", "BATTERIJEN AA"),
        ("3.49", "NOTEBOOK", "NOTIZBLOCK", "CARNET", "CUADERNO", "SCHRIFT"),
        ("18.40", "TAXI FARE", "TAXIFAHRT", "COURSE TAXI", "CARRERA TAXI", "TAXIRIT"),
        ("5.00", "PARKING", "PARKEN", "STATIONNEMENT", "APARCAMIENTO", "PARKEREN"),
        ("58.42", "FUEL 32.1L", "SUPER E10 32,1L", "GAZOLE 32,1L", "GASOLEO 32,1L", "EURO95 32,1L"),
        ("4.15", "ASPIRIN", "ASPIRIN", "ASPIRINE", "ASPIRINA", "ASPIRINE"),
        ("2.60", "TEA", "TEE", "THE", "TE", "THEE"),
    )
)


@dataclass
class ReceiptContent:
    doc_id: str
    merchant: str
    address: tuple[str, ...]
    printing: Printing
    date: dt.date
    time: str
    items: list[tuple[str, Decimal, Decimal]]  # description, qty, amount
    total: Decimal
    tax_rate: Decimal
    tax: Decimal
    tax_included: bool
    paid_cash: Decimal | None
    change: Decimal | None
    card: bool
    receipt_no: str
    hard_cases: list[str] = field(default_factory=list)
    injection: str | None = None
    annotation: str | None = None

    def fields(self) -> dict[str, tuple[str | None, str | None]]:
        p = self.printing
        return {
            "merchant": (self.merchant, self.merchant),
            "merchant_address": ("\n".join(self.address), ", ".join(self.address)),
            "date": (p.date(self.date), self.date.isoformat()),
            "total": (p.amount(self.total), str(self.total)),
            "tax": (p.amount(self.tax), str(self.tax)),
            "currency": (p.currency, p.currency),
        }


def make_receipt(world: World, rng: random.Random, doc_id: str) -> ReceiptContent:
    from pipeline.samples.world import _address

    country = rng.choice(("US", "GB", "DE", "FR", "ES", "NL"))
    spec = LOCALES[next(tag for tag, s in LOCALES.items() if s.country == country)]
    printing = _printing(rng, spec, spec.currency, False)
    printing.amount_style = rng.choice(("plain", "plain", "symbol"))
    printing.line_style = "plain"
    items = []
    for _ in range(rng.randint(1, 7)):
        price, names = rng.choice(_RECEIPT_ITEMS)
        name = names[spec.language]
        qty = Decimal(rng.choice((1, 1, 1, 2, 3)))
        items.append((name, qty, money(qty * Decimal(price) * Decimal(rng.uniform(0.9, 1.15)))))
    total = sum((a for _, _, a in items), Decimal(0))
    rate = rng.choice(spec.tax_rates[1:] if spec.country == "US" else spec.tax_rates)
    tax_included = spec.country != "US"
    hard: list[str] = []
    if tax_included:
        tax = money(total - total / (1 + rate / 100))
    else:
        tax = money(total * rate / 100)
        total = total + tax
    cash = rng.random() < 0.55
    paid = change = None
    if cash:
        for note in (Decimal(5), Decimal(10), Decimal(20), Decimal(50), Decimal(100)):
            if note > total:
                paid = note
                break
        else:
            paid = (total / 100).to_integral_value() * 100 + 100
        change = paid - total
        hard.extend(("cash_tendered_change", "total_not_largest"))
    content = ReceiptContent(
        doc_id=doc_id,
        merchant=rng.choice(_MERCHANTS[country]),
        address=_address(rng, country).lines[:2],
        printing=printing,
        date=world.as_of - dt.timedelta(days=rng.randint(0, 40)),
        time=f"{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}",
        items=items,
        total=total,
        tax_rate=rate,
        tax=tax,
        tax_included=tax_included,
        paid_cash=paid,
        change=change,
        card=not cash,
        receipt_no=f"{rng.randint(1000, 9999)}/{rng.randint(10, 99)}",
        hard_cases=hard,
    )
    if rng.random() < 0.05:
        content.injection = rng.choice(INJECTIONS[spec.language])
        hard.append("prompt_injection")
    if rng.random() < 0.1:
        content.annotation = rng.choice(("client lunch", "project X", "taxi to airport", "team"))
        hard.append("handwritten_annotation")
    return content


# --------------------------------------------------------------------------- PO changes


@dataclass
class POChangeLine:
    line_no: int
    action: str  # add | change | remove
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    need_by: dt.date
    old: POLine | None  # the stored line before the change (None for add)


@dataclass
class POChangeContent:
    doc_id: str
    vendor: Vendor
    po: PurchaseOrder
    change_number: str
    issued: dt.date
    printing: Printing
    lines: list[POChangeLine]
    hard_cases: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The machine-readable change document (contract: application/vnd.docpipe.po-change+json)."""
        return {
            "document_type": "po_change",
            "po_number": self.po.po_number,
            "change_number": self.change_number,
            "vendor_id": self.vendor.vendor_id,
            "currency": self.po.currency,
            "issued": self.issued.isoformat(),
            "lines": [
                {
                    "line_no": ln.line_no,
                    "action": ln.action,
                    "sku": ln.sku,
                    "description": ln.description,
                    "quantity": str(ln.quantity),
                    "unit_price": str(ln.unit_price),
                    "need_by_date": ln.need_by.isoformat(),
                }
                for ln in self.lines
            ],
        }

    def deltas(self) -> dict[str, object]:
        """Known answer for the gate's PO-change summary: per-line changes, value and lead-time delta."""
        per_line = []
        value_delta = Decimal(0)
        lead_days = 0
        for ln in self.lines:
            old_value = money(ln.old.quantity * ln.old.unit_price) if ln.old else Decimal(0)
            new_value = Decimal(0) if ln.action == "remove" else money(ln.quantity * ln.unit_price)
            value_delta += new_value - old_value
            entry: dict[str, object] = {
                "line_no": ln.line_no,
                "action": ln.action,
                "value_delta": str(new_value - old_value),
            }
            if ln.old and ln.action == "change":
                if ln.quantity != ln.old.quantity:
                    entry["quantity"] = {"old": str(ln.old.quantity), "new": str(ln.quantity)}
                if ln.unit_price != ln.old.unit_price:
                    entry["unit_price"] = {"old": str(ln.old.unit_price), "new": str(ln.unit_price)}
                if ln.need_by != ln.old.need_by:
                    days = (ln.need_by - ln.old.need_by).days
                    entry["need_by_date"] = {
                        "old": ln.old.need_by.isoformat(),
                        "new": ln.need_by.isoformat(),
                        "days": days,
                    }
                    lead_days = max(lead_days, days)
            per_line.append(entry)
        return {
            "lines": per_line,
            "total_value_delta": str(value_delta),
            "max_lead_time_impact_days": lead_days,
        }


def make_po_change(world: World, rng: random.Random, doc_id: str) -> POChangeContent:
    vendor = rng.choice(world.active_vendors)
    spec = LOCALES[vendor.locale]
    order_date = world.as_of - dt.timedelta(days=rng.randint(10, 60))
    po_lines = []
    for i in range(1, rng.randint(3, 7) + 1):
        item = rng.choice(CATALOG)
        qty = Decimal(rng.choice((5, 10, 20, 50, 100, 200)))
        po_lines.append(
            POLine(
                i,
                item.sku,
                item.names[spec.language],
                qty,
                money(item.price),
                order_date + dt.timedelta(days=rng.randint(14, 45)),
            )
        )
    po = PurchaseOrder(
        world.new_po_number(rng), vendor.vendor_id, vendor.currency, order_date, "open", po_lines
    )
    world.add_po(po)
    changes: list[POChangeLine] = []
    hard: list[str] = []
    targets = rng.sample(po_lines, k=rng.randint(1, min(3, len(po_lines))))
    for old in sorted(targets, key=lambda pl: pl.line_no):
        action = rng.choice(("change", "change", "change", "remove"))
        qty, price, need_by = old.quantity, old.unit_price, old.need_by
        if action == "change":
            kind = rng.choice(("quantity", "price", "date", "date"))
            if kind == "quantity":
                qty = max(Decimal(1), old.quantity + Decimal(rng.choice((-5, 5, 10, 25))))
            elif kind == "price":
                price = money(old.unit_price * Decimal(rng.choice(("0.95", "1.05", "1.12"))))
            else:
                need_by = old.need_by + dt.timedelta(days=rng.choice((-3, 7, 14, 21)))
                if need_by > old.need_by:
                    hard.append("delivery_moved_later")
        changes.append(POChangeLine(old.line_no, action, old.sku, old.description, qty, price, need_by, old))
    if rng.random() < 0.4:
        item = rng.choice(CATALOG)
        changes.append(
            POChangeLine(
                len(po_lines) + 1,
                "add",
                item.sku,
                item.names[spec.language],
                Decimal(rng.choice((5, 10, 40))),
                money(item.price),
                world.as_of + dt.timedelta(days=rng.randint(10, 30)),
                None,
            )
        )
    printing = _printing(rng, spec, vendor.currency, False)
    printing.amount_style = "plain"
    printing.line_style = "plain"
    return POChangeContent(
        doc_id,
        vendor,
        po,
        f"{rng.randint(1, 4)}",
        world.as_of - dt.timedelta(days=rng.randint(0, 5)),
        printing,
        changes,
        sorted(set(hard)),
    )
