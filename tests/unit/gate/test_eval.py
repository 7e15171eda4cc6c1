import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.gate.evaluate import CurvePoint, choose_threshold, read_jsonl, run_eval, wilson_lower
from pipeline.gate.policy import load_policy
from pipeline.normalize.config import NormalizeConfig
from pipeline.refdata.snapshot import RefSnapshot

DATA = Path(__file__).parent / "data" / "eval_small.jsonl"


def report():  # type: ignore[no-untyped-def]
    rows, skipped = read_jsonl(DATA)
    rep = run_eval(
        rows, load_policy(), RefSnapshot(), NormalizeConfig(default_locale="en_MY"), date(2026, 11, 23)
    )
    return rep, skipped


def test_bad_lines_are_skipped_with_line_numbers() -> None:
    rows, skipped = read_jsonl(DATA)
    assert len(rows) == 8
    assert skipped[0].startswith("eval_small.jsonl:9:") and skipped[1].startswith("eval_small.jsonl:10:")


def test_curve_and_chosen_threshold_on_hand_built_data() -> None:
    rep, _ = report()
    assert rep.documents == 8 and len(rep.curve) == 101
    c = rep.chosen
    assert c is not None and c.threshold == 0.88
    # auto-approved at 0.88: the four documents whose every field is right and confident
    assert c.auto_documents == 4 and c.straight_through == 0.5
    assert c.field_precision == 1.0 and c.document_precision == 1.0
    low = next(p for p in rep.curve if p.threshold == 0.5)
    assert low.straight_through == 0.75 and low.field_precision is not None and low.field_precision < 0.995
    assert rep.field_errors == {"merchant": 1, "total": 1}
    stp = [p.straight_through for p in rep.curve]
    assert stp == sorted(stp, reverse=True)  # monotone in the threshold


def test_choose_threshold_prefers_most_straight_through_then_safety() -> None:
    def pt(t: float, stp: float, prec: float | None) -> CurvePoint:
        return CurvePoint(t, stp, 1, prec, prec, None, 1, None, 0.0)

    assert choose_threshold([pt(0.5, 0.9, 0.99), pt(0.8, 0.7, 1.0), pt(0.9, 0.7, 1.0)]).threshold == 0.9  # type: ignore[union-attr]
    assert choose_threshold([pt(0.5, 0.9, 0.9)]) is None


def test_wilson_lower_bound() -> None:
    assert wilson_lower(0, 0) is None
    assert 0.7 < wilson_lower(12, 12) < 0.8  # type: ignore[operator]


def test_cli_writes_png_and_json(tmp_path: Path) -> None:
    png = tmp_path / "curve.png"
    res = CliRunner().invoke(
        app, ["eval", "gate", str(DATA), "--locale", "en_MY", "--plot", str(png), "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["chosen"]["threshold"] == 0.88 and png.read_bytes()[:4] == b"\x89PNG"
    assert data["policy"]["name"] == "default"


def test_cli_missing_file_is_one_line_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["eval", "gate", str(tmp_path / "nope.jsonl")])
    assert res.exit_code != 0 and "no such file" in res.output


def test_cli_with_reference_data_from_the_database(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pipeline.config import get_settings
    from pipeline.db import make_engine, migrate
    from pipeline.refdata.loader import load_dir
    from pipeline.refdata.sample import write_sample

    monkeypatch.setenv("DOCPIPE_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        url = get_settings().db_url
        engine = make_engine(url)
        migrate(url)
        write_sample(tmp_path / "csv")
        load_dir(tmp_path / "csv", engine)
        res = CliRunner().invoke(
            app,
            [
                "eval",
                "gate",
                str(DATA),
                "--locale",
                "en_MY",
                "--db",
                "--today",
                "2026-11-23",
                "--plot",
                str(tmp_path / "c.png"),
                "--json",
            ],
        )
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout.strip().splitlines()[-1])
        assert "vendor.known" in data["rules"] and "duplicates.invoice" not in data["rules"]
        # receipts dated 2018 fail the date window against --today; the Globex invoice (known vendor) passes
        assert data["chosen"]["auto_documents"] == 1
    finally:
        get_settings.cache_clear()


def test_sroie_label_names_are_mapped(tmp_path: Path) -> None:
    line = json.loads(DATA.read_text().splitlines()[0])
    line["truth"] = {"company": "KEDAI RUNCIT MAJU", "date": "12/05/2018", "total": "12.50", "address": "X"}
    p = tmp_path / "one.jsonl"
    p.write_text(json.dumps(line) + "\n")
    [row], _ = read_jsonl(p)
    assert row.truth == {
        "merchant": "KEDAI RUNCIT MAJU",
        "date": "12/05/2018",
        "total": "12.50",
        "merchant_address": "X",
    }


def test_cli_with_reference_csvs_records_duplicates_and_counts_rejected_documents(tmp_path: Path) -> None:
    """--refdata: a throw-away database, every rule, documents recorded in order like the gate stage."""
    from pipeline.contracts import BlobRef
    from pipeline.refdata.sample import write_sample
    from tests.unit.normalize.factories import acme_invoice

    write_sample(tmp_path / "csv")
    original = acme_invoice()
    copy = acme_invoice()  # the same invoice again, another file
    copy.blob = BlobRef(uri="file:///tmp/copy", sha256="b" * 64, size=11, media_type="application/pdf")
    truth = {
        "invoice_number": {"value": "INV-77"},
        "total": {"value": "392.70"},
        "vendor": "ACME Industrial Supplies GmbH",
    }
    lines = [
        {"source": "samples", "doc_id": "inv-1", "extraction": original.model_dump(mode="json"), "truth": truth},
        {"source": "samples", "doc_id": "inv-2", "extraction": copy.model_dump(mode="json"), "truth": truth,
         "must_stop": ["duplicate"]},
        {"source": "samples", "doc_id": "junk", "error": "UnsupportedMediaType: empty file", "truth": {}},
    ]
    data_file = tmp_path / "rows.jsonl"
    data_file.write_text("".join(json.dumps(x) + "\n" for x in lines))
    args = ["eval", "gate", str(data_file), "--refdata", str(tmp_path / "csv"), "--plot", str(tmp_path / "c.png")]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["documents"] == 3 and data["pipeline_errors"] == ["samples:junk: UnsupportedMediaType: empty file"]
    assert "duplicates.invoice" in data["rules"]
    assert data["blocking"]["duplicates.invoice"]["documents"] == 1  # the copy, not the original
    assert data["blocking"]["pipeline.error"] == {"documents": 1, "only_reason": 1}
    assert all(p["must_stop_auto"] == 0 for p in data["curve"])  # the copy never goes straight through
    # canonical truth values compare as is: the original's number and total are right
    assert data["field_errors"] == {}


def test_missed_values_and_must_stop_documents_are_counted_not_hidden() -> None:
    from pipeline.gate.evaluate import FieldOutcome, ItemResult, curve_point

    ok = ItemResult(1, True, (("total", "total", 0.97),), (FieldOutcome("total", 0.97, True),), missed=("iban",))
    right = (FieldOutcome("total", 0.99, True),)
    leak = ItemResult(2, True, (("total", "total", 0.99),), right, must_stop=("duplicate",))
    p = curve_point([ok, leak], 0.95)
    assert p.auto_documents == 2 and p.auto_missed_fields == 1 and p.must_stop_auto == 1
    assert choose_threshold([p]) is None  # a threshold that lets a must-stop document through is never chosen
    assert curve_point([ok, leak], 0.98).auto_documents == 1
    assert curve_point([ok, leak], 0.98, {"total": 0.9}).auto_documents == 2  # per-field threshold wins
