"""The production extractor (`pipeline.extract.qa.Extractor`) as the batcher's DocumentModel.

The batching worker must publish exactly what the generic extract stage publishes, so this adapter
adds only what the stage does around the extractor and nothing else:

- structured PO changes (`OcrResult.structured`) have no windows and map straight from their JSON
  in `finish` (`extract_one`, the stage's own function, with its PermanentError for bad payloads);
- empty documents have no windows either; the extractor's `finish` reports every field absent;
- `sessions > 1` gives every batcher runner thread its own ONNX Runtime session (one Extractor per
  session, all sharing prepare/finish through the first), so two runners never queue on one session;
- sessions are created (and warmed up by the provider-aware factory) here, at start, so the first
  document does not pay for them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

from pipeline.config import Settings
from pipeline.contracts import Extraction, OcrResult
from pipeline.extract.prompts import PromptError
from pipeline.extract.qa import Extractor, SessionFactory, SpanScores
from pipeline.extract.registry import ModelEntry, load_local
from pipeline.extract.stage import extract_one, load_model
from pipeline.extract.windows import QaWindow
from pipeline.runtime.errors import PermanentError


class ExtractorModel:
    """DocumentModel[OcrResult, QaWindow, SpanScores, Extraction] over one or more Extractors."""

    def __init__(self, extractors: Sequence[Extractor]) -> None:
        if not extractors:
            raise ValueError("need at least one Extractor")
        self.extractor = extractors[0]
        self._pool = list(extractors)
        self._assign = itertools.count()
        self._local = threading.local()
        for ex in self._pool:
            _ = ex.session  # create + warm up now, not on the first document

    @classmethod
    def load(cls, entry: ModelEntry, session_factory: SessionFactory, sessions: int = 1) -> ExtractorModel:
        return cls([Extractor(entry, session_factory=session_factory) for _ in range(max(1, sessions))])

    @property
    def model(self) -> ModelEntry:
        return self.extractor.model

    def prepare(self, doc: OcrResult) -> list[QaWindow]:
        if doc.structured is not None:
            return []
        try:
            return self.extractor.prepare(doc)
        except PromptError as exc:  # as extract_one: a document no prompt set fits never succeeds
            raise PermanentError(f"no prompts for this document: {exc}") from None

    def infer(self, windows: list[QaWindow]) -> list[SpanScores]:
        """One padded run on this runner thread's own session."""
        ex: Extractor | None = getattr(self._local, "extractor", None)
        if ex is None:
            ex = self._local.extractor = self._pool[next(self._assign) % len(self._pool)]
        return ex.infer(windows)

    def finish(self, doc: OcrResult, windows: list[QaWindow], scores: list[SpanScores]) -> Extraction:
        if doc.structured is not None:
            return extract_one(self.extractor, doc)
        return self.extractor.finish(doc, windows, scores)


def extractor_model(settings: Settings, session_factory: Any) -> ExtractorModel:
    """`inference.document_model` default: the registry model the extract stage uses
    (DOCPIPE_EXTRACT_MODEL, else the packaged default), or the model folder `inference.model_path`."""
    cfg = settings.inference
    entry = load_local(cfg.model_path) if cfg.model_path else load_model(settings)
    return ExtractorModel.load(entry, session_factory, cfg.sessions)
