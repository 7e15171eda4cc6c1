"""Submit files: validate, store content-addressed, announce on docs.ingested.

The same bytes always give the same document id and the same ingest event id, so a second
submission is recognised ("duplicate") and every stage's ledger turns it into a no-op, while a
first announcement lost to a crash is healed by submitting again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.blobstore import BlobStore
from pipeline.config import Settings
from pipeline.contracts import (
    BlobRef,
    DocKind,
    DocumentIngested,
    Envelope,
    Producer,
    deterministic_event_id,
)
from pipeline.ingest.media import UnsupportedMediaType, sniff
from pipeline.runtime.stage import encode_envelope
from pipeline.topics import INGESTED

INGEST_PRODUCER = Producer(stage="ingest", version=__version__)


class SubmissionError(ValueError):
    """A file that cannot be submitted; the message is the one-line reason."""


@dataclass
class Submitted:
    path: str
    document_id: str | None
    status: str  # "new" | "duplicate" | "error"
    media_type: str | None = None
    size: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given, folders walked in sorted order (hidden files skipped)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        else:
            yield path


def read_document(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SubmissionError("no such file") from None
    except PermissionError:
        raise SubmissionError("permission denied") from None
    if not path.is_file():
        raise SubmissionError("not a regular file")
    if size == 0:
        raise SubmissionError("empty file")
    if size > max_bytes:
        raise SubmissionError(f"file is {size} bytes, over the limit of {max_bytes} bytes")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"unreadable: {exc.strerror or exc.__class__.__name__}") from None
    if len(data) > max_bytes:
        raise SubmissionError(f"file grew over the limit of {max_bytes} bytes while reading")
    return data


def build_ingested(blob: BlobRef, *, filename: str | None, tenant: str, kind_hint: DocKind | None,
                   source: str, submitted_by: str | None) -> Envelope[DocumentIngested]:
    payload = DocumentIngested(blob=blob, filename=filename, source=source, kind_hint=kind_hint,
                               submitted_by=submitted_by)
    return Envelope[DocumentIngested](
        event_id=deterministic_event_id(blob.sha256, "ingest", tenant),
        event_type=INGESTED, document_id=blob.sha256, correlation_id=blob.sha256, tenant=tenant,
        producer=INGEST_PRODUCER, payload=payload,
    )


def ingest_bytes(data: bytes, store: BlobStore, *, filename: str | None, settings: Settings,
                 kind_hint: DocKind | None = None, source: str = "cli",
                 submitted_by: str | None = None) -> tuple[Envelope[DocumentIngested], bool]:
    """Store and describe one document. Returns the event to publish and whether it existed."""
    if len(data) > settings.max_document_bytes:
        raise SubmissionError(f"document is {len(data)} bytes, over the limit of {settings.max_document_bytes}")
    try:
        media_type = sniff(data)
    except UnsupportedMediaType as exc:
        raise SubmissionError(str(exc)) from None
    put = store.put(data)
    blob = BlobRef(uri=put.uri, sha256=put.sha256, size=put.size, media_type=media_type)
    env = build_ingested(blob, filename=filename, tenant=settings.tenant, kind_hint=kind_hint,
                         source=source, submitted_by=submitted_by)
    return env, put.existed


def submit_paths(paths: Iterable[str | Path], store: BlobStore, settings: Settings, kafka_producer: Any, *,
                 kind_hint: DocKind | None = None, submitted_by: str | None = None,
                 progress: Callable[[Submitted], None] | None = None) -> list[Submitted]:
    """Submit every file; a bad file is reported and skipped, never fatal for the others.

    An announcement counts only when Kafka acknowledged it with an offset; the rest are sent again
    (safe: the same document has the same event id and every stage skips what it has handled).
    """
    results: list[Submitted] = []
    topic = settings.topic(INGESTED)
    pending: dict[bytes, bytes] = {}
    errors: dict[bytes, str] = {}

    def delivered(err: Any, msg: Any) -> None:
        if err is None and msg.offset() is not None and msg.offset() >= 0:
            pending.pop(msg.key(), None)
            errors.pop(msg.key(), None)
        else:
            errors[msg.key()] = str(err or "no offset acknowledged")

    for path in expand_paths(paths):
        try:
            data = read_document(path, settings.max_document_bytes)
            env, existed = ingest_bytes(data, store, filename=path.name, settings=settings,
                                        kind_hint=kind_hint, submitted_by=submitted_by)
            value = encode_envelope(env)
            pending[env.key] = value
            kafka_producer.produce(topic, key=env.key, value=value, on_delivery=delivered)
            kafka_producer.poll(0)
            res = Submitted(str(path), env.document_id, "duplicate" if existed else "new",
                            env.payload.blob.media_type, env.payload.blob.size)
        except SubmissionError as exc:
            res = Submitted(str(path), None, "error", error=str(exc))
        results.append(res)
        if progress:
            progress(res)
    for _attempt in range(5):
        kafka_producer.flush(60)
        if not pending:
            return results
        for key, value in list(pending.items()):
            kafka_producer.produce(topic, key=key, value=value, on_delivery=delivered)
    kafka_producer.flush(60)
    if pending:
        sample = "; ".join(f"{k.decode()[:12]}: {errors.get(k, 'no acknowledgement')}" for k in list(pending)[:3])
        raise RuntimeError(f"{len(pending)} announcement(s) not acknowledged by Kafka ({sample}). "
                           "Submit again: duplicates are safe.")
    return results
