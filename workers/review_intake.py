"""review-intake stage worker: `python -m workers.review_intake` (same as `docpipe worker review-intake`)."""

from workers.entry import main

if __name__ == "__main__":
    main("review-intake")
