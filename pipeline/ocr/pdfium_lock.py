"""One process-wide lock around every call into PDFium.

PDFium is not thread-safe, not even for different documents: two threads inside it at once can
crash the process (seen in CI as a segfault when the OCR stage read two PDFs in parallel threads).
Work is done under the lock and the results (numpy rasters, plain Python text) are used outside it,
so OCR inference on one document still overlaps PDF parsing of another.
"""

from __future__ import annotations

import threading

PDFIUM_LOCK = threading.RLock()
