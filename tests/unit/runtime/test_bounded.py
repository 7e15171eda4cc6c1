"""A librdkafka call that ignores its timeout is cut off by the caller's deadline."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from pipeline.runtime.bounded import call_with_deadline


def test_value_and_errors_pass_through() -> None:
    assert call_with_deadline(lambda: 42, 1.0, "answer") == 42
    with pytest.raises(ValueError, match="boom"):
        call_with_deadline(lambda: (_ for _ in ()).throw(ValueError("boom")), 1.0, "boom")


def test_a_call_past_its_deadline_is_a_fatal_timeout_and_keeps_running_alone() -> None:
    release, finished = threading.Event(), threading.Event()

    def wedged() -> None:
        release.wait(10)
        finished.set()

    started = time.monotonic()
    with pytest.raises(KafkaException) as info:
        call_with_deadline(wedged, 0.2, "send_offsets_to_transaction")
    err = info.value.args[0]
    assert err.code() == KafkaError._TIMED_OUT and err.fatal()  # the worker replaces the producer
    assert "send_offsets_to_transaction did not return within" in err.str()
    assert time.monotonic() - started < 5
    release.set()
    assert finished.wait(5)  # the abandoned call still ends on its own thread
