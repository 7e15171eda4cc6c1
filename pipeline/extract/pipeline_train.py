"""`docpipe train`: train -> export variants -> evaluate each -> (optionally) publish; and the feedback loop.

Feedback: reviewer corrections (pipeline.contracts.Feedback, one JSON per line, bare payloads or
envelopes) become explicit examples on the OCR text of their document (OcrResult JSON files named
<blob sha256>.json in `ocr_dir`). The candidate is fine-tuned from the last trained weights (or the
base encoder) on feedback + the SROIE training set, and is promoted only if it is not worse on the
validation receipts: mean exact match >= current and no labelled field more than 1 point lower.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipeline.contracts import Feedback, OcrResult
from pipeline.extract.invoices import TRAIN_LAYOUTS, TRAIN_SEED, generate_labelled
from pipeline.extract.release import (
    bench_speed,
    choose_variant,
    evaluate_invoices,
    evaluate_variant,
    fit_amount_prior,
    fit_null_bias,
    mean_em,
    publish,
    unseen_vendor_ids,
    write_eval_report,
)
from pipeline.extract.sroie import DEFAULT_ROOT, VAL_IDS, load_split
from pipeline.extract.train import TrainConfig, TrainDoc

log = logging.getLogger(__name__)
KIND_TO_PROMPTS = {"receipt": "receipt", "invoice": "invoice"}


class FeedbackError(ValueError):
    """The feedback file cannot be turned into training examples."""


def read_feedback(path: Path) -> list[Feedback]:
    if not path.is_file():
        raise FeedbackError(f"{path}: no such feedback file")
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            out.append(Feedback.model_validate(data.get("payload", data) if isinstance(data, dict) else data))
        except (json.JSONDecodeError, ValueError) as exc:
            raise FeedbackError(f"{path}:{n}: not a Feedback event ({exc.__class__.__name__})") from None
    return out


def feedback_docs(events: list[Feedback], ocr_dir: Path) -> tuple[list[TrainDoc], dict[str, int]]:
    """One explicit training document per feedback event with corrections and a known OCR result."""
    docs: list[TrainDoc] = []
    stats = {"events": len(events), "used": 0, "no_ocr": 0, "no_corrections": 0, "unsupported_kind": 0}
    for ev in events:
        if not ev.corrections:
            stats["no_corrections"] += 1
            continue
        prompts = KIND_TO_PROMPTS.get(ev.kind.value)
        if prompts is None:
            stats["unsupported_kind"] += 1
            continue
        ocr_path = ocr_dir / f"{ev.source.sha256}.json"
        if not ocr_path.is_file():
            stats["no_ocr"] += 1
            continue
        ocr = OcrResult.model_validate_json(ocr_path.read_bytes())
        labels = {c.field: c.after for c in ev.corrections}
        docs.append(
            TrainDoc(
                doc_id=f"fb:{ev.source.sha256[:16]}",
                ocr=ocr,
                labels=labels,
                prompt_set=prompts,
                explicit=True,
            )
        )
        stats["used"] += 1
    return docs, stats


def invoice_train_docs(count: int) -> list[TrainDoc]:
    """Generated invoices of the training layouts (held-out layouts stay unseen for evaluation)."""
    return [
        TrainDoc(d.doc_id, d.ocr, d.labels, prompt_set="invoice", boxes=dict(d.boxes))
        for d in generate_labelled(count, TRAIN_SEED, TRAIN_LAYOUTS)
    ]


def not_worse(candidate: dict[str, Any], current: dict[str, Any], field_tolerance: float = 0.01) -> bool:
    if mean_em(candidate) < mean_em(current):
        return False
    return all(
        candidate["fields"][f]["exact_match"] >= current["fields"][f]["exact_match"] - field_tolerance
        for f in current["fields"]
        if f in candidate["fields"]
    )


DEFAULT_VARIANTS = ["fp32-opt", "fp32-fp16w", "int8-tensor", "int8-channel", "int8-opt-tensor"]


def export_and_evaluate(
    hf_dir: Path, work: Path, root: Path = DEFAULT_ROOT, variants: list[str] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]]:
    """Export fp32 + variants, evaluate every one on the validation receipts (accuracy AND CPU time),
    with the deterministic total prior, plus fp32 without it (ablation)."""
    from pipeline.extract.export import build_variants

    prior = fit_amount_prior(root)
    built = build_variants(hf_dir, work / "onnx", variants or DEFAULT_VARIANTS)
    docs = load_split(root, VAL_IDS)
    unseen = unseen_vendor_ids(root)
    null_bias = fit_null_bias(Path(str(built["fp32"]["path"])), hf_dir / "tokenizer.json", root, prior)
    log.info("no-answer shift fitted on training receipts: %s", null_bias)
    card = {"amount_prior": prior, "null_bias": null_bias}
    results = {}
    for name, info in built.items():
        log.info("evaluating %s", name)
        results[name] = evaluate_variant(
            Path(str(info["path"])), hf_dir / "tokenizer.json", docs, unseen, base_card=card
        )
    results["fp32-no-prior"] = evaluate_variant(
        Path(str(built["fp32"]["path"])),
        hf_dir / "tokenizer.json",
        docs,
        unseen,
        base_card=card,
        use_prior=False,
    )
    speed = bench_speed(
        {k: Path(str(v["path"])) for k, v in built.items()}, hf_dir / "tokenizer.json", docs[:20]
    )
    for name, cpu in speed.items():
        results[name]["timing"]["bench_cpu_s_per_doc"] = cpu
    write_eval_report(results, work / "eval_report.json")
    return built, results, card


def release(
    hf_dir: Path, work: Path, version: str, root: Path = DEFAULT_ROOT, variants: list[str] | None = None
) -> dict[str, Any]:
    """Export + evaluate trained weights and publish the chosen variant into the packaged registry."""
    built, results, card = export_and_evaluate(hf_dir, work, root, variants)
    info_path = hf_dir / "train_manifest.json"
    train_info = json.loads(info_path.read_text()) if info_path.is_file() else None
    dest = publish_default(built, results, hf_dir, version, train_info, card)
    return {"published": str(dest), "variants": _variant_report(built, results)}


def publish_default(
    built: dict[str, dict[str, Any]],
    results: dict[str, dict[str, Any]],
    hf_dir: Path,
    version: str,
    train_info: dict[str, Any] | None,
    card: dict[str, Any],
) -> Path:
    """Publish into the packaged registry as the default model, with the invoice figures in the card."""
    from pipeline.extract.registry import DEFAULT_MODEL, PACKAGED_ROOT

    return publish(
        built,
        results,
        hf_dir,
        PACKAGED_ROOT,
        DEFAULT_MODEL,
        version,
        train_info=train_info,
        prior=card["amount_prior"],
        null_bias=card["null_bias"],
        extra_metrics={"invoices": invoice_metrics(built, results, card)},
    )


def invoice_metrics(
    built: dict[str, dict[str, Any]], results: dict[str, dict[str, Any]], card: dict[str, Any]
) -> dict[str, Any]:
    """Generated-invoice exact match (seen vs held-out layouts) of the variant `publish` will choose."""
    chosen = choose_variant(built, results)
    return evaluate_invoices(Path(str(built[chosen]["path"])), base_card=card)


def _variant_report(built: dict[str, dict[str, Any]], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        k: {
            "mean_em": round(mean_em(r["summary"]), 4),
            "cpu_s_per_receipt": r["timing"].get("bench_cpu_s_per_doc", r["timing"]["cpu_s_per_doc"]),
            "bytes": built[k]["bytes"] if k in built else None,
            "fields": {f: round(m["exact_match"], 4) for f, m in r["summary"]["fields"].items()},
        }
        for k, r in results.items()
    }


def train_and_release(
    *,
    work: Path,
    epochs: float,
    seed: int,
    max_minutes: float,
    feedback: Path | None,
    publish_version: str | None,
    root: Path = DEFAULT_ROOT,
    ocr_dir: Path | None = None,
    variants: list[str] | None = None,
    invoices: int = 0,
    freeze_layers: int = 0,
    init: Path | None = None,
    lr: float | None = None,
) -> dict[str, Any]:
    from pipeline.extract.registry import DEFAULT_MODEL, list_models
    from pipeline.extract.train_sroie import run as run_training

    work.mkdir(parents=True, exist_ok=True)
    extra: list[TrainDoc] = []
    fb_stats: dict[str, int] | None = None
    init_dir = init
    if feedback is not None:
        extra, fb_stats = feedback_docs(read_feedback(feedback), ocr_dir or work / "ocr")
        if not extra:
            raise FeedbackError(f"no usable feedback examples ({fb_stats})")
        if (work / "hf" / "config.json").is_file():
            init_dir = work / "hf"
    inv_docs = invoice_train_docs(invoices)
    extra = inv_docs + extra
    cfg = TrainConfig(
        epochs=epochs,
        seed=seed,
        max_wall_s=max_minutes * 60,
        freeze_layers=freeze_layers,
        lr=lr if lr is not None else TrainConfig.lr,
        extra={"invoices": invoices, "invoice_seed": TRAIN_SEED, "invoice_layouts": list(TRAIN_LAYOUTS)},
    )
    hf_dir = work / ("hf-candidate" if feedback else "hf")
    train_info = run_training(hf_dir, cfg, root=root, extra_docs=extra, init_dir=init_dir)
    built, results, card = export_and_evaluate(hf_dir, work, root, variants)
    docs = load_split(root, VAL_IDS)
    unseen = unseen_vendor_ids(root)
    report: dict[str, Any] = {
        "train": {k: v for k, v in train_info.items() if k != "data"},
        "variants": _variant_report(built, results),
        "feedback": fb_stats,
    }
    promote = True
    if feedback is not None:
        current = [e for e in list_models() if e.name == DEFAULT_MODEL]
        if current:
            cur = current[-1]
            cur_res = evaluate_variant(cur.onnx_path, cur.tokenizer_path, docs, unseen, base_card=cur.card)
            best = max(results.values(), key=lambda r: mean_em(r["summary"]))
            promote = not_worse(best["summary"], cur_res["summary"])
            report["current"] = {"version": cur.version, "mean_em": round(mean_em(cur_res["summary"]), 4)}
        report["promoted"] = promote
    if publish_version and promote:
        dest = publish_default(built, results, hf_dir, publish_version, train_info, card)
        report["published"] = str(dest)
    return report
