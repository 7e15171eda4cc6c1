"""Labelled documents for gate calibration, run through the REAL OCR and extraction code (no broker).

Why: a threshold calibrated on hand-made extractions says nothing about production. Here each document
goes through what the ocr and extract stages run (media sniffing, text layer / OCR, PO-change
passthrough, the QA extractor or the structured mapping) and comes out as the `{"extraction", "truth"}`
line `docpipe eval gate` reads. Sources: a generated sample set (`docpipe samples generate`: manifest +
truth per document + refdata) and the SROIE validation receipts (images + key labels).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

from pipeline.blobstore.base import sha256_hex
from pipeline.contracts import BlobRef, DocKind, Extraction, OcrResult

log = logging.getLogger(__name__)

# Sample hard cases that must never go straight through, whatever the extraction: the gate's promise.
MUST_STOP = frozenset({"duplicate", "inactive_vendor", "unknown_vendor", "changed_bank_account", "po_unknown_po"})
SROIE_FIELDS = {"company": "merchant", "address": "merchant_address", "date": "date", "total": "total"}


@dataclass(frozen=True)
class CorpusItem:
    """One labelled document: its bytes' location and the ground truth the eval compares with."""

    source: str  # "samples" | "sroie"
    doc_id: str
    path: Path
    truth: dict[str, Any]  # field -> raw string, or {"value": canonical}
    must_stop: tuple[str, ...] = ()  # hard cases the gate has to stop (samples only)
    meta: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None  # the tenant's default locale for this source


def _truth_of_sample(fields: dict[str, Any]) -> dict[str, Any]:
    """Generated truth carries canonical values: compared as such, not re-parsed from the printed text."""
    out: dict[str, Any] = {}
    for name, f in fields.items():
        if not isinstance(f, dict) or isinstance(f.get("value"), list | dict):
            continue  # structured truth (changed_lines) is not a scalar field
        out[name] = {"value": f.get("value") if f.get("present") else None}
    return out


def sample_items(directory: Path) -> Iterator[CorpusItem]:
    """Documents of a generated sample set, in manifest order (duplicates come after their original)."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["documents"]:
        truth = json.loads((directory / entry["truth"]).read_text(encoding="utf-8"))
        yield CorpusItem(
            source="samples",
            doc_id=entry["doc_id"],
            path=directory / entry["file"],
            truth=_truth_of_sample(truth.get("fields", {})),
            must_stop=tuple(sorted(MUST_STOP & set(entry.get("hard_cases", [])))),
            meta={"kind": entry["kind"], "layout": entry.get("layout"), "render": entry.get("render")},
        )


def sroie_items(root: Path, ids: Iterable[str], locale: str = "en_MY") -> Iterator[CorpusItem]:
    """SROIE receipts (scanned images + key labels); labels renamed to the team's field names. `locale`:
    the default locale a Malaysian tenant would configure (DOCPIPE_DEFAULT_LOCALE)."""
    for doc_id in ids:
        key = json.loads((root / "key" / f"{doc_id}.json").read_text(encoding="utf-8"))
        img = next((p for p in sorted((root / "img").glob(f"{doc_id}.*"))), None)
        if img is None:
            log.warning("sroie %s: no image, skipped", doc_id)
            continue
        truth = {SROIE_FIELDS[k]: v for k, v in key.items() if k in SROIE_FIELDS}
        yield CorpusItem(source="sroie", doc_id=doc_id, path=img, truth=truth, meta={"kind": "receipt"}, locale=locale)


Reader = Callable[[BlobRef, bytes], OcrResult]
Extract = Callable[[OcrResult], Extraction]


def real_stages(settings: Any, ocr_cache: Path | None = None) -> tuple[Reader, Extract]:
    """The ocr and extract stages' own functions, configured from `settings`. The OCR engine and the
    extraction model load on first use (a PO-change-only corpus needs neither). `ocr_cache`: keep each
    OcrResult (keyed by file sha256 and OCR settings), so re-measuring a new extraction model does
    not repeat OCR, which the model does not influence."""
    from pipeline.extract.qa import Extractor, cpu_session
    from pipeline.extract.stage import extract_one, load_model
    from pipeline.ingest.media import PO_CHANGE_JSON
    from pipeline.ocr.cache import cached_ocr
    from pipeline.ocr.document import read_document
    from pipeline.ocr.factory import get_engine
    from pipeline.ocr.stage import passthrough_po_change

    cache_dir = settings.home / "cache" / "tensorrt"
    extractors: list[Extractor] = []

    def read(blob: BlobRef, data: bytes) -> OcrResult:
        if blob.media_type == PO_CHANGE_JSON:
            return passthrough_po_change(blob, data)
        result = cached_ocr(
            ocr_cache,
            blob.sha256,
            settings.ocr,
            lambda: read_document(
                blob,
                data,
                settings.ocr,
                max_pages=settings.max_pages,
                engine=lambda: get_engine(settings.ocr, cache_dir),
                kind=DocKind.unknown,
            ),
        )
        # as `docpipe submit` without --kind: the classifier decides (also for entries cached as receipts)
        return result.model_copy(update={"kind": DocKind.unknown})

    def extract(ocr: OcrResult) -> Extraction:
        if ocr.structured is not None:  # PO change JSON: mapped directly, the model is never touched
            return extract_one(cast(Extractor, None), ocr)
        if not extractors:
            factory = partial(cpu_session, threads=settings.extract_threads)
            extractors.append(Extractor(load_model(settings), session_factory=factory))
        return extract_one(extractors[0], ocr)

    return read, extract


def extract_items(items: Iterable[CorpusItem], read: Reader, extract: Extract) -> Iterator[dict[str, Any]]:
    """One eval line per document; a document the pipeline rejects is reported, never dropped silently."""
    from pipeline.ingest.media import UnsupportedMediaType, sniff
    from pipeline.ocr.errors import DocumentError
    from pipeline.runtime import PermanentError

    for item in items:
        data = item.path.read_bytes()
        line: dict[str, Any] = {
            "source": item.source,
            "doc_id": item.doc_id,
            "truth": item.truth,
            "must_stop": list(item.must_stop),
            "locale": item.locale,
            "meta": item.meta,
        }
        try:
            blob = BlobRef(uri=item.path.as_uri(), sha256=sha256_hex(data), size=len(data), media_type=sniff(data))
            line["extraction"] = extract(read(blob, data)).model_dump(mode="json")
        except (UnsupportedMediaType, DocumentError, PermanentError) as exc:
            line["error"] = f"{exc.__class__.__name__}: {str(exc)[:200]}"
        yield line
