"""``sessionary serve``: a real two-worker server on one database, and its options."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from typer.testing import CliRunner

from sessionary.cli import app
from sessionary.core.security import hash_token
from sessionary.testing.database import TestDatabase

from .checks import ENTRY_POINT, assert_one_line_error, run_entry_point
from .scratch import ScratchDatabase, scratch_database

pytestmark = pytest.mark.no_db

CREDENTIALS = {"username": "user123", "password": "secretpassword"}
COOKIE = "session_cookie"
# Generous: on a loaded machine uvicorn may replace a worker that missed its 5 s health check.
STARTUP_SECONDS = 60.0
SERVE = (str(ENTRY_POINT), "serve")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _descendants(root: int) -> set[int]:
    """Every process below ``root`` (the workers and their helpers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@dataclass
class Server:
    """A running ``sessionary serve`` and the database it serves."""

    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    database: ScratchDatabase
    log: Path

    def worker_of(self, response: httpx2.Response) -> int:
        """The pid of the worker holding the (kept-alive) connection that carried
        ``response``: its socket inode, found in /proc/net/tcp, among the workers' fds."""
        client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        inodes = {
            fields[9]
            for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines())
            if fields[1].endswith(f":{self.port:04X}") and fields[2].endswith(f":{client_port:04X}")
        }
        assert len(inodes) == 1, (client_port, inodes)
        target = f"socket:[{inodes.pop()}]"
        for pid in _descendants(self.process.pid):
            try:
                fds = list(Path(f"/proc/{pid}/fd").iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    if str(fd.readlink()) == target:
                        return pid
                except OSError:
                    continue
        raise AssertionError(f"no worker holds the connection from port {client_port}")

    def connection_per_worker(self, workers: int) -> dict[int, httpx2.Client]:
        """One kept-alive client per worker: new connections until each worker has one."""
        pinned: dict[int, httpx2.Client] = {}
        # Generous: on a loaded machine uvicorn may be replacing the other worker for a while.
        deadline = time.monotonic() + 60
        while len(pinned) < workers and time.monotonic() < deadline:
            client = httpx2.Client(base_url=self.base_url, timeout=10)
            pid = self.worker_of(client.get("/health/live"))
            if pid in pinned:
                client.close()
            else:
                pinned[pid] = client
        if len(pinned) < workers:
            for client in pinned.values():
                client.close()
            pytest.fail(f"new connections reached only workers {sorted(pinned)}")
        return pinned

    def workers_accepting(self, token: str) -> set[int]:
        """The workers that answered ``token`` with its user, one request on a connection
        pinned to each. A connection that drifted to the other worker (uvicorn replaced a
        worker that missed its health check on a loaded machine) is pinned again."""
        for _ in range(3):
            pinned = self.connection_per_worker(2)
            try:
                answered: set[int] = set()
                for client in pinned.values():
                    response = client.get(
                        "/protected_data/", headers={"Cookie": f"{COOKIE}={token}"}
                    )
                    assert response.status_code == 200, response.text
                    assert response.json()["username"] == "user123"
                    answered.add(self.worker_of(response))
            finally:
                for client in pinned.values():
                    client.close()
            if len(answered) == 2:
                return answered
        return answered


def _wait_until_live(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"serve exited with {server.process.returncode}:\n{server.log.read_text()}")
        try:
            if httpx2.get(f"{server.base_url}/health/live", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(
        f"serve did not answer /health/live in {STARTUP_SECONDS}s:\n{server.log.read_text()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only what we started
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def server(
    sessionary_database: TestDatabase,
    migrated_template: ScratchDatabase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """``sessionary serve --workers 2`` on a migrated scratch database holding the demo user."""
    directory = tmp_path_factory.mktemp("serve")
    with scratch_database(
        sessionary_database.url, directory, template=migrated_template
    ) as database:
        demo = run_entry_point("demo", database_url=database.url, cwd=directory)
        assert demo.returncode == 0, demo.stderr
        port = _free_port()
        log = directory / "serve.log"
        env = {
            **os.environ,
            "SESSIONARY_DATABASE_URL": database.url,
            "SESSIONARY_SESSION_COOKIE_SECURE": "false",
        }
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
                [
                    *SERVE,
                    *("--port", str(port), "--workers", "2", "--no-access-log"),
                    # The suite loads the machine: a worker must not be replaced for
                    # answering its health check late.
                    *("--worker-healthcheck-timeout", "60"),
                ],
                env=env,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running = Server(f"http://127.0.0.1:{port}", port, process, database, log)
        try:
            _wait_until_live(running)
            yield running
        finally:
            _stop(process)


def _log_in_five_times(base_url: str) -> list[tuple[int, str | None]]:
    results: list[tuple[int, str | None]] = []
    with httpx2.Client(base_url=base_url, timeout=30) as client:
        for _ in range(5):
            response = client.post("/login/", json=CREDENTIALS)
            results.append((response.status_code, response.cookies.get(COOKIE)))
            client.cookies.clear()
    return results


class TestServeWithTwoWorkers:
    def test_concurrent_logins_succeed_and_each_cookie_works_on_both_workers(
        self, server: Server
    ) -> None:
        with ThreadPoolExecutor(8) as pool:
            batches = list(pool.map(_log_in_five_times, [server.base_url] * 8))
        results = [result for batch in batches for result in batch]

        assert [status for status, _ in results] == [200] * 40
        tokens = [token for _, token in results if token]
        assert len(set(tokens)) == 40
        stored = {row.token_hash for row in server.database.rows("SELECT token_hash FROM sessions")}
        assert {hash_token(token) for token in tokens} <= {bytes(value) for value in stored}

        for token in tokens:
            assert len(server.workers_accepting(token)) == 2, token

    def test_readiness_is_200(self, server: Server) -> None:
        response = httpx2.get(f"{server.base_url}/health/ready", timeout=10)

        assert response.status_code == 200
        assert response.json()["status"] == "ok"

    def test_forwarded_for_is_ignored_without_trusted_proxies(self, server: Server) -> None:
        response = httpx2.post(
            f"{server.base_url}/login/",
            json=CREDENTIALS,
            headers={"X-Forwarded-For": "203.0.113.9"},
            timeout=30,
        )

        assert response.status_code == 200, response.text
        token = response.cookies[COOKIE]
        ip = server.database.scalar(
            "SELECT ip FROM sessions WHERE token_hash = :token_hash", token_hash=hash_token(token)
        )
        assert ip == "127.0.0.1"


class TestServeOptions:
    """What ``serve`` hands to uvicorn, checked without starting it."""

    @pytest.fixture
    def uvicorn_calls(self, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []

        def run(app: str, **options: Any) -> None:
            calls.append({"app": app, **options})

        monkeypatch.setattr(uvicorn, "run", run)
        return calls

    def test_workers_with_reload_is_a_usage_error(
        self, runner: CliRunner, uvicorn_calls: list[dict[str, Any]]
    ) -> None:
        result = runner.invoke(app, ["serve", "--workers", "2", "--reload"])

        assert result.exit_code == 2
        assert "--reload runs a single process" in result.stderr
        assert uvicorn_calls == []

    def test_proxy_headers_are_off_and_options_reach_uvicorn(
        self, runner: CliRunner, uvicorn_calls: list[dict[str, Any]]
    ) -> None:
        result = runner.invoke(
            app,
            ["serve", "--host", "127.0.0.1", "--port", "8123", "--workers", "3", "--no-access-log"],
        )

        assert result.exit_code == 0, result.output
        [call] = uvicorn_calls
        assert call["app"] == "sessionary.main:app"
        assert call["proxy_headers"] is False
        assert (call["host"], call["port"], call["workers"]) == ("127.0.0.1", 8123, 3)
        assert call["access_log"] is False
        assert call["reload"] is False
        assert call["timeout_worker_healthcheck"] == 5  # uvicorn's own default

    def test_the_worker_health_check_timeout_reaches_uvicorn(
        self, runner: CliRunner, uvicorn_calls: list[dict[str, Any]]
    ) -> None:
        result = runner.invoke(
            app, ["serve", "--workers", "2", "--worker-healthcheck-timeout", "30"]
        )

        assert result.exit_code == 0, result.output
        assert uvicorn_calls[0]["timeout_worker_healthcheck"] == 30

    def test_a_health_check_timeout_below_one_second_is_a_usage_error(
        self, runner: CliRunner, uvicorn_calls: list[dict[str, Any]]
    ) -> None:
        result = runner.invoke(app, ["serve", "--worker-healthcheck-timeout", "0"])

        assert result.exit_code == 2
        assert uvicorn_calls == []

    def test_invalid_setting_fails_before_starting(
        self, runner: CliRunner, uvicorn_calls: list[dict[str, Any]]
    ) -> None:
        result = runner.invoke(app, ["serve"], env={"SESSIONARY_SESSION_IDLE_TIMEOUT": "1"})

        assert_one_line_error(result, "SESSIONARY_SESSION_IDLE_TIMEOUT")
        assert uvicorn_calls == []


EMBEDDER = """
from fastapi import FastAPI

from sessionary import Settings, install

app = FastAPI()
install(app, Settings(log_level="WARNING"))
bare = FastAPI()


@app.get("/mine")
async def mine() -> dict[str, str]:
    return {"app": "mine"}
"""


class TestServeYourOwnApp:
    """``serve --app module:attribute``: the developer's app, checked before uvicorn starts."""

    @pytest.fixture
    def uvicorn_calls(self, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []
        monkeypatch.setattr(
            uvicorn,
            "run",
            lambda app, **options: calls.append({"app": app, "log_level": options["log_level"]}),
        )
        return calls

    @pytest.fixture
    def project(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
        """A project directory holding a module (a new name each time), as the cwd."""
        name = f"embedder_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(EMBEDDER)
        (tmp_path / "broken.py").write_text("raise RuntimeError('no config\\nsecond line')\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "path", list(sys.path))  # serve adds the cwd; put it back
        yield name
        for module in (name, "broken"):
            sys.modules.pop(module, None)

    def test_the_apps_import_string_reaches_uvicorn(
        self, runner: CliRunner, uvicorn_calls: list[dict[str, Any]], project: str
    ) -> None:
        result = runner.invoke(app, ["serve", "--app", f"{project}:app"])

        assert result.exit_code == 0, result.output
        # The log level is the one the app was installed with, not the environment's.
        assert uvicorn_calls == [{"app": f"{project}:app", "log_level": "warning"}]

    @pytest.mark.parametrize(
        ("spec", "fragment"),
        [
            ("{project}", "expected module:attribute"),
            (":app", "expected module:attribute"),
            ("no_such_module_here:app", "cannot import no_such_module_here: ModuleNotFoundError"),
            ("broken:app", "cannot import broken: RuntimeError: no config"),
            ("{project}:nothing", "has no attribute nothing"),
            ("{project}:bare", "Sessionary is not installed on it"),
            ("{project}:install.__name__", "is not an ASGI app"),
        ],
    )
    def test_a_bad_spec_is_one_line_before_uvicorn_starts(
        self,
        runner: CliRunner,
        uvicorn_calls: list[dict[str, Any]],
        project: str,
        spec: str,
        fragment: str,
    ) -> None:
        result = runner.invoke(app, ["serve", "--app", spec.format(project=project)])

        assert_one_line_error(result, fragment)
        assert uvicorn_calls == []
