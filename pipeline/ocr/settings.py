"""OCR configuration: one pydantic model, nested in pipeline.config.Settings as `ocr`.

Env override example: DOCPIPE_OCR__MODE=fast, DOCPIPE_OCR__PROVIDER=cpu, DOCPIPE_OCR__PDF_DPI=300.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Mode = Literal["accurate", "fast"]
ProviderChoice = Literal["auto", "tensorrt", "cuda", "cpu"]


class OcrSettings(BaseModel):
    engine: Literal["ppocr_onnx", "paddle"] = Field(
        default="ppocr_onnx", description="Backend for raster pages (text-layer PDF pages never reach it)."
    )
    mode: Mode = Field(default="accurate", description="accurate: PP-OCRv6 small; fast: PP-OCRv6 tiny.")
    provider: ProviderChoice = Field(
        default="auto", description="ONNX Runtime execution provider; auto = TensorRT, then CUDA, then CPU."
    )
    intra_op_threads: int = Field(default=0, ge=0, description="0 = one per CPU core.")
    inter_op_threads: int = Field(default=1, ge=1)
    parallel_documents: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Documents of one poll read concurrently (threads; pair with intra_op_threads=1).",
    )
    spin: bool = Field(default=False, description="Let ONNX Runtime threads busy-wait (faster only on idle cores).")
    rec_batch: int | None = Field(default=None, ge=1, description="Recognition batch; None = mode default.")
    det_limit_side: int | None = Field(default=None, ge=32, description="Detection resize target; None = mode default.")
    det_max_side: int | None = Field(default=None, ge=64, description="Cap on the longer side before detection.")
    det_unclip_ratio: float | None = Field(default=None, gt=0.5, le=4.0, description="DB box growth; None = 1.6.")
    det_box_thresh: float | None = Field(default=None, gt=0.0, lt=1.0, description="DB box score; None = 0.5.")
    word_boxes: bool = Field(
        default=True, description="Per-word boxes from the recogniser's CTC alignment (measured: no extra CPU)."
    )
    orientation: Literal["auto", "off", "always"] = Field(
        default="auto",
        description="auto: classify a sample of lines and skip per-line classification on upright pages.",
    )
    text_score: float = Field(default=0.5, ge=0.0, le=1.0, description="Drop recognised lines below this.")
    charset: Literal["all", "latin", "ascii"] = Field(
        default="all",
        description="Characters the recogniser may output (like PaddleOCR's lang): all = the model's whole "
        "dictionary; latin = ASCII + Latin-1/Extended-A + euro and typographic punctuation; ascii = printable ASCII.",
    )
    model_dir: str | None = Field(
        default=None,
        description="Directory holding det.onnx / rec.onnx (+ dict.txt) to override bundled models.",
    )

    # PDF handling
    pdf_dpi: int = Field(default=200, ge=50, le=600, description="Render DPI for pages without a usable text layer.")
    pdf_text_layer: bool = Field(default=True, description="Use the PDF text layer when it passes the quality check.")
    ocr_invisible_text: bool = Field(
        default=True,
        description="Re-OCR pages whose only text is invisible over an image (scans with OCR layers).",
    )

    # Limits against hostile or broken input
    max_pixels: int = Field(default=60_000_000, ge=1, description="Decompression-bomb guard per page/frame.")
    max_side: int = Field(default=20_000, ge=16, description="Longest allowed image side in pixels.")
    min_side: int = Field(default=8, ge=1, description="Images smaller than this on a side cannot hold text.")
