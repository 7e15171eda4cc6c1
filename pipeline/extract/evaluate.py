"""Evaluation of the extractor on labelled receipts: exact match after normalization, calibration,
gate precision/pass rate, CPU time. Pure numpy + onnxruntime (no torch).

Normalization for matching (documented in docs/extract.md): names and addresses compare upper-case
alphanumerics only (labels and OCR disagree on spaces and punctuation); dates compare as calendar
dates (day-first, as in SROIE); amounts compare as decimals.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np

from pipeline.extract.calibration import Platt, expected_calibration_error, fit_platt
from pipeline.extract.candidates import parse_amount
from pipeline.extract.qa import Extractor, span_text

LABELLED = ("merchant", "merchant_address", "date", "total")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}


def parse_date(text: str) -> date | None:
    """Day-first date parsing for evaluation (SROIE formats)."""
    s = text.upper().strip("() ")
    try:
        if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", s):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})", s):
            y = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            d, mo = int(m[1]), int(m[2])
            if mo > 12 >= d:
                d, mo = mo, d
            return date(y, mo, d)
        if m := re.fullmatch(r"(\d{1,2})[-/ ]?([A-Z]{3})[A-Z]*\.?[-/ ,]*(\d{2,4})", s):
            y = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return date(y, _MONTHS[m[2]], int(m[1]))
        if m := re.fullmatch(r"([A-Z]{3})[A-Z]* ?(\d{1,2}),? ?(\d{4})", s):
            return date(int(m[3]), _MONTHS[m[1]], int(m[2]))
        if m := re.fullmatch(r"(\d{8})", s):
            if s[:2] in ("19", "20"):
                return date(int(s[:4]), int(s[4:6]), int(s[6:]))
            return date(int(s[4:]), int(s[2:4]), int(s[:2]))
    except (ValueError, KeyError):
        return None
    return None


def normalize(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if field in ("total", "tax", "subtotal"):
        v = parse_amount(value)
        return None if v is None else f"{v:.2f}"
    if field.endswith("date"):
        d = parse_date(value)
        return d.isoformat() if d else re.sub(r"\D", "", value)
    return re.sub(r"[^A-Z0-9]", "", value.upper())


@dataclass
class Record:
    doc_id: str
    field: str
    label: str | None
    value: str | None
    found: bool
    raw: float
    correct: bool


def run_docs(ex: Extractor, docs: Sequence[Any]) -> tuple[list[Record], dict[str, float]]:
    """Run the extractor over labelled docs (objects with doc_id, ocr, labels); CPU/wall time per doc."""
    records: list[Record] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    windows_total = 0
    for d in docs:
        windows = ex.prepare(d.ocr)
        windows_total += len(windows)
        scores = ex.score(windows)
        ctx = windows[0].context.root if windows else ex.context(d.ocr)
        prompts = ex.prompts_for(d.ocr, ctx)
        for name, dec in ex.decide(prompts, windows, scores).items():
            value = (
                span_text(dec.context or ctx, dec.best.tok_start, dec.best.tok_end)[0] if dec.best else None
            )
            label = d.labels.get(name)
            ok = (label is not None and normalize(name, value) == normalize(name, label)) if dec.found \
                else label is None
            records.append(Record(d.doc_id, name, label, value, dec.found, dec.raw_confidence, ok))
    n = max(1, len(docs))
    timing = {
        "cpu_s_per_doc": (time.process_time() - cpu0) / n,
        "wall_s_per_doc": (time.perf_counter() - wall0) / n,
        "windows_per_doc": windows_total / n,
    }
    return records, timing


def fit_calibration(records: Sequence[Record], fields: Sequence[str] = LABELLED) -> dict[str, Platt]:
    out = {}
    for f in fields:
        rs = [r for r in records if r.field == f]
        out[f] = fit_platt([r.raw for r in rs], [r.correct for r in rs])
    return out


def crossfit_confidences(records: Sequence[Record], folds: int = 2) -> dict[int, float]:
    """Calibrated confidence of each labelled record from a calibrator fitted on the OTHER folds
    (honest ECE / gate figures on the same validation set)."""
    docs = sorted({r.doc_id for r in records})
    fold_of = {d: i % folds for i, d in enumerate(docs)}
    out: dict[int, float] = {}
    for k in range(folds):
        cal = fit_calibration([r for r in records if fold_of[r.doc_id] != k])
        for i, r in enumerate(records):
            if fold_of[r.doc_id] == k and r.field in cal:
                out[i] = cal[r.field](r.raw)
    return out


def summarize(
    records: Sequence[Record],
    conf: dict[int, float],
    thresholds: Sequence[float] = (0.5, 0.8, 0.9, 0.95),
    subset: set[str] | None = None,
    fields: Sequence[str] = LABELLED,
    score_absent: bool = False,
) -> dict[str, Any]:
    """Per-field exact match, calibration and gate figures. `score_absent`: documents whose truth says a
    field is not printed count too (saying "absent" is then the right answer); SROIE has no such truth."""
    idx = [i for i, r in enumerate(records) if r.field in fields and (subset is None or r.doc_id in subset)]
    out: dict[str, Any] = {"docs": len({records[i].doc_id for i in idx}), "fields": {}}
    for f in fields:
        fi = [i for i in idx if records[i].field == f and (score_absent or records[i].label is not None)]
        if not fi:
            continue
        acc = float(np.mean([records[i].correct for i in fi]))
        c = [conf.get(i, records[i].raw) for i in fi]
        y = [records[i].correct for i in fi]
        gate = {}
        for t in thresholds:
            passed = [i for i, ci in zip(fi, c, strict=True) if ci >= t and records[i].found]
            gate[str(t)] = {
                "pass_rate": len(passed) / len(fi),
                "precision": float(np.mean([records[i].correct for i in passed])) if passed else None,
            }
        out["fields"][f] = {
            "n": len(fi),
            "exact_match": acc,
            "ece": expected_calibration_error(c, y),
            "ece_raw": expected_calibration_error([records[i].raw for i in fi], y),
            "gate": gate,
        }
    scored = [i for i in idx if score_absent or records[i].label is not None]
    allc = [conf.get(i, records[i].raw) for i in scored]
    ally = [records[i].correct for i in scored]
    out["ece_all"] = expected_calibration_error(allc, ally)
    return out


def records_json(records: Sequence[Record]) -> list[dict[str, Any]]:
    return [asdict(r) for r in records]
