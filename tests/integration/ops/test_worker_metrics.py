"""A real KafkaWorker, instrumented: committed batches feed the metric families, lag drains to zero,
and /metrics serves them over HTTP."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from pipeline.observability.metrics import Metrics
from pipeline.observability.worker import instrument
from pipeline.runtime.kafka import KafkaWorker
from tests.integration.runtime.helpers import make_documents, submit
from tests.integration.runtime.stages import build_alpha
from tests.kafka_harness import Pipeline

pytestmark = pytest.mark.kafka


def test_instrumented_worker_exports_what_it_did(pipeline_env: Pipeline, tmp_path: Path) -> None:
    paths = make_documents(tmp_path / "in", 24) + make_documents(tmp_path / "bad", 1, prefix="poison")
    docs = submit(pipeline_env, paths)
    assert len(docs) == 25
    settings = pipeline_env.settings(metrics_port=0, max_batch=8)
    metrics = Metrics(CollectorRegistry())
    worker = KafkaWorker(build_alpha(settings), settings, slot="metrics-test")
    probes = instrument(worker, settings, metrics=metrics, lag_interval_s=0.5)
    assert probes.server is not None
    runner = threading.Thread(target=worker.run)
    runner.start()

    def value(name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels) or 0.0

    try:
        deadline = time.monotonic() + 90
        while value("docpipe_documents_in_total", stage="alpha") < 25 and time.monotonic() < deadline:
            time.sleep(0.5)
        lags: dict = {}
        while time.monotonic() < deadline:
            lags = probes.sampler.sample()
            if lags and sum(lags.values()) == 0:
                break
            time.sleep(0.5)
        url = f"http://127.0.0.1:{probes.server.port}/metrics"
        body = urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        worker.stop()  # finishes the current batch, commits, leaves the group
        runner.join(timeout=60)
        probes.stop()

    assert value("docpipe_documents_in_total", stage="alpha") == 25
    assert value("docpipe_documents_out_total", stage="alpha", topic="docs.ocr") == 24
    assert value("docpipe_dlq_total", stage="alpha", error_kind="handler_error") == 1
    assert value("docpipe_batch_size_count", stage="alpha") >= 25 / 8
    assert value("docpipe_stage_latency_seconds_count", stage="alpha") == 25
    assert value("docpipe_end_to_end_latency_seconds_count", stage="alpha") == 24
    assert lags and sum(lags.values()) == 0 and {t for t, _ in lags} == {"docs.ingested"}  # logical name
    assert 'docpipe_worker_info{instance=' in body and 'stage="alpha"' in body
    assert 'docpipe_consumer_lag{partition="0",stage="alpha",topic="docs.ingested"} 0.0' in body
