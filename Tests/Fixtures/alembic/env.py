"""Runs migrations on the database libpq's environment names (no URL of its own)."""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name)

# An empty URL: psycopg2 (libpq) reads PGHOST, PGPORT, PGUSER, PGDATABASE and PGAPPNAME.
engine = create_engine("postgresql+psycopg2://", poolclass=pool.NullPool)

with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
