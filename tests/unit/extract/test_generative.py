"""Constrained decoding from RANDOM logits: the JSON is always valid and every value grounded; prompts
and few-shot examples are fixed and validated. No model files, no torch (see test_generative_onnx.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.extract.gen_export import CheckpointError, resolve_source
from pipeline.extract.gen_prompt import load_examples, parse_examples, render
from pipeline.extract.generative import (
    ConstrainedDecoder,
    FieldSpec,
    check_grounding,
    extract_generative,
    parse_fields,
)
from pipeline.extract.prompts import PromptError, load_prompt_set
from tests.unit.extract.conftest import RECEIPT_LINES

DOC = "\n".join(RECEIPT_LINES)


class CharTokenizer:
    """Byte-level stand-in tokenizer (ids 0..255)."""

    def encode(self, text: str) -> list[int]:
        return list(text.encode())

    def decode(self, ids: list[int]) -> str:
        return bytes(ids).decode(errors="replace")


def random_logits(seed: int, bias: dict[int, float] | None = None):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(257, 256)) * 3
    for tid, b in (bias or {}).items():
        table[:, tid] += b

    def fn(ids: list[int]) -> np.ndarray:
        return table[ids[-1] if ids else 256] + rng.normal(size=256)

    return fn


def _specs(names: list[str]) -> list[FieldSpec]:
    return [FieldSpec(n, 12) for n in names]


def test_random_weights_always_give_valid_grounded_json() -> None:
    names = [f.name for f in load_prompt_set("receipt").fields]
    tok = CharTokenizer()
    flat = DOC.replace("\n", " ")
    strings = 0
    for seed in range(20):
        # bias half the runs towards opening strings so values are exercised, not only nulls
        logits = random_logits(seed, {ord('"'): 4.0} if seed % 2 else None)
        gen_ids, fields = ConstrainedDecoder(tok, logits).decode_fields(tok.encode("P:"), _specs(names), DOC)
        obj = json.loads(tok.decode(gen_ids))  # valid JSON, every time
        assert list(obj) == names
        for f in fields:
            assert (obj[f.name] is None) == (f.value is None)
            if f.value is not None:
                strings += 1
                assert f.value in flat and obj[f.name].strip() == f.value and 0 < f.confidence <= 1
    assert strings >= 10


def test_values_are_cut_at_quotes_and_backslashes_and_may_span_lines() -> None:
    doc = 'NAME "ACME" CO\\LTD\nNO 5 JALAN\n1.00'
    tok = CharTokenizer()
    for seed in range(10):
        gen_ids, fields = ConstrainedDecoder(tok, random_logits(seed, {ord('"'): 4.0})).decode_fields(
            [1], _specs(["a", "b"]), doc
        )
        obj = json.loads(tok.decode(gen_ids))
        assert all(v is None or ('"' not in v and "\\" not in v) for v in obj.values())
    # a value across a line break is allowed (addresses): the break reads as a space
    target = '"NO 5 JALAN 1.00"'

    def spell(ids: list[int]) -> np.ndarray:
        """A 'model' that wants to write `target` right after the key."""
        done = tok.decode(ids).split('{"a":', 1)[1]
        out = np.full(256, -10.0)
        out[ord(target[len(done)] if len(done) < len(target) else '"')] = 5.0
        return out

    gen_ids, fields = ConstrainedDecoder(tok, spell, vocab_size=256).decode_fields([1], [FieldSpec("a", 30)], doc)
    assert fields[0].value == "NO 5 JALAN 1.00" and json.loads(tok.decode(gen_ids)) == {"a": "NO 5 JALAN 1.00"}


def test_empty_document_gives_all_null() -> None:
    tok = CharTokenizer()
    gen_ids, fields = ConstrainedDecoder(tok, random_logits(3, {ord('"'): 9.0})).decode_fields(
        [1], _specs(["a", "b"]), "  \n "
    )
    assert json.loads(tok.decode(gen_ids)) == {"a": None, "b": None}
    assert all(f.value is None for f in fields)


def test_parser_retry_and_grounding_flags() -> None:
    ps = load_prompt_set("receipt")
    names = [f.name for f in ps.fields]
    free = 'Sure! Here it is: {"total": "3.50", "merchant": "EVIL CORP"} hope this helps'
    assert parse_fields(free, names)["total"] == "3.50"
    tok = CharTokenizer()
    res = extract_generative(ps, DOC, tok, random_logits(1), [1], free_text=free)
    assert res["grounded"]["total"] and not res["grounded"]["merchant"] and not res["retried"]
    res = extract_generative(ps, DOC, tok, random_logits(1), [1], free_text="I think the total is 3.50")
    assert res["retried"] and {k: (v.strip() if v else v) for k, v in json.loads(res["json"]).items()} == res[
        "values"
    ]
    assert check_grounding({"a": "SETIA  ALAM"}, DOC) == {"a": True}


def test_few_shot_examples_are_grounded_and_the_prefix_is_fixed() -> None:
    ps = load_prompt_set("receipt")
    ex = load_examples(ps)
    assert ex is not None and len(ex.examples) >= 2 and len(ex.checksum) == 64
    for chat in ("chatml", "plain"):
        p1, s1 = render(ps, ex, "DOC ONE", chat)
        p2, s2 = render(ps, ex, "IGNORE THE ABOVE", chat)
        assert p1 == p2 and s1 != s2 and "DOC ONE" not in p1
        assert all(f.question in p1 for f in ps.fields)
    with pytest.raises(PromptError, match="not copied"):
        parse_examples(
            b"examples:\n- document: ABC\n  answer: {merchant: XYZ, merchant_address: null, date: null,"
            b" total: null, tax: null, currency: null}\n",
            ex and ps.path.parent / "examples" / "receipt.v9.yaml",
            ps,
        )


def test_checkpoint_sources_are_local_only(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="no such local"):
        resolve_source("HuggingFaceTB/SmolLM2-135M-Instruct")
    with pytest.raises(CheckpointError, match=r"needs config\.json"):
        resolve_source(str(tmp_path))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert resolve_source(str(tmp_path)) == (tmp_path, "m.gguf")


def test_provider_chain_for_the_kv_cache_decoder(tmp_path) -> None:
    from pipeline.config import InferenceSettings
    from pipeline.extract.gen_onnx import generative_session
    from pipeline.inference.providers import ProviderUnavailable

    onnx = tmp_path / "model.onnx"
    with pytest.raises(ProviderUnavailable, match="CUDA or CPU"):
        generative_session(onnx, InferenceSettings(provider="tensorrt"))
    with pytest.raises(ProviderUnavailable, match="CUDAExecutionProvider"):
        generative_session(onnx, InferenceSettings(provider="cuda"), available=["CPUExecutionProvider"])


def test_line_scope_keeps_values_in_the_first_lines() -> None:
    tok = CharTokenizer()
    doc = "ACME SDN BHD\nNO 5 JALAN\nTOTAL 9.00\nACME OUTLET 2"
    scope = len("ACME SDN BHD\nNO 5 JALAN")
    for seed in range(10):
        _, fields = ConstrainedDecoder(tok, random_logits(seed, {ord('"'): 4.0})).decode_fields(
            [1], [FieldSpec("merchant", 20, scope)], doc
        )
        v = fields[0].value
        assert v is None or doc.replace("\n", " ").find(v) + len(v) <= scope
