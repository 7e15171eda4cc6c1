"""Independent evidence for a value the model read with low confidence.

The model's confidence is about the span it picked; a currency that the vendor master or the tenant's
locale also gives, or a tax amount that is exactly a legal rate of the total, is known by other means.
Normalization only records the evidence (deterministic, per field); whether evidence may stand in for
confidence is the gate policy's decision (`fields.confidence.accept_corroborated`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pipeline.normalize.currency import normalize_currency
from pipeline.normalize.locales import canonical_locale, locale_currency

# Standard and reduced VAT/GST/SST rates in percent by ISO country, as in force in 2024-2026. Only rates
# a receipt or invoice total may carry; a country missing here gets no tax corroboration.
TAX_RATES: dict[str, tuple[Decimal, ...]] = {
    "AT": (Decimal(20), Decimal(13), Decimal(10)),
    "BE": (Decimal(21), Decimal(12), Decimal(6)),
    "CH": (Decimal("8.1"), Decimal("3.8"), Decimal("2.6")),
    "DE": (Decimal(19), Decimal(7)),
    "ES": (Decimal(21), Decimal(10), Decimal(4)),
    "FR": (Decimal(20), Decimal(10), Decimal("5.5"), Decimal("2.1")),
    "GB": (Decimal(20), Decimal(5)),
    "IE": (Decimal(23), Decimal("13.5"), Decimal(9)),
    "IT": (Decimal(22), Decimal(10), Decimal(5), Decimal(4)),
    "MY": (Decimal(6), Decimal(8), Decimal(10), Decimal(5)),  # GST 6 % (to 2018), SST 5/6/8/10 %
    "NL": (Decimal(21), Decimal(9)),
    "SG": (Decimal(9), Decimal(8), Decimal(7)),
}
CENT = Decimal("0.01")
# one cent per rounding step: tax rounded per line and summed may differ from tax on the total
TOLERANCE = Decimal("0.01")


def currency_evidence(
    code: str | None,
    raw: str | None,
    *,
    vendor_currency: str | None,
    locale: str | None,
    amount_currencies: set[str],
) -> list[str]:
    """Sources other than the read span that give the same currency. A span that names its currency
    only with the vendor's help ('$' for a CAD vendor) is not evidence for the vendor master."""
    if code is None or raw is None:
        return []
    alone = normalize_currency(raw, None).code == code
    found = []
    if alone and vendor_currency == code:
        found.append("vendor master currency")
    if alone and locale_currency(locale) == code:
        found.append(f"currency of locale {canonical_locale(locale)}")
    if amount_currencies == {code}:
        found.append("currency symbol on the amounts")
    return found


def _money(v: Decimal) -> Decimal:
    return v.quantize(CENT, rounding=ROUND_HALF_UP)


def tax_evidence(
    tax: Decimal | None, total: Decimal | None, subtotal: Decimal | None, country: str | None
) -> list[str]:
    """Legal rates of the country that turn the total (tax included) or the subtotal into this tax."""
    if tax is None or tax <= 0 or country not in TAX_RATES:
        return []
    found = []
    for rate in TAX_RATES[country]:
        if total is not None and total > tax and abs(_money(total * rate / (100 + rate)) - tax) <= TOLERANCE:
            found.append(f"{rate}% tax included in the total")
        if subtotal is not None and subtotal > 0 and abs(_money(subtotal * rate / 100) - tax) <= TOLERANCE:
            found.append(f"{rate}% of the subtotal")
    return found
