"""Where shared evaluation data lives: `../shared/data/...` beside the repository (never copied into it),
or DOCPIPE_SROIE_DIR."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def sroie_root() -> Path:
    return Path(os.environ.get("DOCPIPE_SROIE_DIR") or REPO_ROOT.parent / "shared" / "data" / "sroie")


SROIE_ROOT = sroie_root()
