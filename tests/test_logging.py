"""Logs go through structlog in the operator's chosen format."""

import json
import logging

import pytest
import structlog
from fastapi import FastAPI

from sessionary import install
from sessionary.config import LogFormat, Settings
from sessionary.core.logging import configure_logging

pytestmark = pytest.mark.usefixtures("restored_logging")


@pytest.mark.no_db
class TestLogFormat:
    def test_json_format_writes_one_json_object_per_line(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging(Settings(log_format=LogFormat.JSON))

        structlog.get_logger("sessionary.test").warning("something_happened", answer=42)

        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["event"] == "something_happened"
        assert record["answer"] == 42
        assert record["level"] == "warning"
        assert record["timestamp"].endswith("Z")

    def test_console_format_is_human_readable(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging(Settings(log_format=LogFormat.CONSOLE))

        structlog.get_logger("sessionary.test").warning("something_happened", answer=42)

        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert "something_happened" in line
        assert "answer=42" in line
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)

    def test_log_level_filters_lower_levels(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging(Settings(log_level="warning"))

        structlog.get_logger("sessionary.test").info("quiet")

        assert "quiet" not in capsys.readouterr().err

    def test_configuring_twice_does_not_duplicate_lines(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging(Settings())
        configure_logging(Settings())

        structlog.get_logger("sessionary.test").warning("once")

        assert capsys.readouterr().err.count("once") == 1


@pytest.mark.no_db
class TestInstallIntoAnAppWithItsOwnLogging:
    def test_configure_logging_false_leaves_structlog_and_the_handler_alone(self) -> None:
        own = structlog.get_config()["processors"] + [structlog.processors.KeyValueRenderer()]
        structlog.configure(processors=own)
        before = list(logging.getLogger("sessionary").handlers)

        runtime = install(FastAPI(), configure_logging=False)
        runtime.hasher.close()

        assert structlog.get_config()["processors"] == own
        assert logging.getLogger("sessionary").handlers == before

    def test_by_default_install_sets_up_sessionarys_logging(self) -> None:
        structlog.configure(processors=[structlog.processors.KeyValueRenderer()])

        runtime = install(FastAPI(), Settings(log_format=LogFormat.JSON))
        runtime.hasher.close()

        assert structlog.get_config()["processors"][-1] is (
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter
        )
