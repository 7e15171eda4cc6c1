"""PDFium is not thread-safe: every caller in the codebase goes through one lock.

Without the lock this script aborts the interpreter (double free / segfault) within a second, as the
OCR stage did in CI when it read two PDFs in parallel threads. It runs in a child process so a crash
fails this test instead of killing the test session.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from pipeline.ocr.images import ImageLimits
    from pipeline.ocr.pdf import iter_pdf_pages
    from pipeline.ocr.synth import image_pdf, invoice_pdf
    from pipeline.review.web.pages import geometry, render_page
    from pipeline.samples.raster import rasterize

    limits = ImageLimits(40_000_000, 10_000, 8, 50)
    born_digital = [invoice_pdf(i, 3) for i in range(4)]
    scans = [image_pdf(np.full((400, 300, 3), 200, np.uint8), seed=i) for i in range(4)]

    def work(job):
        kind, pdf = job
        if kind == "ocr":
            return sum(1 for _ in iter_pdf_pages(pdf, limits=limits, dpi=100))
        if kind == "review":
            assert render_page(pdf, "application/pdf", 0).startswith(b"\\x89PNG")
            return len(geometry(pdf, "application/pdf", 200.0))
        return len(rasterize(pdf, 50))

    jobs = [(kind, pdf) for pdf in born_digital + scans for kind in ("ocr", "review", "samples")]
    expected = [3 if pdf in born_digital else 1 for _, pdf in jobs]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            assert list(pool.map(work, jobs)) == expected
    print("ok")
    """
)


def test_parallel_pdf_work_from_all_callers_does_not_crash() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout.strip() == "ok"
