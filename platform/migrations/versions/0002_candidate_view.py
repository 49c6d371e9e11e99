"""candidate view and run purpose

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("candidate_view", sa.JSON(), nullable=True))
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=20), nullable=False, server_default="scored")
        )
    # Finished submissions from before: the candidate keeps the category only (their old
    # messages and notebooks came from runs on all test rows).
    submissions = sa.table(
        "submissions",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("failure", sa.String()),
        sa.column("candidate_view", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(submissions.c.id, submissions.c.failure).where(
            submissions.c.status.in_(("scored", "failed"))
        )
    ).all()
    for sub_id, failure in rows:
        view: dict[str, Any] = {"failure": None, "executed_key": None, "run_time_s": None}
        if failure:
            view["failure"] = {"category": failure, "message": "", "hint": None, "cell": None,
                               "ename": None, "evalue": None, "traceback": None}  # fmt: skip
        connection.execute(
            submissions.update().where(submissions.c.id == sub_id).values(candidate_view=view)
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("purpose")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("candidate_view")
