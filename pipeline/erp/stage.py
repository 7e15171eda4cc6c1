"""Identity of the ERP sinks as stages (name, version, input), used for dead letters and status.

These are NOT StageSpecs for the generic Kafka worker: the sinks own their offsets (SQL: in the
database transaction; webhook: after delivery), which the worker's Kafka transactions cannot do.
The handler is the ERP validation, so `LocalRunner(sql_sink_stage())` shows which events the
sinks accept and which they dead-letter.
"""

from __future__ import annotations

from typing import Any

from pipeline.contracts import ApprovedDocument, Envelope
from pipeline.erp import mapping
from pipeline.runtime.stage import Emit, StageSpec
from pipeline.topics import APPROVED

SQL_SINK = "erp-sql"
WEBHOOK_SINK = "erp-webhook"
EXPORT = "erp-export"
VERSION = "1"


def _validate(env: Envelope[Any]) -> list[Emit]:
    mapping.validate(env)
    return []


def _spec(name: str, description: str) -> StageSpec:
    return StageSpec(
        name=name,
        version=VERSION,
        input_topic=APPROVED,
        input_model=ApprovedDocument,
        handler=_validate,
        description=description,
    )


def sql_sink_stage() -> StageSpec:
    return _spec(SQL_SINK, "Upsert approved documents into ERP tables, transactional with offsets.")


def webhook_stage() -> StageSpec:
    return _spec(WEBHOOK_SINK, "POST approved documents to an ERP webhook, signed, retried, in order.")


def export_stage() -> StageSpec:
    return _spec(EXPORT, "Write approved documents to CSV/JSONL batch import files.")
