"""Stage runtime: consume -> handle -> produce -> commit, with retries, DLQ and idempotency.

It knows nothing about documents: a stage is a pure handler from one input envelope to output
events (`StageSpec`). `LocalRunner` drives a stage in memory (tests, no broker); `KafkaWorker`
drives it against Kafka with transactions.
"""

from pipeline.runtime.database import database_transient
from pipeline.runtime.errors import PermanentError, TransientError
from pipeline.runtime.local import LocalResult, LocalRunner
from pipeline.runtime.stage import Emit, StageSpec, decode_envelope

__all__ = [
    "Emit",
    "LocalResult",
    "LocalRunner",
    "PermanentError",
    "StageSpec",
    "TransientError",
    "database_transient",
    "decode_envelope",
]
