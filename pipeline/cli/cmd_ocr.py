"""`docpipe ocr FILE`, `docpipe eval ocr`, `docpipe bench ocr`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli.output import bench_group, emit, eval_group, fail
from pipeline.datasets import SROIE_ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from pipeline.config import Settings
    from pipeline.contracts import OcrResult
    from pipeline.ocr.evaluate import ReceiptScore

DEFAULT_SROIE = SROIE_ROOT


def _settings(mode: str | None, engine: str | None = None) -> Settings:
    from pipeline.config import get_settings

    settings = get_settings()
    updates = {k: v for k, v in (("mode", mode), ("engine", engine)) if v}
    if updates:
        settings = settings.model_copy(update={"ocr": settings.ocr.model_copy(update=updates)})
    return settings


def ocr_file(
    file: Annotated[Path, typer.Argument(help="PDF, image (JPEG/PNG/TIFF/WebP/BMP) or PO change JSON.")],
    mode: Annotated[str | None, typer.Option(help="accurate | fast (default from config).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the OcrResult as JSON.")] = False,
) -> None:
    """Read one document and print its lines in reading order (nothing is stored or published)."""
    from pipeline.ocr.api import read_bytes
    from pipeline.ocr.errors import DocumentError, EngineUnavailable

    if mode not in (None, "accurate", "fast"):
        fail("--mode must be accurate or fast")
    settings = _settings(mode)
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc.__class__.__name__}")
    try:
        result = read_bytes(data, settings)
    except (DocumentError, EngineUnavailable) as exc:
        fail(f"{file.name}: {exc}")
    if as_json:
        emit(result.model_dump(mode="json"), True)
        return
    for page in result.pages:
        typer.echo(
            f"--- page {page.index + 1} ({page.source}, {page.width:.0f}x{page.height:.0f}"
            f" @ {page.dpi:.0f} dpi"
            f"{', rotated ' + str(page.rotation) if page.rotation else ''}, {len(page.lines)} lines)"
        )
        for line in page.lines:
            typer.echo(f"{line.row if line.row is not None else '-':>4} {line.confidence:5.2f}  {line.text}")
    if result.structured is not None:
        typer.echo(json.dumps(result.structured, indent=2))
    typer.echo(
        f"engine: {result.engine.name} ({result.engine.execution_provider or 'no model'}); "
        f"{result.timings_ms.get('total_ms', 0):.0f} ms"
    )


def eval_ocr(
    data: Annotated[Path, typer.Option(help="SROIE folder (img/, box/, key/).")] = DEFAULT_SROIE,
    ids: Annotated[str, typer.Option(help="Receipt ids, e.g. 400-499 or 400,405-410.")] = "400-499",
    mode: Annotated[str, typer.Option(help="accurate | fast")] = "accurate",
    out: Annotated[Path | None, typer.Option(help="Also write the JSON report here.")] = None,
    ocr_cache: Annotated[
        Path | None,
        typer.Option(help="Reuse/keep OCR results here (shared with eval extract/gate; timings then lie)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Line recall (CER <= 0.1), CER in reading order and share of totals found verbatim on SROIE.
    The OCR settings come from the configuration (e.g. DOCPIPE_OCR__CHARSET=ascii)."""
    from pipeline.ocr.api import read_bytes
    from pipeline.ocr.cache import cached_ocr
    from pipeline.ocr.evaluate import evaluate, parse_ids
    from pipeline.ocr.factory import get_engine

    if mode not in ("accurate", "fast"):
        fail("--mode must be accurate or fast")
    if not (data / "img").is_dir() or not (data / "box").is_dir():
        fail(f"{data} does not look like the SROIE folder (needs img/ and box/)")
    settings = _settings(mode)
    id_list = [i for i in parse_ids(ids) if (data / "img" / f"{i}.jpg").is_file()]
    if not id_list:
        fail(f"no receipts found for ids {ids}")
    engine = get_engine(settings.ocr)

    def progress(score: ReceiptScore) -> None:
        if not as_json:
            typer.echo(
                f"{score.id}: {score.matched}/{score.gt_lines} lines, CER {score.cer:.3f} "
                f"(file order {score.cer_file_order:.3f}), "
                f"total {'yes' if score.total_found else 'no'}, {score.seconds:.2f} s",
                err=True,
            )

    load_start = os.getloadavg()
    def read(data: bytes) -> OcrResult:
        sha = hashlib.sha256(data).hexdigest()
        return cached_ocr(ocr_cache, sha, settings.ocr, lambda: read_bytes(data, settings))

    report = evaluate(data, id_list, read, progress)
    summary = report.summary()
    result = {
        "mode": mode,
        "charset": settings.ocr.charset,
        "ocr_cache": str(ocr_cache) if ocr_cache else None,
        "ids": ids,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": list(load_start),
        "loadavg_end": list(os.getloadavg()),
        "engine": engine.info().model_dump(),
        "threads": engine.threads(),
        "summary": summary,
        "receipts": [vars(r) for r in report.receipts],
    }
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1, default=str))
    human = (
        f"SROIE {ids} ({summary['receipts']} receipts, mode {mode}): "
        f"line recall {summary['line_recall']:.3f}, "
        f"CER {summary['cer']:.3f} (GT file order {summary['cer_file_order']:.3f}), "
        f"total found {summary['total_found_count']}/{summary['total_labelled']} "
        f"({summary['total_found']:.1%}), {summary['s_per_receipt_median']:.2f} s/receipt median"
    )
    emit({k: v for k, v in result.items() if k != "receipts"} if as_json else result, as_json, human)


def bench_ocr(
    mode: Annotated[str, typer.Option(help="accurate | fast")] = "accurate",
    limit: Annotated[int, typer.Option(help="SROIE validation images to time.")] = 20,
    data: Annotated[Path, typer.Option(help="SROIE folder.")] = DEFAULT_SROIE,
    pdf_docs: Annotated[int, typer.Option(help="Born-digital invoice PDFs to time (3 pages each).")] = 40,
    long_pages: Annotated[
        int, typer.Option(help="Pages of the streamed long PDF (memory check); 0 = skip.")
    ] = 1000,
    parallel: Annotated[int, typer.Option(help="Images OCR'd concurrently.")] = 1,
    processes: Annotated[
        bool, typer.Option("--processes", help="Run --parallel images in worker processes, not threads.")
    ] = False,
    pdf_processes: Annotated[int, typer.Option(help="Processes reading the born-digital PDFs.")] = 2,
    threads: Annotated[int, typer.Option(help="ONNX Runtime intra-op threads (0 = one per core).")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="JSON results path (default .docpipe/bench/ocr-MODE.json).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Pages/s and ms/page (p50/p95) for SROIE images and born-digital PDFs, threads, peak RSS."""
    from pipeline.ocr.bench import run_bench

    if mode not in ("accurate", "fast"):
        fail("--mode must be accurate or fast")
    settings = _settings(mode)
    ocr = settings.ocr.model_copy(update={"intra_op_threads": threads})
    settings = settings.model_copy(update={"ocr": ocr})
    result = run_bench(
        settings,
        data=data,
        limit=limit,
        pdf_docs=pdf_docs,
        long_pages=long_pages,
        parallel=max(1, parallel),
        processes=processes,
        pdf_processes=max(1, pdf_processes),
    )
    path = out or settings.home / "bench" / f"ocr-{mode}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    img, pdf = result["images"], result["born_digital_pdf"]
    if not img or not pdf:
        emit(result, as_json, f"written {path}")
        return
    human = (
        f"images ({img['pages']}): {img['pages_per_s']:.2f} pages/s, p50 {img['ms_p50']:.0f} ms, "
        f"p95 {img['ms_p95']:.0f} ms | born-digital PDF ({pdf['pages']}): {pdf['pages_per_s']:.1f} pages/s, "
        f"p50 {pdf['ms_p50']:.1f} ms | threads {result['threads']} | peak RSS {result['peak_rss_mb']:.0f} MB"
        f" | written {path}"
    )
    emit(result, as_json, human)


def quantize_ocr(
    mode: Annotated[str, typer.Option(help="accurate | fast: whose det/rec models to quantise.")] = "accurate",
    roles: Annotated[str, typer.Option(help="Models to turn into int8: det, rec or det,rec.")] = "det",
    data: Annotated[Path, typer.Option(help="SROIE folder with the calibration receipts.")] = DEFAULT_SROIE,
    ids: Annotated[str, typer.Option(help="Calibration receipts (training split only).")] = "000-399",
    pages: Annotated[int, typer.Option(help="Receipts sampled for calibration.")] = 8,
    out: Annotated[Path | None, typer.Option(help="Model directory (default <home>/models/ocr-int8-MODE).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Build static int8 (QDQ) OCR models calibrated on receipts; use them with ocr.model_dir."""
    import random

    from pipeline.ocr.evaluate import parse_ids
    from pipeline.ocr.factory import create_engine
    from pipeline.ocr.images import to_rgb
    from pipeline.ocr.quantize import ROLES, build_model_dir

    if mode not in ("accurate", "fast"):
        fail("--mode must be accurate or fast")
    wanted = tuple(r.strip() for r in roles.split(",") if r.strip())
    if not wanted or set(wanted) - set(ROLES):
        fail("--roles must be det, rec or det,rec")
    files = [data / "img" / f"{i}.jpg" for i in parse_ids(ids)]
    files = [f for f in files if f.is_file()]
    if not files:
        fail(f"no calibration receipts found for ids {ids} in {data}")
    sample = sorted(random.Random(7).sample(files, min(pages, len(files))))
    settings = _settings(mode)
    engine = create_engine(settings.ocr.model_copy(update={"model_dir": None, "intra_op_threads": 1}))

    def rgb_pages() -> Iterator[np.ndarray]:
        from PIL import Image

        for f in sample:
            with Image.open(f) as im:
                yield to_rgb(im)

    target = out or settings.home / "models" / f"ocr-int8-{mode}"
    manifest = build_model_dir(
        engine, rgb_pages(), target, roles=wanted, calibration=f"SROIE {', '.join(f.stem for f in sample)}"
    )
    manifest["model_dir"] = str(target)
    emit(manifest, as_json, f"written {target} (use DOCPIPE_OCR__MODEL_DIR={target})")


def register(app: typer.Typer) -> None:
    logging.getLogger("pipeline.ocr").setLevel(logging.WARNING)
    app.command("ocr")(ocr_file)
    app.command("ocr-quantize")(quantize_ocr)
    eval_group(app).command("ocr")(eval_ocr)
    bench_group(app).command("ocr")(bench_ocr)
