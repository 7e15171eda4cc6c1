"""One Extraction (+ reference data) -> one NormalizedDocument. Pure: no I/O, no clock.

Order matters and is fixed: vendor first (it brings the locale, country and currency), then the
document currency, then dates/amounts/ids under that locale, then line items and PO changes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from pipeline.contracts import (
    DocKind,
    ExtractedField,
    Extraction,
    FieldStatus,
    NormalizedDocument,
    NormalizedField,
    NormalizedLineItem,
    VendorMatch,
)
from pipeline.normalize.amounts import parse_amount
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.corroborate import currency_evidence, tax_evidence
from pipeline.normalize.currency import normalize_currency
from pipeline.normalize.dates import order_evidence, parse_date
from pipeline.normalize.ids import normalize_iban, normalize_tax_id
from pipeline.normalize.locales import DateOrder, canonical_locale, locale_currency, locale_territory
from pipeline.normalize.po import normalize_po_number
from pipeline.normalize.po_change import POChangeError, compute_po_change
from pipeline.normalize.vendors import VendorIndex, match_vendor
from pipeline.refdata.records import PORecord, VendorRecord

DATE_FIELDS = frozenset({"date", "invoice_date", "due_date", "issued"})
AMOUNT_FIELDS = frozenset({"total", "subtotal", "tax"})
VENDOR_NAME_FIELDS = ("vendor", "merchant")


class RefView(Protocol):
    """What the normalizer reads from reference data."""

    @property
    def vendors(self) -> VendorIndex: ...

    def purchase_order(self, po_number: str) -> PORecord | None: ...


def _field(
    name: str,
    src: ExtractedField | None,
    value_type: str,
    raw: str | None,
    value: str | None,
    valid: bool,
    notes: tuple[str, ...] | list[str],
    confidence: float | None = None,
) -> NormalizedField:
    all_notes = list(notes)
    if src is not None and not src.grounded:
        all_notes.append("value not found verbatim in the document text")  # see gate.rules.fields
    return NormalizedField(
        name=name,
        raw=raw,
        value=value,
        value_type=value_type,  # type: ignore[arg-type]
        confidence=src.confidence if confidence is None and src is not None else (confidence or 0.0),
        valid=valid,
        notes=all_notes,
        provenance=src.provenance if src is not None else [],
    )


def _present(f: ExtractedField | None) -> bool:
    return (
        f is not None
        and f.value is not None
        and f.status is FieldStatus.found
        and not f.value.isspace()
        and f.value != ""
    )


def _vendor(ex: Extraction, ref: RefView, cfg: NormalizeConfig) -> tuple[VendorMatch, VendorRecord | None]:
    if ex.structured and ex.structured.get("vendor_id"):
        vid = str(ex.structured["vendor_id"])
        rec = ref.vendors.records.get(vid)
        if rec is not None:
            return VendorMatch(
                vendor_id=vid, name=rec.name, score=100.0, method="vendor_id", candidates=[(vid, 100.0)]
            ), rec
        return VendorMatch(vendor_id=None, score=0.0, method="vendor_id"), None
    f = ex.fields
    name = next((f[n].value for n in VENDOR_NAME_FIELDS if _present(f.get(n))), None)
    tax = f["vendor_tax_id"].value if _present(f.get("vendor_tax_id")) else None
    iban = f["iban"].value if _present(f.get("iban")) else None
    match = match_vendor(name, ref.vendors, tax_id=tax, iban=iban, config=cfg.match)
    rec = ref.vendors.records.get(match.vendor_id) if match.vendor_id else None
    return match, rec


def _document_currency(
    ex: Extraction, vendor: VendorRecord | None, locale: str | None
) -> tuple[str | None, NormalizedField]:
    src = ex.fields.get("currency")
    hint = vendor.currency if vendor else None
    if _present(src):
        assert src is not None
        res = normalize_currency(src.value, hint)
        return res.code, _field("currency", src, "currency", src.value, res.code, res.valid, res.notes)
    if hint:
        return hint, _field(
            "currency",
            None,
            "currency",
            None,
            hint,
            True,
            ["not on the document: taken from the vendor master"],
            confidence=1.0,
        )
    inferred = locale_currency(locale)
    if inferred:
        return inferred, _field(
            "currency",
            None,
            "currency",
            None,
            inferred,
            True,
            [f"not on the document: assumed from locale {locale}"],
            confidence=1.0,
        )
    return None, _field(
        "currency",
        None,
        "currency",
        None,
        None,
        False,
        ["no currency on the document and none known for the vendor"],
        confidence=0.0,
    )


def _header(
    name: str,
    src: ExtractedField,
    locale: str | None,
    currency: str | None,
    country: str | None,
    cfg: NormalizeConfig,
    doc_order: DateOrder | None = None,
) -> tuple[NormalizedField, str | None]:
    """One header field; returns the field and, for amounts, the currency the amount carried."""
    raw = src.value
    if name in DATE_FIELDS:
        d = parse_date(raw, locale, doc_order)
        return _field(name, src, "date", raw, d.iso, d.valid, d.notes), None
    if name in AMOUNT_FIELDS:
        a = parse_amount(raw, locale, currency)
        return _field(name, src, "amount", raw, a.text, a.valid, a.notes), a.currency
    if name == "vendor_tax_id":
        t = normalize_tax_id(raw, country)
        return _field(name, src, "tax_id", raw, t.value, t.valid, t.notes), None
    if name == "iban":
        i = normalize_iban(raw)
        return _field(name, src, "iban", raw, i.value, i.valid, i.notes), None
    if name == "po_number":
        p = normalize_po_number(raw, cfg.po_patterns)
        return _field(name, src, "po_number", raw, p.value, p.valid, p.notes), None
    text = " ".join((raw or "").split())
    return _field(name, src, "text", raw, text or None, bool(text), () if text else ("empty text",)), None


def normalize_field(
    name: str,
    raw: str | None,
    *,
    locale: str | None,
    currency: str | None,
    country: str | None = None,
    cfg: NormalizeConfig | None = None,
) -> NormalizedField:
    """One value normalized exactly as a document field would be (used to normalize ground truth)."""
    if name == "currency":
        res = normalize_currency(raw, currency)
        return NormalizedField(
            name=name,
            raw=raw,
            value=res.code,
            value_type="currency",
            confidence=1.0,
            valid=res.valid,
            notes=list(res.notes),
        )
    src = ExtractedField(name=name, value=raw, confidence=1.0)
    return _header(name, src, locale, currency, country, cfg or NormalizeConfig())[0]


def _line_value(
    attr: str, raw: str | None, locale: str | None, currency: str | None, notes: list[str]
) -> Decimal | None:
    if raw is None or not raw.strip():
        return None
    res = parse_amount(raw, locale, None, False) if attr == "quantity" else parse_amount(raw, locale, currency)
    if res.notes:
        notes.extend(f"{attr}: {n}" for n in res.notes)
    if not res.valid:
        notes.append(f"{attr}: invalid")
    return res.value


def _line_items(ex: Extraction, locale: str | None, currency: str | None) -> list[NormalizedLineItem]:
    out: list[NormalizedLineItem] = []
    for i, item in enumerate(ex.line_items, start=1):
        notes: list[str] = []
        qty = _line_value("quantity", item.quantity, locale, currency, notes)
        price = _line_value("unit_price", item.unit_price, locale, currency, notes)
        amount = _line_value("amount", item.amount, locale, currency, notes)
        out.append(
            NormalizedLineItem(
                line_no=i,
                description=" ".join((item.description or "").split()) or None,
                quantity=qty,
                unit_price=price,
                amount=amount,
                sku=None,
                notes=notes,
                confidence=item.confidence,
            )
        )
    return out


def _po_change(ex: Extraction, ref: RefView, doc: NormalizedDocument) -> None:
    data: dict[str, Any] = ex.structured or {}
    raw_po = data.get("po_number")
    po_num = str(raw_po) if raw_po is not None else None
    po = ref.purchase_order(po_num) if po_num else None
    change_no = data.get("change_number")
    doc.fields["po_number"] = NormalizedField(
        name="po_number",
        raw=po_num,
        value=po.po_number if po else po_num,
        value_type="po_number",
        confidence=1.0,
        valid=po is not None,
        notes=[] if po else ["PO not found in the PO master" if po_num else "no PO number in the PO change"],
    )
    doc.fields["change_number"] = NormalizedField(
        name="change_number",
        raw=None if change_no is None else str(change_no),
        value=None if change_no is None else str(change_no),
        value_type="text",
        confidence=1.0,
        valid=change_no is not None,
        notes=[] if change_no is not None else ["no change number"],
    )
    if po is None:
        return
    try:
        summary = compute_po_change(data, po)
    except POChangeError as exc:
        doc.fields["changed_lines"] = NormalizedField(
            name="changed_lines",
            raw=None,
            value=None,
            value_type="json",
            confidence=1.0,
            valid=False,
            notes=[str(exc)],
        )
        return
    doc.po_change = summary
    doc.fields["changed_lines"] = NormalizedField(
        name="changed_lines",
        raw=None,
        value=str(len({d.line_no for d in summary.deltas})),
        value_type="integer",
        confidence=1.0,
        valid=True,
        notes=[],
    )
    issued = data.get("issued")
    if issued is not None:
        d = parse_date(str(issued), "en_CA")  # the PO change format fixes ISO dates
        doc.fields["issued"] = NormalizedField(
            name="issued",
            raw=str(issued),
            value=d.iso,
            value_type="date",
            confidence=1.0,
            valid=d.valid,
            notes=list(d.notes),
        )
    if po.currency:
        doc.currency = po.currency


def _document_date_order(ex: Extraction) -> DateOrder | None:
    """Day/month order proven by a date on this document ('25/12/2026' is day first), when all agree."""
    found = {order_evidence(f.value) for n, f in ex.fields.items() if n in DATE_FIELDS and _present(f)}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def normalize_extraction(ex: Extraction, ref: RefView, cfg: NormalizeConfig) -> NormalizedDocument:
    """The pure normalization of one extraction."""
    match, vendor = _vendor(ex, ref, cfg)
    locale = canonical_locale(vendor.locale if vendor and vendor.locale else cfg.default_locale)
    country = vendor.country if vendor else None
    doc = NormalizedDocument(
        blob=ex.blob,
        kind=ex.kind,
        vendor=match,
        locale=locale,
        prompt_set=ex.prompt_set,
        model=ex.model,
        normalizer_version=cfg.version,
        structured=ex.structured,
        warnings=list(ex.warnings),
    )
    if ex.kind == DocKind.po_change:
        _po_change(ex, ref, doc)
        return doc
    currency, cur_field = _document_currency(ex, vendor, locale)
    doc_order = _document_date_order(ex) if locale is None else None
    amount_currencies: dict[str, str] = {}
    for name in sorted(ex.fields):
        src = ex.fields[name]
        if name == "currency":
            continue
        if not _present(src):
            doc.fields[name] = _field(
                name, src, _TYPES.get(name, "text"), src.value, None, True, ("not found on the document",)
            )
            continue
        nf, amt_cur = _header(name, src, locale, currency, country, cfg, doc_order)
        if amt_cur:
            amount_currencies[name] = amt_cur
        doc.fields[name] = nf
    found = set(amount_currencies.values())
    conflicting = (found - {currency}) if currency else (found if len(found) > 1 else set())
    if currency is None and len(found) == 1 and cur_field.raw is None:
        currency = found.pop()
        cur_field = _field(
            "currency",
            None,
            "currency",
            None,
            currency,
            True,
            ["taken from the currency symbol on the amounts"],
            confidence=1.0,
        )
    elif conflicting:
        mixed = sorted(found | ({currency} if currency else set()))
        note = f"mixed currencies in one document: {', '.join(mixed)}"
        cur_field = cur_field.model_copy(update={"valid": False, "notes": [*cur_field.notes, note]})
        currency = None
    doc.fields["currency"] = cur_field
    doc.currency = currency
    doc.line_items = _line_items(ex, locale, currency)
    _corroborate(doc, vendor, locale, country or locale_territory(locale), set(amount_currencies.values()))
    return doc


def _corroborate(
    doc: NormalizedDocument,
    vendor: VendorRecord | None,
    locale: str | None,
    country: str | None,
    amount_currencies: set[str],
) -> None:
    """Record independent evidence on the document's read currency and tax (see normalize.corroborate)."""
    cur = doc.fields["currency"]
    if cur.raw is not None and cur.valid:
        evidence = currency_evidence(
            cur.value,
            cur.raw,
            vendor_currency=vendor.currency if vendor else None,
            locale=locale,
            amount_currencies=amount_currencies,
        )
        doc.fields["currency"] = cur.model_copy(update={"corroborated_by": evidence})
    tax = doc.fields.get("tax")
    if tax is not None and tax.raw is not None and tax.valid:
        evidence = tax_evidence(doc.amount("tax"), doc.amount("total"), doc.amount("subtotal"), country)
        doc.fields["tax"] = tax.model_copy(update={"corroborated_by": evidence})


_TYPES: dict[str, str] = {
    **dict.fromkeys(DATE_FIELDS, "date"),
    **dict.fromkeys(AMOUNT_FIELDS, "amount"),
    "vendor_tax_id": "tax_id",
    "iban": "iban",
    "po_number": "po_number",
    "currency": "currency",
}
