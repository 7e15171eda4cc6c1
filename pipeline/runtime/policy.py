"""The per-message rules shared by the in-memory runner and the Kafka worker.

decode -> idempotency check -> handle (bounded retries for TransientError) -> outputs + status,
or a dead letter with a readable reason. Pure apart from the backoff sleep; the caller makes the
results durable (Kafka transaction) and records the ledger keys it returns.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.contracts import DeadLetter, Envelope, Producer, StageStatus, deterministic_event_id, utcnow
from pipeline.runtime.errors import DecodeError, PermanentError, TransientError
from pipeline.runtime.stage import Emit, StageSpec, decode_envelope
from pipeline.topics import DLQ, STATUS

log = logging.getLogger(__name__)

_SHA = re.compile(r"^[0-9a-f]{64}$")
MAX_REASON = 500

# (topic, partition, offset, key, value) of one consumed message
RawMessage = tuple[str, int, int, bytes | None, bytes | None]


@dataclass
class Outcome:
    partition: int
    offset: int
    emits: list[Emit] = field(default_factory=list)
    dead_letters: list[Emit] = field(default_factory=list)
    ledger_key: str | None = None
    skipped_key: str | None = None


def _doc_id_for(key: bytes | None, raw: bytes | None) -> str:
    if key is not None:
        try:
            text = key.decode()
            if _SHA.match(text):
                return text
        except UnicodeDecodeError:
            pass
    return hashlib.sha256(raw or b"").hexdigest()


def _reason(exc: BaseException) -> str:
    msg = str(exc).replace("\n", " ").strip() or exc.__class__.__name__
    return msg[:MAX_REASON]


def status_event(stage: StageSpec, doc_id: str, correlation: str, cause: str, state: str, detail: str,
            next_topic: str | None, submitted_at: Any = None) -> Emit:
    payload = StageStatus(stage=stage.name, state=state, detail=detail[:MAX_REASON], next_topic=next_topic)  # type: ignore[arg-type]
    env = Envelope[StageStatus](
        event_id=deterministic_event_id(doc_id, stage.name, stage.version, "status", cause, state),
        event_type=STATUS, document_id=doc_id, correlation_id=correlation, causation_id=cause,
        producer=stage.producer, payload=payload,
        **({"submitted_at": submitted_at} if submitted_at is not None else {}),
    )
    return Emit(STATUS, env)


def dead_letter(stage: StageSpec, msg: RawMessage, kind: str, exc: BaseException, attempts: int,
                envelope: Envelope[Any] | None = None) -> list[Emit]:
    topic, partition, offset, key, raw = msg
    doc_id = envelope.document_id if envelope else _doc_id_for(key, raw)
    correlation = envelope.correlation_id if envelope else doc_id
    cause = envelope.event_id if envelope else f"{topic}:{partition}:{offset}"
    dl = DeadLetter(
        stage=stage.name, stage_version=stage.version, error_kind=kind,  # type: ignore[arg-type]
        error=_reason(exc), error_type=exc.__class__.__name__, source_topic=topic,
        source_partition=partition, source_offset=offset,
        source_key=key.decode(errors="replace") if key is not None else None,
        original_b64=base64.b64encode(raw or b"").decode(), attempts=attempts, failed_at=utcnow(),
    )
    env = Envelope[DeadLetter](
        event_id=deterministic_event_id(doc_id, stage.name, stage.version, DLQ, cause),
        event_type=DLQ, document_id=doc_id, correlation_id=correlation, causation_id=cause,
        producer=Producer(stage=stage.name, version=stage.version), payload=dl,
    )
    log.warning("dead-lettered %s:%d:%d (%s): %s", topic, partition, offset, kind, dl.error)
    return [Emit(DLQ, env),
            status_event(stage, doc_id, correlation, cause, "dead_lettered", f"{kind}: {dl.error}", DLQ)]


def success_emits(stage: StageSpec, env: Envelope[Any], emits: Sequence[Emit]) -> list[Emit]:
    out = list(emits)
    nexts = sorted({e.topic for e in emits if e.topic != STATUS})
    if not any(e.topic == STATUS for e in emits):
        out.append(status_event(stage, env.document_id, env.correlation_id, env.event_id, "done",
                           "", ",".join(nexts) or None, env.submitted_at))
    return out


def process_batch(stage: StageSpec, messages: Sequence[RawMessage], ledger: set[str] | frozenset[str], *,
                  retries: int, backoff_s: float, backoff_max_s: float) -> list[Outcome]:
    """Handle a batch of raw messages; one Outcome per message, in input order."""
    outcomes = [Outcome(partition=m[1], offset=m[2]) for m in messages]
    pending: list[tuple[int, Envelope[Any], str]] = []
    seen: set[str] = set()
    for i, msg in enumerate(messages):
        try:
            env = decode_envelope(msg[4], stage.input_model)
        except DecodeError as exc:
            outcomes[i].dead_letters = dead_letter(stage, msg, exc.kind, exc, 1)
            continue
        lkey = stage.idempotency_key(env.document_id, env.event_id)
        if lkey in ledger or lkey in seen:
            outcomes[i].skipped_key = lkey
            outcomes[i].emits = [status_event(stage, env.document_id, env.correlation_id, env.event_id,
                                         "skipped_duplicate", "already handled by this stage version",
                                         None, env.submitted_at)]
            continue
        seen.add(lkey)
        pending.append((i, env, lkey))

    attempt = 1
    while pending:
        results = stage.handle_batch([env for _, env, _ in pending])
        retry: list[tuple[int, Envelope[Any], str]] = []
        for (i, env, lkey), res in zip(pending, results, strict=True):
            if not isinstance(res, Exception):
                outcomes[i].emits = success_emits(stage, env, res)
                outcomes[i].ledger_key = lkey
            elif isinstance(res, TransientError) and attempt <= retries:
                retry.append((i, env, lkey))
            else:
                kind = ("transient_exhausted" if isinstance(res, TransientError) else "handler_error")
                if not isinstance(res, (PermanentError, TransientError)):
                    log.error("stage %s handler raised %s", stage.name, res.__class__.__name__,
                              exc_info=res)
                outcomes[i].dead_letters = dead_letter(stage, messages[i], kind, res, attempt, env)
        pending = retry
        if pending:
            time.sleep(min(backoff_s * (2 ** (attempt - 1)), backoff_max_s))
            attempt += 1
    return outcomes
