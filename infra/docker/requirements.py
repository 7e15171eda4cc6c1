"""Print requirement lines from pyproject.toml (so the image layers dependencies before sources).

    python infra/docker/requirements.py            -> main dependencies
    python infra/docker/requirements.py postgres   -> main + the `postgres` extra
    python infra/docker/requirements.py --only gpu -> just the `gpu` extra
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def requirements(extras: list[str], only: bool) -> list[str]:
    meta = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    out = [] if only else list(meta["dependencies"])
    for extra in extras:
        out += meta["optional-dependencies"][extra]
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    only = "--only" in args
    print("\n".join(requirements([a for a in args if a != "--only"], only)))
