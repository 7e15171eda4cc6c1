"""Generate documents + ground truth + consistent reference data into an output folder.

Output layout (so `docpipe submit DIR/documents` submits documents only):
  DIR/documents/<doc_id>.<pdf|jpg|png|tif|json>   the documents
  DIR/truth/<doc_id>.json                        ground truth per document
  DIR/refdata/*.csv                              vendor master, POs, PO lines, goods receipts
  DIR/manifest.json                              one entry per document file
Every random choice comes from a generator seeded by (seed, kind, index): same seed, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.samples import raster
from pipeline.samples.content import (
    InvoiceContent,
    POChangeContent,
    ReceiptContent,
    make_invoice,
    make_po_change,
    make_receipt,
)
from pipeline.samples.draw import DrawDoc
from pipeline.samples.layout_invoice import INVOICE_LAYOUT_IDS, build_invoice, invoice_layout
from pipeline.samples.layout_po import PO_CHANGE_LAYOUT_IDS, build_po_change
from pipeline.samples.layout_receipt import RECEIPT_LAYOUT_IDS, build_receipt
from pipeline.samples.pdf import render_pdf
from pipeline.samples.refdata import write_refdata
from pipeline.samples.truth import build_truth, dec, tagged_occurrences, transform_truth
from pipeline.samples.world import World

GENERATOR_VERSION = "1.0"
KINDS = ("invoice", "receipt", "po-change")
RENDER_MODES = ("pdf", "scan", "photo", "tiff", "mixed")
LAYOUTS_BY_KIND = {
    "invoice": INVOICE_LAYOUT_IDS,
    "receipt": RECEIPT_LAYOUT_IDS,
    "po-change": PO_CHANGE_LAYOUT_IDS,
}
_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
_PREFIX = {"invoice": "inv", "receipt": "rcp", "po-change": "poc"}

MEDIA = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".tif": "image/tiff",
    ".json": "application/vnd.docpipe.po-change+json",
}


class SampleError(ValueError):
    """A bad generation request (unknown kind, layout or render mode, bad count)."""


@dataclass
class Rendered:
    """One generated document in memory: files (name -> bytes) and its ground truth."""

    doc_id: str
    kind: str
    layout: str
    render: str
    files: dict[str, bytes]
    truth: dict[str, Any]


@dataclass
class Request:
    kind: str
    count: int
    seed: int
    render: str = "pdf"
    layouts: Sequence[str] | None = None
    start: int = 0
    render_for: Callable[[int], str] | None = None  # fixed render plan by index (demo set)

    def validate(self) -> list[str]:
        if self.kind not in KINDS:
            raise SampleError(f"unknown kind {self.kind!r} (choose from {', '.join(KINDS)})")
        if self.render not in RENDER_MODES:
            raise SampleError(f"unknown render mode {self.render!r} (choose from {', '.join(RENDER_MODES)})")
        if self.count < 0:
            raise SampleError("count must be >= 0")
        allowed = LAYOUTS_BY_KIND[self.kind]
        chosen = list(self.layouts) if self.layouts else list(allowed)
        unknown = [lay for lay in chosen if lay not in allowed]
        if unknown:
            raise SampleError(
                f"unknown {self.kind} layout(s) {', '.join(unknown)} (known: {', '.join(allowed)})"
            )
        return chosen


def _rngs(seed: int, kind: str, index: int) -> tuple[random.Random, random.Random, np.random.Generator]:
    """Content and rendering draw from separate streams: the same seed gives the same documents
    (and reference data) whatever the render mode."""
    return (
        random.Random(f"{seed}:{kind}:{index}"),
        random.Random(f"{seed}:{kind}:{index}:render"),
        np.random.default_rng([seed, _KIND_INDEX[kind], index]),
    )


def _choose_render(mode: str, kind: str, rng: random.Random) -> str:
    if mode != "mixed":
        return mode
    r = rng.random()
    if kind == "receipt":
        return "pdf" if r < 0.3 else "scan" if r < 0.55 else "photo" if r < 0.93 else "tiff"
    return "pdf" if r < 0.6 else "scan" if r < 0.85 else "tiff" if r < 0.95 else "photo"


# ------------------------------------------------------------------ per-kind content -> (doc, truth)


def _embedded_currency(
    fields: dict[str, tuple[str | None, Any]], fallback: dict[str, str], mark: str
) -> None:
    """When no currency label is printed, the currency's raw form is the symbol/code inside the total."""
    if "currency" in fallback:
        fields["currency"] = (mark, fields["currency"][1])


def _invoice_truth(c: InvoiceContent, layout: str, doc: DrawDoc, fallback: dict[str, str]) -> dict[str, Any]:
    p = c.printing
    fields = c.fields()
    _embedded_currency(fields, fallback, p.currency_mark())
    items = [
        {
            "description": (ln.description, ln.description),
            "quantity": (p.qty(ln.quantity), dec(ln.quantity)),
            "unit_price": (p.line_amount(ln.unit_price), str(ln.unit_price)),
            "amount": (p.line_amount(ln.amount), str(ln.amount)),
        }
        for ln in c.lines
    ]
    extras = {
        "vendor_id": c.vendor.vendor_id or None,  # None: vendor deliberately absent from the master
        "vendor_master_iban": c.vendor.iban,
        "is_credit_note": c.is_credit,
        "po_match": c.po_match,
        "lines_total": str(c.lines_total),
        "discount": str(c.discount),
        "discount_pct": dec(c.discount_pct),
        "prepaid": str(c.prepaid),
        "amount_due": str(c.amount_due),
        "tax_breakdown": [{"rate": dec(r), "base": str(b), "tax": str(t)} for r, b, t in c.taxes],
        "duplicate_of": c.duplicate_of,
        "injection": c.injection,
        "annotation": c.annotation,
        "ytd_amount": str(c.ytd_amount) if c.ytd_amount is not None else None,
        "date_pattern": p.date_pattern,
        "amount_style": p.amount_style,
        "page_count": doc.pages,
        "font_family": invoice_layout(layout).family,
    }
    hard = [*c.hard_cases, "multi_page"] if doc.pages > 1 else c.hard_cases
    return build_truth(
        kind="invoice",
        doc_id=c.doc_id,
        layout=layout,
        locale=c.locale.tag,
        doc=doc,
        fields=fields,
        fallback=fallback,
        line_items=items,
        hard_cases=hard,
        extras=extras,
    )


def _receipt_truth(c: ReceiptContent, layout: str, doc: DrawDoc, fallback: dict[str, str]) -> dict[str, Any]:
    fields = c.fields()
    _embedded_currency(fields, fallback, c.printing.currency_mark())
    extras = {
        "cash_tendered": str(c.paid_cash) if c.paid_cash is not None else None,
        "change": str(c.change) if c.change is not None else None,
        "tax_included": c.tax_included,
        "tax_rate": dec(c.tax_rate),
        "injection": c.injection,
        "annotation": c.annotation,
        "items": [{"description": d, "quantity": dec(q), "amount": str(a)} for d, q, a in c.items],
    }
    return build_truth(
        kind="receipt",
        doc_id=c.doc_id,
        layout=layout,
        locale=c.printing.locale.tag,
        doc=doc,
        fields=fields,
        fallback=fallback,
        hard_cases=c.hard_cases,
        extras=extras,
    )


def _po_change_truth(c: POChangeContent, layout: str, doc: DrawDoc) -> dict[str, Any]:
    occ = tagged_occurrences(doc)
    change_json = c.to_json()
    fields: dict[str, tuple[str | None, Any]] = {
        "po_number": (c.po.po_number, c.po.po_number),
        "change_number": (c.change_number, c.change_number),
        "changed_lines": (occ["changed_lines"][0]["text"], change_json["lines"]),
    }
    extras = {
        "vendor_id": c.vendor.vendor_id or None,  # None: vendor deliberately absent from the master
        "deltas": c.deltas(),
        "issued": c.issued.isoformat(),
        "currency": c.po.currency,
    }
    return build_truth(
        kind="po_change",
        doc_id=c.doc_id,
        layout=layout,
        locale=c.printing.locale.tag,
        doc=doc,
        fields=fields,
        hard_cases=c.hard_cases,
        extras=extras,
    )


# ------------------------------------------------------------------ rendering


def _render_files(
    doc_id: str, pdf: bytes, truth: dict[str, Any], render: str, rng: random.Random, nrng: np.random.Generator
) -> tuple[dict[str, bytes], dict[str, Any], dict[str, Any]]:
    """Turn the born-digital PDF into the requested rendering; returns files, truth, render info."""
    if render == "pdf":
        return {f"{doc_id}.pdf": pdf}, truth, {"mode": "pdf", "dpi": 72, "text_layer": True}
    fax = (render == "scan" and rng.random() < 0.2) or (render == "tiff" and rng.random() < 0.5)
    if render == "photo":
        dpi = 200.0 if truth["pages"][0]["width"] < 320 else 110.0  # receipts are narrow: more pixels
        pages = [raster.photo_page(img, nrng, dpi) for img in raster.rasterize(pdf, dpi, grayscale=False)]
    elif fax:
        dpi = 200.0
        pages = [raster.fax_page(img, nrng, dpi) for img in raster.rasterize(pdf, dpi)]
    else:
        dpi = 150.0
        pages = [raster.scan_page(img, nrng, dpi) for img in raster.rasterize(pdf, dpi)]
    new_truth = transform_truth(
        truth, [p.matrix for p in pages], [p.image.size for p in pages], dpi, [p.info for p in pages]
    )
    info: dict[str, Any] = {
        "mode": render,
        "dpi": dpi,
        "text_layer": False,
        "effect": "fax" if fax else render,
    }
    if render == "tiff":
        return {f"{doc_id}.tif": raster.encode_tiff([p.image for p in pages], dpi)}, new_truth, info
    if fax:
        if len(pages) == 1:
            return {f"{doc_id}.png": raster.encode_png(pages[0].image)}, new_truth, info
        return {f"{doc_id}.tif": raster.encode_tiff([p.image for p in pages], dpi)}, new_truth, info
    quality = rng.randint(35, 80)
    info["jpeg_quality"] = quality
    jpegs = [(raster.encode_jpeg(p.image, quality), p.image.size) for p in pages]
    if len(jpegs) == 1:
        return {f"{doc_id}.jpg": jpegs[0][0]}, new_truth, info
    return {f"{doc_id}.pdf": raster.image_pdf(jpegs, dpi)}, new_truth, info


def iter_documents(req: Request, world: World) -> Iterator[Rendered]:
    """Generate documents in memory, one at a time (used by `generate`, the demo set and the benchmark)."""
    layouts = req.validate()
    world.use_po_series(_KIND_INDEX[req.kind])
    earlier: list[InvoiceContent] = []
    for index in range(req.start, req.start + req.count):
        rng, rrng, nrng = _rngs(req.seed, req.kind, index)
        doc_id = f"{_PREFIX[req.kind]}-{req.seed}-{index:05d}"
        layout = layouts[index % len(layouts)]
        render = req.render_for(index) if req.render_for else _choose_render(req.render, req.kind, rrng)
        files: dict[str, bytes] = {}
        if req.kind == "invoice":
            content = make_invoice(
                world, rng, doc_id, index, many_lines=invoice_layout(layout).long, earlier=earlier
            )
            earlier.append(content)
            doc, fallback = build_invoice(content, layout, rng)
            truth = _invoice_truth(content, layout, doc, fallback)
            title = f"{content.vendor.name} {content.invoice_number}"
        elif req.kind == "receipt":
            rc = make_receipt(world, rng, doc_id)
            doc, fallback = build_receipt(rc, layout, rng)
            truth = _receipt_truth(rc, layout, doc, fallback)
            title = rc.merchant
        else:
            pc = make_po_change(world, rng, doc_id)
            doc, _ = build_po_change(pc, layout, rng)
            truth = _po_change_truth(pc, layout, doc)
            title = f"PO {pc.po.po_number} change {pc.change_number}"
            files[f"{doc_id}.json"] = (json.dumps(pc.to_json(), indent=2, ensure_ascii=False) + "\n").encode()
            if render in ("photo", "tiff"):
                render = "scan" if render == "photo" else render
        pdf = render_pdf(doc, title)
        rendered, truth, info = _render_files(doc_id, pdf, truth, render, rrng, nrng)
        files.update(rendered)
        truth["render"] = info
        truth["files"] = sorted(files)
        yield Rendered(doc_id, req.kind, layout, render, files, truth)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_documents(docs: Iterator[Rendered], out_dir: Path) -> list[dict[str, Any]]:
    entries = []
    for doc in docs:
        truth_rel = f"truth/{doc.doc_id}.json"
        _write(
            out_dir / truth_rel, (json.dumps(doc.truth, ensure_ascii=False, sort_keys=True) + "\n").encode()
        )
        for name, data in sorted(doc.files.items()):
            _write(out_dir / "documents" / name, data)
            suffix = Path(name).suffix
            entries.append(
                {
                    "doc_id": doc.doc_id,
                    "kind": doc.kind.replace("-", "_"),
                    "layout": doc.layout,
                    "locale": doc.truth["locale"],
                    "render": doc.render,
                    "file": f"documents/{name}",
                    "media_type": MEDIA[suffix],
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "truth": truth_rel,
                    "hard_cases": doc.truth["hard_cases"],
                }
            )
    return entries


def prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse to mix two runs in one folder (the manifest would not describe the documents there);
    with overwrite, remove only the files the previous run's manifest lists."""
    manifest_path = out_dir / "manifest.json"
    has_docs = (out_dir / "documents").is_dir() and any((out_dir / "documents").iterdir())
    if not has_docs and not manifest_path.exists():
        return
    if not overwrite:
        raise SampleError(f"{out_dir} already holds generated documents; choose another folder or overwrite")
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SampleError(f"cannot read the previous manifest {manifest_path}: {exc}") from exc
        for entry in old.get("documents", []):
            for rel in (entry.get("file"), entry.get("truth")):
                if rel:
                    (out_dir / rel).unlink(missing_ok=True)


def generate(
    kind: str,
    count: int,
    seed: int,
    out_dir: Path,
    render: str = "pdf",
    layouts: Sequence[str] | None = None,
    world: World | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write `count` documents of one kind plus refdata and a manifest; returns the manifest."""
    req = Request(kind, count, seed, render, layouts)
    req.validate()
    world = world or World(seed)
    prepare_out_dir(out_dir, overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = write_documents(iter_documents(req, world), out_dir)
    write_refdata(world, out_dir / "refdata")
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "kind": kind,
        "count": count,
        "render": render,
        "layouts": list(req.validate()),
        "documents": entries,
    }
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def reference_world(seed: int, invoices: int = 0, po_changes: int = 0) -> World:
    """The world (vendor master + POs + goods receipts) that `generate` with the same seed and counts
    (default layouts) would produce, without laying out or rendering anything."""
    world = World(seed)
    world.use_po_series(_KIND_INDEX["invoice"])
    earlier: list[InvoiceContent] = []
    for i in range(invoices):
        layout = INVOICE_LAYOUT_IDS[i % len(INVOICE_LAYOUT_IDS)]
        rng = _rngs(seed, "invoice", i)[0]
        doc_id = f"{_PREFIX['invoice']}-{seed}-{i:05d}"
        earlier.append(
            make_invoice(world, rng, doc_id, i, many_lines=invoice_layout(layout).long, earlier=earlier)
        )
    world.use_po_series(_KIND_INDEX["po-change"])
    for i in range(po_changes):
        make_po_change(world, _rngs(seed, "po-change", i)[0], f"{_PREFIX['po-change']}-{seed}-{i:05d}")
    return world
