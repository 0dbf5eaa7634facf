"""What every failing command must look like: exit 1, one line on stderr, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import Result

ENTRY_POINT = Path(sys.executable).parent / "sessionary"


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit 1 through a clean exit, one ``error:`` line naming ``fragments``; returns it."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment.casefold() in lines[0].casefold(), lines[0]
    return lines[0]


def run_entry_point(
    *args: str, database_url: str, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed ``sessionary`` command, as an operator runs it."""
    env = {**os.environ, "SESSIONARY_DATABASE_URL": database_url}
    return subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [str(ENTRY_POINT), *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
