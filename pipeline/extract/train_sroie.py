"""Entry point for the receipt training run (used by `docpipe train`): SROIE 000-399 -> QA weights."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from pipeline.extract.prompts import load_prompt_set
from pipeline.extract.sroie import DEFAULT_ROOT, TRAIN_IDS, data_manifest, load_split
from pipeline.extract.train import TrainConfig, TrainDoc, base_model_dir, build_examples, train


def run(
    out_dir: Path,
    cfg: TrainConfig,
    root: Path = DEFAULT_ROOT,
    ids: list[str] | None = None,
    extra_docs: list[TrainDoc] | None = None,
    init_dir: Path | None = None,
) -> dict[str, Any]:
    prompts = load_prompt_set("receipt")
    docs = load_split(root, ids or TRAIN_IDS)
    tdocs = [TrainDoc(d.doc_id, d.ocr, dict[str, str | None](d.labels)) for d in docs] + list(extra_docs or [])
    tok_path = (init_dir or Path(cfg.base or base_model_dir())) / "tokenizer.json"
    examples = build_examples(tdocs, tok_path, prompts, cfg)
    manifest = {
        "sroie": data_manifest(docs),
        "extra_docs": len(extra_docs or []),
        "prompt_set": prompts.ref.model_dump(),
        "fields": [f.name for f in prompts.fields],
    }
    logging.info("%d examples from %d documents", len(examples), len(tdocs))
    return train(examples, cfg, out_dir, manifest, init_dir=init_dir)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    epochs = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    minutes = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
    print(run(Path(sys.argv[1]), TrainConfig(epochs=epochs, max_wall_s=minutes * 60)))
