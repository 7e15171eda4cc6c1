"""Queue queries: filters, sorting and keyset pagination that stay fast at 100,000 open items.

Every sort runs on a composite index `(is_open, [primary_reason,] sort column, id)`; the page is
fetched with a row-value comparison `(col, id) > (last col, last id)` so page N costs the same as
page 1 (no OFFSET). Counts per reason are one GROUP BY on the reason index.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session, load_only

from pipeline.review import counts
from pipeline.review.errors import Invalid
from pipeline.review.models import Item, State, User

SORTS: dict[str, Any] = {
    "sla": Item.sla_due_at,
    "received": Item.received_at,
    "amount": Item.amount_key,
    "vendor": Item.vendor_key,
}
SLA_FILTERS = ("", "overdue", "due24h")
STATE_FILTERS = ("", State.OPEN, State.AWAITING_SECOND)
MAX_LIMIT = 200
LIST_COLUMNS = (
    Item.id,
    Item.kind,
    Item.state,
    Item.primary_reason,
    Item.reason_codes,
    Item.vendor_name,
    Item.amount,
    Item.currency,
    Item.received_at,
    Item.sla_due_at,
    Item.claimed_by,
    Item.claim_expires_at,
)


@dataclass(frozen=True)
class QueueQuery:
    reason: str = ""
    vendor: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    min_age_h: float | None = None
    sla: str = ""
    state: str = ""
    sort: str = "sla"
    desc: bool = False
    after: tuple[str, int] | None = None
    limit: int = 50

    def params(self, **override: Any) -> dict[str, str]:
        """Query-string parameters of this query (for links), without the cursor unless given."""
        cursor = override.pop("after", None)
        q = replace(self, after=None, **override)
        out = {
            "reason": q.reason,
            "vendor": q.vendor,
            "sla": q.sla,
            "state": q.state,
            "sort": q.sort,
            "dir": "desc" if q.desc else "asc",
            "amount_min": "" if q.amount_min is None else str(q.amount_min),
            "amount_max": "" if q.amount_max is None else str(q.amount_max),
            "min_age_h": "" if q.min_age_h is None else f"{q.min_age_h:g}",
        }
        if cursor is not None:
            out["after"] = encode_cursor(cursor)
        return {k: v for k, v in out.items() if v != ""}


def encode_cursor(after: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps([after[0], after[1]]).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, int]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if (
            isinstance(raw, list)
            and len(raw) == 2
            and isinstance(raw[0], str)
            and isinstance(raw[1], int)
            and len(raw[0]) <= 300
        ):
            return raw[0], raw[1]
    except (ValueError, UnicodeDecodeError):
        pass
    raise Invalid("The page link is malformed; start again from the first page.")


def _decimal(name: str, text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(f"{name} must be a number.") from None
    if not value.is_finite() or abs(value) >= Decimal("1e13"):
        raise Invalid(f"{name} is out of range.")
    return value


def parse_query(params: dict[str, str], page_size: int) -> QueueQuery:
    """Validate query-string parameters; malformed input raises Invalid with a readable message."""
    sort = params.get("sort", "sla") or "sla"
    if sort not in SORTS:
        raise Invalid(f"Unknown sort {sort[:20]!r}; use one of {', '.join(SORTS)}.")
    direction = params.get("dir", "asc") or "asc"
    if direction not in ("asc", "desc"):
        raise Invalid("Sort direction must be asc or desc.")
    sla = params.get("sla", "")
    if sla not in SLA_FILTERS:
        raise Invalid("Unknown SLA filter.")
    state = params.get("state", "")
    if state not in STATE_FILTERS:
        raise Invalid("Unknown state filter.")
    age_text = params.get("min_age_h", "")
    try:
        min_age = float(age_text) if age_text else None
    except ValueError:
        raise Invalid("Minimum age must be a number of hours.") from None
    if min_age is not None and not 0 <= min_age <= 24 * 365 * 10:
        raise Invalid("Minimum age is out of range.")
    after_text = params.get("after", "")
    return QueueQuery(
        reason=params.get("reason", "")[:128],
        vendor=params.get("vendor", "").strip()[:100],
        amount_min=_decimal("Minimum amount", params.get("amount_min", "")),
        amount_max=_decimal("Maximum amount", params.get("amount_max", "")),
        min_age_h=min_age,
        sla=sla,
        state=state,
        sort=sort,
        desc=direction == "desc",
        after=decode_cursor(after_text) if after_text else None,
        limit=min(page_size, MAX_LIMIT),
    )


def _cursor_value(sort: str, text: str) -> Any:
    try:
        if sort in ("sla", "received"):
            value = datetime.fromisoformat(text)
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if sort == "amount":
            return Decimal(text)
    except (ValueError, InvalidOperation):
        raise Invalid("The page link is malformed; start again from the first page.") from None
    return text


def _sort_text(value: Any) -> str:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.isoformat()
    return str(value)


def _filtered(q: QueueQuery, now: datetime) -> Select[Any]:
    stmt = select(Item.id, SORTS[q.sort]).where(Item.is_open.is_(True))
    if q.reason:
        stmt = stmt.where(Item.primary_reason == q.reason)
    if q.vendor:
        prefix = q.vendor.casefold()
        stmt = stmt.where(Item.vendor_key >= prefix, Item.vendor_key < prefix + "\U0010ffff")
    if q.amount_min is not None:
        stmt = stmt.where(Item.amount_key >= q.amount_min)
    if q.amount_max is not None:
        stmt = stmt.where(Item.amount_key <= q.amount_max, Item.amount_key >= 0)
    if q.min_age_h is not None:
        stmt = stmt.where(Item.received_at <= now - timedelta(hours=q.min_age_h))
    if q.sla == "overdue":
        stmt = stmt.where(Item.sla_due_at < now)
    elif q.sla == "due24h":
        stmt = stmt.where(Item.sla_due_at >= now, Item.sla_due_at < now + timedelta(hours=24))
    if q.state:
        stmt = stmt.where(Item.state == q.state)
    return stmt


@dataclass
class QueuePage:
    rows: list[tuple[Item, str | None]] = field(default_factory=list)
    next_after: tuple[str, int] | None = None


def queue_page(db: Session, q: QueueQuery, now: datetime | None = None) -> QueuePage:
    now = now or datetime.now(UTC)
    col = SORTS[q.sort]
    stmt = _filtered(q, now)
    if q.after is not None:
        key = tuple_(col, Item.id)
        bound = (_cursor_value(q.sort, q.after[0]), q.after[1])  # typed by the left-hand columns
        stmt = stmt.where(key < bound if q.desc else key > bound)
    order = (col.desc(), Item.id.desc()) if q.desc else (col.asc(), Item.id.asc())
    # Phase 1 reads ids from the index only; phase 2 loads just the rows shown (a "deferred join").
    keys = db.execute(stmt.order_by(*order).limit(q.limit + 1)).all()
    ids = [k[0] for k in keys[: q.limit]]
    loaded = (
        {
            item.id: (item, username)
            for item, username in db.execute(
                select(Item, User.username)
                .outerjoin(User, User.id == Item.claimed_by)
                .where(Item.id.in_(ids))
                .options(load_only(*LIST_COLUMNS))
            ).all()
        }
        if ids
        else {}
    )
    page = QueuePage(rows=[loaded[i] for i in ids if i in loaded])
    if len(keys) > q.limit:
        last_id, last_value = keys[q.limit - 1]
        page.next_after = (_sort_text(last_value), last_id)
    return page


def reason_counts(db: Session) -> list[tuple[str, int]]:
    """Open items per primary reason, largest first (maintained counters, see pipeline.review.counts)."""
    return counts.read(db)
