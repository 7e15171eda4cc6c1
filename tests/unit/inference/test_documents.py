"""Documents through the batcher on a real (tiny) ONNX QA model; the stage under LocalRunner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.config import InferenceSettings
from pipeline.contracts import BBox, BlobRef, DocKind, EngineInfo, Envelope, Line, OcrResult, Page, Producer
from pipeline.inference.documents import DocumentScheduler, build_batcher
from pipeline.inference.providers import make_session_factory
from pipeline.inference.qa_model import ReferenceQaModel, best_span, window_spans
from pipeline.inference.stage import document_stage
from pipeline.inference.worker import OffsetTracker
from pipeline.runtime import LocalRunner
from pipeline.topics import DLQ, EXTRACTED, OCR

CFG = InferenceSettings(
    provider="cpu", max_batch_size=8, max_queue_delay_ms=2, max_seq_len=64, doc_stride=16, warmup=False
)


def ocr(n_lines: int, seed: int = 0, kind: DocKind = DocKind.receipt) -> OcrResult:
    words = ["TOTAL", "RM", "12.50", "CASH", "GST", "6%", "DATE", "01/02/2018", "SHOP", "SDN", "BHD", "JALAN"]
    rng = np.random.default_rng(seed)
    lines = [
        Line(
            text=" ".join(rng.choice(words, size=4)),
            bbox=BBox(x0=0, y0=i * 10, x1=100, y1=i * 10 + 9),
            confidence=1.0,
            order=i,
        )
        for i in range(n_lines)
    ]
    sha = f"{seed:064x}"
    return OcrResult(
        blob=BlobRef(uri=f"file:///x/{sha}", sha256=sha, size=10, media_type="image/png"),
        kind=kind,
        pages=[Page(index=0, width=100, height=1000, dpi=300, source="ocr", lines=lines)],
        engine=EngineInfo(name="t", version="1"),
    )


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> ReferenceQaModel:
    return ReferenceQaModel(
        tiny_model, make_session_factory(CFG), max_seq_len=CFG.max_seq_len, doc_stride=CFG.doc_stride
    )


def test_window_spans_cover_the_text_with_overlap() -> None:
    assert window_spans(0, 10, 3) == [(0, 0)]
    assert window_spans(10, 10, 3) == [(0, 10)]
    spans = window_spans(25, 10, 3)
    assert spans == [(0, 10), (7, 17), (14, 24), (21, 25)]
    assert all(b - a <= 10 for a, b in spans)


def test_best_span_respects_order_and_length() -> None:
    start = np.array([0, 0, 5, 0, 0, 0], dtype=np.float32)
    end = np.array([0, 9, 0, 0, 4, 0], dtype=np.float32)  # best end (1) lies before best start (2)
    sp = best_span(start, end, 0, 6, max_answer=8)
    assert (sp.start, sp.end) == (2, 4)
    sp = best_span(start, end, 0, 6, max_answer=2)
    assert sp.end - sp.start < 2


def test_long_documents_are_split_by_stride_not_truncated(model: ReferenceQaModel) -> None:
    short, long = model.prepare(ocr(2)), model.prepare(ocr(60, seed=1))
    assert len(short) == 6  # one window per receipt field
    assert len(long) > 12 and max(w.length for w in long) <= CFG.max_seq_len
    ctx = long[0].context
    covered = set()
    for w in long:
        covered.update(range(w.ctx_start, w.ctx_end))
    assert covered == set(range(len(ctx.token_ids)))


def test_batched_results_equal_one_at_a_time(model: ReferenceQaModel) -> None:
    """Padding inside a batch must not change any window's answer (attention mask honoured)."""
    windows = model.prepare(ocr(3, seed=2)) + model.prepare(ocr(40, seed=3))
    one_by_one = [model.infer([w])[0] for w in windows]
    batched = model.infer(windows)
    assert [(s.start, s.end) for s in batched] == [(s.start, s.end) for s in one_by_one]
    np.testing.assert_allclose([s.score for s in batched], [s.score for s in one_by_one], rtol=1e-3, atol=1e-3)


def test_scheduler_reassembles_documents_across_shared_batches(model: ReferenceQaModel) -> None:
    batcher = build_batcher(model, CFG, name="unit-sched")
    sched = DocumentScheduler(model, batcher)
    docs = [ocr(5 + i * 7, seed=10 + i) for i in range(6)]
    jobs = [sched.submit(d, tag=i) for i, d in enumerate(docs)]
    done = []
    while len(done) < len(docs):
        done.extend(sched.completed(timeout=1.0))
    batcher.close()
    assert sorted(j.tag for j in done) == list(range(6))
    for job in done:
        ext = sched.finish(job)
        assert ext.blob.sha256 == docs[job.tag].blob.sha256
        assert set(ext.fields) == {"merchant", "merchant_address", "date", "total", "tax", "currency"}
    assert batcher.stats.mean_batch_size > 1  # windows of different documents shared runs
    assert sum(len(j.windows) for j in jobs) == batcher.stats.sequences
    assert sched.in_flight == 0


def test_stage_under_local_runner_extracts_and_dead_letters(model: ReferenceQaModel) -> None:
    batcher = build_batcher(model, CFG, name="unit-stage")
    stage = document_stage(DocumentScheduler(model, batcher))
    docs = [ocr(8, seed=20 + i) for i in range(3)]
    envs = [
        Envelope[OcrResult](
            event_id=f"e{i}",
            event_type=OCR,
            document_id=d.blob.sha256,
            correlation_id="c",
            producer=Producer(stage="ocr", version="1"),
            payload=d,
        )
        for i, d in enumerate(docs)
    ]
    result = LocalRunner(stage).run([*envs, b"{not json", envs[0]])
    batcher.close()
    assert [e.document_id for e in result.on(EXTRACTED)] == [d.blob.sha256 for d in docs]
    assert [e.event.payload.error_kind for e in result.dead_letters if e.topic == DLQ] == ["undecodable"]
    assert len(result.skipped) == 1  # the replayed first document


def test_offset_tracker_commits_only_below_the_lowest_unfinished() -> None:
    t = OffsetTracker()
    assert t.committable(0) is None
    for off in (5, 6, 7, 8):
        t.started(0, off)
    t.finished(0, 7)
    t.finished(0, 6)
    assert t.committable(0) == 5  # 5 still running: nothing past it may be committed
    t.finished(0, 5)
    assert t.committable(0) == 8
    t.finished(0, 8)
    assert t.committable(0) == 9 and t.in_flight() == 0
    t.started(1, 3)
    assert t.positions() == {0: 9, 1: 3}
    t.drop(1)
    assert t.positions() == {0: 9}


def test_long_run_finishes_every_document_and_samples_rss(model: ReferenceQaModel) -> None:
    """The memory benchmark's loop: a bounded backlog of distinct synthetic receipts, RSS sampled."""
    from pipeline.inference.bench import Config, Runner, synthetic_receipt

    first, second = synthetic_receipt(7), synthetic_receipt(7)
    assert first == second and first.blob.sha256 != synthetic_receipt(8).blob.sha256  # deterministic, distinct
    conf = Config("batched-bucketed", max_batch_size=8, bucketing=True)
    seen: list[int] = []
    res = Runner(model, CFG, [], "unit").long(
        conf, 60, backlog=8, progress=lambda n, _mb: seen.append(n), source=synthetic_receipt
    )
    assert res["docs"] == 60 and res["docs_per_s"] > 0
    assert [n for n, _ in res["rss_mb_series"]] == [0, *range(1, 61)]  # every 1/50 of 60 = every document
    assert res["rss_mb_start"] > 0 and res["rss_mb_max"] >= res["rss_mb_end"] and seen
