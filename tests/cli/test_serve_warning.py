"""``serve --workers N`` with the in-memory throttle warns that counts are per process."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from sessionary.cli import app

pytestmark = pytest.mark.no_db

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def run(app: str, **options: Any) -> None:
        calls.append({"app": app, **options})

    monkeypatch.setattr(uvicorn, "run", run)
    return calls


class TestThrottleWarning:
    def test_several_workers_without_redis_warn_in_one_line_and_still_serve(
        self, runner: CliRunner, uvicorn_calls: list[dict[str, Any]]
    ) -> None:
        result = runner.invoke(app, ["serve", "--workers", "3"], env={"SESSIONARY_REDIS_URL": ""})

        assert result.exit_code == 0, result.output
        [line] = result.stderr.splitlines()
        assert line.startswith("warning: ")
        assert "SESSIONARY_REDIS_URL" in line
        assert "per process" in line
        assert [call["workers"] for call in uvicorn_calls] == [3]

    @pytest.mark.parametrize(
        ("workers", "redis_url"), [("1", ""), ("3", REDIS_URL)], ids=["one-worker", "redis"]
    )
    def test_no_warning_when_counts_are_not_split(
        self,
        runner: CliRunner,
        uvicorn_calls: list[dict[str, Any]],
        workers: str,
        redis_url: str,
    ) -> None:
        result = runner.invoke(
            app, ["serve", "--workers", workers], env={"SESSIONARY_REDIS_URL": redis_url}
        )

        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        assert len(uvicorn_calls) == 1
