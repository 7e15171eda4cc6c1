"""`docpipe erp export`: write approved documents to a CSV or JSONL batch import file.

Incremental by default: exports what arrived since the last export (the consumer group's committed
offsets) and commits the new positions only after the file is complete, fsynced and renamed into
place, so an interrupted export leaves no partial file and loses nothing. `--from-beginning`
writes a full dump and leaves the incremental position untouched.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from pipeline.config import Settings
from pipeline.contracts import ApprovedDocument, Envelope
from pipeline.erp import kafka_io, mapping
from pipeline.erp.stage import export_stage
from pipeline.topics import APPROVED

Format = Literal["csv", "jsonl"]


@dataclass
class ExportResult:
    path: str
    format: str
    documents: int = 0
    rows: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    offsets: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0


class Writer:
    """Serialises events in the chosen format; pure apart from the file handle it writes to."""

    def __init__(self, fh: io.TextIOBase, fmt: Format) -> None:
        self.fh = fh
        self.fmt = fmt
        self.csv = csv.writer(fh, lineterminator="\n") if fmt == "csv" else None
        if self.csv is not None:
            self.csv.writerow(mapping.CSV_COLUMNS)

    def write(self, env: Envelope[ApprovedDocument]) -> int:
        if self.csv is not None:
            rows = mapping.csv_rows(env)
            self.csv.writerows(rows)
            return len(rows)
        self.fh.write(json.dumps(mapping.jsonl_record(env), ensure_ascii=False, sort_keys=False) + "\n")
        return 1


def _partitions(consumer: Any, topic: str, timeout_s: float) -> list[int]:
    md = consumer.list_topics(topic, timeout=timeout_s)
    tmd = md.topics.get(topic)
    if tmd is None or tmd.error is not None:
        raise FileNotFoundError(f"topic {topic} does not exist")
    return sorted(tmd.partitions)


def export(
    settings: Settings,
    out: Path,
    fmt: Format,
    *,
    group: str,
    from_beginning: bool = False,
    force: bool = False,
    timeout_s: float = 30.0,
) -> ExportResult:
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r} (csv or jsonl)")
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists (an earlier batch not yet imported?); use --force to replace it")
    started = time.monotonic()
    topic = settings.topic(APPROVED)
    stage = export_stage()
    consumer = kafka_io.consumer(settings, group, eof=True)
    dlq = kafka_io.producer(settings)
    result = ExportResult(path=str(out), format=fmt)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        parts = _partitions(consumer, topic, timeout_s)
        start = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts]
        if not from_beginning:
            committed = kafka_io.with_retry(
                lambda: consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10), timeout_s
            )
            start = [
                TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
                for tp in committed
            ]
        consumer.assign(start)
        pending = set(parts)
        seen: set[str] = set()
        positions: dict[int, int] = {}
        letters = []
        out.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = Writer(fh, fmt)
            while pending:
                msgs = consumer.consume(num_messages=1000, timeout=0.5)
                if not msgs and time.monotonic() > deadline:
                    raise TimeoutError(f"export did not reach the end of {topic} within {timeout_s:.0f}s")
                for m in msgs:
                    err = m.error()
                    if err is not None and err.code() == KafkaError._PARTITION_EOF:
                        pending.discard(m.partition())
                        continue
                    if not kafka_io.raise_if_fatal(m):
                        continue
                    deadline = time.monotonic() + timeout_s
                    positions[m.partition() or 0] = (m.offset() or 0) + 1
                    d = kafka_io.decode_approved(stage, m)
                    if d.envelope is None:
                        letters.extend(d.dead_letters)
                        result.dead_lettered += 1
                        continue
                    if d.envelope.event_id in seen:
                        result.duplicates += 1
                        continue
                    seen.add(d.envelope.event_id)
                    result.rows += writer.write(d.envelope)
                    result.documents += 1
            fh.flush()
            os.fsync(fh.fileno())
        kafka_io.publish(dlq, settings, letters)
        os.replace(tmp, out)
        if not from_beginning and positions:
            offsets = [TopicPartition(topic, p, o) for p, o in positions.items()]
            kafka_io.with_retry(lambda: consumer.commit(offsets=offsets, asynchronous=False), timeout_s)
        result.offsets = positions
    finally:
        tmp.unlink(missing_ok=True)
        consumer.close()
        dlq.flush(10)
    result.elapsed_s = time.monotonic() - started
    return result
