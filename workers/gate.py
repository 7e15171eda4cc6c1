"""gate stage worker: `python -m workers.gate` (same as `docpipe worker gate`)."""

from workers.entry import main

if __name__ == "__main__":
    main("gate")
