"""A real (tiny, random-weight) BERT QA model exported to ONNX, shared by unit and integration tests.

Exported once per machine into ~/.cache/docpipe/test-models (torch export is slow on a busy CPU);
delete the folder to rebuild.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_CACHE = Path.home() / ".cache" / "docpipe" / "test-models" / "tiny-bert-qa-v1"


def tiny_model_path() -> Path:
    if (TINY_CACHE / "model_card.json").is_file():
        return TINY_CACHE
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from pipeline.inference.export import export_tiny_bert_qa

    tmp = TINY_CACHE.with_name(TINY_CACHE.name + ".partial")
    export_tiny_bert_qa(tmp)
    tmp.rename(TINY_CACHE)
    return TINY_CACHE


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    return tiny_model_path()
