from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.contracts import Envelope, Extraction, NormalizedDocument, Producer
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.stage import build_stage, make_stage
from pipeline.runtime import LocalRunner
from pipeline.topics import DLQ, NORMALIZED
from tests.unit.normalize.factories import acme_invoice, ref


def envelope(payload: Extraction, event_id: str = "e1") -> Envelope[Extraction]:
    return Envelope[Extraction](
        event_id=event_id,
        event_type="docs.extracted",
        document_id="b" * 64,
        correlation_id="c1",
        producer=Producer(stage="extract", version="1"),
        payload=payload,
    )


def test_stage_emits_normalized_document() -> None:
    stage = make_stage(lambda: ref(), NormalizeConfig())
    out = LocalRunner(stage).run([envelope(acme_invoice())])
    [event] = out.on(NORMALIZED)
    doc = NormalizedDocument.model_validate(event.payload.model_dump())
    assert doc.vendor is not None and doc.vendor.vendor_id == "V001"
    assert event.causation_id == "e1" and not out.dead_letters


def test_reference_data_outage_is_transient_then_dead_lettered() -> None:
    from sqlalchemy.exc import OperationalError

    def broken():  # type: ignore[no-untyped-def]
        raise OperationalError("select", {}, Exception("db down"))

    out = LocalRunner(make_stage(broken, NormalizeConfig()), retries=1).run([envelope(acme_invoice())])
    assert not out.on(NORMALIZED)
    [dl] = [e.event for e in out.dead_letters if e.topic == DLQ]
    assert dl.payload.error_kind == "transient_exhausted" and "reference data unavailable" in dl.payload.error


def test_poison_message_goes_to_dlq_with_reason() -> None:
    out = LocalRunner(make_stage(lambda: ref(), NormalizeConfig())).run([b"{not json"])
    [dl] = [e.event for e in out.dead_letters if e.topic == DLQ]
    assert dl.payload.error_kind == "undecodable"


@pytest.mark.parametrize("locale", [None, "en_MY"])
def test_build_stage_from_settings_reads_db(tmp_path: Path, locale: str | None) -> None:
    from pipeline.db import make_engine
    from pipeline.refdata.loader import load_dir
    from pipeline.refdata.sample import write_sample

    settings = Settings(home=tmp_path, default_locale=locale)
    stage = build_stage(settings)
    write_sample(tmp_path / "ref")
    load_dir(tmp_path / "ref", make_engine(settings.db_url))
    out = LocalRunner(stage).run([envelope(acme_invoice())])
    [event] = out.on(NORMALIZED)
    assert event.payload.vendor.vendor_id == "V001"
