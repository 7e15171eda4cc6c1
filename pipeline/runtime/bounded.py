"""Hard deadlines for librdkafka calls that can ignore their own timeout.

`send_offsets_to_transaction()` can block far past its timeout when the group coordinator it cached
went away (a broker restart): librdkafka never checks the coordinator request's deadline
(confluentinc/librdkafka#5456, #5511; seen here as a worker stuck for 5 minutes until
max.poll.interval.ms cost it its partitions). The call runs in a daemon thread; past the deadline the
caller gets a *fatal* KafkaException, so the worker replaces the wedged producer: the new one's
init_transactions() fences the old transactional id, the broker aborts the open transaction and the
batch is re-read from the committed offsets. The wedged handle is never touched again (destroying a
librdkafka handle with a call in flight would crash the process), only kept alive by its thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

T = TypeVar("T")


def call_with_deadline(fn: Callable[[], T], deadline_s: float, what: str) -> T:
    """fn() or, if it has not returned after deadline_s, a fatal KafkaException (fn keeps running)."""
    box: dict[str, object] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller below, never lost in the thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"bounded-{what}", daemon=True).start()
    if not done.wait(deadline_s):
        raise KafkaException(
            KafkaError(KafkaError._TIMED_OUT, f"{what} did not return within {deadline_s:.0f}s", fatal=True)
        )
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
