from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.extract.registry import (
    DEFAULT_MODEL,
    PACKAGED_ROOT,
    ModelIntegrityError,
    ModelNotFound,
    list_models,
    load_local,
    resolve,
    sha256_file,
)
from pipeline.extract.release import MAX_PACKAGED_BYTES


def test_packaged_default_model_resolves_and_verifies() -> None:
    entry = resolve()
    assert entry.name == DEFAULT_MODEL and entry.onnx_path.is_file() and entry.tokenizer_path.is_file()
    assert entry.card["checksum"] == sha256_file(entry.onnx_path)
    assert entry.ref.variant == entry.card["variant"]
    assert entry.onnx_path.stat().st_size <= MAX_PACKAGED_BYTES  # it lives in git
    assert any(e.version == entry.version for e in list_models())
    assert (PACKAGED_ROOT / DEFAULT_MODEL / entry.version) == entry.path


def test_unknown_models_and_versions() -> None:
    with pytest.raises(ModelNotFound):
        resolve("no-such-model")
    with pytest.raises(ModelNotFound, match="no version"):
        resolve(DEFAULT_MODEL, "999")


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    src = resolve().path
    dst = tmp_path / "m" / "1"
    shutil.copytree(src, dst)
    assert load_local(dst).version == resolve().version
    with (dst / "model.onnx").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="checksum mismatch"):
        load_local(dst)
    with pytest.raises(ModelNotFound):
        load_local(tmp_path)
