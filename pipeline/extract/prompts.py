"""Fixed, versioned prompt sets: one YAML file per document kind in `prompts/`.

Prompts are part of the code release, not configuration: there is no run-time override. The loader
hashes the exact file bytes so every Extraction records which questions produced it (PromptSetRef).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from pipeline.contracts import DocKind, PromptSetRef

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"

FieldType = Literal["text", "date", "amount", "currency", "tax_id", "iban", "po_number", "integer", "json"]
ConstraintKind = Literal["text", "date", "amount", "currency", "code", "iban"]
_FIELD_TYPES = set(FieldType.__args__)  # type: ignore[attr-defined]
_CONSTRAINTS = set(ConstraintKind.__args__)  # type: ignore[attr-defined]
_FILE_RE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.yaml$")


class PromptError(ValueError):
    """A prompt file is missing or malformed (a release defect, never user input)."""


@dataclass(frozen=True)
class AnswerConstraint:
    """What an answer may look like: decoding only considers spans that satisfy it."""

    kind: ConstraintKind
    max_tokens: int
    max_lines: int
    # Free-text fields only. `scope_lines`: read only the first N lines of the document (a shop's name
    # and address sit in the header; shorter windows are cheaper and leave less to confuse).
    # `align: line_start`: an answer starts where a line starts (names and addresses are whole lines,
    # sometimes followed by a registration number), so half-line answers like "SDN BHD" cannot win.
    # `align: line`: it also ends where a line ends (an address runs to the end of its last line; in
    # 294 of 295 SROIE training receipts where it appears verbatim), so "40170 SETIA" cannot win
    # over "40170 SETIA ALAM".
    scope_lines: int | None = None
    align: Literal["none", "line_start", "line"] = "none"


@dataclass(frozen=True)
class FieldPrompt:
    name: str
    question: str
    type: FieldType
    required: bool
    normalizer: str
    constraint: AnswerConstraint
    source_key: str | None = None  # structured documents: key in the JSON


@dataclass(frozen=True)
class PromptSet:
    name: str
    version: str
    kind: DocKind
    fields: tuple[FieldPrompt, ...]
    checksum: str
    path: Path

    @property
    def ref(self) -> PromptSetRef:
        return PromptSetRef(name=self.name, version=self.version, checksum=self.checksum)

    def field(self, name: str) -> FieldPrompt:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"prompt set {self.name} v{self.version} has no field {name!r}")


def _require(data: dict[str, object], key: str, where: str) -> object:
    if key not in data:
        raise PromptError(f"{where}: missing key {key!r}")
    return data[key]


def _parse_field(raw: object, where: str) -> FieldPrompt:
    if not isinstance(raw, dict):
        raise PromptError(f"{where}: field entry must be a mapping")
    name = str(_require(raw, "name", where))
    here = f"{where}:{name}"
    ftype = str(_require(raw, "type", here))
    if ftype not in _FIELD_TYPES:
        raise PromptError(f"{here}: unknown type {ftype!r}")
    con = _require(raw, "constraint", here)
    if not isinstance(con, dict) or con.get("kind") not in _CONSTRAINTS:
        raise PromptError(f"{here}: constraint needs a kind in {sorted(_CONSTRAINTS)}")
    scope = con.get("scope_lines")
    align = con.get("align", "none")
    if align not in ("none", "line_start", "line"):
        raise PromptError(f"{here}: align must be none, line_start or line")
    if (scope is not None or align != "none") and con["kind"] != "text":
        raise PromptError(f"{here}: scope_lines/align apply to text fields only")
    question = str(_require(raw, "question", here)).strip()
    if not question.endswith("?"):
        raise PromptError(f"{here}: question must be a question")
    return FieldPrompt(
        name=name,
        question=question,
        type=ftype,  # type: ignore[arg-type]
        required=bool(_require(raw, "required", here)),
        normalizer=str(_require(raw, "normalizer", here)),
        constraint=AnswerConstraint(
            kind=con["kind"],
            max_tokens=int(con.get("max_tokens", 32)),
            max_lines=int(con.get("max_lines", 1)),
            scope_lines=int(scope) if scope is not None else None,
            align=align,
        ),
        source_key=raw.get("source_key"),
    )


def parse_prompt_set(data: bytes, path: Path) -> PromptSet:
    """Parse one prompt file's bytes (pure: the checksum is of exactly these bytes)."""
    m = _FILE_RE.match(path.name)
    if not m:
        raise PromptError(f"{path.name}: prompt files are named <kind>.v<N>.yaml")
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise PromptError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict):
        raise PromptError(f"{path.name}: top level must be a mapping")
    name, version = str(_require(doc, "name", path.name)), str(_require(doc, "version", path.name))
    if (name, version) != (m["name"], m["version"]):
        raise PromptError(f"{path.name}: name/version inside ({name} v{version}) disagree with the file name")
    raw_fields = _require(doc, "fields", path.name)
    if not isinstance(raw_fields, list) or not raw_fields:
        raise PromptError(f"{path.name}: fields must be a non-empty list")
    fields = tuple(_parse_field(f, path.name) for f in raw_fields)
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise PromptError(f"{path.name}: duplicate field names")
    try:
        kind = DocKind(str(_require(doc, "kind", path.name)))
    except ValueError:
        raise PromptError(f"{path.name}: unknown kind") from None
    return PromptSet(
        name=name,
        version=version,
        kind=kind,
        fields=fields,
        checksum=hashlib.sha256(data).hexdigest(),
        path=path,
    )


def available(directory: Path = PROMPTS_DIR) -> dict[str, list[str]]:
    """Prompt set name -> versions present, ascending."""
    out: dict[str, list[str]] = {}
    for p in sorted(directory.glob("*.yaml")):
        m = _FILE_RE.match(p.name)
        if m:
            out.setdefault(m["name"], []).append(m["version"])
    return {k: sorted(v, key=int) for k, v in out.items()}


@lru_cache(maxsize=32)
def load_prompt_set(name: str, version: str | None = None, directory: Path = PROMPTS_DIR) -> PromptSet:
    """Load `<name>.v<version>.yaml` (the latest version when None) from the release's prompts folder."""
    versions = available(directory).get(name)
    if not versions:
        raise PromptError(f"no prompt set named {name!r} in {directory}")
    version = version or versions[-1]
    path = directory / f"{name}.v{version}.yaml"
    if not path.is_file():
        raise PromptError(f"prompt set {name!r} has no version {version!r} (have {', '.join(versions)})")
    return parse_prompt_set(path.read_bytes(), path)


def for_kind(kind: DocKind) -> PromptSet:
    """The current prompt set for a document kind (unknown kinds are classified before this)."""
    if kind == DocKind.unknown:
        raise PromptError("document kind must be resolved before choosing prompts")
    return load_prompt_set(kind.value)
