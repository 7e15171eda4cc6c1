"""ONNX Runtime execution providers and sessions: TensorRT -> CUDA -> CPU, tuned and warmed up.

Selection is a pure function of the providers this onnxruntime build offers and the settings, so
it is unit-tested with provider lists; `make_session` is the `session_factory` the extractor takes.
On GPU the returned session binds inputs/outputs to device memory (IO binding) behind the plain
`run(output_names, feeds)` call, so model code is the same on every device.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import InferenceSettings

log = logging.getLogger(__name__)

TRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
GPU_PROVIDERS = frozenset({TRT, CUDA})
_CHAINS: dict[str, tuple[str, ...]] = {"tensorrt": (TRT, CUDA, CPU), "cuda": (CUDA, CPU), "cpu": (CPU,)}

ProviderList = list[tuple[str, dict[str, Any]]]


class ProviderUnavailable(RuntimeError):
    """The configured execution provider is not in this onnxruntime build (or has no device)."""


def available_cores() -> int:
    """CPU cores this process may run on (cgroup/affinity aware where the OS tells us)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def trt_profile(input_names: Sequence[str], max_batch: int, max_seq: int) -> dict[str, str]:
    """TensorRT optimisation profile covering every batch/sequence shape the batcher can send."""

    def shapes(b: int, s: int) -> str:
        return ",".join(f"{n}:{b}x{s}" for n in input_names)

    return {
        "trt_profile_min_shapes": shapes(1, 1),
        "trt_profile_opt_shapes": shapes(max_batch, max(1, max_seq // 2)),
        "trt_profile_max_shapes": shapes(max_batch, max_seq),
    }


def provider_options(
    provider: str, cfg: InferenceSettings, cache_dir: Path, input_names: Sequence[str] = ()
) -> dict[str, Any]:
    if provider == TRT:
        opts: dict[str, Any] = {
            "device_id": cfg.device_id,
            "trt_fp16_enable": cfg.fp16,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache_dir),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache_dir),
            "trt_max_workspace_size": cfg.trt_workspace_bytes,
        }
        if input_names:
            opts.update(trt_profile(input_names, cfg.max_batch_size, cfg.max_seq_len))
        return opts
    if provider == CUDA:
        return {
            "device_id": cfg.device_id,
            "arena_extend_strategy": "kSameAsRequested",
            "cudnn_conv_algo_search": "HEURISTIC",
            "do_copy_in_default_stream": True,
        }
    return {}


def select_providers(
    available: Sequence[str], cfg: InferenceSettings, cache_dir: Path, input_names: Sequence[str] = ()
) -> ProviderList:
    """Ordered (provider, options) list for InferenceSession.

    `auto` takes the best chain this build supports. An explicit choice must be available, otherwise
    ProviderUnavailable: a worker configured for a GPU must not silently run on CPU at 1/20 the speed.
    """
    have = set(available)
    if cfg.provider == "auto":
        chain = next(c for c in (_CHAINS["tensorrt"], _CHAINS["cuda"], _CHAINS["cpu"]) if c[0] in have)
    else:
        chain = _CHAINS[cfg.provider]
        if chain[0] not in have:
            raise ProviderUnavailable(
                f"execution provider {cfg.provider} ({chain[0]}) is not available in "
                f"this onnxruntime build (have: {', '.join(sorted(have)) or 'none'})"
            )
    return [(p, provider_options(p, cfg, cache_dir, input_names)) for p in chain if p in have]


def session_options(cfg: InferenceSettings, cores: int | None = None) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    cores = cores or available_cores()
    # One session per batch runner: split the cores between sessions so they do not oversubscribe.
    so.intra_op_num_threads = cfg.intra_op_threads or max(1, cores // cfg.sessions)
    so.inter_op_num_threads = cfg.inter_op_threads
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[cfg.graph_optimization]
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if cfg.intra_op_spinning else "0")
    so.log_severity_level = 3
    return so


class BoundSession:
    """An InferenceSession whose `run` goes through IO binding on a GPU.

    Inputs are copied to the device once per batch and outputs are allocated on the device by ORT
    and copied back in one go, instead of per-op host/device traffic. Duck-types InferenceSession
    for the calls model code makes (run, get_inputs, get_outputs, get_providers).
    """

    def __init__(self, session: Any, device_id: int) -> None:
        self.session = session
        self.device_id = device_id

    def run(
        self, output_names: Sequence[str] | None, feeds: dict[str, np.ndarray], run_options: Any = None
    ) -> list[np.ndarray]:
        import onnxruntime as ort

        binding = self.session.io_binding()
        for name, arr in feeds.items():
            binding.bind_ortvalue_input(
                name, ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(arr), "cuda", self.device_id)
            )
        names = list(output_names or [o.name for o in self.session.get_outputs()])
        for name in names:
            binding.bind_output(name, "cuda", self.device_id)
        self.session.run_with_iobinding(binding, run_options)
        return list(binding.copy_outputs_to_cpu())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@dataclass(frozen=True)
class SessionInfo:
    path: str
    providers: list[str]
    intra_op_threads: int
    io_binding: bool
    warmup_ms: float


def warm_up(session: Any, max_batch: int, max_seq: int) -> float:
    """Run the smallest and the largest shape once so arenas/engines exist before the first document."""
    t0 = time.perf_counter()
    for batch, seq in ((1, 8), (max_batch, max_seq)):
        feeds = {}
        for inp in session.get_inputs():
            dims = [batch if i == 0 else seq for i in range(len(inp.shape))]
            feeds[inp.name] = (
                np.ones(dims, dtype=np.int64) if "int64" in inp.type else np.ones(dims, dtype=np.float32)
            )
        session.run(None, feeds)
    return (time.perf_counter() - t0) * 1000


def make_session_factory(
    cfg: InferenceSettings, home: Path = Path(".docpipe"), available: Sequence[str] | None = None
) -> Callable[[Path], Any]:
    """A `session_factory(path) -> session` that applies provider choice, threads, IO binding, warm-up."""

    def factory(path: Path) -> Any:
        import onnxruntime as ort

        have = list(available if available is not None else ort.get_available_providers())
        cache_dir = (cfg.trt_engine_cache_dir or home / "trt-engines").resolve()
        probe = select_providers(have, cfg, cache_dir)
        if probe[0][0] == TRT:
            cache_dir.mkdir(parents=True, exist_ok=True)
            # TensorRT needs the input names for its shape profile: read them from the graph first.
            names = [i.name for i in ort.InferenceSession(str(path), providers=[CPU]).get_inputs()]
            probe = select_providers(have, cfg, cache_dir, names)
        so = session_options(cfg)
        session = ort.InferenceSession(str(path), sess_options=so, providers=probe)
        used = session.get_providers()
        if cfg.provider != "auto" and used[0] != probe[0][0]:
            raise ProviderUnavailable(
                f"{probe[0][0]} was requested but the session runs on {used[0]} (no usable device?)"
            )
        bound = cfg.io_binding and used[0] in GPU_PROVIDERS
        runner: Any = BoundSession(session, cfg.device_id) if bound else session
        warm_ms = warm_up(runner, cfg.max_batch_size, cfg.max_seq_len) if cfg.warmup else 0.0
        info = SessionInfo(str(path), used, so.intra_op_num_threads, bound, round(warm_ms, 1))
        log.info(
            "onnxruntime session: model=%s providers=%s intra_op_threads=%d inter_op_threads=%d "
            "graph_opt=%s io_binding=%s fp16=%s warmup_ms=%.0f",
            info.path,
            ",".join(used),
            info.intra_op_threads,
            so.inter_op_num_threads,
            cfg.graph_optimization,
            bound,
            cfg.fp16 and used[0] == TRT,
            warm_ms,
        )
        runner.docpipe_info = info
        return runner

    return factory
