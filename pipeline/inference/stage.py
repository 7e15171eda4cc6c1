"""The extraction stage around a DocumentModel: OCR result in, Extraction out.

`document_stage` gives a StageSpec whose batch handler runs every document of a poll through the
shared micro-batcher, so even the generic KafkaWorker / LocalRunner get cross-document batching;
`pipeline.inference.worker.BatchingWorker` goes further (documents flow continuously, results
are published as they complete). `build_model` loads the configured DocumentModel.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.config import InferenceSettings, Settings
from pipeline.contracts import Envelope, OcrResult
from pipeline.inference.documents import DocumentModel, DocumentScheduler, build_batcher
from pipeline.inference.export import BENCH_CACHE
from pipeline.inference.providers import make_session_factory
from pipeline.runtime.errors import PermanentError
from pipeline.runtime.stage import Emit, StageSpec
from pipeline.topics import EXTRACTED, OCR

STAGE_NAME = "extract"
STAGE_VERSION = "1"


def reference_model(settings: Settings, session_factory: Any) -> DocumentModel[Any, Any, Any, Any]:
    """The built-in QA DocumentModel on `inference.model_path` (default: the exported bench model)."""
    from pipeline.inference.qa_model import ReferenceQaModel

    cfg = settings.inference
    path = cfg.model_path or BENCH_CACHE / "minilm-qa-int8"
    return ReferenceQaModel(
        Path(path), session_factory, max_seq_len=cfg.max_seq_len, doc_stride=cfg.doc_stride
    )


def build_model(settings: Settings) -> DocumentModel[Any, Any, Any, Any]:
    """Import `inference.document_model` ("module:function(settings, session_factory)") and call it."""
    target = settings.inference.document_model
    module, _, func = target.partition(":")
    if not func:
        raise ValueError(f"inference.document_model must be module:function, got {target!r}")
    builder = getattr(importlib.import_module(module), func)
    model: DocumentModel[Any, Any, Any, Any] = builder(
        settings, make_session_factory(settings.inference, settings.home)
    )
    return model


def extraction_emits(stage: StageSpec, env: Envelope[Any], extraction: Any) -> list[Emit]:
    return [Emit(EXTRACTED, env.follow(EXTRACTED, extraction, stage.producer))]


def document_stage(
    scheduler: DocumentScheduler[OcrResult, Any, Any, Any],
    *,
    name: str = STAGE_NAME,
    version: str = STAGE_VERSION,
) -> StageSpec:
    """A StageSpec whose batch handler pushes all documents of a poll through the shared batcher."""
    spec: StageSpec

    def handle(events: Sequence[Envelope[Any]]) -> list[Sequence[Emit] | Exception]:
        results: list[Sequence[Emit] | Exception] = [PermanentError("not run")] * len(events)
        jobs = {}
        for i, ev in enumerate(events):
            try:
                jobs[id(scheduler.submit(ev.payload, tag=i))] = i
            except Exception as exc:
                results[i] = exc
        waiting = len(jobs)
        while waiting:
            for job in scheduler.completed(timeout=0.5):
                i = job.tag
                waiting -= 1
                try:
                    results[i] = extraction_emits(spec, events[i], scheduler.finish(job))
                except Exception as exc:
                    results[i] = exc
        return results

    spec = StageSpec(
        name=name,
        version=version,
        input_topic=OCR,
        input_model=OcrResult,
        batch_handler=handle,
        description="Extractive QA over OCR text, micro-batched across documents",
        output_topics=(EXTRACTED,),
    )
    return spec


def build_stage(settings: Settings, cfg: InferenceSettings | None = None) -> StageSpec:
    model = build_model(settings)
    scheduler = DocumentScheduler(model, build_batcher(model, cfg or settings.inference))
    return document_stage(scheduler)
