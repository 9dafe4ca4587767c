"""Create the orders table."""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, total numeric)")
    op.execute("INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 100) AS g ON CONFLICT DO NOTHING")


def downgrade():
    op.execute("DROP TABLE orders")
