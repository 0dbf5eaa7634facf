"""Route coverage: one more test, failing with every app route that no matrix names.

It asks about the app's own routes only: a route whose endpoint is Sessionary's
(``sessionary.*``, however the app mounted it) is covered by the matrix shipped
in :mod:`sessionary.testing.builtin_matrix`, whose own test checks it against
``create_app()``. FastAPI's docs routes count as public.

The test is added on a *full run* only, one that collects at least one matrix and
selects nothing:

- no ``-k``, ``-m``, ``--lf``, ``--sw``, ``--deselect``, ``--ignore`` or
  ``--ignore-glob``;
- no node ids (``file.py::test``), and every path given on the command line holds
  all of the project's test paths (``testpaths``, else the rootdir). ``pytest``
  and ``pytest tests`` are full runs; ``pytest tests/test_x.py`` and
  ``pytest tests/notes`` are not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from sessionary.testing.matrix import MATRIX, shape

DOCS_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
_NARROWING_OPTIONS = ("keyword", "markexpr", "lf", "stepwise", "deselect", "ignore", "ignore_glob")


def is_sessionary_route(route: APIRoute) -> bool:
    """A route Sessionary installed: its endpoint is defined in the ``sessionary`` package."""
    module = getattr(route.endpoint, "__module__", "") or ""
    return module == "sessionary" or module.startswith("sessionary.")


def uncovered_routes(
    app: FastAPI, covered: set[tuple[str, str]], *, include_sessionary: bool = False
) -> list[str]:
    """The app's routes that no matrix row and no public entry names (Sessionary's own
    routes left out unless ``include_sessionary``)."""
    missing: list[str] = []
    # FastAPI >= 0.160 nests included routers; iter_route_contexts flattens them.
    for route in iter_route_contexts(app.routes):
        path, original = route.path, route.original_route
        if not isinstance(original, APIRoute) or path is None or path in DOCS_ROUTES:
            continue
        if not include_sessionary and is_sessionary_route(original):
            continue
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method, shape(path)) not in covered:
                missing.append(f"{method} {path}")
    return missing


def is_full_run(config: pytest.Config) -> bool:
    """True when nothing narrows the run (the module docstring says what narrows it)."""
    if any(getattr(config.option, name, None) for name in _NARROWING_OPTIONS):
        return False
    if config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        return True
    # Paths given, or the invocation directory (which may be below the rootdir).
    given = []
    for arg in config.args:
        if "::" in arg:
            return False
        path = Path(config.invocation_params.dir, arg).resolve()
        if not path.exists():
            return False  # --pyargs package names and the like: treat as a selection
        given.append(path)
    return all(
        any(root == path or path in root.parents for path in given) for root in _roots(config)
    )


def _roots(config: pytest.Config) -> list[Path]:
    """What a run without arguments would collect from the rootdir."""
    roots = [
        found.resolve()
        for pattern in config.getini("testpaths")
        for found in config.rootpath.glob(pattern)
    ]
    return roots or [config.rootpath.resolve()]


class _Uncovered(Exception):
    pass


class RouteCoverage(pytest.Item):
    """Fails with every app route that no matrix and no ``public`` list names."""

    def __init__(self, *, covered: set[tuple[str, str]], app_spec: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.covered = covered
        self.app_spec = app_spec

    def runtest(self) -> None:
        from sessionary.testing.fixtures import load_app

        if missing := uncovered_routes(load_app(self.app_spec), self.covered):
            raise _Uncovered(missing)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _Uncovered):
            routes = "\n    ".join(excinfo.value.args[0])
            return (
                "these routes are in no authorization matrix and not listed as public "
                f"(say who may call them):\n    {routes}"
            )
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, "authorization matrix route coverage"


def add_route_coverage(config: pytest.Config, items: list[pytest.Item], app_spec: str) -> None:
    """Append the coverage test to a full run that collected a matrix."""
    matrix_items = [item for item in items if MATRIX in item.stash]
    if not matrix_items or not config.getini("sessionary_authz_coverage"):
        return
    if not is_full_run(config):
        return
    matrices = {id(item.stash[MATRIX]): item.stash[MATRIX] for item in matrix_items}
    covered = set().union(*(matrix.covered() for matrix in matrices.values()))
    parent = matrix_items[0].parent
    assert parent is not None
    items.append(
        RouteCoverage.from_parent(
            parent, name="authz_route_coverage", covered=covered, app_spec=app_spec
        )
    )
