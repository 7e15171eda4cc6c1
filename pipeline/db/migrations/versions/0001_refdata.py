"""PLACEHOLDER for the gate helper's reference-data migration (review branch only).

Empty on purpose so 0002_review has its parent; the lead replaces it with the real 0001_refdata.

Revision ID: 0001_refdata
Revises:
"""

revision = "0001_refdata"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
