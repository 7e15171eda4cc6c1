"""Every kind and render mode gives files the pipeline can read; raster boxes follow the image geometry."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from pipeline.ingest.media import PO_CHANGE_JSON, sniff
from pipeline.samples.generate import generate
from pipeline.samples.raster import homography
from pipeline.samples.truth import apply_h


def _open_pages(path: Path) -> int:
    data = path.read_bytes()
    media = sniff(data)
    if media == "application/pdf":
        pdf = pdfium.PdfDocument(data)
        n = len(pdf)
        page = pdf[0]
        assert page.render(scale=0.3).to_pil().size[0] > 10
        page.close()
        pdf.close()
        return n
    if media == PO_CHANGE_JSON:
        doc = json.loads(data)
        assert doc["document_type"] == "po_change" and doc["lines"]
        return 0
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return getattr(img, "n_frames", 1)


@pytest.mark.parametrize(
    ("kind", "render"),
    [
        ("invoice", "scan"),
        ("invoice", "tiff"),
        ("invoice", "photo"),
        ("receipt", "photo"),
        ("receipt", "scan"),
        ("receipt", "tiff"),
        ("po-change", "pdf"),
        ("po-change", "scan"),
    ],
)
def test_render_modes_produce_readable_files(tmp_path: Path, kind: str, render: str) -> None:
    manifest = generate(kind, 1, 9, tmp_path, render)
    for entry in manifest["documents"]:
        path = tmp_path / entry["file"]
        assert sniff(path.read_bytes()) == entry["media_type"]
        truth = json.loads((tmp_path / entry["truth"]).read_text())
        pages = _open_pages(path)
        if entry["media_type"] != PO_CHANGE_JSON:
            assert pages == len(truth["pages"]), entry
        if render != "pdf" and entry["media_type"] != PO_CHANGE_JSON:
            assert truth["pages"][0]["unit"] == "px" and truth["pages"][0]["dpi"] > 72


def test_multi_page_scan_becomes_image_pdf_and_tiff_has_all_pages(tmp_path: Path) -> None:
    manifest = generate("invoice", 1, 3, tmp_path, "scan", layouts=["inv-longform"])
    entry = manifest["documents"][0]
    truth = json.loads((tmp_path / entry["truth"]).read_text())
    assert len(truth["pages"]) >= 2
    assert entry["media_type"] in ("application/pdf", "image/tiff")
    assert _open_pages(tmp_path / entry["file"]) == len(truth["pages"])


def test_homography_maps_the_four_points() -> None:
    src = np.array([[0, 0], [100, 0], [100, 200], [0, 200]], dtype=float)
    dst = np.array([[10, 5], [120, 12], [105, 230], [3, 210]], dtype=float)
    assert np.allclose(apply_h(homography(src, dst), src), dst)


def _ink(img: Image.Image, poly: list[list[float]]) -> float:
    """Share of pixels that stand out from the local background (dark text on paper, or white text on a
    coloured band; a fixed threshold fails under the photo shadow)."""
    gray = img.convert("L")
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    x0, y0, x1, y1 = int(min(xs)), int(min(ys)), int(max(xs)) + 1, int(max(ys)) + 1
    pad = y1 - y0
    around = np.asarray(gray.crop((x0 - pad, y0 - pad, x1 + pad, y1 + pad)), dtype=float)
    background = np.median(around)
    crop = np.asarray(gray.crop((x0, y0, x1, y1)), dtype=float)
    return float((np.abs(crop - background) > max(40.0, background * 0.35)).mean()) if crop.size else 0.0


@pytest.mark.parametrize("render", ["scan", "photo"])
def test_raster_boxes_cover_the_ink_of_their_values(tmp_path: Path, render: str) -> None:
    """The transformed boxes sit on printed text (ink) in the distorted image; shifted boxes mostly do not."""
    kind = "receipt" if render == "photo" else "invoice"
    manifest = generate(kind, 3, 21, tmp_path, render, layouts=None)
    hits = misses = 0
    for entry in manifest["documents"]:
        truth = json.loads((tmp_path / entry["truth"]).read_text())
        if len(truth["pages"]) != 1:
            continue
        img = Image.open(tmp_path / entry["file"])
        for name, field in truth["fields"].items():
            if not field["present"] or field["page"] != 0 or name == "merchant_address":
                continue
            poly = field["polygon"]
            assert _ink(img, poly) > 0.04, (entry["doc_id"], name)
            height = max(p[1] for p in poly) - min(p[1] for p in poly)
            shifted = [[p[0], p[1] + 2.5 * height] for p in poly]
            hits += 1
            misses += _ink(img, shifted) < _ink(img, poly)
    assert hits >= 10
    assert misses / hits > 0.6


def test_rescaled_truth_matches_a_pdfium_rendering(tmp_path: Path) -> None:
    from pipeline.samples.truth import rescale_truth

    manifest = generate("invoice", 1, 12, tmp_path, "pdf")
    truth = json.loads((tmp_path / manifest["documents"][0]["truth"]).read_text())
    scaled = rescale_truth(truth, 200)
    pdf = pdfium.PdfDocument(tmp_path / manifest["documents"][0]["file"])
    image = pdf[0].render(scale=200 / 72).to_pil()
    assert image.size == (scaled["pages"][0]["width"], scaled["pages"][0]["height"])
    total = scaled["fields"]["total"]
    assert total["bbox"] == pytest.approx([v * 200 / 72 for v in truth["fields"]["total"]["bbox"]], abs=0.02)
    assert _ink(image, total["polygon"]) > 0.04
    with pytest.raises(ValueError):
        rescale_truth(scaled, 300)
