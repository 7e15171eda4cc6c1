"""`docpipe eval gate [FILE] [--samples DIR] [--sroie]`: calibrate the gate's confidence threshold on
labelled documents, from saved extractions or by running the real OCR + extraction stages first."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline.cli.output import emit, eval_group, fail

if TYPE_CHECKING:
    from pipeline.gate.evaluate import EvalReport, History
    from pipeline.gate.policy import Policy
    from pipeline.refdata.snapshot import RefSnapshot


def _parse_ids(spec: str) -> list[str]:
    """'400-499' or '400,401,410-412' -> zero-padded SROIE ids."""
    out: list[str] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        out.extend(f"{i:03d}" for i in range(int(lo), int(hi or lo) + 1))
    return out


def _run_stages(
    samples: Path | None, sroie: Path | None, ids: list[str], out: Path, settings: Any, ocr_cache: Path | None
) -> int:
    """OCR + extraction of every corpus document into `out` (JSONL); returns the number of lines."""
    from pipeline.gate.corpus import extract_items, real_stages, sample_items, sroie_items

    items = [*(sample_items(samples) if samples else ()), *(sroie_items(sroie, ids) if sroie else ())]
    read, extract = real_stages(settings, ocr_cache)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for line in extract_items(items, read, extract):
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            n += 1
            typer.echo(f"\rOCR + extraction: {n}/{len(items)}", err=True, nl=n == len(items))
    return n


@contextmanager
def _refdata_db(directory: Path, policy: Policy) -> Iterator[tuple[RefSnapshot, History]]:
    """The CSV reference data in a throw-away SQLite database, and the gate's record/claim/billing on it
    (duplicates and earlier billing count, in input order, exactly as the stage records them)."""
    from pipeline.db import make_engine, migrate
    from pipeline.gate.stage import gate_record
    from pipeline.refdata.loader import RefDataLoadError, load_dir
    from pipeline.refdata.repository import RefDataRepository

    with tempfile.TemporaryDirectory(prefix="docpipe-eval-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'eval.db'}"
        migrate(url)
        engine = make_engine(url)
        try:
            load_dir(directory, engine)
        except RefDataLoadError as exc:
            fail(f"{directory}: {exc}")
        repo = RefDataRepository(engine)
        try:
            yield repo.snapshot(), lambda doc_id, doc, po: repo.record_and_claim(gate_record(doc_id, doc, po, policy))
        finally:
            engine.dispose()


def _human(report: EvalReport, target: float, png: Path) -> str:
    c = report.chosen
    lines = [
        f"documents: {report.documents} (skipped lines: {len(report.skipped)}, "
        f"rejected by OCR/extraction: {len(report.errors)})",
        f"rules: {', '.join(report.rules)}",
    ]
    if c is None:
        lines.append(f"no threshold reaches precision {target} on this data: keep documents with a person")
    else:
        lines.append(
            f"chosen threshold {c.threshold}: straight-through {c.straight_through:.1%}, "
            f"field precision {c.field_precision} (95% lower bound {c.field_precision_lower95}), "
            f"document precision {c.document_precision}, {c.auto_documents} auto-approved"
        )
    t = report.breakdown_threshold
    for src, s in report.by_source.items():
        lines.append(
            f"  {src}: {s['documents']} documents, straight-through {s['straight_through']:.1%} at t={t}, "
            f"field precision {s['field_precision']}, must-stop let through {s['must_stop_auto']}, "
            f"values missed on auto-approved documents {s['auto_missed_fields']}"
        )
    if report.blocking:
        lines.append(
            f"rules stopping documents at t={t} (documents / only reason): "
            + ", ".join(f"{r} {v['documents']}/{v['only_reason']}" for r, v in report.blocking.items())
        )
    if report.low_fields:
        lines.append("low-confidence fields: " + ", ".join(f"{k} {v}" for k, v in report.low_fields.items()))
    if report.field_errors:
        lines.append("field errors: " + ", ".join(f"{k} {v}" for k, v in report.field_errors.items()))
    lines.append(f"plot: {png}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    grp = eval_group(app)

    @grp.command("gate")
    def eval_gate(
        file: Annotated[
            Path | None, typer.Argument(help='JSONL of {"extraction": {...}, "truth": {...}} lines.')
        ] = None,
        samples: Annotated[
            Path | None,
            typer.Option(help="Generated sample set (manifest.json, truth/, refdata/): run OCR + extraction."),
        ] = None,
        sroie: Annotated[bool, typer.Option("--sroie", help="Also run OCR + extraction on SROIE receipts.")] = False,
        sroie_ids: Annotated[str, typer.Option(help="SROIE ids, e.g. 400-499 (validation split).")] = "400-499",
        sroie_dir: Annotated[Path | None, typer.Option(help="SROIE folder (default: shared data).")] = None,
        save: Annotated[
            Path | None,
            typer.Option(help="Where OCR + extraction output goes (default <home>/eval/gate_extractions.jsonl)."),
        ] = None,
        ocr_cache: Annotated[
            Path | None,
            typer.Option(help="Keep OCR results here (re-measuring a new extraction model skips OCR)."),
        ] = None,
        refdata: Annotated[
            Path | None,
            typer.Option(
                help="Reference CSVs in a throw-away database; every rule runs, duplicates included "
                "(default: SAMPLES/refdata)."
            ),
        ] = None,
        policy_path: Annotated[Path | None, typer.Option("--policy", help="Policy YAML (default: settings).")] = None,
        locale: str | None = typer.Option(None, help="Locale for documents of unknown vendors (e.g. en_MY)."),
        today: str | None = typer.Option(None, help="YYYY-MM-DD: also check date windows against this day."),
        use_db: bool = typer.Option(
            False, "--db", help="Use reference data from the database and run every rule except duplicates."
        ),
        target: float = typer.Option(0.995, help="Precision the chosen threshold must reach."),
        limit: int | None = typer.Option(None, help="Only the first N lines."),
        plot: Annotated[Path | None, typer.Option(help="PNG path (default <home>/eval/gate_curve.png).")] = None,
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Precision of auto-approved fields/documents and straight-through rate across thresholds."""
        from pipeline.config import get_settings
        from pipeline.datasets import sroie_root
        from pipeline.gate.evaluate import INTRINSIC_RULES, plot_curve, read_jsonl, run_eval
        from pipeline.gate.policy import PolicyError, load_policy
        from pipeline.normalize.config import NormalizeConfig
        from pipeline.refdata.snapshot import RefSnapshot

        settings = get_settings()
        if file is None and samples is None and not sroie:
            fail("give a JSONL file, --samples DIR and/or --sroie")
        if file is not None and not file.is_file():
            fail(f"{file}: no such file")
        if samples is not None and not (samples / "manifest.json").is_file():
            fail(f"{samples}: not a sample set (no manifest.json)")
        root = sroie_dir or sroie_root()
        if sroie and not (root / "key").is_dir():
            fail(f"{root}: no SROIE data (key/, img/); set --sroie-dir or DOCPIPE_SROIE_DIR")
        try:
            ids = _parse_ids(sroie_ids)
        except ValueError:
            fail(f"--sroie-ids {sroie_ids!r} is not like 400-499")
        try:
            policy = load_policy(policy_path or settings.gate_policy)
        except PolicyError as exc:
            fail(str(exc))
        try:
            day = date.fromisoformat(today) if today else date.today()
        except ValueError:
            fail(f"--today {today!r} is not YYYY-MM-DD")

        rows, skipped = read_jsonl(file, limit) if file else ([], [])
        if samples is not None or sroie:
            out = save or settings.home / "eval" / "gate_extractions.jsonl"
            _run_stages(samples, root if sroie else None, ids, out, settings, ocr_cache)
            more, more_skipped = read_jsonl(out, limit)
            rows, skipped = rows + more, skipped + more_skipped
        if not rows:
            fail("no usable lines" + (f" ({skipped[0]})" if skipped else ""))

        window = {"dates.window"} if today else set()
        rules = set(INTRINSIC_RULES) | window
        all_rules = {r.rule.id for r in policy.rules} - ({"dates.window"} - window)
        cfg = NormalizeConfig(default_locale=locale or settings.default_locale)
        refdir = refdata or (samples / "refdata" if samples is not None else None)
        if refdir is not None:
            with _refdata_db(refdir, policy) as (ref, history):
                report = run_eval(rows, policy, ref, cfg, day, rules=all_rules, target=target, history=history)
        else:
            ref = RefSnapshot()
            if use_db:
                from sqlalchemy.exc import SQLAlchemyError

                from pipeline.db import make_engine
                from pipeline.refdata.repository import RefDataRepository

                try:
                    ref = RefDataRepository(make_engine(settings.db_url)).snapshot()
                except SQLAlchemyError as exc:
                    fail(f"reference data unavailable: {exc.__class__.__name__}")
                rules = all_rules - {"duplicates.invoice"}
            report = run_eval(rows, policy, ref, cfg, day, rules=rules, target=target)
        report.skipped = skipped
        png = plot_curve(report, plot or settings.home / "eval" / "gate_curve.png")
        data = {**report.as_dict(), "plot": str(png), "policy": policy.ref.model_dump()}
        emit(data, as_json, _human(report, target, png))
