"""A small, fixed demo set for `docpipe up`, the e2e tests and the README.

One shared world (so one refdata folder covers every document) and a fixed render plan, so the set
always contains born-digital PDFs, scanned JPEG/PNG, a fax PNG or TIFF, a multi-page TIFF, phone
photos of receipts and PO change JSON + PDF.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pipeline.samples.generate import (
    GENERATOR_VERSION,
    Request,
    iter_documents,
    prepare_out_dir,
    write_documents,
)
from pipeline.samples.refdata import write_refdata
from pipeline.samples.world import World

_INVOICE_PLAN = ("pdf", "pdf", "scan", "pdf", "tiff", "pdf", "scan", "pdf")
_RECEIPT_PLAN = ("photo", "pdf", "scan", "photo")
_PO_PLAN = ("pdf", "scan")


def _plan(plan: tuple[str, ...]) -> Callable[[int], str]:
    return lambda index: plan[index % len(plan)]


def _born_digital_from(plan: tuple[str, ...], start: int) -> Callable[[int], str]:
    return lambda index: plan[index % len(plan)] if index < start else "pdf"


def generate_demo_set(
    out_dir: Path | str, seed: int = 7, n_invoices: int = 8, n_receipts: int = 4, n_po_changes: int = 2,
    born_digital_from: int | None = None,
) -> list[Path]:
    """Write the demo set to out_dir (documents/, truth/, refdata/, manifest.json); return document paths.

    `born_digital_from`: invoices from this index on are born-digital PDFs only (large runs such as the
    chaos suite at 1,000 documents stay bounded by extraction instead of OCR of scans).
    """
    out = Path(out_dir)
    prepare_out_dir(out, overwrite=True)  # the demo set is fixed: regenerating replaces the same files
    out.mkdir(parents=True, exist_ok=True)
    world = World(seed)
    entries = []
    for kind, count, plan in (
        ("invoice", n_invoices, _INVOICE_PLAN),
        ("receipt", n_receipts, _RECEIPT_PLAN),
        ("po-change", n_po_changes, _PO_PLAN),
    ):
        render_for = _plan(plan)
        if kind == "invoice" and born_digital_from is not None:
            render_for = _born_digital_from(plan, born_digital_from)
        req = Request(kind, count, seed, render="mixed", render_for=render_for)
        entries.extend(write_documents(iter_documents(req, world), out))
    write_refdata(world, out / "refdata")
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "kind": "demo",
        "count": len({e["doc_id"] for e in entries}),
        "render": "demo-plan",
        "documents": entries,
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return [out / e["file"] for e in entries]
