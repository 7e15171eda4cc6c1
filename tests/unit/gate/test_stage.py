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


def test_gate_stage_counts_quantities_billed_by_earlier_invoices(tmp_path: Path) -> None:
    from pipeline.db import make_engine
    from pipeline.refdata.loader import load_dir
    from pipeline.refdata.sample import write_sample

    settings = Settings(home=tmp_path)
    stage = build_stage(settings)
    write_sample(tmp_path / "ref")
    load_dir(tmp_path / "ref", make_engine(settings.db_url))
    snapshot = ref()
    full = normalize_extraction(acme_invoice(), snapshot, NormalizeConfig())
    ten_more = acme_invoice(invoice_number="INV-78", subtotal="25,00", tax="4,75", total="29,75")
    ten_more.line_items = ten_more.line_items[:1]
    ten_more.line_items[0].quantity, ten_more.line_items[0].amount = "10", "25,00"
    extra = normalize_extraction(ten_more, snapshot, NormalizeConfig())
    runner = LocalRunner(stage)

    def two_way(doc: NormalizedDocument, doc_id: str, event_id: str) -> tuple[bool, str]:
        [out] = runner.run([envelope(doc, doc_id, event_id)]).on(DECIDED)
        r = next(r for r in Decision.model_validate(out.payload.model_dump()).reasons if r.rule_id == "po.two_way")
        return r.passed, r.message

    assert two_way(full, "1" * 64, "ev1")[0]  # all 100 bolts of PO-1001 line 1
    passed, message = two_way(extra, "3" * 64, "ev3")
    assert not passed and "quantity 10 plus 100 already billed by earlier invoices exceeds ordered 100" in message
    assert two_way(full, "1" * 64, "ev1-replay")[0]  # a replay still sees only the invoices before it


def test_two_gate_workers_deciding_copies_at_once_pass_only_one(tmp_path: Path) -> None:
    """Two stages (own engines, as on two partitions) decide two files of one invoice concurrently."""
    import threading

    from pipeline.db import make_engine
    from pipeline.refdata.loader import load_dir
    from pipeline.refdata.sample import write_sample

    settings = Settings(home=tmp_path)
    write_sample(tmp_path / "ref")
    stages = [build_stage(settings), build_stage(settings)]
    load_dir(tmp_path / "ref", make_engine(settings.db_url))
    doc = normalize_extraction(acme_invoice(), ref(), NormalizeConfig())
    barrier = threading.Barrier(2)
    passed: dict[int, bool] = {}

    def work(i: int) -> None:
        runner = LocalRunner(stages[i])
        barrier.wait()
        [out] = runner.run([envelope(doc, str(i + 1) * 64, f"ev{i}")]).on(DECIDED)
        decision = Decision.model_validate(out.payload.model_dump())
        passed[i] = next(r for r in decision.reasons if r.rule_id == "duplicates.invoice").passed

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(passed.values()) == [False, True]
