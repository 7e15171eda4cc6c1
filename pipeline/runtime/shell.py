"""The lifecycle shell every Kafka stage worker shares, whatever its processing loop.

Identity (instance id, consumer group, physical input and ledger topics), the consumer, the stage's
ledger topic (created co-partitioned with the input if missing), a transactional producer whose id is
stable per host and slot (so a restart fences the predecessor's open transaction), stop and signal
handling, and the filtering of consumer events. `KafkaWorker` (one poll = one transaction) builds on
it; a worker with another loop (e.g. the batching extraction worker) can too, so fencing, ledger
placement and shutdown behave the same in every stage.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from confluent_kafka import KafkaError, Message

from pipeline.config import Settings
from pipeline.runtime.clients import consumer as make_consumer
from pipeline.runtime.clients import ensure_ledger_topic, group_id, instance_id, transactional_producer
from pipeline.runtime.stage import StageSpec
from pipeline.topics import ledger_topic

log = logging.getLogger(__name__)


class StageWorkerShell:
    def __init__(self, stage: StageSpec, settings: Settings, *, slot: int | str = 0) -> None:
        self.stage = stage
        self.settings = settings
        self.instance = instance_id(slot)
        self.group = group_id(settings, stage.name)
        self.input_topic = settings.topic(stage.input_topic)
        self.ledger_topic = settings.topic(ledger_topic(stage.name))
        self.ledger: set[str] = set()
        self._stop = threading.Event()
        self.consumer = make_consumer(settings, group=self.group)
        self._ensure_ledger_topic()
        self.producer = self._new_producer()

    def _ensure_ledger_topic(self) -> None:
        ensure_ledger_topic(self.settings, self.consumer, self.input_topic, self.stage.name)

    def _new_producer(self) -> Any:
        """A fresh transactional producer (also after a fatal error: the old one is unusable)."""
        return transactional_producer(self.settings, self.stage.name, self.instance, self._stop)

    def _new_consumer(self) -> Any:
        return make_consumer(self.settings, group=self.group)

    def stop(self) -> None:
        """Finish the current batch, commit it and leave the group (safe from any thread)."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())

    def _usable(self, msg: Message) -> bool:
        """True for a record; partition EOF is silent, any other consumer event is logged and skipped."""
        err = msg.error()
        if err is None:
            return True
        if err.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer error on %s: %s", self.input_topic, err)
        return False
