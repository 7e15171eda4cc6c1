"""`docpipe train`, `docpipe eval extract`, `docpipe extract run`, `docpipe models list`.

Training/export need the `train` extra (torch); evaluation and extraction need only onnxruntime.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli.output import emit, eval_group, fail
from pipeline.datasets import SROIE_ROOT

DEFAULT_WORK = Path(".docpipe/train")


def _model(spec: str | None, path: Path | None) -> Any:
    from pipeline.extract.registry import (
        DEFAULT_MODEL,
        ModelIntegrityError,
        ModelNotFound,
        load_local,
        resolve,
    )

    try:
        if path is not None:
            return load_local(path)
        name, _, version = (spec or DEFAULT_MODEL).partition(":")
        return resolve(name, version or None)
    except (ModelNotFound, ModelIntegrityError) as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    eval_app = eval_group(app)
    models_app = typer.Typer(help="The local model registry.", no_args_is_help=True)
    extract_app = typer.Typer(help="Run the extractor outside the pipeline.", no_args_is_help=True)
    app.add_typer(models_app, name="models")
    app.add_typer(extract_app, name="extract")

    @app.command("train")
    def train_cmd(
        work: Annotated[
            Path, typer.Option(help="Working folder for weights, exports and reports.")
        ] = DEFAULT_WORK,
        epochs: Annotated[
            float, typer.Option(help="Passes over the training examples (fixed step count).")
        ] = 1.35,
        seed: Annotated[int, typer.Option()] = 13,
        max_minutes: Annotated[float, typer.Option(help="Safety cap on wall time (recorded if hit).")] = 40.0,
        from_feedback: Annotated[
            Path | None,
            typer.Option(
                "--from-feedback", help="Feedback JSONL: fine-tune the current model on corrections."
            ),
        ] = None,
        publish_version: Annotated[
            str | None,
            typer.Option("--publish", help="Publish into the packaged registry under this version."),
        ] = None,
        sroie: Annotated[Path, typer.Option(help="SROIE folder (box/, key/, img/).")] = Path(
            str(SROIE_ROOT)
        ),
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Fine-tune the QA extractor (SROIE 000-399 [+ feedback]); export, evaluate on 400-499."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
        try:
            import torch  # noqa: F401
        except ImportError:
            fail("training needs the 'train' extra (pip install 'docpipe[train]')")
        from pipeline.extract.pipeline_train import train_and_release

        try:
            report = train_and_release(
                work=work,
                epochs=epochs,
                seed=seed,
                max_minutes=max_minutes,
                feedback=from_feedback,
                publish_version=publish_version,
                root=sroie,
            )
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
        emit(report, as_json, human=json.dumps(report, indent=2, default=str))

    @eval_app.command("extract")
    def eval_extract(
        model: Annotated[str | None, typer.Option(help="name[:version] in the packaged registry.")] = None,
        path: Annotated[Path | None, typer.Option(help="A local model folder instead.")] = None,
        sroie: Annotated[Path, typer.Option()] = SROIE_ROOT,
        limit: Annotated[int | None, typer.Option(help="Only the first N validation receipts.")] = None,
        threads: Annotated[int, typer.Option()] = 2,
        report: Annotated[Path | None, typer.Option(help="Write per-field records here (JSON).")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Exact match, ECE, gate precision/pass rate and CPU-seconds per receipt on SROIE 400-499."""
        from pipeline.extract.release import evaluate_variant, unseen_vendor_ids
        from pipeline.extract.sroie import VAL_IDS, load_split

        entry = _model(model, path)
        if not (sroie / "key").is_dir():
            fail(f"{sroie}: not a SROIE folder (needs box/ and key/)")
        docs = load_split(sroie, VAL_IDS[:limit] if limit else VAL_IDS)
        res = evaluate_variant(
            entry.onnx_path,
            entry.tokenizer_path,
            docs,
            unseen_vendor_ids(sroie),
            threads,
            base_card=entry.card,
        )
        out = {
            "model": entry.ref.model_dump(),
            "docs": len(docs),
            "timing": res["timing"],
            "validation": res["summary"],
            "validation_unseen_vendor": res["summary_unseen_vendor"],
        }
        if report:
            from pipeline.extract.evaluate import records_json

            report.write_text(
                json.dumps(out | {"records": records_json(res["records"])}, indent=1, default=str)
            )
        if as_json:
            emit(out, True)
            return
        lines = [
            f"model {entry.name} v{entry.version} ({entry.ref.variant}), {len(docs)} receipts, "
            f"{res['timing']['cpu_s_per_doc']:.3f} CPU-s/receipt"
        ]
        for label, summ in (("all", res["summary"]), ("unseen vendors", res["summary_unseen_vendor"])):
            lines.append(f"[{label}: {summ['docs']} receipts, ECE {summ['ece_all']:.3f}]")
            for f, m in summ["fields"].items():
                g = m["gate"]["0.9"]
                prec = "n/a" if g["precision"] is None else f"{g['precision']:.3f}"
                lines.append(
                    f"  {f:18s} EM {m['exact_match']:.3f}  ECE {m['ece']:.3f}  "
                    f"gate@0.9 pass {g['pass_rate']:.2f} precision {prec}"
                )
        emit(out, False, human="\n".join(lines))

    @models_app.command("list")
    def models_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Models shipped in the packaged registry."""
        from pipeline.extract.registry import list_models

        rows = [
            {
                "name": e.name,
                "version": e.version,
                "variant": e.ref.variant,
                "checksum": e.ref.checksum,
                "path": str(e.path),
            }
            for e in list_models()
        ]
        emit(
            rows,
            as_json,
            human="\n".join(
                f"{r['name']} {r['version']} {r['variant']} {str(r['checksum'])[:12]}" for r in rows
            )
            or "no models",
        )

    @models_app.command("release")
    def models_release(
        weights: Annotated[Path, typer.Argument(help="Trained weights folder (from `docpipe train`).")],
        version: Annotated[str, typer.Option(help="Version to publish in the packaged registry.")],
        work: Annotated[
            Path, typer.Option(help="Folder for exports and the evaluation report.")
        ] = DEFAULT_WORK,
        sroie: Annotated[Path, typer.Option()] = SROIE_ROOT,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Export fp32/optimized/int8 variants, evaluate each on SROIE 400-499, publish the fastest within
        1 point of fp32."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
        if not (weights / "config.json").is_file():
            fail(f"{weights}: not a trained weights folder (no config.json)")
        try:
            import torch  # noqa: F401
        except ImportError:
            fail("export needs the 'train' extra (pip install 'docpipe[train]')")
        from pipeline.extract.pipeline_train import release

        report = release(weights, work, version, root=sroie)
        emit(report, as_json, human=json.dumps(report, indent=2, default=str))

    @extract_app.command("run")
    def extract_run(
        ocr_json: Annotated[Path, typer.Argument(help="An OcrResult JSON file (payload of docs.ocr).")],
        model: Annotated[str | None, typer.Option()] = None,
        path: Annotated[Path | None, typer.Option()] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Extract fields from one OCR result and print the Extraction."""
        from pydantic import ValidationError

        from pipeline.contracts import OcrResult
        from pipeline.extract.qa import Extractor
        from pipeline.extract.stage import extract_one
        from pipeline.runtime.errors import PermanentError

        try:
            ocr = OcrResult.model_validate_json(ocr_json.read_bytes())
        except FileNotFoundError:
            fail(f"{ocr_json}: no such file")
        except ValidationError as exc:
            fail(f"{ocr_json}: not an OcrResult ({exc.error_count()} error(s))")
        try:
            result = extract_one(Extractor(_model(model, path)), ocr)
        except PermanentError as exc:
            fail(str(exc))
        if as_json:
            emit(json.loads(result.model_dump_json()), True)
            return
        lines = [f"{result.kind} prompts {result.prompt_set.name} v{result.prompt_set.version}"]
        for f in result.fields.values():
            lines.append(f"  {f.name:18s} {f.status:6s} {f.confidence:.2f}  {f.value or ''}")
        emit(None, False, human="\n".join(lines))
