"""Per-document ordering and safe offset commits for concurrent delivery (pure, not thread-safe).

`KeyedLanes`: one FIFO lane per key (document id). At most one item per key is in flight, so
events of one document never overtake each other, while different documents proceed in parallel.

`OffsetTracker`: a partition's offsets complete out of order when deliveries run in parallel; the
committable position is the lowest offset still in flight (everything below it is delivered or
dead-lettered), so a crash re-delivers only work that was not finished.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass
class KeyedLanes(Generic[K, T]):
    _lanes: dict[K, deque[T]] = field(default_factory=dict)
    _ready: deque[K] = field(default_factory=deque)
    _busy: set[K] = field(default_factory=set)
    _size: int = 0

    def put(self, key: K, item: T) -> None:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
        lane.append(item)
        self._size += 1
        if key not in self._busy and len(lane) == 1:
            self._ready.append(key)

    def take(self) -> tuple[K, T] | None:
        """Next item whose key has nothing in flight (oldest ready key first); marks the key busy."""
        while self._ready:
            key = self._ready.popleft()
            lane = self._lanes.get(key)
            if not lane or key in self._busy:
                continue
            item = lane.popleft()
            self._size -= 1
            self._busy.add(key)
            return key, item
        return None

    def done(self, key: K) -> None:
        """The in-flight item of `key` finished (delivered, dead-lettered or abandoned)."""
        self._busy.discard(key)
        lane = self._lanes.get(key)
        if lane:
            self._ready.append(key)
        elif lane is not None:
            del self._lanes[key]

    def drop(self, predicate: Callable[[T], bool]) -> list[T]:
        """Remove queued (not in-flight) items matching `predicate`, e.g. of a revoked partition."""
        dropped: list[T] = []
        for key in list(self._lanes):
            lane = self._lanes[key]
            keep = deque(i for i in lane if not predicate(i))
            dropped.extend(i for i in lane if predicate(i))
            self._lanes[key] = keep
            if not keep and key not in self._busy:
                del self._lanes[key]
        self._size -= len(dropped)
        return dropped

    @property
    def queued(self) -> int:
        return self._size

    @property
    def in_flight(self) -> int:
        return len(self._busy)

    def busy(self, key: K) -> bool:
        return key in self._busy


@dataclass
class _PartitionState:
    pending: set[int] = field(default_factory=set)
    next_after_seen: int | None = None
    committed: int | None = None


@dataclass
class OffsetTracker:
    _parts: dict[tuple[str, int], _PartitionState] = field(default_factory=dict)

    def add(self, topic: str, partition: int, offset: int) -> None:
        st = self._parts.setdefault((topic, partition), _PartitionState())
        st.pending.add(offset)
        if st.next_after_seen is None or offset + 1 > st.next_after_seen:
            st.next_after_seen = offset + 1

    def done(self, topic: str, partition: int, offset: int) -> None:
        st = self._parts.get((topic, partition))
        if st is not None:
            st.pending.discard(offset)

    def position(self, topic: str, partition: int) -> int | None:
        """Next offset to consume after a restart: lowest in flight, else one past the highest seen."""
        st = self._parts.get((topic, partition))
        if st is None or st.next_after_seen is None:
            return None
        return min(st.pending) if st.pending else st.next_after_seen

    def committable(self) -> dict[tuple[str, int], int]:
        """Positions that moved since the last `mark_committed`, to commit now."""
        out: dict[tuple[str, int], int] = {}
        for tp, st in self._parts.items():
            pos = self.position(*tp)
            if pos is not None and pos != st.committed:
                out[tp] = pos
        return out

    def mark_committed(self, positions: dict[tuple[str, int], int]) -> None:
        for tp, pos in positions.items():
            st = self._parts.get(tp)
            if st is not None:
                st.committed = pos

    def forget(self, topic: str, partition: int) -> None:
        self._parts.pop((topic, partition), None)

    def in_flight(self) -> int:
        return sum(len(st.pending) for st in self._parts.values())
