"""Calibration corpus: generated samples and SROIE receipts through the real OCR/extract stage code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.datasets import sroie_root
from pipeline.gate.corpus import CorpusItem, extract_items, real_stages, sample_items, sroie_items
from pipeline.samples.generate import generate


def test_sample_items_carry_canonical_truth_and_the_hard_cases_to_stop(tmp_path: Path) -> None:
    generate("invoice", 2, 5, tmp_path / "s")
    items = list(sample_items(tmp_path / "s"))
    assert [i.doc_id for i in items] == ["inv-5-00000", "inv-5-00001"]
    first = items[0]
    assert first.source == "samples" and first.path.is_file() and first.meta["kind"] == "invoice"
    assert all(isinstance(v, dict) and set(v) == {"value"} for v in first.truth.values())
    assert len(first.truth["currency"]["value"]) == 3 and first.truth["total"]["value"]
    assert items[1].must_stop == ("po_unknown_po",)  # seed 5, index 1 references a PO that does not exist


def test_po_change_json_runs_through_the_real_stages_without_any_model(tmp_path: Path) -> None:
    generate("po-change", 1, 5, tmp_path / "p")
    items = [i for i in sample_items(tmp_path / "p") if i.path.suffix == ".json"]
    [line] = list(extract_items(items, *real_stages(Settings(home=tmp_path / "home"))))
    assert "error" not in line and line["extraction"]["kind"] == "po_change"
    assert line["extraction"]["fields"]["po_number"]["value"] == line["truth"]["po_number"]["value"]


def test_a_document_the_pipeline_rejects_is_reported_not_dropped(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not a document")
    item = CorpusItem("samples", "junk", junk, {"total": {"value": "1.00"}})
    [line] = list(extract_items([item], *real_stages(Settings(home=tmp_path / "home"))))
    assert "extraction" not in line and line["error"].startswith("UnsupportedMediaType")


@pytest.mark.skipif(not (sroie_root() / "key" / "400.json").is_file(), reason="SROIE data not present")
def test_sroie_validation_receipts_use_team_field_names_and_the_tenant_locale() -> None:
    [item] = list(sroie_items(sroie_root(), ["400"]))
    assert item.source == "sroie" and item.locale == "en_MY" and item.path.suffix.lower() in {".jpg", ".png"}
    assert set(item.truth) <= {"merchant", "merchant_address", "date", "total"} and "total" in item.truth


def test_ocr_results_are_cached_by_file_and_settings(tmp_path: Path) -> None:
    from pipeline.contracts import BlobRef

    generate("po-change", 1, 5, tmp_path / "p")
    [pdf] = [i.path for i in sample_items(tmp_path / "p") if i.path.suffix == ".pdf"]
    data = pdf.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    blob = BlobRef(uri=pdf.as_uri(), sha256=sha, size=len(data), media_type="application/pdf")
    read, _ = real_stages(Settings(home=tmp_path / "home"), tmp_path / "cache")
    first = read(blob, data)
    [cached] = list((tmp_path / "cache").glob(f"{blob.sha256}-*.json"))
    assert read(blob, data) == first and first.pages and cached.stat().st_size > 0
