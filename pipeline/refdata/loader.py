"""Load reference data from CSV files (format in docs/normalize-gate.md) in one transaction.

Every row is validated first; any bad row (reported as file:line: reason) aborts the whole load, so
the database never holds half a vendor master. Rows are upserts: loading the same files twice is a no-op.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipeline.normalize.ids import normalize_iban, normalize_tax_id
from pipeline.normalize.locales import canonical_locale, iso_currencies
from pipeline.normalize.po import po_key
from pipeline.refdata.models import GoodsReceipt, POLine, PurchaseOrder, Vendor, VendorBankAccount

FILES: dict[str, tuple[str, ...]] = {
    "vendors.csv": (
        "vendor_id",
        "name",
        "aliases",
        "country",
        "locale",
        "currency",
        "tax_id",
        "iban",
        "active",
    ),
    "purchase_orders.csv": ("po_number", "vendor_id", "currency", "order_date", "status"),
    "po_lines.csv": ("po_number", "line_no", "sku", "description", "quantity", "unit_price", "need_by_date"),
    "goods_receipts.csv": ("gr_number", "po_number", "line_no", "quantity_received", "received_date"),
}
MAX_ERRORS = 50


class RefDataLoadError(Exception):
    """Bad reference data; `errors` lists 'file:line: reason' (nothing was written)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}" if errors else "reference data rejected")


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=dict)


class _RowError(ValueError):
    pass


def _req(row: dict[str, str], col: str) -> str:
    value = (row.get(col) or "").strip()
    if not value:
        raise _RowError(f"{col} is required")
    return value


def _opt(row: dict[str, str], col: str) -> str | None:
    value = (row.get(col) or "").strip()
    return value or None


def _decimal(row: dict[str, str], col: str, *, positive: bool = False) -> Decimal:
    text = _req(row, col)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _RowError(f"{col} {text!r} is not a plain decimal (use '.' and no grouping)") from None
    if not value.is_finite() or (positive and value < 0):
        raise _RowError(f"{col} {text!r} must be a finite non-negative number")
    return value


def _date(row: dict[str, str], col: str) -> date | None:
    text = _opt(row, col)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _RowError(f"{col} {text!r} is not an ISO date (YYYY-MM-DD)") from None


def _currency(row: dict[str, str], col: str, required: bool) -> str | None:
    text = _req(row, col) if required else _opt(row, col)
    if text is not None and text.upper() not in iso_currencies():
        raise _RowError(f"{col} {text!r} is not an ISO 4217 code")
    return text.upper() if text else None


def _bool(row: dict[str, str], col: str) -> bool:
    text = (_opt(row, col) or "true").lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise _RowError(f"{col} {text!r} must be true or false")
    return text in ("true", "1", "yes")


def _read(path: Path, columns: tuple[str, ...], errors: list[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = tuple(h.strip() for h in (reader.fieldnames or ()))
            missing = [c for c in columns if c not in header]
            if missing:
                errors.append(f"{path.name}:1: missing column(s) {', '.join(missing)}")
                return []
            return [(reader.line_num, {k.strip(): v for k, v in row.items() if k}) for row in reader]
    except UnicodeDecodeError:
        errors.append(f"{path.name}: not UTF-8 text")
    except csv.Error as exc:
        errors.append(f"{path.name}: CSV error: {exc}")
    return []


def _vendor(row: dict[str, str]) -> dict[str, Any]:
    country = _opt(row, "country")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise _RowError(f"country {country!r} must be an ISO 3166 alpha-2 code")
    locale = _opt(row, "locale")
    if locale is not None and canonical_locale(locale) is None:
        raise _RowError(f"locale {locale!r} is not a known locale (e.g. de_DE)")
    tax_id = _opt(row, "tax_id")
    if tax_id is not None:
        res = normalize_tax_id(tax_id, country)
        if not res.valid:
            raise _RowError(f"tax_id: {'; '.join(res.notes)}")
    ibans = []
    for raw in (_opt(row, "iban") or "").split("|"):
        if raw.strip():
            res = normalize_iban(raw)
            if not res.valid or res.value is None:
                raise _RowError(f"iban: {'; '.join(res.notes)}")
            ibans.append(res.value)
    return {
        "vendor_id": _req(row, "vendor_id"),
        "name": _req(row, "name"),
        "aliases": "|".join(a.strip() for a in (_opt(row, "aliases") or "").split("|") if a.strip()),
        "country": country.upper() if country else None,
        "locale": canonical_locale(locale) if locale else None,
        "currency": _currency(row, "currency", False),
        "tax_id": tax_id,
        "active": _bool(row, "active"),
        "ibans": sorted(set(ibans)),
    }


def load_dir(directory: Path, engine: Engine) -> LoadReport:
    """Validate and upsert every CSV in `directory` in ONE transaction; on any bad row raise
    RefDataLoadError and write nothing."""
    with Session(engine) as session, session.begin():
        return _load(directory, session)


def _load(directory: Path, session: Session) -> LoadReport:
    if not directory.is_dir():
        raise RefDataLoadError([f"{directory}: not a directory"])
    if not (directory / "vendors.csv").exists():
        raise RefDataLoadError([f"{directory}: vendors.csv is required"])
    errors: list[str] = []
    rows = {
        name: _read(directory / name, cols, errors) if (directory / name).exists() else []
        for name, cols in FILES.items()
    }

    def parse(name: str, fn: Any) -> list[dict[str, Any]]:
        out = []
        for line, row in rows[name]:
            try:
                out.append({**fn(row), "_line": line})
            except _RowError as exc:
                errors.append(f"{name}:{line}: {exc}")
        return out

    vendors = parse("vendors.csv", _vendor)
    pos = parse(
        "purchase_orders.csv",
        lambda r: {
            "po_number": _req(r, "po_number"),
            "vendor_id": _req(r, "vendor_id"),
            "currency": _currency(r, "currency", True),
            "order_date": _date(r, "order_date"),
            "status": (_opt(r, "status") or "open").lower(),
        },
    )
    lines = parse(
        "po_lines.csv",
        lambda r: {
            "po_number": _req(r, "po_number"),
            "line_no": _int(r, "line_no"),
            "sku": _opt(r, "sku"),
            "description": _opt(r, "description"),
            "quantity": _decimal(r, "quantity", positive=True),
            "unit_price": _decimal(r, "unit_price", positive=True),
            "need_by_date": _date(r, "need_by_date"),
        },
    )
    receipts = parse(
        "goods_receipts.csv",
        lambda r: {
            "gr_number": _req(r, "gr_number"),
            "po_number": _req(r, "po_number"),
            "line_no": _int(r, "line_no"),
            "quantity_received": _decimal(r, "quantity_received", positive=True),
            "received_date": _date(r, "received_date"),
        },
    )

    _check_keys(vendors, ("vendor_id",), "vendors.csv", errors)
    _check_keys(pos, ("po_number",), "purchase_orders.csv", errors)
    _check_keys(lines, ("po_number", "line_no"), "po_lines.csv", errors)
    _check_keys(receipts, ("gr_number", "po_number", "line_no"), "goods_receipts.csv", errors)
    known_vendors = {v["vendor_id"] for v in vendors} | set(session.scalars(select(Vendor.vendor_id)))
    for po in pos:
        if po["vendor_id"] not in known_vendors:
            errors.append(f"purchase_orders.csv:{po['_line']}: unknown vendor_id {po['vendor_id']!r}")
    known_pos = {p["po_number"] for p in pos} | set(session.scalars(select(PurchaseOrder.po_number)))
    for ln in lines:
        if ln["po_number"] not in known_pos:
            errors.append(f"po_lines.csv:{ln['_line']}: unknown po_number {ln['po_number']!r}")
    known_lines = {(ln["po_number"], ln["line_no"]) for ln in lines} | {
        (row[0], row[1]) for row in session.execute(select(POLine.po_number, POLine.line_no))
    }
    for gr in receipts:
        if (gr["po_number"], gr["line_no"]) not in known_lines:
            errors.append(f"goods_receipts.csv:{gr['_line']}: no PO line {gr['po_number']!r}/{gr['line_no']}")
    if errors:
        raise RefDataLoadError(errors[:MAX_ERRORS])
    try:
        _write(session, vendors, pos, lines, receipts)
    except SQLAlchemyError as exc:  # constraint violations etc.: the caller's transaction rolls back
        raise RefDataLoadError(
            [f"{directory}: database rejected the load: {exc.__class__.__name__}"]
        ) from exc
    return LoadReport(
        counts={
            "vendors": len(vendors),
            "purchase_orders": len(pos),
            "po_lines": len(lines),
            "goods_receipts": len(receipts),
        }
    )


def _int(row: dict[str, str], col: str) -> int:
    text = _req(row, col)
    if not text.isdigit():
        raise _RowError(f"{col} {text!r} must be a positive integer")
    return int(text)


def _check_keys(items: list[dict[str, Any]], key: tuple[str, ...], name: str, errors: list[str]) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for item in items:
        k = tuple(item[c] for c in key)
        if k in seen:
            errors.append(f"{name}:{item['_line']}: duplicate {'/'.join(key)} (first on line {seen[k]})")
        else:
            seen[k] = item["_line"]


def _clean(d: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "_line" and k not in drop}


def _write(
    session: Session,
    vendors: list[dict[str, Any]],
    pos: list[dict[str, Any]],
    lines: list[dict[str, Any]],
    receipts: list[dict[str, Any]],
) -> None:
    for v in vendors:
        session.merge(Vendor(**_clean(v, "ibans")))
        session.execute(delete(VendorBankAccount).where(VendorBankAccount.vendor_id == v["vendor_id"]))
        for iban in v["ibans"]:
            session.add(VendorBankAccount(vendor_id=v["vendor_id"], iban=iban))
    session.flush()
    for p in pos:
        session.merge(PurchaseOrder(**_clean(p), po_key=po_key(p["po_number"])))
    session.flush()
    replaced = {ln["po_number"] for ln in lines}
    for number in sorted(replaced):
        session.execute(delete(GoodsReceipt).where(GoodsReceipt.po_number == number))
        session.execute(delete(POLine).where(POLine.po_number == number))
    session.flush()
    for ln in lines:
        session.add(POLine(**_clean(ln)))
    session.flush()
    for gr in receipts:
        session.merge(GoodsReceipt(**_clean(gr)))
    session.flush()
