"""The generative extractor: a user's causal LM (local ONNX folder with KV cache) behind the same
Extraction contract as the QA backend.

value = the constrained decoder's grounded string; confidence = the model's probability of exactly
that answer (choice of string-vs-null x value tokens x closing quote, from token log-probs; not
calibrated unless the model card holds Platt parameters); provenance = the OCR lines the value is
located in; grounded = found verbatim in the text (always true for constrained answers).
Serving imports onnxruntime, tokenizers and numpy only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeline.contracts import DocKind, ExtractedField, Extraction, FieldStatus, OcrResult
from pipeline.extract.calibration import Platt
from pipeline.extract.gen_onnx import HFTokenizer, OnnxCausalLM, generative_session
from pipeline.extract.gen_prompt import load_examples, render
from pipeline.extract.generative import ConstrainedDecoder, FieldSpec, GenField, Vocabulary, check_grounding
from pipeline.extract.injection import model_context
from pipeline.extract.prompts import PromptSet, for_kind
from pipeline.extract.qa import assemble_extraction, provenance, resolve_kind
from pipeline.extract.registry import ModelEntry
from pipeline.extract.windows import DocContext

SessionFactory = Callable[[Path], Any]


def locate(ctx: DocContext, value: str) -> tuple[int, int] | None:
    """Char span of `value` in the document text, line breaks counting as spaces (first occurrence)."""
    flat = ctx.text.replace("\n", " ")
    i = flat.find(value)
    return None if i < 0 else (i, i + len(value))


def field_specs(prompts: PromptSet, document: str) -> list[FieldSpec]:
    """Token budget per field, and the prompt's line scope (`scope_lines`, e.g. merchant/address in
    the first 14 lines) as a character limit on where the value may lie."""
    out = []
    for f in prompts.fields:
        scope = getattr(f.constraint, "scope_lines", None)
        end = None
        if scope:
            lines = document.split("\n")
            end = len("\n".join(lines[: int(scope)]))
        out.append(FieldSpec(f.name, f.constraint.max_tokens, end))
    return out


@dataclass
class GenStats:
    """What one extraction cost: tokens prefilled vs decoded (proves the KV cache is used)."""

    prompt_tokens: int = 0
    fed_tokens: int = 0
    model_calls: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class GenerativeExtractor:
    """Fixed prompts + few-shot examples + schema-constrained grounded decoding over OnnxCausalLM."""

    def __init__(
        self,
        model: ModelEntry,
        *,
        session_factory: SessionFactory = generative_session,
        max_chars: int = 6000,
        few_shot: bool = True,
    ) -> None:
        if model.card.get("backend") != "generative":
            raise ValueError(f"model {model.name}: card backend is not 'generative'")
        self.model = model
        self.session_factory = session_factory
        self.max_chars = max_chars
        self.few_shot = few_shot
        self.tokenizer = HFTokenizer(model.tokenizer_path)
        self.chat_format = str(model.card.get("chat_format", "plain"))
        cal = model.card.get("calibration", {})
        self.calibration = {k: Platt(float(v["a"]), float(v["b"])) for k, v in cal.items()}
        self._prefix_ids: dict[str, list[int]] = {}
        if few_shot:  # fail at start-up, not per document, when an examples file does not fit its prompts
            for kind in (DocKind.receipt, DocKind.invoice, DocKind.po_change):
                load_examples(for_kind(kind))

    @cached_property
    def lm(self) -> OnnxCausalLM:
        max_pos = self.model.card.get("max_positions")
        return OnnxCausalLM(self.session_factory(self.model.onnx_path), int(max_pos) if max_pos else None)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        size = int(self.model.card.get("vocab_size") or self.tokenizer.vocab_size)
        return Vocabulary(self.tokenizer, min(size, self.tokenizer.vocab_size))

    @cached_property
    def decoder(self) -> ConstrainedDecoder:
        return ConstrainedDecoder(self.tokenizer, self.lm, vocabulary=self.vocabulary)

    def context(self, ocr: OcrResult) -> DocContext:
        """Instruction-like lines are quarantined before the prompt is built, as for the QA backend."""
        return model_context(ocr, self.max_chars)

    def prompt_ids(self, prompts: PromptSet, document: str) -> list[int]:
        """Prefix ids are encoded once per prompt set (stable tokens -> the KV cache is reused)."""
        examples = load_examples(prompts) if self.few_shot else None
        prefix, suffix = render(prompts, examples, document, self.chat_format)
        key = f"{prompts.name}:{prompts.version}:{prompts.checksum}"
        if key not in self._prefix_ids:
            self._prefix_ids[key] = self.tokenizer.encode(prefix)
        return self._prefix_ids[key] + self.tokenizer.encode(suffix)

    def decode(self, prompts: PromptSet, document: str) -> tuple[list[GenField], str, GenStats]:
        ids = self.prompt_ids(prompts, document)
        fed0, calls0 = self.lm.tokens_fed, self.lm.calls
        gen_ids, fields = self.decoder.decode_fields(ids, field_specs(prompts, document), document)
        stats = GenStats(len(ids), self.lm.tokens_fed - fed0, self.lm.calls - calls0)
        return fields, self.tokenizer.decode(gen_ids), stats

    def calibrate(self, name: str, raw: float) -> float:
        cal = self.calibration.get(name) or self.calibration.get("*")
        return min(1.0, max(0.0, cal(raw) if cal else raw))

    def extract(self, ocr: OcrResult) -> Extraction:
        t0 = time.perf_counter()
        ctx = self.context(ocr)
        prompts = for_kind(resolve_kind(ocr, ctx.text))
        fields: dict[str, ExtractedField] = {}
        stats = GenStats()
        if ctx.text.strip():
            decoded, _, stats = self.decode(prompts, ctx.text)
        else:  # nothing to read: every field is absent without running the model
            decoded = [GenField(f.name, None, 0.0, True, 1.0) for f in prompts.fields]
        grounded = check_grounding({f.name: f.value for f in decoded}, ctx.text)
        for f in decoded:
            conf = self.calibrate(f.name, f.confidence)
            if f.value is None:
                fields[f.name] = ExtractedField(name=f.name, value=None, confidence=conf, status=FieldStatus.absent)
                continue
            span = locate(ctx, f.value)
            fields[f.name] = ExtractedField(
                name=f.name,
                value=f.value,
                confidence=conf,
                status=FieldStatus.found,
                provenance=provenance(ctx, *span) if span else [],
                grounded=grounded[f.name] and span is not None,
            )
        timings = {
            "generate": round((time.perf_counter() - t0) * 1e3, 2),
            "prompt_tokens": float(stats.prompt_tokens),
            "fed_tokens": float(stats.fed_tokens),
            "model_calls": float(stats.model_calls),
        }
        return assemble_extraction(ocr, prompts, self.model, ctx, fields, timings)
