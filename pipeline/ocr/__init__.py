"""OCR stage: documents (PDF text layers, scans, photos) to pages of lines with boxes.

Kept import-light on purpose: pipeline.config imports pipeline.ocr.settings, and model runtimes load
only when a raster page actually needs OCR.
"""
