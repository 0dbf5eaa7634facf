"""Who may call what: Sessionary's matrix, shipped in the package, run against its own app.

The toolkit expands the matrix into one test per (row, principal). Route coverage
leaves Sessionary's own routes to this matrix, so the test below checks that it
names every route ``create_app()`` serves.
"""

import pytest
from fastapi import FastAPI

from sessionary.app import ALL_ROUTERS
from sessionary.testing.builtin_matrix import sessionary_matrix
from sessionary.testing.coverage import uncovered_routes

test_access = sessionary_matrix(routers=ALL_ROUTERS)  # create_app() serves every group


@pytest.mark.no_db
def test_the_shipped_matrix_names_every_route_of_the_app(sessionary_app: FastAPI) -> None:
    assert uncovered_routes(sessionary_app, test_access.covered(), include_sessionary=True) == []
