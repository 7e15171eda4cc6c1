"""Evaluation OCR cache: one read per (file, OCR settings); another setting is another entry."""

from __future__ import annotations

from pathlib import Path

from pipeline.contracts import BlobRef, EngineInfo, OcrResult
from pipeline.ocr.cache import cached_ocr
from pipeline.ocr.settings import OcrSettings


def _result(sha: str) -> OcrResult:
    blob = BlobRef(uri=f"sha256:{sha}", sha256=sha, size=3, media_type="image/png")
    return OcrResult(blob=blob, pages=[], engine=EngineInfo(name="test", version="1", models={}))


def test_second_read_comes_from_the_cache_and_settings_are_part_of_the_key(tmp_path: Path) -> None:
    sha = "a" * 64
    calls: list[str] = []

    def read() -> OcrResult:
        calls.append("read")
        return _result(sha)

    first = cached_ocr(tmp_path, sha, OcrSettings(), read)
    again = cached_ocr(tmp_path, sha, OcrSettings(), read)
    assert calls == ["read"] and again == first
    cached_ocr(tmp_path, sha, OcrSettings(pdf_dpi=300), read)  # another configuration, another entry
    assert calls == ["read", "read"] and len(list(tmp_path.glob("*.json"))) == 2
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


def test_no_cache_dir_always_reads() -> None:
    calls: list[int] = []
    for _ in range(2):
        cached_ocr(None, "b" * 64, OcrSettings(), lambda: calls.append(1) or _result("b" * 64))
    assert calls == [1, 1]


def test_a_changed_engine_default_is_a_new_entry(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pipeline.ocr import ppocr_onnx
    from pipeline.ocr.cache import settings_tag

    before = settings_tag(OcrSettings())
    changed = {**ppocr_onnx.MODE_DEFAULTS, "accurate": {**ppocr_onnx.MODE_DEFAULTS["accurate"], "det_limit_side": 9}}
    monkeypatch.setattr(ppocr_onnx, "MODE_DEFAULTS", changed)
    assert settings_tag(OcrSettings()) != before  # the settings object is the same; what it means is not
    assert settings_tag(OcrSettings(mode="fast")) == settings_tag(OcrSettings(mode="fast"))
