"""Which stages exist and where their builders live; `docpipe worker NAME` and `up` read this.

A custom stage can be named as `package.module:function` returning a StageSpec.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pipeline.config import Settings
from pipeline.runtime import StageSpec

STAGE_BUILDERS: dict[str, str] = {
    "ocr": "pipeline.ocr.stage:build_stage",
    "extract": "pipeline.extract.stage:build_stage",
    "normalize": "pipeline.normalize.stage:build_stage",
    "gate": "pipeline.gate.stage:build_stage",
    "review-intake": "pipeline.review.stage:build_stage",
}

# Stage order as documents flow; `docpipe up` starts them in this order.
PIPELINE_ORDER = ["ocr", "extract", "normalize", "gate", "review-intake"]


class UnknownStage(LookupError):
    pass


def resolve(spec: str) -> Callable[[Settings], StageSpec]:
    target = STAGE_BUILDERS.get(spec, spec)
    if ":" not in target:
        raise UnknownStage(f"unknown stage {spec!r}; known: {', '.join(STAGE_BUILDERS)} or module:function")
    module, _, func = target.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise UnknownStage(f"stage {spec!r}: module {module} not available ({exc.name})") from None
    builder: Any = getattr(mod, func, None)
    if builder is None:
        raise UnknownStage(f"stage {spec!r}: {module} has no {func}")
    return builder


def available() -> list[str]:
    out = []
    for name in PIPELINE_ORDER:
        try:
            resolve(name)
            out.append(name)
        except UnknownStage:
            pass
    return out
