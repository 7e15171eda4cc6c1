"""Helpers for runtime integration tests: make documents, submit them, read the final topic."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from pipeline.blobstore import open_blobstore
from pipeline.ingest.submit import submit_paths
from pipeline.runtime.clients import producer
from pipeline.runtime.reader import read_topic
from pipeline.topics import APPROVED, DLQ
from tests.kafka_harness import Pipeline


def make_documents(folder: Path, n: int, prefix: str = "doc") -> list[Path]:
    """Tiny distinct PDF-looking files (the test stages only look at names and bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"{prefix}-{i:05d}.pdf"
        p.write_bytes(b"%PDF-1.4\n% test document " + f"{prefix}-{i}".encode() + b"\n%%EOF\n")
        paths.append(p)
    return paths


def submit(env: Pipeline, paths: list[Path]) -> list[str]:
    settings = env.settings()
    res = submit_paths(paths, open_blobstore(settings.blob_root), settings, producer(settings))
    assert all(r.status != "error" for r in res), [r for r in res if r.status == "error"][:3]
    return [r.document_id for r in res if r.document_id]


def final_counts(env: Pipeline, topic: str = APPROVED) -> Counter[str]:
    settings = env.settings()
    return Counter(json.loads(m.value())["document_id"] for m in read_topic(settings, settings.topic(topic)))


def dead_letters(env: Pipeline) -> list[dict]:
    settings = env.settings()
    return [json.loads(m.value()) for m in read_topic(settings, settings.topic(DLQ))]


def wait_for(env: Pipeline, expected: set[str], *, timeout_s: float = 180.0, topic: str = APPROVED) -> Counter[str]:
    deadline = time.monotonic() + timeout_s
    counts: Counter[str] = Counter()
    while time.monotonic() < deadline:
        env.check_alive()
        counts = final_counts(env, topic)
        if expected <= set(counts):
            return counts
        time.sleep(1.0)
    missing = expected - set(counts)
    raise AssertionError(f"{len(missing)} of {len(expected)} documents never reached {topic}")
