"""A small versioned model registry on the local file system; never a hub at run time.

Layout: `<root>/<name>/<version>/` holding `model.onnx`, `tokenizer.json` and `model_card.json`
(data manifest, metrics, prompt versions, calibration, variant, sha256 of the ONNX file). The
default model ships inside the package (pipeline/extract/models), so a fresh machine needs no
download; other roots (a mounted volume, a user's own checkpoint folder) are plain paths.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.contracts import ModelRef

PACKAGED_ROOT = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = "minilm-qa"
CARD = "model_card.json"


class ModelNotFound(LookupError):
    """No such model/version in the registry root."""


class ModelIntegrityError(RuntimeError):
    """The model file does not match the checksum its card records (corrupt or tampered)."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ModelEntry:
    name: str
    version: str
    path: Path
    card: dict[str, Any]

    @property
    def onnx_path(self) -> Path:
        return self.path / self.card.get("file", "model.onnx")

    @property
    def tokenizer_path(self) -> Path:
        return self.path / "tokenizer.json"

    @property
    def ref(self) -> ModelRef:
        return ModelRef(
            name=self.name,
            version=self.version,
            variant=str(self.card.get("variant", "fp32")),
            checksum=self.card.get("checksum"),
            backend=str(self.card.get("backend", "qa")),
        )

    def verify(self) -> None:
        want = self.card.get("checksum")
        if not want:
            raise ModelIntegrityError(f"model {self.name} v{self.version}: card has no checksum")
        got = sha256_file(self.onnx_path)
        if got != want:
            raise ModelIntegrityError(
                f"model {self.name} v{self.version}: checksum mismatch (card {want[:12]}, file {got[:12]})"
            )


def _version_key(v: str) -> tuple[int, ...] | tuple[str]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (v,)


def load_local(path: Path, verify: bool = True) -> ModelEntry:
    """A model folder anywhere on disk (must hold a model card)."""
    card_path = path / CARD
    if not card_path.is_file():
        raise ModelNotFound(f"{path}: no {CARD}")
    try:
        card = json.loads(card_path.read_text())
    except json.JSONDecodeError:
        raise ModelNotFound(f"{card_path}: not valid JSON") from None
    entry = ModelEntry(
        name=str(card.get("name", path.parent.name)),
        version=str(card.get("version", path.name)),
        path=path,
        card=card,
    )
    if verify:
        entry.verify()
    return entry


def list_models(root: Path = PACKAGED_ROOT) -> list[ModelEntry]:
    out = []
    for card in sorted(root.glob(f"*/*/{CARD}")):
        out.append(load_local(card.parent, verify=False))
    return sorted(out, key=lambda e: (e.name, _version_key(e.version)))


def resolve(
    name: str = DEFAULT_MODEL, version: str | None = None, root: Path = PACKAGED_ROOT, verify: bool = True
) -> ModelEntry:
    """The named model at `version` (latest when None), checksum-verified."""
    versions = [e for e in list_models(root) if e.name == name]
    if not versions:
        raise ModelNotFound(f"no model named {name!r} under {root}")
    if version is None:
        entry = versions[-1]
    else:
        match = [e for e in versions if e.version == version]
        if not match:
            raise ModelNotFound(
                f"model {name!r} has no version {version!r} (have {', '.join(e.version for e in versions)})"
            )
        entry = match[0]
    if verify:
        entry.verify()
    return entry
