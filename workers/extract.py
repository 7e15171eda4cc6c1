"""extract stage worker: `python -m workers.extract` (same as `docpipe worker extract`)."""

from workers.entry import main

if __name__ == "__main__":
    main("extract")
