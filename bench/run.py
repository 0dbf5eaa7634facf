"""Throughput of the authenticated hot path beside its references, in one run (SPEC §8).

Every server runs on core 0 (``taskset -c 0``), one process, access log off; the load comes
from ``wrk`` on core 1 (``taskset -c 1 wrk -t1 -c64 -d10s --latency``), a warm-up first, then
``--runs`` runs per row, medians quoted. Rows:

- Sessionary (``sessionary serve --no-access-log``) on SQLite, and on PostgreSQL when
  ``--pg-url`` or ``SESSIONARY_TEST_DATABASE_URL`` is given: ``GET /users/me`` and
  ``GET /protected_data/`` with a session cookie;
- a bare FastAPI JSON endpoint (``bench/references/bare.py``);
- the raw one-query references (``raw_aiosqlite.py``, ``raw_asyncpg.py``) on the same
  scratch database with the same cookie.

The SQLite database is a scratch file in a temporary directory; on PostgreSQL a scratch
database ``sessionary_bench`` is created on the given server and dropped afterwards.

    python bench/run.py                     # SQLite (+ PostgreSQL if its test URL is set)
    python bench/run.py --pg-url postgresql+asyncpg://postgres@127.0.0.1/postgres

(``make bench`` does the same.) Results go to stdout and to ``bench/results/<date>.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import asyncpg
import httpx2
from sqlalchemy.engine import URL, make_url

BENCH = Path(__file__).resolve().parent
REFERENCES = BENCH / "references"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
SERVER_CORE = "0"
LOAD_CORE = "1"
COOKIE_NAME = "session_cookie"
USERNAME = "bench"
SCRATCH_DATABASE = "sessionary_bench"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
ENDPOINTS = ("/users/me", "/protected_data/")


@dataclass(frozen=True)
class Sample:
    requests_per_second: float
    p99_ms: float


@dataclass(frozen=True)
class Row:
    database: str
    app: str
    path: str
    samples: tuple[Sample, ...]

    @property
    def rps(self) -> float:
        return statistics.median(s.requests_per_second for s in self.samples)

    @property
    def p99(self) -> float:
        return statistics.median(s.p99_ms for s in self.samples)


@dataclass(frozen=True)
class Load:
    duration: int
    warmup: int
    runs: int
    connections: int


class BenchError(RuntimeError):
    pass


# -- processes ---------------------------------------------------------------------------

INSTALL = {"wrk": "sudo apt-get install wrk", "taskset": "sudo apt-get install util-linux"}


@cache
def tool(name: str) -> str:
    """The full path of a command this bench needs; says how to install it when missing."""
    path = shutil.which(name)
    if path is None:
        print(f"install {name}: {INSTALL[name]}", file=sys.stderr)  # noqa: T201
        sys.exit(1)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server(
    name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, ready_url: str
) -> Iterator[None]:
    """Run ``argv`` on the server core in its own process group; stop the whole group after."""
    log_path = cwd / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own executables and arguments
            [tool("taskset"), "-c", SERVER_CORE, *argv],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_ready(process, ready_url, log_path)
            yield
        finally:
            _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"server exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            if httpx2.get(url, timeout=1.0).status_code < 500:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchError(f"server not ready after {START_TIMEOUT:.0f}s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def uvicorn_argv(app: str, port: int) -> list[str]:
    return [
        str(BIN / "uvicorn"),
        "--app-dir",
        str(REFERENCES),
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


# -- load --------------------------------------------------------------------------------

_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_P99 = re.compile(r"^\s+99(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, cookie: str | None, seconds: int, connections: int) -> Sample:
    argv = [
        tool("taskset"),
        "-c",
        LOAD_CORE,
        tool("wrk"),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
    ]
    argv += ["--latency"]
    if cookie is not None:
        argv += ["-H", f"Cookie: {COOKIE_NAME}={cookie}"]
    done = subprocess.run(  # noqa: S603 - our own arguments
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    out = done.stdout
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr}{out}")
    if bad := _NON_2XX.search(out):
        raise BenchError(f"{bad.group(1)} non-2xx responses from {url}:\n{out}")
    rps, p99 = _RPS.search(out), _P99.search(out)
    if rps is None or p99 is None:
        raise BenchError(f"unreadable wrk output:\n{out}")
    return Sample(float(rps.group(1)), float(p99.group(1)) * _UNIT_MS[p99.group(2)])


def measure(
    database: str, app: str, base: str, paths: Sequence[str], cookie: str | None, load: Load
) -> list[Row]:
    rows = []
    for path in paths:
        url = base + path
        wrk(url, cookie, load.warmup, load.connections)
        samples = tuple(wrk(url, cookie, load.duration, load.connections) for _ in range(load.runs))
        row = Row(database, app, path, samples)
        print(f"  {database:<10} {app:<22} {path:<17} {row.rps:8.0f} req/s  p99 {row.p99:7.2f} ms")  # noqa: T201
        rows.append(row)
    return rows


# -- scratch databases and the logged-in session -----------------------------------------


def sessionary_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONARY_")}
    env |= {
        "SESSIONARY_DATABASE_URL": database_url,
        "SESSIONARY_SESSION_COOKIE_SECURE": "false",
        "SESSIONARY_LOG_LEVEL": "WARNING",
    }
    return env


def prepare_sessionary_db(env: dict[str, str], cwd: Path) -> str:
    """Migrate, create the bench user; return its password."""
    cli = str(BIN / "sessionary")
    password = secrets.token_urlsafe(24)
    for argv, stdin in (
        ([cli, "db", "upgrade"], None),
        (
            [cli, "users", "create", USERNAME, "--email", "bench@example.com", "--password-stdin"],
            password + "\n",
        ),
    ):
        done = subprocess.run(  # noqa: S603 - our own CLI
            argv, input=stdin, env=env, cwd=cwd, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise BenchError(f"{' '.join(argv[1:3])} failed:\n{done.stdout}{done.stderr}")
    return password


def login(base: str, password: str) -> str:
    response = httpx2.post(
        base + "/auth/login", json={"username": USERNAME, "password": password}, timeout=30
    )
    token = response.cookies.get(COOKIE_NAME)
    if response.status_code != 200 or not token:
        raise BenchError(f"login failed: {response.status_code} {response.text}")
    return token


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: URL, statement: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url.set(database="postgres")))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[URL]:
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=SCRATCH_DATABASE)
    drop = f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)'
    asyncio.run(_admin(url, drop))
    asyncio.run(_admin(url, f'CREATE DATABASE "{SCRATCH_DATABASE}"'))
    try:
        yield url
    finally:
        asyncio.run(_admin(url, drop))


# -- the runs ----------------------------------------------------------------------------


def run_bare(workdir: Path, load: Load) -> list[Row]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server("bare", uvicorn_argv("bare:app", port), dict(os.environ), workdir, base + "/"):
        return measure("—", "bare FastAPI", base, ["/"], None, load)


def run_database(
    database: str, sa_url: str, raw: tuple[str, dict[str, str]], workdir: Path, load: Load
) -> list[Row]:
    """Sessionary, then the raw reference, on one scratch database with one session."""
    env = sessionary_env(sa_url)
    password = prepare_sessionary_db(env, workdir)
    rows: list[Row] = []
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [str(BIN / "sessionary"), "serve", "--no-access-log", "--host", "127.0.0.1"]
    with server(
        f"sessionary-{database}", [*serve, "--port", str(port)], env, workdir, base + "/health/live"
    ):
        cookie = login(base, password)
        rows += measure(database, "Sessionary", base, ENDPOINTS, cookie, load)
    raw_app, raw_env = raw
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(
        raw_app,
        uvicorn_argv(f"{raw_app}:app", port),
        {**os.environ, **raw_env},
        workdir,
        base + "/",
    ):
        rows += measure(
            database, f"raw {raw_app.removeprefix('raw_')}", base, ENDPOINTS, cookie, load
        )
    return rows


def report(rows: Sequence[Row], load: Load, skipped: Sequence[str]) -> str:
    now = datetime.now(UTC)
    lines = [
        f"# Hot path, {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Server on core {SERVER_CORE} (one process, access log off); "
        f"`wrk -t1 -c{load.connections} -d{load.duration}s --latency` on core {LOAD_CORE}; "
        f"a {load.warmup}s warm-up, then the median of {load.runs} runs per row.",
        "",
        "| database | app | endpoint | req/s | p99 ms | runs (req/s) |",
        "|---|---|---|---:|---:|---|",
    ]
    for row in rows:
        runs = ", ".join(f"{s.requests_per_second:.0f}" for s in row.samples)
        cells = f"{row.rps:.0f} | {row.p99:.2f} | {runs}"
        lines.append(f"| {row.database} | {row.app} | `{row.path}` | {cells} |")
    bare = next((row.rps for row in rows if row.app == "bare FastAPI"), None)
    lines += [
        "",
        "## Ratios (SPEC §8: Sessionary ≥ 60 % of the raw one-query reference, goal 80 %)",
        "",
        "| database | endpoint | Sessionary ÷ raw | floor 0.60 | Sessionary ÷ bare | raw ÷ bare |",
        "|---|---|---:|---|---:|---:|",
    ]
    for row in rows:
        if row.app != "Sessionary":
            continue
        raw = next(
            r for r in rows if r.database == row.database and r.path == row.path and r is not row
        )
        ratio = row.rps / raw.rps
        verdict = "meets" if ratio >= 0.6 else "**below**"
        vs_bare = f"{row.rps / bare:.2f} | {raw.rps / bare:.2f}" if bare else "— | —"
        lines.append(f"| {row.database} | `{row.path}` | {ratio:.2f} | {verdict} | {vs_bare} |")
    lines += ["", "Not measured in this run:", ""]
    lines += [f"- {item}" for item in skipped]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("SESSIONARY_TEST_DATABASE_URL"),
        help="a PostgreSQL server URL (its database name is replaced by sessionary_bench); "
        "default SESSIONARY_TEST_DATABASE_URL",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per row (3)")
    parser.add_argument("--runs", type=int, default=2, help="runs per row, at least 2 (2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    args = parser.parse_args(argv)
    if args.runs < 2 or args.duration < 1 or args.warmup < 1 or args.connections < 1:
        parser.error("--runs ≥ 2, --duration, --warmup and --connections ≥ 1")
    return args


def check_machine() -> None:
    for name in INSTALL:
        tool(name)
    if len(os.sched_getaffinity(0)) < 2:
        print("needs two cores: the server on one, wrk on the other", file=sys.stderr)  # noqa: T201
        sys.exit(1)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    check_machine()
    load = Load(args.duration, args.warmup, args.runs, args.connections)
    skipped = [
        "fastapi-users (needs its own environment and lock: see bench/references/README.md)",
        "Bearer API keys, 10 vs 1 000 000 sessions, login burst, login throughput",
    ]
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="sessionary-bench-") as temp:
            workdir = Path(temp)
            rows += run_bare(workdir, load)
            sqlite_path = workdir / "bench.db"
            rows += run_database(
                "SQLite",
                f"sqlite+aiosqlite:///{sqlite_path}",
                ("raw_aiosqlite", {"BENCH_SQLITE_PATH": str(sqlite_path)}),
                workdir,
                load,
            )
            if args.pg_url:
                with scratch_postgres(args.pg_url) as url:
                    rows += run_database(
                        "PostgreSQL",
                        url.render_as_string(hide_password=False),
                        ("raw_asyncpg", {"BENCH_ASYNCPG_DSN": _asyncpg_dsn(url)}),
                        workdir,
                        load,
                    )
            else:
                skipped.insert(0, "PostgreSQL (no --pg-url or SESSIONARY_TEST_DATABASE_URL)")
    except BenchError as error:
        sys.exit(f"bench failed: {error}")
    text = report(rows, load, skipped)
    print("\n" + text)  # noqa: T201
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{datetime.now(UTC):%Y-%m-%d}.md").write_text(text)


if __name__ == "__main__":
    main()
