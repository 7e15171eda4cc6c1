"""PLACEHOLDER (erp branch): empty stand-in for the review helper's 0002_review so 0003_erp can run.

The real migration from the review branch replaces this file when branches are merged.
"""

revision = "0002_review"
down_revision = "0001_refdata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
