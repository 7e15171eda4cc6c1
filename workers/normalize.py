"""normalize stage worker: `python -m workers.normalize` (same as `docpipe worker normalize`)."""

from workers.entry import main

if __name__ == "__main__":
    main("normalize")
