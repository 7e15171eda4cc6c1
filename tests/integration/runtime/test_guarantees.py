"""Delivery guarantees of the stage runtime against a real Kafka broker (KRaft)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.runtime.helpers import dead_letters, final_counts, make_documents, submit, wait_for
from tests.kafka_harness import ROOT, Pipeline

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ALPHA = "tests.integration.runtime.stages:build_alpha"
OMEGA = "tests.integration.runtime.stages:build_omega"


def _exactly_once(counts, expected: set[str]) -> None:
    assert set(counts) == expected, f"missing {len(expected - set(counts))}, extra {len(set(counts) - expected)}"
    dupes = {d: c for d, c in counts.items() if c != 1}
    assert not dupes, f"{len(dupes)} documents delivered more than once"


def test_500_documents_reach_the_sink_exactly_once(pipeline_env: Pipeline, tmp_path: Path) -> None:
    docs = set(submit(pipeline_env, make_documents(tmp_path / "in", 500)))
    assert len(docs) == 500
    pipeline_env.spawn("worker", ALPHA, log_name="alpha")
    pipeline_env.spawn("worker", OMEGA, log_name="omega")
    _exactly_once(wait_for(pipeline_env, docs), docs)


def test_kill_9_mid_stream_loses_and_duplicates_nothing(pipeline_env: Pipeline, tmp_path: Path) -> None:
    docs = set(submit(pipeline_env, make_documents(tmp_path / "in", 500)))
    alpha = pipeline_env.spawn("worker", ALPHA, log_name="alpha")
    omega = pipeline_env.spawn("worker", OMEGA, log_name="omega")
    # Let both stages get going, then kill each of them hard at least once mid-stream.
    for victim, spec, name in ((omega, OMEGA, "omega"), (alpha, ALPHA, "alpha")):
        deadline = time.monotonic() + 60
        while len(final_counts(pipeline_env)) < 50 and time.monotonic() < deadline:
            time.sleep(0.3)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        pipeline_env.spawn("worker", spec, log_name=f"{name}-restarted")
    wait_for(pipeline_env, docs, timeout_s=240)
    time.sleep(3)  # anything duplicated would show up now
    _exactly_once(final_counts(pipeline_env), docs)


def test_broker_restart_mid_stream_loses_nothing(pipeline_env: Pipeline, tmp_path: Path) -> None:
    if pipeline_env.broker.home == Path("/nonexistent"):
        pytest.skip("external broker (DOCPIPE_TEST_BOOTSTRAP) cannot be restarted by the test")
    docs = set(submit(pipeline_env, make_documents(tmp_path / "in", 500)))
    pipeline_env.spawn("worker", ALPHA, log_name="alpha")
    pipeline_env.spawn("worker", OMEGA, log_name="omega")
    deadline = time.monotonic() + 60
    while len(final_counts(pipeline_env)) < 30 and time.monotonic() < deadline:
        time.sleep(0.2)
    pipeline_env.broker.restart(down_s=3.0)
    _exactly_once(wait_for(pipeline_env, docs, timeout_s=300), docs)


def test_poison_goes_to_dlq_partition_keeps_flowing_and_replay_after_fix(
        pipeline_env: Pipeline, tmp_path: Path) -> None:
    from confluent_kafka import Producer

    good = make_documents(tmp_path / "in", 40, "good")
    poison = make_documents(tmp_path / "in", 2, "poison")
    flaky = make_documents(tmp_path / "in", 2, "flaky")
    ids = submit(pipeline_env, good + poison + flaky)
    good_ids, poison_ids, flaky_ids = set(ids[:40]), set(ids[40:42]), set(ids[42:])
    settings = pipeline_env.settings()
    topic = settings.topic("docs.ingested")
    raw = Producer({"bootstrap.servers": settings.bootstrap_servers})
    key = ids[0].encode()  # same partition as a good document: the partition must keep flowing
    raw.produce(topic, key=key, value=b"\x00\xffnot json")
    raw.produce(topic, key=key, value=b'{"schema_version": "1.0", "event_id": "x"}')
    raw.produce(topic, key=key, value=(b'{"schema_version":"2.0","event_id":"e","event_type":"docs.ingested",'
                                        b'"document_id":"' + b"b" * 64 + b'","correlation_id":"c",'
                                        b'"producer":{"stage":"x","version":"1"},"payload":{}}'))
    raw.flush(10)
    late_good = make_documents(tmp_path / "late", 5, "late")
    good_ids |= set(submit(pipeline_env, late_good))
    alpha = pipeline_env.spawn("worker", ALPHA, log_name="alpha")
    pipeline_env.spawn("worker", OMEGA, log_name="omega")
    wait_for(pipeline_env, good_ids | flaky_ids)
    deadline = time.monotonic() + 30
    while len(dead_letters(pipeline_env)) < 5 and time.monotonic() < deadline:
        time.sleep(0.5)
    dls = dead_letters(pipeline_env)
    kinds = sorted(d["payload"]["error_kind"] for d in dls)
    assert kinds == ["handler_error", "handler_error", "schema_invalid", "undecodable", "unknown_major_version"]
    for d in dls:
        assert d["payload"]["error"] and "\n" not in d["payload"]["error"]
        assert d["payload"]["stage"] == "alpha"
    assert {d["document_id"] for d in dls if d["payload"]["error_kind"] == "handler_error"} == poison_ids
    assert not poison_ids & set(final_counts(pipeline_env))

    # Fix the stage (restart with the fix), then replay the dead letters through the CLI.
    alpha.terminate()
    alpha.wait(30)
    os.environ["DOCPIPE_TEST_FIXED"] = "1"
    try:
        pipeline_env.spawn("worker", ALPHA, log_name="alpha-fixed")
    finally:
        del os.environ["DOCPIPE_TEST_FIXED"]
    out = subprocess.run([sys.executable, "-m", "pipeline", "dlq", "replay", "--all", "--json"],
                         env=pipeline_env.env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    counts = wait_for(pipeline_env, good_ids | flaky_ids | poison_ids)
    _exactly_once(counts, good_ids | flaky_ids | poison_ids)


def test_two_workers_share_partitions_and_rebalance_without_loss(pipeline_env: Pipeline, tmp_path: Path) -> None:
    docs = set(submit(pipeline_env, make_documents(tmp_path / "in", 400)))
    first = pipeline_env.spawn("worker", ALPHA, "--slot", "0", log_name="alpha0")
    pipeline_env.spawn("worker", ALPHA, "--slot", "1", log_name="alpha1")
    pipeline_env.spawn("worker", OMEGA, log_name="omega")
    deadline = time.monotonic() + 60
    while len(final_counts(pipeline_env)) < 60 and time.monotonic() < deadline:
        time.sleep(0.2)
    first.terminate()  # graceful leave: its partitions move to the other member
    assert first.wait(30) == 0
    _exactly_once(wait_for(pipeline_env, docs), docs)
    logs = [p.read_text() for p in sorted(pipeline_env.home.glob("alpha*.log"))]
    assert all("assigned partitions" in text for text in logs), "both members must have owned partitions"
