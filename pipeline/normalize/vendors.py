"""Vendor matching against the vendor master: tax id and IBAN exact first, then name/aliases fuzzy.

Exact identifiers beat names. A name that matches two master records about equally well is
reported as ambiguous with both candidates; the match is never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from pipeline.contracts import VendorMatch
from pipeline.normalize.ids import compact_key, normalize_iban, normalize_tax_id
from pipeline.refdata.records import VendorRecord

# Legal-form words dropped before comparing names ("ACME GmbH" == "Acme").
_LEGAL = re.compile(
    r"\b(gmbh|ag|kg|ohg|ug|e\.?k|ltd|limited|llc|inc|incorporated|corp|corporation|co|company|plc|sa|sas|sarl|"
    r"srl|spa|bv|nv|oy|ab|as|sdn|bhd|s/b|pte|pty|the|enterprise|trading)\b\.?",
    re.IGNORECASE,
)


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """Comparable form of a company name: accents folded, legal forms and punctuation dropped."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    folded = folded.replace("&", " and ")
    folded = _LEGAL.sub(" ", folded)
    folded = re.sub(r"[^a-z0-9]+", " ", folded)
    return " ".join(folded.split())


@dataclass(frozen=True)
class MatchConfig:
    fuzzy_cutoff: float = 86.0  # minimum rapidfuzz score for a name match
    ambiguity_margin: float = 3.0  # two vendors within this many points of each other -> ambiguous
    max_candidates: int = 3
    min_fuzzy_length: int = 4  # shorter names only match exactly (by name or alias)


@dataclass
class VendorIndex:
    """Lookup structures over the vendor master, built once per reference-data snapshot."""

    records: dict[str, VendorRecord]
    by_tax_id: dict[str, list[str]] = field(default_factory=dict)
    by_iban: dict[str, list[str]] = field(default_factory=dict)
    by_key: dict[str, list[str]] = field(default_factory=dict)
    choices: list[str] = field(default_factory=list)
    choice_owner: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, vendors: Iterable[VendorRecord]) -> VendorIndex:
        idx = cls(records={})
        for v in sorted(vendors, key=lambda r: r.vendor_id):
            idx.records[v.vendor_id] = v
            tax = normalize_tax_id(v.tax_id, v.country).value if v.tax_id else None
            for key in {tax, compact_key(v.tax_id)} - {None}:
                idx.by_tax_id.setdefault(key, []).append(v.vendor_id)  # type: ignore[arg-type]
            for iban in v.ibans:
                key = normalize_iban(iban).value or compact_key(iban)
                if key:
                    idx.by_iban.setdefault(key, []).append(v.vendor_id)
            for name in (v.name, *v.aliases):
                key = name_key(name)
                if not key:
                    continue
                owners = idx.by_key.setdefault(key, [])
                if v.vendor_id not in owners:
                    owners.append(v.vendor_id)
                    idx.choices.append(key)
                    idx.choice_owner.append(v.vendor_id)
        return idx

    def __len__(self) -> int:
        return len(self.records)


def _exact(ids: Sequence[str], idx: VendorIndex, method: str) -> VendorMatch:
    unique = sorted(set(ids))
    if len(unique) == 1:
        rec = idx.records[unique[0]]
        return VendorMatch(
            vendor_id=rec.vendor_id,
            name=rec.name,
            score=100.0,
            method=method,
            candidates=[(rec.vendor_id, 100.0)],
        )
    return VendorMatch(
        vendor_id=None,
        score=100.0,
        method=method,
        ambiguous=True,
        candidates=[(vid, 100.0) for vid in unique],
    )


def match_vendor(
    name: str | None,
    idx: VendorIndex,
    *,
    tax_id: str | None = None,
    iban: str | None = None,
    country: str | None = None,
    config: MatchConfig = MatchConfig(),
) -> VendorMatch:
    """Match a document's vendor; `score` is 0-100, `candidates` the best distinct vendors."""
    if tax_id:
        for key in (normalize_tax_id(tax_id, country).value, compact_key(tax_id)):
            if key and key in idx.by_tax_id:
                return _exact(idx.by_tax_id[key], idx, "tax_id")
    if iban:
        key = normalize_iban(iban).value
        if key and key in idx.by_iban:
            return _exact(idx.by_iban[key], idx, "iban")
    key = name_key(name) if name else ""
    if not key:
        return VendorMatch(vendor_id=None, score=0.0, method="none")
    if key in idx.by_key:
        return _exact(idx.by_key[key], idx, "exact")
    if not idx.choices or len(key.replace(" ", "")) < config.min_fuzzy_length:
        return VendorMatch(vendor_id=None, score=0.0, method="none")
    # token_sort_ratio compares whole names (word order free): partial scorers would let a short or
    # generic name ("Shop") match any vendor containing it.
    hits = process.extract(
        key,
        idx.choices,
        scorer=fuzz.token_sort_ratio,
        limit=max(10, config.max_candidates * 3),
        score_cutoff=config.fuzzy_cutoff,
    )
    best: dict[str, float] = {}
    for _choice, score, pos in hits:
        owner = idx.choice_owner[pos]
        best[owner] = max(best.get(owner, 0.0), float(score))
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[: config.max_candidates]
    if not ranked:
        return VendorMatch(vendor_id=None, score=0.0, method="none")
    top_id, top_score = ranked[0]
    cands = [(vid, round(s, 2)) for vid, s in ranked]
    if len(ranked) > 1 and top_score - ranked[1][1] < config.ambiguity_margin:
        return VendorMatch(
            vendor_id=None, score=round(top_score, 2), method="fuzzy", candidates=cands, ambiguous=True
        )
    rec = idx.records[top_id]
    return VendorMatch(
        vendor_id=rec.vendor_id, name=rec.name, score=round(top_score, 2), method="fuzzy", candidates=cands
    )
