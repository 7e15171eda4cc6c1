"""Normalization throughput on one core: synthetic but realistic extractions (varied date and amount
formats, line items, some bad values) against a vendor master of configurable size."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from pipeline.contracts import (
    BlobRef,
    DocKind,
    ExtractedField,
    ExtractedLineItem,
    Extraction,
    FieldStatus,
    ModelRef,
    PromptSetRef,
)
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.document import normalize_extraction
from pipeline.refdata.records import VendorRecord
from pipeline.refdata.snapshot import RefSnapshot

WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Nakatomi",
    "Monarch",
    "Dunder",
    "Mifflin",
    "Pied",
    "Piper",
]
FORMS = ["GmbH", "Ltd", "Inc", "B.V.", "SARL", "Sdn Bhd", ""]
LOCALES = [
    ("DE", "de_DE", "EUR"),
    ("US", "en_US", "USD"),
    ("GB", "en_GB", "GBP"),
    ("MY", "en_MY", "MYR"),
    ("FR", "fr_FR", "EUR"),
]


@dataclass
class BenchResult:
    documents: int
    rounds: int
    docs_per_s: float  # best round, CPU time of this process (one core; robust on a shared machine)
    docs_per_s_median: float
    wall_docs_per_s: float  # best round, wall clock (includes waiting for a busy CPU)
    vendors: int
    unique_inputs: bool
    invalid_fields: int
    load_average_1m: float
    python: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def vendor_master(n: int, rng: random.Random) -> list[VendorRecord]:
    out = []
    for i in range(n):
        country, locale, cur = LOCALES[i % len(LOCALES)]
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i} {rng.choice(FORMS)}".strip()
        out.append(
            VendorRecord(vendor_id=f"V{i:05d}", name=name, country=country, locale=locale, currency=cur)
        )
    return out


def _date(rng: random.Random, i: int) -> str:
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.choice([2024, 2025, 2026])
    fmts = [
        f"{d:02d}.{m:02d}.{y}",
        f"{d:02d}/{m:02d}/{y}",
        f"{y}-{m:02d}-{d:02d}",
        f"{d} {_MON[m]} {y}",
        f"{_MON[m]} {d}, {y}",
        f"{d:02d}-{m:02d}-{y % 100:02d}",
    ]
    return fmts[i % len(fmts)]


_MON = ["", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _amount(value: Decimal, locale: str, i: int) -> str:
    text = f"{value:,.2f}"
    if locale in ("de_DE", "fr_FR"):
        text = text.replace(",", "X").replace(".", ",").replace("X", ".")
    return [text, f"{text} ", f"EUR {text}" if locale in ("de_DE", "fr_FR") else text][i % 3]


def extractions(n: int, vendors: list[VendorRecord], seed: int = 7, unique: bool = True) -> list[Extraction]:
    rng = random.Random(seed)
    blob = BlobRef(uri="file:///bench", sha256="0" * 64, size=1, media_type="application/pdf")
    prompts, model = (
        PromptSetRef(name="bench", version="1", checksum="0" * 64),
        ModelRef(name="bench", version="1"),
    )
    out = []
    for i in range(n if unique else min(n, 50)):
        v = vendors[rng.randrange(len(vendors))]
        lines = [
            (Decimal(rng.randint(1, 20)), Decimal(rng.randint(100, 99999)) / 100)
            for _ in range(rng.randint(1, 4))
        ]
        sub = sum((q * p for q, p in lines), Decimal(0))
        tax = (sub * Decimal("0.19")).quantize(Decimal("0.01"))
        name = v.name if i % 4 else v.name.upper().replace(" ", "  ")
        conf = 0.8 + (i % 20) / 100
        values = {
            "vendor": name,
            "invoice_number": f"INV-{seed}-{i}",
            "invoice_date": _date(rng, i),
            "due_date": _date(rng, i + 1),
            "currency": v.currency,
            "subtotal": _amount(sub, v.locale or "", i),
            "tax": _amount(tax, v.locale or "", i),
            "total": _amount(sub + tax, v.locale or "", i),
            "po_number": f"PO-{rng.randint(1000, 99999)}" if i % 3 == 0 else None,
        }
        if i % 17 == 0:
            values["invoice_date"] = "31/02/2024"
        kind = DocKind.invoice if i % 5 else DocKind.receipt
        fields = {
            k: ExtractedField(
                name=k, value=val, confidence=conf, status=FieldStatus.found if val else FieldStatus.absent
            )
            for k, val in values.items()
        }
        items = [
            ExtractedLineItem(
                description=f"Item {j}",
                quantity=str(q),
                unit_price=f"{p:.2f}",
                amount=f"{q * p:.2f}",
                confidence=conf,
            )
            for j, (q, p) in enumerate(lines)
        ]
        out.append(
            Extraction(blob=blob, kind=kind, prompt_set=prompts, model=model, fields=fields, line_items=items)
        )
    if not unique:
        out = (out * (n // len(out) + 1))[:n]
    return out


def clear_value_caches() -> None:
    """Forget cached parse results (CLDR lookups and compiled patterns stay): a cold round."""
    from pipeline.normalize import amounts, currency, dates, ids, po, vendors

    for fn in (
        amounts.parse_amount,
        dates.parse_date,
        currency.normalize_currency,
        ids.normalize_tax_id,
        ids.normalize_iban,
        po.normalize_po_number,
        vendors.name_key,
    ):
        fn.cache_clear()


def run_bench(
    n: int = 20000, vendors: int = 500, unique: bool = True, seed: int = 7, rounds: int = 3
) -> BenchResult:
    import os
    import platform
    import statistics

    rng = random.Random(seed)
    master = vendor_master(vendors, rng)
    ref = RefSnapshot.of(master)
    docs = extractions(n, master, seed, unique)
    cfg = NormalizeConfig()
    for ex in docs[:200]:  # warm imports, CLDR lookups and compiled regexes
        normalize_extraction(ex, ref, cfg)
    cpu_rates, wall_rates = [], []
    invalid = 0
    for _ in range(rounds):
        if unique:
            clear_value_caches()
        invalid = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for ex in docs:
            doc = normalize_extraction(ex, ref, cfg)
            invalid += sum(not f.valid for f in doc.fields.values())
        cpu_rates.append(n / max(time.process_time() - cpu0, 1e-9))
        wall_rates.append(n / max(time.perf_counter() - wall0, 1e-9))
    return BenchResult(
        documents=n,
        rounds=rounds,
        docs_per_s=round(max(cpu_rates), 1),
        docs_per_s_median=round(statistics.median(cpu_rates), 1),
        wall_docs_per_s=round(max(wall_rates), 1),
        vendors=vendors,
        unique_inputs=unique,
        invalid_fields=invalid,
        load_average_1m=round(os.getloadavg()[0], 2),
        python=platform.python_version(),
    )
