"""What every scenario of ``bench/run.py`` shares: servers, load, rows, scratch databases.

- A server runs on the server core (``taskset -c 0``) in its own process group, its output
  in a log file of the work directory; :func:`server` waits until it answers and stops the
  whole group afterwards, whatever happened.
- Load comes from ``wrk`` on the load core (``taskset -c 1 wrk -t1 -cN -dS --latency``);
  :func:`wrk` reads requests/s, p50 and p99 from its output, and any non-2xx answer, socket
  error or timeout is a :class:`BenchError`, never a row.
- A :class:`Row` is the samples of one app on one path under one load: its figures are the
  medians of the samples.
- Scratch PostgreSQL databases are created on the given server and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
INSTALL = {"wrk": "apt-get install wrk", "taskset": "apt-get install util-linux"}


class BenchError(RuntimeError):
    """The bench cannot give a trustworthy figure: a server failed, answered non-2xx, …"""


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - the bench reports progress on stdout


# -- the machine -------------------------------------------------------------------------


@cache
def tool(name: str) -> str:
    """The full path of a command this bench needs; says how to install it when missing."""
    path = shutil.which(name)
    if path is None:
        sys.exit(f"bench needs {name}: install it with `{INSTALL[name]}` (Debian/Ubuntu)")
    return path


def check_machine() -> None:
    for name in INSTALL:
        tool(name)
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("bench needs two cores: the servers on one, wrk on the other")


# -- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server(
    name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, ready_url: str
) -> Iterator[None]:
    """Run ``argv`` on the server core in its own process group; stop the whole group after."""
    log_path = cwd / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own executables and arguments
            [tool("taskset"), "-c", SERVER_CORE, *argv],
            env=dict(env),
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
            stop_group(process)


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


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group we started, SIGKILL it if it does not go."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def uvicorn_argv(uvicorn: Path, app_dir: Path, app: str, port: int) -> list[str]:
    return [
        str(uvicorn),
        "--app-dir",
        str(app_dir),
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


@dataclass(frozen=True)
class Load:
    """The wrk settings every row of one run shares."""

    duration: int
    warmup: int
    runs: int
    connections: int


@dataclass(frozen=True)
class Sample:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Row:
    """One app on one path under one load; figures are medians of the samples."""

    scenario: str
    database: str
    app: str
    path: str
    samples: tuple[Sample, ...]
    connections: int

    @property
    def rps(self) -> float:
        return statistics.median(s.requests_per_second for s in self.samples)

    @property
    def p50(self) -> float:
        return statistics.median(s.p50_ms for s in self.samples)

    @property
    def p99(self) -> float:
        return statistics.median(s.p99_ms for s in self.samples)

    def show(self) -> None:
        say(
            f"  {self.scenario:<15} {self.database:<10} {self.app:<15} {self.path:<17} "
            f"{self.rps:8.0f}/s  p50 {self.p50:7.2f} ms  p99 {self.p99:7.2f} ms"
        )


_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_PERCENTILE = r"^\s+{}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$"
_P50 = re.compile(_PERCENTILE.format("50"), re.MULTILINE)
_P99 = re.compile(_PERCENTILE.format("99"), re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors:.*")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
LUA_LOGIN = BENCH / "login.lua"


@dataclass(frozen=True)
class Wrk:
    """One wrk command: a URL, its headers, and a Lua script (``login.lua``) for POSTs."""

    url: str
    headers: tuple[str, ...] = ()
    script: Path | None = None
    env: tuple[tuple[str, str], ...] = ()

    def argv(self, seconds: int, connections: int) -> list[str]:
        argv = [tool("taskset"), "-c", LOAD_CORE, tool("wrk"), "-t1", f"-c{connections}"]
        argv += [f"-d{seconds}s", "--latency", "--timeout", "10s"]
        for header in self.headers:
            argv += ["-H", header]
        if self.script is not None:
            argv += ["-s", str(self.script)]
        return [*argv, self.url]

    def start(self, seconds: int, connections: int) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - our own arguments
            self.argv(seconds, connections),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **dict(self.env)},
        )

    def finish(self, process: subprocess.Popen[str], seconds: int) -> Sample:
        try:
            out, err = process.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise BenchError(f"wrk did not finish: {self.url}") from None
        if process.returncode != 0:
            raise BenchError(f"wrk failed ({process.returncode}): {err}{out}")
        if bad := _NON_2XX.search(out):
            raise BenchError(f"{bad.group(1)} non-2xx responses from {self.url}:\n{out}")
        if errors := _SOCKET_ERRORS.search(out):
            raise BenchError(f"{errors.group(0)} from {self.url}:\n{out}")
        rps, p50, p99 = _RPS.search(out), _P50.search(out), _P99.search(out)
        if rps is None or p50 is None or p99 is None:
            raise BenchError(f"unreadable wrk output:\n{out}{err}")
        return Sample(float(rps.group(1)), _ms(p50), _ms(p99))

    def run(self, seconds: int, connections: int) -> Sample:
        return self.finish(self.start(seconds, connections), seconds)


def _ms(match: re.Match[str]) -> float:
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def cookie_header(token: str) -> str:
    return f"Cookie: {COOKIE_NAME}={token}"


def bearer_header(token: str) -> str:
    return f"Authorization: Bearer {token}"


def login_wrk(url: str, body: str, content_type: str) -> Wrk:
    """wrk POSTing ``body`` to ``url`` back to back (``bench/login.lua``)."""
    env = (("BENCH_LOGIN_BODY", body), ("BENCH_LOGIN_CONTENT_TYPE", content_type))
    return Wrk(url, script=LUA_LOGIN, env=env)


def measure(scenario: str, database: str, app: str, path: str, load: Wrk, bench: Load) -> Row:
    """A warm-up, then ``runs`` samples of one load: one row."""
    load.run(bench.warmup, bench.connections)
    samples = tuple(load.run(bench.duration, bench.connections) for _ in range(bench.runs))
    row = Row(scenario, database, app, path, samples, bench.connections)
    row.show()
    return row


# -- scratch PostgreSQL databases --------------------------------------------------------


def asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: URL, statement: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url.set(database="postgres")))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def scratch_postgres(server_url: str, name: str) -> Iterator[URL]:
    """A fresh database ``name`` on the server of ``server_url``, dropped afterwards."""
    if not name.startswith("sessionary_bench"):
        raise ValueError(f"scratch databases are named sessionary_bench*, not {name}")
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(_admin(url, drop))
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    try:
        yield url
    finally:
        asyncio.run(_admin(url, drop))
