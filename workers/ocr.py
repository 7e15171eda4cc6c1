"""ocr stage worker: `python -m workers.ocr` (same as `docpipe worker ocr`)."""

from workers.entry import main

if __name__ == "__main__":
    main("ocr")
