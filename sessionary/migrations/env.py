"""Sessionary's own Alembic environment; an app's ``env.py`` makes the same call."""

from sessionary.migrations import run_migrations

run_migrations()
