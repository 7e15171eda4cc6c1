"""SROIE evaluation: line recall (CER <= 0.1), CER in reading order, total found verbatim.

CER in reading order compares the OCR text (in the engine's reading order) with the GT lines put in
reading order by the same row rules from their GT boxes; `cer_file_order` uses the GT files' line order.

Ground truth: box/NNN.csv (x1..y4,TEXT per line, in reading order) and key/NNN.json (`total`).
SROIE's line texts are upper-cased by its annotators and their spacing is the annotator's choice
("MR. D.I.Y. (KUCHAI)" for a print of "MR.D.I.Y.(KUCHAI)"), so lines and CER are compared
case-insensitively with whitespace removed (the SROIE task-1 convention). The total is checked
verbatim (only runs of whitespace collapsed). Pure metric functions plus a thin loop over files;
text is compared, never logged.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from pipeline.contracts import OcrResult
from pipeline.ocr.reading_order import group_rows

LINE_CER = 0.1
_WS = re.compile(r"\s+")


def norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


def key(text: str) -> str:
    """Comparison form of a line: upper case, no whitespace."""
    return _WS.sub("", text).upper()


def cer(reference: str, hypothesis: str) -> float:
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return Levenshtein.distance(reference, hypothesis) / len(reference)


def read_gt(path: Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Ground-truth lines with their axis-aligned boxes, in file order."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        parts = raw.split(",", 8)
        if len(parts) == 9 and norm(parts[8]):
            try:
                xs, ys = [float(v) for v in parts[0:8:2]], [float(v) for v in parts[1:8:2]]
            except ValueError:
                continue
            lines.append((norm(parts[8]), (min(xs), min(ys), max(xs), max(ys))))
    return lines


def read_gt_lines(path: Path) -> list[str]:
    return [text for text, _ in read_gt(path)]


def gt_in_reading_order(gt: list[tuple[str, tuple[float, float, float, float]]]) -> list[str]:
    """GT texts ordered by the same row rules as the engine's output. SROIE's files list some columns
    after the rows they belong to (annotation order), which is not the order a receipt is read in."""
    return [gt[i][0] for row in group_rows([box for _, box in gt]) for i in row]


def matched_lines(gt: list[str], pred: list[str], max_cer: float = LINE_CER) -> int:
    """GT lines with a distinct predicted line within max_cer (greedy on the best pairs first). Pure."""
    gt, pred = [key(g) for g in gt], [key(p) for p in pred]
    pairs = []
    for i, g in enumerate(gt):
        for j, p in enumerate(pred):
            if abs(len(g) - len(p)) > max_cer * len(g) + 1:
                continue
            d = cer(g, p)
            if d <= max_cer:
                pairs.append((d, i, j))
    pairs.sort()
    used_g: set[int] = set()
    used_p: set[int] = set()
    for _, i, j in pairs:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
    return len(used_g)


def total_found(total: str, pred_lines: list[str]) -> bool:
    """The labelled total appears verbatim in a line or in the space-joined text."""
    t = norm(total)
    return bool(t) and (any(t in ln for ln in pred_lines) or t in " ".join(pred_lines))


@dataclass
class ReceiptScore:
    id: str
    gt_lines: int
    matched: int
    cer: float
    cer_file_order: float
    total_found: bool | None
    seconds: float
    cpu_seconds: float
    rotation: int = 0


@dataclass
class EvalReport:
    receipts: list[ReceiptScore] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        r = self.receipts
        gt = sum(x.gt_lines for x in r)
        with_total = [x for x in r if x.total_found is not None]
        secs = [x.seconds for x in r]
        cpu = [x.cpu_seconds for x in r]
        return {
            "receipts": len(r),
            "line_recall": sum(x.matched for x in r) / gt if gt else 0.0,
            "cer": statistics.fmean(x.cer for x in r) if r else 0.0,
            "cer_file_order": statistics.fmean(x.cer_file_order for x in r) if r else 0.0,
            "total_found": sum(bool(x.total_found) for x in with_total) / len(with_total) if with_total else 0.0,
            "total_found_count": sum(bool(x.total_found) for x in with_total),
            "total_labelled": len(with_total),
            "s_per_receipt_median": statistics.median(secs) if secs else 0.0,
            "s_per_receipt_mean": statistics.fmean(secs) if secs else 0.0,
            "cpu_s_per_receipt_median": statistics.median(cpu) if cpu else 0.0,
        }


def parse_ids(spec: str) -> list[str]:
    """'400-499' or '400,401,410-412' -> zero-padded ids."""
    ids: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-", 1))
            ids.extend(f"{i:03d}" for i in range(lo, hi + 1))
        elif part:
            ids.append(f"{int(part):03d}")
    return ids


def score_receipt(rid: str, data_dir: Path, result: OcrResult, seconds: float, cpu_seconds: float) -> ReceiptScore:
    gt_boxes = read_gt(data_dir / "box" / f"{rid}.csv")
    gt = [text for text, _ in gt_boxes]
    pred = [norm(ln.text) for page in result.pages for ln in sorted(page.lines, key=lambda x: x.order)]
    pred = [p for p in pred if p]
    key_path = data_dir / "key" / f"{rid}.json"
    total = json.loads(key_path.read_text(encoding="utf-8")).get("total", "") if key_path.is_file() else ""
    return ReceiptScore(
        id=rid,
        gt_lines=len(gt),
        matched=matched_lines(gt, pred),
        cer=cer(key("".join(gt_in_reading_order(gt_boxes))), key("".join(pred))),
        cer_file_order=cer(key("".join(gt)), key("".join(pred))),
        total_found=total_found(total, pred) if norm(total) else None,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        rotation=result.pages[0].rotation if result.pages else 0,
    )


def evaluate(
    data_dir: Path,
    ids: Iterable[str],
    read: Callable[[bytes], OcrResult],
    progress: Callable[[ReceiptScore], None] | None = None,
) -> EvalReport:
    report = EvalReport()
    for rid in ids:
        data = (data_dir / "img" / f"{rid}.jpg").read_bytes()
        t, c = time.perf_counter(), time.process_time()
        result = read(data)
        score = score_receipt(rid, data_dir, result, time.perf_counter() - t, time.process_time() - c)
        report.receipts.append(score)
        if progress:
            progress(score)
    return report
