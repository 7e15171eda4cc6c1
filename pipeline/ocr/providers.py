"""Execution provider choice for ONNX Runtime: TensorRT, then CUDA, then CPU, or what config demands."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.ocr.errors import EngineUnavailable

log = logging.getLogger(__name__)

TRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PREFERENCE = (TRT, CUDA, CPU)
BY_CHOICE = {"tensorrt": TRT, "cuda": CUDA, "cpu": CPU}


def select_providers(available: Sequence[str], choice: str = "auto") -> list[str]:
    """Providers to hand to InferenceSession, best first; CPU always last as the fallback. Pure.

    auto: every available provider of TensorRT, CUDA, CPU in that order. An explicit choice that is
    not available is a configuration error, not a silent downgrade.
    """
    if choice == "auto":
        chosen = [p for p in PREFERENCE if p in available]
    else:
        wanted = BY_CHOICE.get(choice)
        if wanted is None:
            raise EngineUnavailable(f"unknown execution provider {choice!r} (auto, tensorrt, cuda, cpu)")
        if wanted not in available:
            raise EngineUnavailable(
                f"execution provider {wanted} requested but onnxruntime offers {', '.join(available) or 'none'}"
            )
        chosen = [p for p in PREFERENCE[PREFERENCE.index(wanted) :] if p in available]
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen


def provider_options(providers: Sequence[str], cache_dir: Path | None) -> list[tuple[str, dict[str, Any]]]:
    opts: list[tuple[str, dict[str, Any]]] = []
    for p in providers:
        if p == TRT:
            cfg: dict[str, Any] = {"trt_fp16_enable": True}
            if cache_dir is not None:
                cache_dir.mkdir(parents=True, exist_ok=True)
                cfg.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(cache_dir))
            opts.append((p, cfg))
        elif p == CUDA:
            opts.append((p, {"cudnn_conv_algo_search": "HEURISTIC"}))
        else:
            opts.append((p, {}))
    return opts


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def make_session(
    model_path: Path,
    providers: Sequence[str],
    *,
    intra_threads: int,
    inter_threads: int,
    spin: bool = False,
    cache_dir: Path | None = None,
) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = intra_threads
    so.inter_op_num_threads = inter_threads
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.enable_cpu_mem_arena = False  # crops vary in size every call; the arena only grows
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(model_path), sess_options=so, providers=provider_options(providers, cache_dir))
