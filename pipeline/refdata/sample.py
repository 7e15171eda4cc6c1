"""A small, fixed reference data set for tests and quick demos (the samples helper writes the full one).

Identifiers are real-format and checksum-valid, so the same validation applies as in production.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.refdata.loader import FILES

VENDORS = [
    (
        "V001",
        "ACME Industrial Supplies GmbH",
        "ACME Supplies|ACME GmbH",
        "DE",
        "de_DE",
        "EUR",
        "DE136695976",
        "DE89370400440532013000",
        "true",
    ),
    ("V002", "Globex Corporation", "Globex", "US", "en_US", "USD", "", "", "true"),
    ("V003", "Initech Ltd", "", "GB", "en_GB", "GBP", "GB980780684", "GB82WEST12345698765432", "false"),
    (
        "V004",
        "Van Dijk Logistiek B.V.",
        "Van Dijk",
        "NL",
        "nl_NL",
        "EUR",
        "NL004495445B01",
        "NL91ABNA0417164300",
        "true",
    ),
    (
        "V005",
        "Boulangerie Martin SARL",
        "",
        "FR",
        "fr_FR",
        "EUR",
        "FR40303265045",
        "FR1420041010050500013M02606",
        "true",
    ),
    ("V006", "Gardenia Bakeries (KL) Sdn Bhd", "Gardenia", "MY", "en_MY", "MYR", "", "", "true"),
]
PURCHASE_ORDERS = [
    ("PO-1001", "V001", "EUR", "2026-10-01", "open"),
    ("PO-1002", "V004", "EUR", "2026-10-15", "open"),
    ("PO-2001", "V002", "USD", "2026-09-20", "open"),
]
PO_LINES = [
    ("PO-1001", "1", "SKU-1", "Steel bolts M8", "100", "2.50", "2026-11-20"),
    ("PO-1001", "2", "SKU-2", "Hex nuts M8", "200", "0.40", "2026-11-20"),
    ("PO-1002", "1", "FRT-1", "Pallet transport Rotterdam-Venlo", "4", "185.00", "2026-11-30"),
    ("PO-2001", "1", "LIC-1", "Annual support licence", "1", "12000.00", "2026-10-31"),
]
GOODS_RECEIPTS = [
    ("GR-5001", "PO-1001", "1", "100", "2026-11-15"),
    ("GR-5001", "PO-1001", "2", "150", "2026-11-15"),
    ("GR-5002", "PO-1002", "1", "4", "2026-11-28"),
]


def write_sample(directory: Path) -> list[Path]:
    """Write the four CSV files into `directory` (created if needed); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, rows in (
        ("vendors.csv", VENDORS),
        ("purchase_orders.csv", PURCHASE_ORDERS),
        ("po_lines.csv", PO_LINES),
        ("goods_receipts.csv", GOODS_RECEIPTS),
    ):
        path = directory / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(FILES[name])
            writer.writerows(rows)
        out.append(path)
    return out
