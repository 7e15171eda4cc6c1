"""PLACEHOLDER (erp branch): empty stand-in for the gate helper's 0001_refdata so 0003_erp can run.

The real migration from the gate branch replaces this file when branches are merged.
"""

revision = "0001_refdata"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
