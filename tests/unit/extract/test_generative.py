"""Constrained decoding from RANDOM weights: the JSON is always valid and every value grounded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.extract.generative import (
    ConstrainedDecoder,
    build_prompt,
    check_grounding,
    extract_generative,
    parse_fields,
)
from pipeline.extract.prompts import load_prompt_set
from tests.unit.extract.conftest import RECEIPT_LINES

DOC = "\n".join(RECEIPT_LINES)


class CharTokenizer:
    """Byte-level stand-in tokenizer (ids 0..255)."""

    def encode(self, text: str) -> list[int]:
        return list(text.encode())

    def decode(self, ids: list[int]) -> str:
        return bytes(ids).decode(errors="replace")


def random_logits(seed: int):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(257, 256)) * 3

    def fn(ids: list[int]) -> np.ndarray:
        return table[ids[-1] if ids else 256] + rng.normal(size=256)

    return fn


def test_random_weights_always_give_valid_grounded_json() -> None:
    ps = load_prompt_set("receipt")
    names = [f.name for f in ps.fields]
    dec_ok = 0
    for seed in range(20):
        text, _fields = ConstrainedDecoder(CharTokenizer(), random_logits(seed)).decode_fields(
            build_prompt(ps, DOC), names, DOC
        )
        obj = json.loads(text)  # valid JSON, every time
        assert list(obj) == names
        assert all(v is None or (v in DOC and '"' not in v) for v in obj.values())
        dec_ok += 1
    assert dec_ok == 20


@pytest.mark.slow
def test_tiny_random_causal_lm_from_config() -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    cfg = transformers.LlamaConfig(
        vocab_size=256,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(cfg).eval()

    def logits(ids: list[int]) -> np.ndarray:
        with torch.no_grad():
            return model(torch.tensor([ids[-64:]])).logits[0, -1].numpy()

    doc = "\n".join(RECEIPT_LINES[:6])
    dec = ConstrainedDecoder(CharTokenizer(), logits, max_value_tokens=6)
    text, fields = dec.decode_fields("Fields as JSON:", ["merchant", "date", "total"], doc)
    assert list(json.loads(text)) == ["merchant", "date", "total"]
    assert all(f.value is None or f.value in doc for f in fields)


def test_parser_retry_and_grounding_flags() -> None:
    ps = load_prompt_set("receipt")
    names = [f.name for f in ps.fields]
    free = 'Sure! Here it is: {"total": "3.50", "merchant": "EVIL CORP"} hope this helps'
    assert parse_fields(free, names)["total"] == "3.50"
    res = extract_generative(ps, DOC, CharTokenizer(), random_logits(1), free_text=free)
    assert res["grounded"]["total"] and not res["grounded"]["merchant"] and not res["retried"]
    res = extract_generative(
        ps, DOC, CharTokenizer(), random_logits(1), free_text="I think the total is 3.50"
    )
    assert res["retried"] and json.loads(res["json"]) == res["values"]
    assert check_grounding({"a": "SETIA  ALAM"}, DOC) == {"a": True}
