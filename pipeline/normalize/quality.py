"""Data quality over normalized records with great-expectations: null rates, ranges, formats, currency set,
date windows. A failing expectation is reported (and exported as a metric), never fatal.

Records are flattened to one row per document; amounts become floats *only* for these statistics.
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.contracts import NormalizedDocument

SUITE_NAME = "normalized_documents"
DEFAULT_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "MYR", "SGD")


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    observed: Any
    unexpected_percent: float | None
    kwargs: dict[str, Any]


@dataclass
class QualityReport:
    records: int
    skipped: list[str] = field(default_factory=list)
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": SUITE_NAME,
            "records": self.records,
            "success": self.success,
            "failed": sum(not o.success for o in self.outcomes),
            "skipped": self.skipped,
            "results": [o.__dict__ for o in self.outcomes],
        }


def read_documents(path: Path, last: int | None = None) -> tuple[list[NormalizedDocument], list[str]]:
    """NormalizedDocuments from JSONL: bare documents, envelopes (payload) or decisions (document)."""
    lines: deque[tuple[int, str]] | list[tuple[int, str]]
    with path.open(encoding="utf-8") as fh:
        numbered = ((n, line) for n, line in enumerate(fh, start=1) if line.strip())
        lines = deque(numbered, maxlen=last) if last else list(numbered)
    docs: list[NormalizedDocument] = []
    skipped: list[str] = []
    for n, line in lines:
        try:
            obj = json.loads(line)
            if isinstance(obj, dict) and isinstance(obj.get("payload"), dict):
                obj = obj["payload"]
            if isinstance(obj, dict) and "blob" not in obj and isinstance(obj.get("document"), dict):
                obj = obj["document"]
            docs.append(NormalizedDocument.model_validate(obj))
        except ValidationError as exc:
            skipped.append(f"{path.name}:{n}: not a NormalizedDocument ({exc.error_count()} error(s))")
        except ValueError as exc:
            skipped.append(f"{path.name}:{n}: {exc.__class__.__name__}")
    return docs, skipped


def _num(doc: NormalizedDocument, name: str) -> float | None:
    f = doc.fields.get(name)
    try:
        return float(f.value) if f is not None and f.value is not None and f.valid else None
    except ValueError:
        return None


def flatten(doc: NormalizedDocument, today: date) -> dict[str, Any]:
    date_field = next((doc.fields[n] for n in ("invoice_date", "date", "issued") if n in doc.fields), None)
    doc_date = date_field.value if date_field is not None and date_field.valid else None
    read = [f for f in doc.fields.values() if f.raw is not None]
    return {
        "kind": doc.kind.value,
        "currency": doc.currency,
        "locale": doc.locale,
        "total": _num(doc, "total"),
        "tax": _num(doc, "tax"),
        "doc_date": doc_date,
        "doc_age_days": (today - date.fromisoformat(doc_date)).days if doc_date else None,
        "iban": doc.fields["iban"].value if "iban" in doc.fields else None,
        "invoice_number": doc.fields["invoice_number"].value if "invoice_number" in doc.fields else None,
        "invalid_fields": sum(not f.valid for f in doc.fields.values()),
        "min_confidence": min((f.confidence for f in read), default=None),
        "vendor_matched": (1.0 if doc.vendor and doc.vendor.vendor_id else 0.0)
        if doc.kind.value == "invoice"
        else None,
        "vendor_score": doc.vendor.score if doc.vendor else None,
    }


def expectations(currencies: tuple[str, ...], max_age_days: int) -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeInSet(column="kind", value_set=["invoice", "receipt", "po_change"]),
        e.ExpectColumnValuesToNotBeNull(column="total", mostly=0.98),
        e.ExpectColumnValuesToNotBeNull(column="doc_date", mostly=0.98),
        e.ExpectColumnValuesToNotBeNull(column="currency", mostly=0.99),
        e.ExpectColumnValuesToBeInSet(column="currency", value_set=list(currencies)),
        e.ExpectColumnValuesToBeBetween(column="total", min_value=-1_000_000, max_value=1_000_000),
        e.ExpectColumnValuesToBeBetween(column="tax", min_value=0, max_value=1_000_000, mostly=0.99),
        e.ExpectColumnValuesToMatchRegex(column="doc_date", regex=r"^\d{4}-\d{2}-\d{2}$"),
        e.ExpectColumnValuesToBeBetween(
            column="doc_age_days", min_value=-1, max_value=max_age_days, mostly=0.95
        ),
        e.ExpectColumnValuesToMatchRegex(column="iban", regex=r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$"),
        e.ExpectColumnValuesToBeBetween(column="min_confidence", min_value=0, max_value=1),
        e.ExpectColumnMeanToBeBetween(column="invalid_fields", min_value=0, max_value=0.25),
        e.ExpectColumnMeanToBeBetween(column="vendor_matched", min_value=0.9, max_value=1.0),
    ]


def run_quality(
    docs: list[NormalizedDocument],
    today: date,
    *,
    currencies: tuple[str, ...] = DEFAULT_CURRENCIES,
    max_age_days: int = 365,
) -> QualityReport:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import pandas as pd

    frame = pd.DataFrame([flatten(d, today) for d in docs])
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # CLI output stays readable
    asset = context.data_sources.add_pandas("docpipe").add_dataframe_asset("normalized")
    batch = asset.add_batch_definition_whole_dataframe("window").get_batch(
        batch_parameters={"dataframe": frame}
    )
    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for exp in expectations(currencies, max_age_days):
        suite.add_expectation(exp)
    result = batch.validate(suite)
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        if cfg is None:
            continue
        kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
        res = r.result or {}
        outcomes.append(
            ExpectationOutcome(
                expectation=cfg.type,
                column=kwargs.get("column"),
                success=bool(r.success),
                observed=res.get("observed_value", res.get("unexpected_count")),
                unexpected_percent=res.get("unexpected_percent"),
                kwargs=kwargs,
            )
        )
    return QualityReport(records=len(docs), outcomes=outcomes)


def prometheus_text(report: QualityReport) -> str:
    """Metrics for the node-exporter textfile collector (or any scraper of text format)."""
    lines = [
        "# HELP docpipe_quality_expectation_success 1 when the expectation holds on the last window.",
        "# TYPE docpipe_quality_expectation_success gauge",
    ]
    for o in report.outcomes:
        lines.append(
            f'docpipe_quality_expectation_success{{suite="{SUITE_NAME}",expectation="{o.expectation}",'
            f'column="{o.column or ""}"}} {int(o.success)}'
        )
    lines += [
        "# HELP docpipe_quality_records Records in the last quality window.",
        "# TYPE docpipe_quality_records gauge",
        f"docpipe_quality_records {report.records}",
    ]
    return "\n".join(lines) + "\n"
