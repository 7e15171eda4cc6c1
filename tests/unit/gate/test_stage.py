from datetime import UTC, datetime
from pathlib import Path

from pipeline.config import Settings
from pipeline.contracts import Decision, Envelope, NormalizedDocument, Outcome, Producer
from pipeline.gate.stage import build_stage
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.document import normalize_extraction
from pipeline.runtime import LocalRunner
from pipeline.topics import DECIDED
from tests.unit.normalize.factories import acme_invoice, ref


def envelope(doc: NormalizedDocument, doc_id: str, event_id: str) -> Envelope[NormalizedDocument]:
    return Envelope[NormalizedDocument](
        event_id=event_id,
        event_type="docs.normalized",
        document_id=doc_id,
        correlation_id=event_id,
        producer=Producer(stage="normalize", version="1"),
        payload=doc,
        submitted_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
    )


def test_gate_stage_decides_and_catches_duplicates_across_documents(tmp_path: Path) -> None:
    from pipeline.db import make_engine
    from pipeline.refdata.loader import load_dir
    from pipeline.refdata.sample import write_sample

    settings = Settings(home=tmp_path)
    stage = build_stage(settings)
    write_sample(tmp_path / "ref")
    load_dir(tmp_path / "ref", make_engine(settings.db_url))
    doc = normalize_extraction(acme_invoice(), ref(), NormalizeConfig())
    runner = LocalRunner(stage)

    first = runner.run([envelope(doc, "1" * 64, "ev1")])
    [d1] = first.on(DECIDED)
    dec1 = Decision.model_validate(d1.payload.model_dump())
    dup1 = next(r for r in dec1.reasons if r.rule_id == "duplicates.invoice")
    assert dup1.passed

    # The same document replayed under a new event id does not flag itself ...
    again = runner.run([envelope(doc, "1" * 64, "ev1-replay")])
    dec_again = Decision.model_validate(again.on(DECIDED)[0].payload.model_dump())
    assert next(r for r in dec_again.reasons if r.rule_id == "duplicates.invoice").passed

    # ... but another file with the same vendor and invoice number does.
    second = runner.run([envelope(doc, "2" * 64, "ev2")])
    dec2 = Decision.model_validate(second.on(DECIDED)[0].payload.model_dump())
    dup2 = next(r for r in dec2.reasons if r.rule_id == "duplicates.invoice")
    assert not dup2.passed and "1" * 64 in dup2.details["documents"]
    assert dec2.outcome == Outcome.exception
    # the sample GR only covers 150 of 200 nuts: 3-way match fails in the real reference data
    assert not next(r for r in dec1.reasons if r.rule_id == "po.three_way").passed
