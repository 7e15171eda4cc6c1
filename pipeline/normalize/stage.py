"""Normalize stage: docs.extracted -> docs.normalized.

The handler is a pure function of (event, reference data snapshot, config); the snapshot comes from
a cached loader over the database, refreshed every `refdata_ttl_s`. A database outage is a
TransientError (retried, then DLQ); a malformed payload never reaches here (decoded by the runtime).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipeline.config import Settings
from pipeline.contracts import Envelope, Extraction
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.document import RefView, normalize_extraction
from pipeline.normalize.po import DEFAULT_PATTERNS
from pipeline.runtime import Emit, StageSpec, database_transient
from pipeline.topics import EXTRACTED, NORMALIZED

STAGE = "normalize"
VERSION = "1"


def config_from(settings: Settings) -> NormalizeConfig:
    patterns = tuple(settings.po_number_patterns) if settings.po_number_patterns else DEFAULT_PATTERNS
    return NormalizeConfig(default_locale=settings.default_locale, po_patterns=patterns)


def make_stage(refdata: Callable[[], RefView], config: NormalizeConfig) -> StageSpec:
    """The stage around any reference-data source (a DB cache in production, a snapshot in tests)."""
    spec: StageSpec

    def handle(event: Envelope[Extraction]) -> Sequence[Emit]:
        with database_transient("reference data"):
            ref = refdata()
        doc = normalize_extraction(event.payload, ref, config)
        return [Emit(NORMALIZED, event.follow(NORMALIZED, doc, spec.producer))]

    spec = StageSpec(
        name=STAGE,
        version=VERSION,
        input_topic=EXTRACTED,
        input_model=Extraction,
        handler=handle,
        description="Typed, validated values; vendor match; PO change deltas.",
        output_topics=(NORMALIZED,),
    )
    return spec


def build_stage(settings: Settings) -> StageSpec:
    from pipeline.refdata.snapshot import cached_refdata

    cache, _ = cached_refdata(settings)
    return make_stage(cache.get, config_from(settings))
