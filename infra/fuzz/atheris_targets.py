"""Coverage-guided fuzzing (libFuzzer via atheris) of docpipe's input boundaries.

    pip install -e ".[fuzz]"
    python infra/fuzz/atheris_targets.py sniff    -atheris_runs=200000 corpus/sniff
    python infra/fuzz/atheris_targets.py envelope -max_total_time=600
    python infra/fuzz/atheris_targets.py drift | redact

Each target asserts the same contract as the hypothesis tests in tests/unit/fuzz: any input gives a
result or the boundary's typed error. Anything else is a crash, and libFuzzer saves the input
(crash-<sha1>) for a regression test.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports():
    from pipeline.contracts import DocumentIngested
    from pipeline.ingest.media import SUPPORTED, UnsupportedMediaType, sniff
    from pipeline.observability.redact import redact_value, scrub_text
    from pipeline.ops.drift import DriftInputError, report_from_stream
    from pipeline.runtime.errors import DecodeError
    from pipeline.runtime.stage import decode_envelope


def target_sniff(data: bytes) -> None:
    with contextlib.suppress(UnsupportedMediaType):
        assert sniff(data) in SUPPORTED


def target_envelope(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_envelope(data, DocumentIngested)


def target_drift(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    with contextlib.suppress(DriftInputError):
        report_from_stream(io.StringIO(text))


def target_redact(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    text = fdp.ConsumeUnicodeNoSurrogates(4096)
    out = scrub_text(text)
    assert isinstance(out, str)
    redact_value({"message": text, "nested": [text, {"value": text}]})


TARGETS: dict[str, Callable[[bytes], None]] = {
    "sniff": target_sniff, "envelope": target_envelope, "drift": target_drift, "redact": target_redact,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(TARGETS)} [libFuzzer options]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
