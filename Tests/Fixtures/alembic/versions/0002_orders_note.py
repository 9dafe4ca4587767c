"""Add a note to orders: an ALTER TABLE that needs an ACCESS EXCLUSIVE lock."""
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.execute("ALTER TABLE orders ADD COLUMN note text")


def downgrade():
    op.execute("ALTER TABLE orders DROP COLUMN note")
