"""Default backend: PaddleOCR PP-OCR detection, orientation and recognition on ONNX Runtime.

Pre/post-processing comes from `rapidocr` (DB box decoding, CTC decoding, crops); the ONNX sessions are
ours, so the execution provider (TensorRT -> CUDA -> CPU) and thread settings are chosen in one place.

Page orientation: the bundled line classifier only knows 0/180 degrees, so a page turned by 90/270
is recognised from its detected boxes (text lines taller than wide), turned and re-detected; 180 is
decided by a vote of the line classifier on the longest lines. On an upright page (the usual case) the
per-line classifier is skipped after that sample, which saves most of its cost.
"""

from __future__ import annotations

import logging
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.contracts import BBox, EngineInfo, Line, Point, Word
from pipeline.ocr.charset import MaskedSession, class_mask
from pipeline.ocr.engine import OcrEngine, RecognizedPage
from pipeline.ocr.errors import EngineUnavailable
from pipeline.ocr.models import ModelSet, models_for, sha256_file
from pipeline.ocr.providers import default_threads, make_session, select_providers
from pipeline.ocr.settings import OcrSettings

log = logging.getLogger(__name__)

# Per-mode defaults; each measured on SROIE validation receipts (docs/ocr.md).
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    # accurate keeps det 736: 640 measured recall 0.9205, -14 % time in one process but none with two,
    # and extraction through it moved total 0.95 -> 0.92 (address 0.66 -> 0.73): docs/ocr.md
    "accurate": {"rec_batch": 6, "det_limit_side": 736, "det_limit_type": "min", "det_max_side": 2000},
    # fast also caps the long side at 1280 before detection: recall 0.8845 vs 0.887, -27 % time
    "fast": {"rec_batch": 6, "det_limit_side": 640, "det_limit_type": "min", "det_max_side": 1280},
}
VERTICAL_SHARE = 0.6  # share of tall text boxes that marks a page turned by 90/270 degrees
CLS_SAMPLE = 12  # longest lines voted on for page orientation
FLIP_SHARE = 0.5  # share of the sample read as upside down that turns the page by 180
CLS_THRESH = 0.9
BLANK_STD = 3.0  # grey-level standard deviation below which a page is blank


def _pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def is_blank(rgb: np.ndarray) -> bool:
    """Near-uniform page (white sheet, black frame): nothing to read. Sampled, so it costs < 1 ms."""
    step = max(1, int(max(rgb.shape[:2]) // 400))
    grey = rgb[::step, ::step].mean(axis=2)
    return float(grey.std()) < BLANK_STD


def tall_share(boxes: np.ndarray) -> float:
    """Share of quadrilaterals (N,4,2) clearly taller than wide (lines of a page turned 90/270). Pure."""
    if len(boxes) == 0:
        return 0.0
    w = np.linalg.norm(boxes[:, 0] - boxes[:, 1], axis=1)
    h = np.linalg.norm(boxes[:, 0] - boxes[:, 3], axis=1)
    return float(np.mean(h > 1.5 * w))


class PpOcrOnnxEngine(OcrEngine):
    name = "ppocr_onnx"

    def __init__(self, settings: OcrSettings, *, cache_dir: Path | None = None) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - rapidocr is a main dependency
            raise EngineUnavailable(f"rapidocr is not importable ({exc.__class__.__name__})") from None
        import onnxruntime as ort

        self.settings = settings
        defaults = MODE_DEFAULTS[settings.mode]
        self.rec_batch = settings.rec_batch or defaults["rec_batch"]
        self.det_limit_side = settings.det_limit_side or defaults["det_limit_side"]
        self.det_max_side = settings.det_max_side or defaults["det_max_side"]
        self.models: ModelSet = models_for(settings.mode, settings.model_dir)
        if self.models.note:
            log.warning("ocr: %s", self.models.note)
        self.providers = select_providers(ort.get_available_providers(), settings.provider)
        self.intra = settings.intra_op_threads or default_threads()
        self.inter = settings.inter_op_threads
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.text_score": settings.text_score,
            "Global.max_side_len": self.det_max_side,
            "Global.return_word_box": settings.word_boxes,
            "Det.model_path": str(self.models.det),
            "Det.limit_side_len": self.det_limit_side,
            "Det.limit_type": defaults["det_limit_type"],
            "Cls.model_path": str(self.models.cls),
            "Cls.cls_thresh": CLS_THRESH,
            "Rec.model_path": str(self.models.rec),
            "Rec.rec_batch_num": self.rec_batch,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        }
        if settings.det_unclip_ratio is not None:
            params["Det.unclip_ratio"] = settings.det_unclip_ratio
        if settings.det_box_thresh is not None:
            params["Det.box_thresh"] = settings.det_box_thresh
        if self.models.rec_dict is not None:
            params["Rec.rec_keys_path"] = str(self.models.rec_dict)
        t0 = time.perf_counter()
        self._ocr = RapidOCR(params=params)
        self._det = self._ocr._load_det_model()
        self._cls = self._ocr._load_cls_model()
        self._rec = self._ocr._load_rec_model()
        for component, path in (
            (self._det, self.models.det),
            (self._cls, self.models.cls),
            (self._rec, self.models.rec),
        ):
            component.session.session = make_session(
                path,
                self.providers,
                intra_threads=self.intra,
                inter_threads=self.inter,
                spin=settings.spin,
                cache_dir=cache_dir,
            )
        mask = class_mask(self._rec.postprocess_op.character, settings.charset)
        if mask is not None:
            self._rec.session.session = MaskedSession(self._rec.session.session, mask)
        self.provider = self._det.session.session.get_providers()[0]
        self.load_ms = (time.perf_counter() - t0) * 1000
        log.info(
            "ocr engine ppocr_onnx loaded: mode=%s models=%s provider=%s (available %s) threads=%d/%d in %.0f ms",
            settings.mode,
            self.models.variant,
            self.provider,
            ",".join(self.providers),
            self.intra,
            self.inter,
            self.load_ms,
        )

    # --- interface -------------------------------------------------------------------------------
    def info(self) -> EngineInfo:
        roles = (
            ("det", self.models.variant, self.models.det),
            ("cls", "mobile", self.models.cls),
            ("rec", self.models.variant, self.models.rec),
        )
        models = {f"{role}/{variant}/{path.name}": f"sha256:{sha256_file(path)}" for role, variant, path in roles}
        return EngineInfo(
            name=self.name,
            version=f"rapidocr {_pkg_version('rapidocr')}; onnxruntime "
            f"{_pkg_version('onnxruntime')}; mode {self.settings.mode}; charset {self.settings.charset}",
            models=models,
            execution_provider=self.provider,
        )

    def threads(self) -> dict[str, int]:
        return {"intra_op": self.intra, "inter_op": self.inter}

    def recognize(self, rgb: np.ndarray) -> RecognizedPage:
        h, w = rgb.shape[:2]
        if is_blank(rgb):
            return RecognizedPage(width=w, height=h)
        timings: dict[str, float] = {}
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        rotation = 0
        mode = self.settings.orientation

        boxes, crops, op = self._detect(bgr, timings)
        if mode != "off" and len(boxes) >= 3 and tall_share(boxes) > VERTICAL_SHARE:
            bgr = np.ascontiguousarray(np.rot90(bgr, k=-1))  # 90 degrees clockwise
            rotation = 90
            boxes, crops, op = self._detect(bgr, timings)
        if mode != "off" and crops:
            flipped, mixed = self._vote_180(crops, timings)
            if flipped:
                bgr = np.ascontiguousarray(np.rot90(bgr, k=2))
                rotation = (rotation + 180) % 360
                boxes, crops, op = self._detect(bgr, timings)
            elif mixed or mode == "always":
                t = time.perf_counter()
                crops = self._cls(crops).img_list
                timings["cls_ms"] = timings.get("cls_ms", 0.0) + (time.perf_counter() - t) * 1000
        lines = self._recognize_crops(bgr, boxes, crops, op, timings) if crops else []
        ph, pw = bgr.shape[:2]
        return RecognizedPage(width=pw, height=ph, rotation=rotation, lines=lines, timings_ms=timings)

    # --- steps -----------------------------------------------------------------------------------
    def _detect(self, bgr: np.ndarray, timings: dict[str, float]) -> tuple[np.ndarray, list[np.ndarray], Any]:
        from rapidocr.main import RapidOCRError

        t = time.perf_counter()
        img, op = self._ocr.preprocess_img(bgr)
        try:
            crops, det_res = self._ocr.detect_and_crop(img, op)
            boxes = det_res.boxes if det_res.boxes is not None else np.zeros((0, 4, 2), dtype=np.float32)
        except RapidOCRError:
            crops, boxes = [], np.zeros((0, 4, 2), dtype=np.float32)
        timings["det_ms"] = timings.get("det_ms", 0.0) + (time.perf_counter() - t) * 1000
        return boxes, crops, op

    def _vote_180(self, crops: list[np.ndarray], timings: dict[str, float]) -> tuple[bool, bool]:
        """(page upside down, orientation mixed) from the classifier on the longest lines."""
        t = time.perf_counter()
        widest = sorted(range(len(crops)), key=lambda i: -crops[i].shape[1] / max(crops[i].shape[0], 1))
        sample = [crops[i] for i in widest[:CLS_SAMPLE]]
        res = self._cls(sample).cls_res
        timings["cls_ms"] = timings.get("cls_ms", 0.0) + (time.perf_counter() - t) * 1000
        flips = sum(1 for label, score in res if "180" in str(label) and score > CLS_THRESH)
        share = flips / max(len(res), 1)
        return share > FLIP_SHARE, flips > 0 and share <= FLIP_SHARE

    def _recognize_crops(
        self, bgr: np.ndarray, boxes: np.ndarray, crops: list[np.ndarray], op: Any, timings: dict[str, float]
    ) -> list[Line]:
        from rapidocr.ch_ppocr_rec import TextRecInput
        from rapidocr.utils.process_img import map_boxes_to_original, map_img_to_original

        t = time.perf_counter()
        rec = self._rec(TextRecInput(img=crops, return_word_box=self.settings.word_boxes))
        timings["rec_ms"] = timings.get("rec_ms", 0.0) + (time.perf_counter() - t) * 1000
        h, w = bgr.shape[:2]
        boxes = map_boxes_to_original(np.array(boxes, dtype=np.float32), op, h, w)
        words_per_line: list[Any] = [None] * len(boxes)
        if self.settings.word_boxes and rec.word_results and all(rec.word_results):
            t = time.perf_counter()
            pre = op["preprocess"]
            mapped = map_img_to_original(crops, pre["ratio_h"], pre["ratio_w"])
            try:
                words_per_line = list(self._ocr.cal_rec_boxes(mapped, boxes, rec, False).word_results)
            except Exception as exc:  # words are a bonus: never lose the lines over them
                log.warning("ocr: word boxes failed (%s); lines kept without words", exc.__class__.__name__)
                words_per_line = [None] * len(boxes)
            timings["words_ms"] = (time.perf_counter() - t) * 1000
        lines: list[Line] = []
        for box, text, score, words in zip(boxes, rec.txts or (), rec.scores or (), words_per_line, strict=False):
            text = text.strip()
            if not text or score < self.settings.text_score:
                continue
            pts = [Point(x=round(float(x), 1), y=round(float(y), 1)) for x, y in box]
            xs, ys = [p.x for p in pts], [p.y for p in pts]
            lines.append(
                Line(
                    text=text,
                    bbox=BBox(x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys)),
                    polygon=pts,
                    confidence=float(min(max(score, 0.0), 1.0)),
                    order=0,
                    words=_words(words),
                )
            )
        return lines


def _words(items: Any) -> list[Word]:
    out: list[Word] = []
    for item in items or ():
        try:
            text, score, box = item
        except (TypeError, ValueError):
            continue
        if box is None or not str(text).strip():
            continue
        arr = np.asarray(box, dtype=np.float32).reshape(-1, 2)
        out.append(
            Word(
                text=str(text),
                confidence=float(min(max(score, 0.0), 1.0)),
                bbox=BBox(
                    x0=round(float(arr[:, 0].min()), 1),
                    y0=round(float(arr[:, 1].min()), 1),
                    x1=round(float(arr[:, 0].max()), 1),
                    y1=round(float(arr[:, 1].max()), 1),
                ),
            )
        )
    return out
