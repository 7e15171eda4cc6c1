"""Same seed -> byte-identical files (documents, truth, refdata, manifest); another seed -> different."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.samples.generate import generate


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("kind", "render", "count"),
    [("invoice", "pdf", 16), ("receipt", "mixed", 6), ("po-change", "pdf", 3), ("invoice", "scan", 2)],
)
def test_same_seed_same_bytes(tmp_path: Path, kind: str, render: str, count: int) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    generate(kind, count, 42, a, render)
    generate(kind, count, 42, b, render)
    digest_a = _digest(a)
    assert len(digest_a) >= count + 5  # documents + truth + 4 refdata files + manifest
    assert digest_a == _digest(b)


def test_other_seed_other_documents(tmp_path: Path) -> None:
    generate("invoice", 3, 1, tmp_path / "a")
    generate("invoice", 3, 2, tmp_path / "b")
    docs_a = {h for name, h in _digest(tmp_path / "a").items() if name.startswith("documents")}
    docs_b = {h for name, h in _digest(tmp_path / "b").items() if name.startswith("documents")}
    assert docs_a.isdisjoint(docs_b)


def test_content_does_not_depend_on_render_mode(tmp_path: Path) -> None:
    """The truth values (and the refdata) are the same whether a document is rendered as PDF or scan."""
    import json

    generate("invoice", 3, 5, tmp_path / "pdf", "pdf")
    generate("invoice", 3, 5, tmp_path / "scan", "scan")
    for i in range(3):
        a = json.loads((tmp_path / "pdf" / "truth" / f"inv-5-{i:05d}.json").read_text())
        b = json.loads((tmp_path / "scan" / "truth" / f"inv-5-{i:05d}.json").read_text())
        assert {k: v["value"] for k, v in a["fields"].items()} == {
            k: v["value"] for k, v in b["fields"].items()
        }
    for name in ("vendors.csv", "purchase_orders.csv", "po_lines.csv", "goods_receipts.csv"):
        assert (tmp_path / "pdf" / "refdata" / name).read_bytes() == (
            tmp_path / "scan" / "refdata" / name
        ).read_bytes()


@pytest.mark.parametrize("render", ["tiff", "scan"])
def test_multi_page_rasters_are_deterministic(tmp_path: Path, render: str) -> None:
    """Multi-page TIFF and scanner-style image PDFs (no timestamps, no random ids)."""
    generate("invoice", 1, 8, tmp_path / "a", render, layouts=["inv-statement"])
    generate("invoice", 1, 8, tmp_path / "b", render, layouts=["inv-statement"])
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
