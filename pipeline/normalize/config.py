"""Normalizer configuration: one frozen value so results are a pure function of (input, config, refdata)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.normalize.po import DEFAULT_PATTERNS
from pipeline.normalize.vendors import MatchConfig

NORMALIZER_VERSION = "1.0"


@dataclass(frozen=True)
class NormalizeConfig:
    default_locale: str | None = None  # used when the vendor is unknown; None -> ambiguous dates are flagged
    po_patterns: tuple[str, ...] = DEFAULT_PATTERNS
    match: MatchConfig = field(default_factory=MatchConfig)
    version: str = NORMALIZER_VERSION
