import pytest

from pipeline.ocr.errors import EngineUnavailable
from pipeline.ocr.providers import CPU, CUDA, TRT, provider_options, select_providers


def test_auto_prefers_tensorrt_then_cuda_then_cpu() -> None:
    assert select_providers([CPU, CUDA, TRT], "auto") == [TRT, CUDA, CPU]
    assert select_providers(["AzureExecutionProvider", CUDA, CPU], "auto") == [CUDA, CPU]
    assert select_providers([CPU], "auto") == [CPU]
    assert select_providers([], "auto") == [CPU]


def test_explicit_choice_overrides_and_keeps_fallbacks() -> None:
    assert select_providers([TRT, CUDA, CPU], "cuda") == [CUDA, CPU]
    assert select_providers([TRT, CUDA, CPU], "cpu") == [CPU]


def test_unavailable_explicit_choice_is_a_config_error() -> None:
    with pytest.raises(EngineUnavailable, match="TensorrtExecutionProvider requested"):
        select_providers([CPU], "tensorrt")
    with pytest.raises(EngineUnavailable, match="unknown execution provider"):
        select_providers([CPU], "tpu")


def test_provider_options(tmp_path) -> None:  # type: ignore[no-untyped-def]
    opts = dict(provider_options([TRT, CPU], tmp_path / "trt"))
    assert opts[TRT]["trt_engine_cache_enable"] and (tmp_path / "trt").is_dir()
    assert opts[CPU] == {}


def test_paddle_backend_without_extra_is_a_clear_error() -> None:
    try:
        import paddleocr  # noqa: F401
    except ImportError:
        from pipeline.ocr.factory import create_engine
        from pipeline.ocr.settings import OcrSettings

        with pytest.raises(EngineUnavailable, match=r"pip install 'docpipe\[paddle\]'"):
            create_engine(OcrSettings(engine="paddle"))
    else:
        pytest.skip("paddleocr is installed")
