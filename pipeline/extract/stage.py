"""The extract stage: docs.ocr -> docs.extracted.

Structured PO changes map straight from their JSON; everything else goes through the QA extractor
(receipt/invoice from OcrResult.kind, else a deterministic text classifier). A batch handler runs
the windows of every document in the poll through shared padded model runs.

When `extract_model` names a local folder whose model card says `backend: generative` (a causal LM
exported by `docpipe models export-generative`), the stage runs the generative extractor instead:
one document at a time (incremental decoding with a KV cache does not batch across documents), with
the same Extraction contract.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from pipeline.config import Settings
from pipeline.contracts import Envelope, Extraction, OcrResult
from pipeline.extract.gen_backend import GenerativeExtractor
from pipeline.extract.gen_onnx import generative_session
from pipeline.extract.prompts import PromptError
from pipeline.extract.qa import Extractor, SessionFactory, cpu_session
from pipeline.extract.registry import DEFAULT_MODEL, ModelEntry, load_local, resolve
from pipeline.extract.structured import StructuredDocumentError, extract_structured
from pipeline.runtime.errors import PermanentError
from pipeline.runtime.stage import Emit, StageSpec
from pipeline.topics import EXTRACTED, OCR

log = logging.getLogger(__name__)
STAGE_NAME = "extract"
STAGE_VERSION = "1"


def load_model(settings: Settings) -> ModelEntry:
    """DOCPIPE_EXTRACT_MODEL: name[:version] in the packaged registry, or a local model folder."""
    spec = settings.extract_model or DEFAULT_MODEL
    path = Path(spec)
    if path.is_dir():
        return load_local(path)
    name, _, version = spec.partition(":")
    return resolve(name, version or None)


class DocumentExtractor(Protocol):
    def extract(self, ocr: OcrResult) -> Extraction: ...


def extract_one(extractor: DocumentExtractor, ocr: OcrResult) -> Extraction:
    """One document -> Extraction; typed permanent errors for what can never succeed."""
    if ocr.structured is not None:
        try:
            return extract_structured(ocr)
        except StructuredDocumentError as exc:
            raise PermanentError(str(exc)) from None
    try:
        return extractor.extract(ocr)
    except PromptError as exc:
        raise PermanentError(f"no prompts for this document: {exc}") from None


def build_stage(
    settings: Settings, *, session_factory: SessionFactory | None = None, extractor: Extractor | None = None
) -> StageSpec:
    """`session_factory`: the batcher's provider-aware factory; default a CPU session (extract_threads)."""
    factory = session_factory or partial(cpu_session, threads=settings.extract_threads)
    if extractor is not None:
        ex = extractor
    else:
        entry = load_model(settings)
        if entry.card.get("backend") == "generative":
            gen_factory = session_factory or partial(
                generative_session, cfg=settings.inference, threads=settings.extract_threads
            )
            return build_generative_stage(GenerativeExtractor(entry, session_factory=gen_factory))
        ex = Extractor(entry, session_factory=factory, max_batch_tokens=settings.inference.max_batch_tokens)
    spec_holder: dict[str, StageSpec] = {}

    def handle_batch(events: Sequence[Envelope[Any]]) -> list[Sequence[Emit] | Exception]:
        """Prepare every model document, run all windows together in padded batches, then finish each."""
        spec = spec_holder["spec"]
        results: list[Sequence[Emit] | Exception] = []
        pending: list[tuple[int, OcrResult, list[Any]]] = []
        for i, ev in enumerate(events):
            ocr: OcrResult = ev.payload
            results.append([])
            try:
                if ocr.structured is not None:
                    results[i] = [Emit(EXTRACTED, ev.follow(EXTRACTED, extract_one(ex, ocr), spec.producer))]
                else:
                    pending.append((i, ocr, ex.prepare(ocr)))
            except PromptError as exc:
                results[i] = PermanentError(f"no prompts for this document: {exc}")
            except Exception as exc:  # classified by the runtime
                results[i] = exc
        windows = [w for _, _, ws in pending for w in ws]
        try:
            scores = ex.score(windows)
        except Exception as exc:  # the model run failed for all pending documents alike
            for i, _, _ in pending:
                results[i] = exc
            return results
        pos = 0
        for i, ocr, ws in pending:
            try:
                extraction = ex.finish(ocr, ws, scores[pos : pos + len(ws)])
                results[i] = [Emit(EXTRACTED, events[i].follow(EXTRACTED, extraction, spec.producer))]
            except Exception as exc:
                results[i] = exc
            pos += len(ws)
        return results

    spec = _spec(
        "Fixed-prompt extractive QA over OCR text; PO change JSON mapped directly.", batch_handler=handle_batch
    )
    spec_holder["spec"] = spec
    return spec


def build_generative_stage(ex: GenerativeExtractor) -> StageSpec:
    """The same stage contract over the generative backend (per-event handler)."""
    spec_holder: dict[str, StageSpec] = {}

    def handle(ev: Envelope[Any]) -> list[Emit]:
        extraction = extract_one(ex, ev.payload)
        return [Emit(EXTRACTED, ev.follow(EXTRACTED, extraction, spec_holder["spec"].producer))]

    spec = _spec(
        "Fixed prompts over OCR text, schema-constrained grounded decoding by a local causal LM.", handler=handle
    )
    spec_holder["spec"] = spec
    return spec


def _spec(description: str, **handlers: Any) -> StageSpec:
    """The extract stage's contract (docs.ocr -> docs.extracted), whichever backend handles it."""
    return StageSpec(
        name=STAGE_NAME,
        version=STAGE_VERSION,
        input_topic=OCR,
        input_model=OcrResult,
        output_topics=(EXTRACTED,),
        description=description,
        **handlers,
    )
