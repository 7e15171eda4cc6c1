"""Thin entry points, one per stage: `python -m workers.<stage>` == `docpipe worker <stage>`.

No business logic lives here: each builds its stage from config and hands it to the runtime.
"""
