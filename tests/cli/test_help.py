"""``--help`` lists every command with its one-line docstring."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from sessionary.cli import app, db, demo, serve, users

pytestmark = pytest.mark.no_db


def _first_line(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function)
    assert doc, f"{function.__qualname__} has no docstring"
    return doc.splitlines()[0]


def _flat(text: str) -> str:
    """Help text without the box drawing and line wrapping of rich's panels."""
    for border in "│╭╮╰╯─":
        text = text.replace(border, " ")
    return " ".join(text.split())


HELP = [
    pytest.param(
        [],
        {
            "serve": _first_line(serve.serve),
            "demo": _first_line(demo.demo),
            "db": "Database schema migrations.",
            "users": "Manage user accounts.",
        },
        id="root",
    ),
    pytest.param(
        ["db"],
        {
            "upgrade": _first_line(db.upgrade),
            "downgrade": _first_line(db.downgrade),
            "current": _first_line(db.current),
            "revision": _first_line(db.revision),
            "check": _first_line(db.check),
            "init": _first_line(db.init),
        },
        id="db",
    ),
    pytest.param(
        ["users"],
        {
            "create": _first_line(users.create),
            "set-password": _first_line(users.set_password),
            "deactivate": _first_line(users.deactivate),
        },
        id="users",
    ),
]


class TestHelp:
    @pytest.mark.parametrize(("group", "commands"), HELP)
    def test_lists_each_command_with_its_docstring(
        self, runner: CliRunner, group: list[str], commands: dict[str, str]
    ) -> None:
        result = runner.invoke(app, [*group, "--help"])

        assert result.exit_code == 0, result.output
        listing = _flat(result.stdout)
        for name, summary in commands.items():
            assert f"{name} {summary}" in listing, (name, summary, result.stdout)

    @pytest.mark.parametrize(
        ("command", "options"),
        [
            pytest.param(["serve"], ["--host", "--port", "--workers", "--reload"], id="serve"),
            pytest.param(
                ["users", "create"], ["--email", "--role", "--password-stdin"], id="create"
            ),
            pytest.param(["users", "set-password"], ["--password-stdin"], id="set-password"),
            pytest.param(["db"], ["--migrations"], id="db"),
            pytest.param(
                ["db", "revision"], ["--message", "--autogenerate", "--branch-label"], id="revision"
            ),
        ],
    )
    def test_command_help_lists_its_options(
        self, runner: CliRunner, command: list[str], options: list[str]
    ) -> None:
        result = runner.invoke(app, [*command, "--help"])

        assert result.exit_code == 0, result.output
        for option in options:
            assert option in result.stdout
