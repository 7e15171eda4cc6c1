"""No layout collisions: text runs never overlap each other and never leave the page (an overlap would
make the printed value unreadable, and its ground truth wrong)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.unit.samples.conftest import load_truths


def _collisions(truths: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    found = []
    for t in truths:
        runs = t["runs"]
        width = t["pages"][0]["width"]
        for i, a in enumerate(runs):
            if a["bbox"][0] < -0.5 or a["bbox"][2] > width + 0.5:
                found.append((t["doc_id"], a["text"], "<off page>"))
            for b in runs[i + 1 :]:
                if a["page"] != b["page"]:
                    continue
                ix = min(a["bbox"][2], b["bbox"][2]) - max(a["bbox"][0], b["bbox"][0])
                iy = min(a["bbox"][3], b["bbox"][3]) - max(a["bbox"][1], b["bbox"][1])
                if ix > 1 and iy > 2:
                    found.append((t["doc_id"], a["text"], b["text"]))
    return found


def test_no_text_collisions(invoice_set: Path, receipt_set: Path, po_change_set: Path) -> None:
    truths = load_truths(invoice_set) + load_truths(receipt_set) + load_truths(po_change_set)
    assert _collisions(truths) == []
