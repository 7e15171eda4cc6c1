"""Review queue: users, items, comments, audit chain, outbox, login failures.

Revision ID: 0002_review
Revises: 0001_refdata
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_review"
down_revision = "0001_refdata"
branch_labels = None
depends_on = None

SORT_COLUMNS = ("received_at", "amount_key", "vendor_key", "sla_due_at")


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_users",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", sa.String(128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_users"),
        sa.UniqueConstraint("username", name="uq_review_users_username"),
    )
    op.create_table(
        "review_items",
        sa.Column("id", _id(), autoincrement=True),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("decision_event_id", sa.String(64), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("primary_reason", sa.String(128), nullable=False),
        sa.Column("reason_codes", sa.Text(), nullable=False),
        sa.Column("vendor_name", sa.String(256)),
        sa.Column("vendor_key", sa.String(256), nullable=False),
        sa.Column("amount", sa.Numeric(18, 4)),
        sa.Column("amount_key", sa.Numeric(18, 4), nullable=False),
        sa.Column("currency", sa.String(3)),
        sa.Column("received_at", _ts(), nullable=False),
        sa.Column("sla_due_at", _ts(), nullable=False),
        sa.Column("claimed_by", _id()),
        sa.Column("claim_expires_at", _ts()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document_version", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.Text(), nullable=False),
        sa.Column("first_approval", sa.Text()),
        sa.Column("first_approver_id", _id()),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("closed_at", _ts()),
        sa.PrimaryKeyConstraint("id", name="pk_review_items"),
        sa.UniqueConstraint("document_id", "decision_event_id", name="uq_review_items_document_decision"),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["review_users.id"], name="fk_review_items_claimed_by_review_users"
        ),
        sa.ForeignKeyConstraint(
            ["first_approver_id"], ["review_users.id"], name="fk_review_items_first_approver_id_review_users"
        ),
    )
    for col in SORT_COLUMNS:
        extra = ["sla_due_at", "received_at", "amount_key"] if col == "vendor_key" else []  # covering
        op.create_index(f"ix_review_items_open_{col}", "review_items", ["is_open", col, "id", *extra])
        op.create_index(
            f"ix_review_items_open_reason_{col}", "review_items", ["is_open", "primary_reason", col, "id"]
        )
    op.create_index("ix_review_items_document_id", "review_items", ["document_id"])
    op.create_table(
        "review_item_payloads",
        sa.Column("item_id", _id(), nullable=False),
        sa.Column("decision_envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_review_item_payloads"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name="fk_review_item_payloads_item_id_review_items"
        ),
    )
    op.create_table(
        "review_reason_counts",
        sa.Column("reason", sa.String(128), nullable=False),
        sa.Column("open_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("reason", name="pk_review_reason_counts"),
    )

    op.create_table(
        "review_comments",
        sa.Column("id", _id(), autoincrement=True),
        sa.Column("item_id", _id(), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_comments"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name="fk_review_comments_item_id_review_items"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["review_users.id"], name="fk_review_comments_user_id_review_users"
        ),
    )
    op.create_index("ix_review_comments_item", "review_comments", ["item_id", "id"])

    op.create_table(
        "review_audit",
        sa.Column("seq", _id(), autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("item_id", _id()),
        sa.Column("document_id", sa.String(64)),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_review_audit"),
    )
    op.create_index("ix_review_audit_item", "review_audit", ["item_id", "seq"])
    op.create_table(
        "review_audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_audit_head"),
    )
    op.bulk_insert(
        sa.table(
            "review_audit_head",
            sa.column("id", sa.Integer()),
            sa.column("seq", sa.BigInteger()),
            sa.column("hash", sa.String()),
        ),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )

    op.create_table(
        "review_outbox",
        sa.Column("id", _id(), autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("sent_at", _ts()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_outbox"),
        sa.UniqueConstraint("event_id", name="uq_review_outbox_event_id"),
    )
    op.create_index("ix_review_outbox_pending", "review_outbox", ["sent_at", "id"])

    op.create_table(
        "review_login_failures",
        sa.Column("id", _id(), autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_login_failures"),
    )
    op.create_index("ix_review_login_failures_user", "review_login_failures", ["username", "at"])
    op.create_index("ix_review_login_failures_ip", "review_login_failures", ["client", "at"])


def downgrade() -> None:
    for table in (
        "review_login_failures",
        "review_outbox",
        "review_audit_head",
        "review_audit",
        "review_comments",
        "review_reason_counts",
        "review_item_payloads",
        "review_items",
        "review_users",
    ):
        op.drop_table(table)
