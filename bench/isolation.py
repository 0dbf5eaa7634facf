"""Per-test isolation overhead of sessionary.testing (SPEC §8: median ≤ 5 ms, goal 2 ms).

Runs one generated suite four ways in one go — sync ``client`` and async
``async_client``, each with the toolkit's isolation and with none
(``@pytest.mark.no_db``: the app talks to the database directly) — and reports
the median of pytest's own setup + teardown durations per test. Every test
sends one request that writes (``POST /auth/logout`` with a well-formed token),
so the isolated runs really open, use and roll back their connection.

    python bench/isolation.py                      # SQLite
    SESSIONARY_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/sessionary_test \\
        python bench/isolation.py                  # SQLite and PostgreSQL

(``make bench-isolation`` does the same; ``make bench`` runs :func:`measure` as its
scenario 6.) On PostgreSQL the suite runs in a scratch database ``sessionary_bench_isolation_test``
on the server of that URL, dropped afterwards. Results go to stdout and to
``bench/results/isolation-<date>.md``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness import BenchError
from sqlalchemy.engine import make_url
from targets import ISOLATION_MS

from sessionary.testing.database import TestDatabase

TESTS = 150
RESULTS = Path(__file__).parent / "results"
SCRATCH_DATABASE = "sessionary_bench_isolation_test"  # the toolkit wants "test" in it

CONFTEST = """
import json, os

_durations = {}

def pytest_runtest_logreport(report):
    if report.when in ("setup", "teardown"):
        _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(_durations, out)
"""

SUITE = """
import pytest

TOKEN = "A" * 43  # well-formed, unknown: the logout runs one UPDATE


@pytest.mark.parametrize("n", range({tests}))
{marks}
{kind}def test_request(n, {client}):
    response = {call}{client}.post("/auth/logout", headers={{"cookie": "session_cookie=" + TOKEN}})
    assert response.status_code == 204
"""


def _suite(kind: str, isolated: bool) -> str:
    marks = []
    if kind == "async":
        marks.append("@pytest.mark.anyio")
    if not isolated:
        marks.append("@pytest.mark.no_db")
    return SUITE.format(
        tests=TESTS,
        marks="\n".join(marks),
        kind="async " if kind == "async" else "",
        client="async_client" if kind == "async" else "client",
        call="await " if kind == "async" else "",
    )


def _run(workdir: Path, db_url: str, kind: str, isolated: bool) -> float:
    (workdir / "test_bench.py").write_text(_suite(kind, isolated))
    out = workdir / "durations.json"
    env = {**os.environ, "BENCH_OUT": str(out)}
    # The plugin points the app at the test database, so no_db tests write to it directly.
    env.pop("SESSIONARY_DATABASE_URL", None)
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--db-url={db_url}",
            "--reuse-db",
            "-o",
            "sessionary_authz_coverage=false",
            str(workdir / "test_bench.py"),
        ],
        cwd=workdir,
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BenchError(
            f"isolation suite failed ({kind}, isolated={isolated}, {db_url}):\n"
            f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    durations = json.loads(out.read_text())
    # The first test pays for creating the database and the pools: leave it out.
    values = sorted(durations.items())[1:]
    return float(statistics.median(seconds for _, seconds in values)) * 1000


def _prepare(db_url: str) -> None:
    TestDatabase(db_url, reuse=True).ensure_ready()


def _drop(db_url: str) -> None:
    database = TestDatabase(db_url, reuse=True, keep=False)
    database.created = True
    database.drop()


@dataclass(frozen=True)
class Overhead:
    """Median setup + teardown per test of one database and client, with and without."""

    database: str
    client: str
    isolated_ms: float
    bare_ms: float

    @property
    def overhead_ms(self) -> float:
        return self.isolated_ms - self.bare_ms


def measure(pg_url: str | None) -> list[Overhead]:
    """The four cells (sync or async, isolated or not) on SQLite, and on PostgreSQL when given."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="sessionary-bench-") as temp:
        workdir = Path(temp)
        (workdir / "conftest.py").write_text(CONFTEST)
        backends = {"SQLite": f"sqlite+aiosqlite:///{workdir / 'bench_test.db'}"}
        if pg_url:
            url = make_url(pg_url).set(drivername="postgresql+asyncpg", database=SCRATCH_DATABASE)
            backends["PostgreSQL"] = url.render_as_string(hide_password=False)
        for name, url_text in backends.items():
            _prepare(url_text)
            try:
                cells = {
                    (kind, isolated): _run(workdir, url_text, kind, isolated)
                    for kind in ("sync", "async")
                    for isolated in (True, False)
                }
            finally:
                _drop(url_text)
            rows += [
                Overhead(name, kind, cells[(kind, True)], cells[(kind, False)])
                for kind in ("sync", "async")
            ]
    return rows


def markdown(rows: list[Overhead]) -> list[str]:
    """The table of :func:`measure`'s rows, with SPEC §8's verdict per cell."""
    lines = [
        f"Median pytest setup + teardown per test, ms ({TESTS} tests per cell, one request each); "
        f"overhead = isolated - no isolation (SPEC §8: {ISOLATION_MS.describe(' ms')}).",
        "",
        "| database | client | isolated | no isolation | overhead | verdict |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.database} | {row.client} | {row.isolated_ms:.2f} | {row.bare_ms:.2f} "
            f"| {row.overhead_ms:+.2f} | {ISOLATION_MS.verdict(row.overhead_ms)} |"
        )
    return lines


def main() -> None:
    try:
        rows = measure(os.environ.get("SESSIONARY_TEST_DATABASE_URL"))
    except BenchError as error:
        sys.exit(f"bench failed: {error}")
    lines = [f"# Isolation overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "", *markdown(rows)]
    report = "\n".join(lines) + "\n"
    print(report)  # noqa: T201
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"isolation-{datetime.now(UTC):%Y-%m-%d}.md").write_text(report)


if __name__ == "__main__":
    main()
