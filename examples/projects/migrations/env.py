"""Alembic environment of this app. Sessionary's migrations are the branch `sessionary`,
this directory's versions/ the app's own; `sessionary db` and the test plugin run both."""

import projects.models
import projects.permissions  # noqa: F401  (written into the catalogue by db upgrade)

from sessionary import run_migrations

run_migrations()
