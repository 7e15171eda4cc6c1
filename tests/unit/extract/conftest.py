"""Shared fixtures: receipts built in code (no data folder needed) and the shipped model."""

from __future__ import annotations

import pytest

from pipeline.contracts import BBox, BlobRef, DocKind, EngineInfo, Line, OcrResult, Page

RECEIPT_LINES = [
    "SANYU STATIONERY SHOP",
    "NO. 31G&33G, JALAN SETIA INDAH X ,U13/X",
    "40170 SETIA ALAM",
    "MOBILE /WHATSAPPS : +6012-918 7937",
    "TEL: +603-3362 4137",
    "GST ID NO: 001531760640",
    "TAX INVOICE",
    "CASH SALES COUNTER",
    "1. 2012-0043",
    "1 X 3.50",
    "3.50 SR",
    "JOURNAL BOOK 80PGS A4 70G",
    "TOTAL SALES INCLUSIVE GST @6%",
    "3.50",
    "DISCOUNT",
    "0.00",
    "TOTAL",
    "3.50",
    "ROUND ADJ",
    "0.00",
    "FINAL TOTAL",
    "3.50",
    "CASH",
    "10.00",
    "CHANGE",
    "6.50",
    "GST SUMMARY AMOUNT(RM) TAX(RM)",
    "SR @ 6% 3.30 0.20",
    "INV NO: CS-SA-0120436",
    "DATE : 27/10/2017",
    "GOODS SOLD ARE NOT RETURNABLE, THANK YOU",
]


def make_ocr(
    lines: list[str], kind: DocKind = DocKind.receipt, pages: int = 1, sha: str = "a" * 64
) -> OcrResult:
    """An OcrResult with the lines stacked top to bottom (repeated on each page)."""
    out = []
    for p in range(pages):
        out.append(
            Page(
                index=p,
                width=600,
                height=40 * max(1, len(lines)) + 40,
                dpi=72,
                source="ocr",
                lines=[
                    Line(
                        text=t,
                        bbox=BBox(x0=10, y0=10 + 40 * i, x1=500, y1=40 + 40 * i),
                        confidence=0.99,
                        order=i,
                    )
                    for i, t in enumerate(lines)
                ],
            )
        )
    return OcrResult(
        blob=BlobRef(uri=f"file:///tmp/{sha}", sha256=sha, size=10, media_type="image/png"),
        kind=kind,
        pages=out,
        engine=EngineInfo(name="test", version="1"),
    )


@pytest.fixture(scope="session")
def extractor():
    from functools import partial

    from pipeline.extract.qa import Extractor, cpu_session
    from pipeline.extract.registry import resolve

    return Extractor(resolve(), session_factory=partial(cpu_session, threads=2))
