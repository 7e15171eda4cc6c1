"""In-memory stage driver (a testing source/sink, as bytewax has): stage logic without Kafka.

It applies the same decode -> handle -> classify -> DLQ rules as the Kafka worker, so unit tests
of a stage exercise the real error handling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.contracts import Envelope
from pipeline.runtime.policy import Outcome, process_batch
from pipeline.runtime.stage import Emit, StageSpec, encode_envelope


@dataclass
class LocalResult:
    emitted: list[Emit] = field(default_factory=list)
    dead_letters: list[Emit] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def on(self, topic: str) -> list[Envelope[Any]]:
        return [e.event for e in self.emitted if e.topic == topic]


class LocalRunner:
    """Feeds raw values or envelopes to a stage; keeps an idempotency ledger like the Kafka worker."""

    def __init__(self, stage: StageSpec, *, retries: int = 2, backoff_s: float = 0.0) -> None:
        self.stage = stage
        self.retries = retries
        self.backoff_s = backoff_s
        self.ledger: set[str] = set()
        self._offset = 0

    def run(self, inputs: Iterable[bytes | Envelope[Any] | None]) -> LocalResult:
        raws: list[tuple[int, bytes | None]] = []
        for item in inputs:
            raw = encode_envelope(item) if isinstance(item, Envelope) else item
            raws.append((self._offset, raw))
            self._offset += 1
        outcomes = process_batch(
            self.stage, [(f"local:{self.stage.input_topic}", 0, off, None, raw) for off, raw in raws],
            self.ledger, retries=self.retries, backoff_s=self.backoff_s, backoff_max_s=self.backoff_s,
        )
        result = LocalResult()
        for oc in outcomes:
            self._collect(oc, result)
        return result

    def _collect(self, oc: Outcome, result: LocalResult) -> None:
        if oc.skipped_key:
            result.skipped.append(oc.skipped_key)
        result.emitted.extend(oc.emits)
        result.dead_letters.extend(oc.dead_letters)
        if oc.ledger_key:
            self.ledger.add(oc.ledger_key)
