"""Execution provider selection from provider lists, session options, and a real CPU session."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import InferenceSettings
from pipeline.inference.providers import (
    CPU,
    CUDA,
    TRT,
    BoundSession,
    ProviderUnavailable,
    make_session_factory,
    select_providers,
    session_options,
    trt_profile,
)

CACHE = Path("/tmp/trt-cache")


def names(chain: list[tuple[str, dict]]) -> list[str]:
    return [p for p, _ in chain]


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        ([TRT, CUDA, CPU], [TRT, CUDA, CPU]),
        ([CUDA, CPU], [CUDA, CPU]),
        (["AzureExecutionProvider", CPU], [CPU]),
        ([TRT, CPU], [TRT, CPU]),  # TensorRT without the CUDA EP still falls back to CPU
    ],
)
def test_auto_picks_the_best_available_chain(available: list[str], expected: list[str]) -> None:
    assert names(select_providers(available, InferenceSettings(), CACHE)) == expected


def test_override_restricts_the_chain() -> None:
    have = [TRT, CUDA, CPU]
    assert names(select_providers(have, InferenceSettings(provider="cuda"), CACHE)) == [CUDA, CPU]
    assert names(select_providers(have, InferenceSettings(provider="cpu"), CACHE)) == [CPU]


@pytest.mark.parametrize("provider", ["tensorrt", "cuda"])
def test_explicit_gpu_provider_that_is_missing_is_an_error(provider: str) -> None:
    with pytest.raises(ProviderUnavailable, match="not available"):
        select_providers([CPU], InferenceSettings(provider=provider), CACHE)  # type: ignore[arg-type]


def test_tensorrt_options_carry_cache_fp16_and_shape_profile() -> None:
    cfg = InferenceSettings(fp16=True, max_batch_size=16, max_seq_len=384, device_id=1)
    (trt, opts), (cuda, copts), _ = select_providers(
        [TRT, CUDA, CPU], cfg, CACHE, ["input_ids", "attention_mask"]
    )
    assert (trt, cuda) == (TRT, CUDA)
    assert opts["trt_fp16_enable"] is True and opts["trt_engine_cache_enable"] is True
    assert opts["trt_engine_cache_path"] == str(CACHE) and opts["device_id"] == 1
    assert opts["trt_profile_max_shapes"] == "input_ids:16x384,attention_mask:16x384"
    assert opts["trt_profile_min_shapes"] == "input_ids:1x1,attention_mask:1x1"
    assert copts["device_id"] == 1
    no16 = select_providers([TRT, CPU], InferenceSettings(fp16=False), CACHE)[0][1]
    assert no16["trt_fp16_enable"] is False


def test_trt_profile_opt_shape_is_mid_length() -> None:
    assert trt_profile(["a"], 8, 256)["trt_profile_opt_shapes"] == "a:8x128"


def test_session_options_split_cores_between_sessions() -> None:
    import onnxruntime as ort

    so = session_options(InferenceSettings(sessions=2), cores=8)
    assert so.intra_op_num_threads == 4 and so.inter_op_num_threads == 1
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert session_options(InferenceSettings(intra_op_threads=3), cores=8).intra_op_num_threads == 3
    assert session_options(InferenceSettings(sessions=4), cores=2).intra_op_num_threads == 1


def test_cpu_session_is_real_warmed_up_and_logged(tiny_model: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = InferenceSettings(provider="cpu", max_batch_size=2, max_seq_len=32)
    with caplog.at_level(logging.INFO, logger="pipeline.inference.providers"):
        session = make_session_factory(cfg)(tiny_model / "model.onnx")
    assert not isinstance(session, BoundSession)  # no IO binding on CPU
    assert session.get_providers() == [CPU]
    assert session.docpipe_info.warmup_ms > 0
    assert "providers=CPUExecutionProvider" in caplog.text and "warmup_ms" in caplog.text
    ids = np.array([[101, 2054, 102]], dtype=np.int64)
    start, end = session.run(
        None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    )
    assert start.shape == end.shape == (1, 3)


def test_requested_gpu_that_cannot_run_is_refused(tiny_model: Path) -> None:
    # This onnxruntime build lists CUDA as if available, but the session cannot use it: must not
    # silently fall back to CPU when CUDA was asked for explicitly.
    factory = make_session_factory(InferenceSettings(provider="cuda", warmup=False), available=[CUDA, CPU])
    with pytest.raises(ProviderUnavailable, match="runs on CPUExecutionProvider"):
        factory(tiny_model / "model.onnx")
