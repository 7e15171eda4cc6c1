"""`docpipe bench extract`: micro-batching throughput and latency on a real encoder (JSON + PNG)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli.output import bench_group, emit, fail
from pipeline.config import get_settings
from pipeline.inference.sroie import DEFAULT_ROOT


def evaluate(result: dict[str, Any], delay_ms: float) -> dict[str, Any]:
    """The issue's targets, checked on one model variant's results."""
    sat = {r["config"]: r for r in result["saturation"]}
    speedup = sat["batched-bucketed"]["sequences_per_s"] / sat["batch1"]["sequences_per_s"]
    lone = result["lone"]
    lone_budget = delay_ms + lone["direct_one_inference"]["p50_ms"]
    half = next(
        (r for r in result["sweep"] if r["config"] == "batched-bucketed" and r["fraction"] == 0.5), None
    )
    out: dict[str, Any] = {
        "batching_speedup_at_saturation": round(speedup, 2),
        "speedup_target": 1.5,
        "speedup_ok": speedup >= 1.5,
        "lone_p50_ms": lone["p50_ms"],
        "lone_budget_ms": round(lone_budget, 1),
        "lone_ok": lone["p50_ms"] <= lone_budget,
    }
    if half is not None:
        out.update(
            {
                "p95_at_half_saturation_ms": half["p95_ms"],
                "p95_budget_ms": round(2 * lone["p50_ms"], 1),
                "p95_ok": half["p95_ms"] <= 2 * lone["p50_ms"],
            }
        )
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = results["variants"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    configs = [r["config"] for r in next(iter(variants.values()))["saturation"]]
    width = 0.8 / max(1, len(variants))
    for k, (name, res) in enumerate(variants.items()):
        vals = [r["sequences_per_s"] for r in res["saturation"]]
        ax1.bar([i + k * width for i in range(len(configs))], vals, width, label=name)
    ax1.set_xticks([i + width * (len(variants) - 1) / 2 for i in range(len(configs))], configs)
    ax1.set_ylabel("sequences/s at saturation")
    ax1.set_title("Throughput (same run)")
    ax1.legend()
    for name, res in variants.items():
        for conf, style in (("batched-bucketed", "-o"), ("batch1", "--x")):
            pts = [r for r in res["sweep"] if r["config"] == conf]
            if pts:
                ax2.plot(
                    [r["offered_docs_per_s"] for r in pts],
                    [r["p95_ms"] for r in pts],
                    style,
                    label=f"{name} {conf}",
                )
    ax2.set_xlabel("offered load (documents/s)")
    ax2.set_ylabel("p95 document latency (ms)")
    ax2.set_yscale("log")
    ax2.set_title("Latency under offered load")
    if ax2.get_legend_handles_labels()[0]:
        ax2.legend(fontsize=8)
    fig.suptitle(
        f"docpipe bench extract — {results['machine']['cpu']} ({results['machine']['cores']} cores), "
        f"{results['date'][:10]}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def register(app: typer.Typer) -> None:
    @bench_group(app).command("extract")
    def bench_extract(
        model: Annotated[
            list[Path] | None,
            typer.Option(
                "--model",
                help="Model folder (model.onnx + tokenizer.json), repeatable; default: MiniLM-L6 QA "
                "exported as fp32 and int8.",
            ),
        ] = None,
        document_model: str | None = typer.Option(
            None, help="module:function building the DocumentModel (default inference.document_model)."
        ),
        docs: int = typer.Option(48, help="Documents per saturation run."),
        lone: int = typer.Option(8, help="Documents run one at a time (unloaded latency)."),
        sweep: str = typer.Option("0.25,0.5,0.75,0.9", help="Offered load as fractions of saturation."),
        sweep_docs: int = typer.Option(40, help="Documents per offered-load level."),
        sweep_variants: str = typer.Option(
            "int8", help="Variants (model folder names containing this) swept; 'all' for every model."
        ),
        long: int = typer.Option(0, help="Long run of this many documents for RSS (e.g. 10000); 0 = skip."),
        long_only: bool = typer.Option(False, help="Only the long run (with the last --model)."),
        max_batch: int | None = typer.Option(None, help="max_batch_size (default from settings)."),
        delay_ms: float | None = typer.Option(None, help="max_queue_delay_ms (default from settings)."),
        data: Annotated[Path, typer.Option(help="SROIE folder (box/*.csv).")] = DEFAULT_ROOT,
        out: Annotated[Path, typer.Option(help="JSON results file.")] = Path("docs/bench/extract.json"),
        png: Annotated[Path, typer.Option(help="Plot.")] = Path("docs/img/bench-extract.png"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Throughput (sequences/s, documents/s) and p50/p95/p99 latency: batching on vs off in the same
        run, length bucketing on vs off, fp32 vs int8, offered load from low to saturation."""
        from pipeline.inference.bench import Config, Runner, machine, rss_mb
        from pipeline.inference.sroie import load_receipts
        from pipeline.inference.stage import build_model

        logging.basicConfig(level=logging.WARNING)
        settings = get_settings()
        cfg = settings.inference.model_copy(
            update={
                k: v
                for k, v in (("max_batch_size", max_batch), ("max_queue_delay_ms", delay_ms))
                if v is not None
            }
        )
        if not model:
            try:
                from pipeline.inference.export import export_minilm_qa

                paths = export_minilm_qa()
            except ImportError as exc:
                fail(
                    f"no --model given and cannot export MiniLM ({exc.name} missing; install the train extra)"
                )
            model = [paths["fp32"], paths["int8"]]
        try:
            corpus = load_receipts(data)
        except FileNotFoundError as exc:
            fail(str(exc))
        configs = [
            Config("batched-bucketed", cfg.max_batch_size, True),
            Config("batched-fifo", cfg.max_batch_size, False),
            Config("batch1", 1, False),
        ]
        fractions = [float(f) for f in sweep.split(",") if f.strip()]
        results: dict[str, Any] = {
            "date": datetime.now(UTC).isoformat(),
            "machine": machine(),
            "settings": {
                "max_batch_size": cfg.max_batch_size,
                "max_queue_delay_ms": cfg.max_queue_delay_ms,
                "max_seq_len": cfg.max_seq_len,
                "doc_stride": cfg.doc_stride,
            },
            "corpus": {"docs": len(corpus), "source": str(data)},
            "variants": {},
        }

        def say(msg: str) -> None:
            if not as_json:
                typer.echo(msg, err=True)

        for path in model if not long_only else []:
            s = settings.model_copy(update={"inference": cfg.model_copy(update={"model_path": path})})
            if document_model:
                s = s.model_copy(
                    update={"inference": s.inference.model_copy(update={"document_model": document_model})}
                )
            t0 = time.perf_counter()
            try:
                doc_model = build_model(s)
            except (FileNotFoundError, ValueError, ImportError) as exc:
                fail(f"cannot load {path}: {exc}")
            name = path.name
            say(f"[{name}] loaded and warmed up in {time.perf_counter() - t0:.1f}s; rss {rss_mb()} MB")
            runner = Runner(doc_model, cfg, corpus, name)
            res: dict[str, Any] = {"model": str(path), "saturation": [], "sweep": []}
            windows = [len(doc_model.prepare(d)) for d in corpus[:50]]
            res["windows_per_doc_mean"] = round(sum(windows) / len(windows), 2)
            for conf in configs:
                r = runner.saturation(conf, docs)
                res["saturation"].append(r)
                say(
                    f"[{name}] saturation {conf.name}: {r['docs_per_s']} docs/s, "
                    f"{r['sequences_per_s']} seq/s, "
                    f"mean batch {r['mean_batch_size']}, padding {r['padding_ratio']}"
                )
            res["lone"] = runner.lone(configs[0], lone)
            say(
                f"[{name}] lone document: p50 {res['lone']['p50_ms']} ms (direct one inference "
                f"{res['lone']['direct_one_inference']['p50_ms']} ms, delay {cfg.max_queue_delay_ms} ms)"
            )
            if sweep_variants == "all" or sweep_variants in name:
                sat_rate = res["saturation"][0]["docs_per_s"]
                for conf in (configs[0], configs[2]):
                    for f in fractions:
                        r = runner.offered(conf, f * sat_rate, sweep_docs)
                        r["fraction"] = f
                        res["sweep"].append(r)
                        say(
                            f"[{name}] {conf.name} offered {r['offered_docs_per_s']} docs/s ({f:.0%}): "
                            f"achieved {r['achieved_docs_per_s']}, p50 {r['p50_ms']} p95 {r['p95_ms']} "
                            f"p99 {r['p99_ms']} ms"
                        )
            res["targets"] = evaluate(res, cfg.max_queue_delay_ms)
            results["variants"][name] = res
        if long:
            last = model[-1]
            if long_only:
                doc_model = build_model(
                    settings.model_copy(update={"inference": cfg.model_copy(update={"model_path": last})})
                )
            say(f"[{last.name}] long run: {long} documents")
            runner = Runner(doc_model, cfg, corpus, last.name)
            results["long"] = runner.long(
                configs[0],
                long,
                backlog=max(8, cfg.queue_high_watermark // 6),
                progress=lambda n, mb: say(f"  {n} docs, rss {mb} MB"),
            )
        results["machine"]["loadavg_1m_end"] = machine()["loadavg_1m"]
        if long_only and out.is_file():  # add the long run to the existing results file
            merged = json.loads(out.read_text())
            merged["long"] = {**results["long"], "date": results["date"], "machine": results["machine"]}
            results = merged
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        if results["variants"]:
            plot(results, png)
        summary: dict[str, Any] = {name: res["targets"] for name, res in results["variants"].items()}
        if "long" in results:
            summary["long"] = {k: v for k, v in results["long"].items() if k != "rss_mb_series"}
        emit(results if as_json else summary, as_json)
        say(f"results: {out}, plot: {png}")
