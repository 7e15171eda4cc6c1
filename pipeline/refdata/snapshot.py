"""An immutable in-memory view of the reference data, and a time-bounded cache that reloads it.

Stage handlers read a snapshot, so they stay pure given the reference data; the cache is the only
place that touches the database, and reloads at most once per `ttl_s`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.normalize.po import po_key
from pipeline.normalize.vendors import VendorIndex
from pipeline.refdata.records import PORecord, VendorRecord

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.refdata.repository import RefDataRepository


@dataclass(frozen=True)
class RefSnapshot:
    vendors: VendorIndex = field(default_factory=lambda: VendorIndex.build([]))
    pos: dict[str, PORecord] = field(default_factory=dict)  # keyed by po_key

    @classmethod
    def of(
        cls,
        vendors: list[VendorRecord] | tuple[VendorRecord, ...] = (),
        pos: list[PORecord] | tuple[PORecord, ...] = (),
    ) -> RefSnapshot:
        return cls(VendorIndex.build(vendors), {po_key(p.po_number): p for p in pos})

    def purchase_order(self, po_number: str) -> PORecord | None:
        return self.pos.get(po_key(po_number))

    def vendor(self, vendor_id: str | None) -> VendorRecord | None:
        return self.vendors.records.get(vendor_id) if vendor_id else None


class CachedRefData:
    """Loads a snapshot with `loader` and keeps it for `ttl_s` seconds (thread-safe)."""

    def __init__(
        self,
        loader: Callable[[], RefSnapshot],
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: RefSnapshot | None = None
        self._loaded_at = 0.0

    def get(self) -> RefSnapshot:
        with self._lock:
            now = self._clock()
            if self._snapshot is None or now - self._loaded_at >= self._ttl:
                self._snapshot = self._loader()
                self._loaded_at = now
            return self._snapshot

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None


def cached_refdata(settings: Settings) -> tuple[CachedRefData, RefDataRepository]:
    """The stages' view of the reference data: the database brought to the current schema, and a
    snapshot cache refreshed every `refdata_ttl_s` (plus the repository, for writes such as the gate's)."""
    from pipeline.db import make_engine, migrate
    from pipeline.refdata.repository import RefDataRepository

    engine = make_engine(settings.db_url)
    migrate(settings.db_url)
    repo = RefDataRepository(engine)
    return CachedRefData(repo.snapshot, ttl_s=settings.refdata_ttl_s), repo
