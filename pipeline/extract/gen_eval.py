"""Evaluation of the generative backend on labelled receipts: constrained vs free-running decoding.

Per mode: valid-JSON rate (the answer parses as a JSON object), grounded rate (non-null values found
verbatim in the text), exact match per labelled field after evaluate.normalize, and seconds per
receipt (wall and process CPU). Free-running = plain greedy decoding of the same prompt until the
closing brace; "free+retry" = the product behaviour (an unparsable answer is decoded again under
constraints). Pure onnxruntime + numpy (no torch).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.extract.evaluate import LABELLED, normalize
from pipeline.extract.gen_backend import GenerativeExtractor
from pipeline.extract.generative import check_grounding, parse_fields
from pipeline.extract.prompts import for_kind
from pipeline.extract.qa import resolve_kind

MODES = ("constrained", "free", "free+retry")


def _correct(field: str, value: str | None, label: str | None) -> bool:
    if value is None:
        return label is None
    return label is not None and normalize(field, value) == normalize(field, label)


def free_running(ex: GenerativeExtractor, ids: list[int], max_new_tokens: int = 160) -> str:
    """Greedy continuation until a '}' (flat JSON object) or an end-of-turn token."""
    eos = {int(i) for i in ex.model.card.get("eos_token_ids", [])}
    tok = ex.tokenizer

    def stop(out: list[int]) -> bool:
        return out[-1] in eos or "}" in tok.decode(out[-2:])

    out = ex.lm.generate(ids, max_new_tokens, stop)
    return tok.decode([t for t in out if t not in eos])


def _record(d: Any, mode: str, text: str, values: dict[str, str | None], valid: bool, document: str) -> dict[str, Any]:
    return {
        "doc_id": d.doc_id,
        "mode": mode,
        "valid_json": valid,
        "answer": text,
        "values": values,
        "grounded": check_grounding(values, document),
        "labels": {f: d.labels.get(f) for f in LABELLED},
        "correct": {f: _correct(f, values.get(f), d.labels.get(f)) for f in LABELLED},
    }


def evaluate_docs(ex: GenerativeExtractor, docs: Sequence[Any], max_new_tokens: int = 160) -> dict[str, Any]:
    """Constrained and free-running decoding over `docs` (objects with doc_id, ocr, labels); "free+retry"
    is derived: free answers, with the constrained answer (and its cost) where the free one did not parse."""
    records: list[dict[str, Any]] = []
    cost: dict[str, list[tuple[float, float, int]]] = {"constrained": [], "free": []}
    prompt_tokens = 0
    for d in docs:
        ctx = ex.context(d.ocr)
        prompts = for_kind(resolve_kind(d.ocr, ctx.text))
        names = [f.name for f in prompts.fields]
        ids = ex.prompt_ids(prompts, ctx.text)
        prompt_tokens += len(ids)
        for mode in ("constrained", "free"):
            c0, w0, f0 = time.process_time(), time.perf_counter(), ex.lm.tokens_fed
            if mode == "constrained":
                fields, text, _ = ex.decode(prompts, ctx.text)
                values: dict[str, str | None] = {f.name: f.value for f in fields}
                valid = True
            else:
                text = free_running(ex, ids, max_new_tokens)
                parsed = parse_fields(text, names)
                valid, values = parsed is not None, parsed or dict.fromkeys(names)
            cost[mode].append((time.process_time() - c0, time.perf_counter() - w0, ex.lm.tokens_fed - f0))
            records.append(_record(d, mode, text, values, valid, ctx.text))
        con, free = records[-2], records[-1]
        retry = dict(free if free["valid_json"] else con, mode="free+retry", retried=not free["valid_json"])
        records.append(retry)
    cost["free+retry"] = [
        (f[0] + (c[0] if r else 0), f[1] + (c[1] if r else 0), f[2] + (c[2] if r else 0))
        for f, c, r in zip(
            cost["free"], cost["constrained"], [r["retried"] for r in records if r["mode"] == "free+retry"],
            strict=True,
        )
    ]
    n = max(1, len(docs))
    out: dict[str, Any] = {"docs": len(docs), "prompt_tokens_per_doc": prompt_tokens / n, "modes": {}}
    for mode in MODES:
        out["modes"][mode] = summarize(records, mode) | {
            "cpu_s_per_doc": sum(c[0] for c in cost[mode]) / n,
            "wall_s_per_doc": sum(c[1] for c in cost[mode]) / n,
            "tokens_fed_per_doc": sum(c[2] for c in cost[mode]) / n,
        }
    out["records"] = records
    return out


def summarize(records: Sequence[dict[str, Any]], mode: str, subset: set[str] | None = None) -> dict[str, Any]:
    """Rates and exact match of one mode (optionally over a subset of doc ids, e.g. unseen vendors)."""
    rs = [r for r in records if r["mode"] == mode and (subset is None or r["doc_id"] in subset)]
    non_null = [r["grounded"][k] for r in rs for k, v in r["values"].items() if v is not None]
    em = {
        f: float(np.mean([r["correct"][f] for r in rs if r["labels"][f] is not None] or [0.0]))
        for f in LABELLED
    }
    return {
        "docs": len(rs),
        "valid_json_rate": float(np.mean([r["valid_json"] for r in rs])) if rs else None,
        "retried": sum(bool(r.get("retried")) for r in rs),
        "grounded_rate": float(np.mean(non_null)) if non_null else None,
        "non_null_values": len(non_null),
        "exact_match": em,
        "mean_exact_match": float(np.mean(list(em.values()))),
    }
