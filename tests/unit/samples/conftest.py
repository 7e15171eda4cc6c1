"""Generated sets shared by the samples tests (generated once per session: they are the slow part)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.samples.generate import generate


def load_truths(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "truth").glob("*.json"))]


@pytest.fixture(scope="session")
def invoice_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("invoices")
    generate("invoice", 56, 11, out, "pdf")  # 4 rounds over the 14 layouts
    return out


@pytest.fixture(scope="session")
def receipt_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("receipts")
    generate("receipt", 30, 11, out, "pdf")
    return out


@pytest.fixture(scope="session")
def po_change_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("po_changes")
    generate("po-change", 10, 11, out, "pdf")
    return out
