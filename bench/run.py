"""``make bench``: the whole SPEC §8 suite in one run, every figure a ratio taken in that run.

One app after another, each server on core 0 (``taskset -c 0``, one uvicorn process, access
log off), the load from ``wrk`` on core 1, a warm-up, then ``--runs`` runs per row, medians:

1. ``GET /users/me`` and ``GET /protected_data/`` with a session cookie — Sessionary beside
   the raw one-query reference (aiosqlite / asyncpg, ``bench/references/raw_*.py``) on the
   same database and cookie, and fastapi-users (``bench/fastapi_users_ref.py``) on a
   database of its own; a bare FastAPI endpoint gives the ceiling (``hot_path.py``);
2. the same with a Bearer credential: a Sessionary API key, a fastapi-users bearer token;
3. p50 with 10 vs 1 000 000 stored sessions, concurrency 1 (``session_count.py``);
4. p99 of ``GET /users/me`` while two clients log in back to back vs idle, and
5. logins/s of two clients back to back, Sessionary and fastapi-users (``logins.py``);
6. the test toolkit's per-test isolation overhead (``isolation.py``).

Each on SQLite, and on PostgreSQL when ``--pg-url`` or ``SESSIONARY_TEST_DATABASE_URL``
names a server (scratch databases ``sessionary_bench*`` are created there and dropped after).
The report goes to stdout and ``bench/results/<date>.md``, its chart to ``<date>.png``, both
copied to ``latest.md``/``latest.png`` (what the README links).

    python bench/run.py                                   # defaults: about 13 minutes
    python bench/run.py --pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    python bench/run.py --quick --only requests,burst     # a short development run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import hot_path
import isolation
import logins
import report
import session_count
import sessionary_app
from databases import Database
from harness import RESULTS, BenchError, Load, Wrk, check_machine, measure, say
from reference_apps import (
    fastapi_users_env,
    serve_bare,
    serve_fastapi_users,
    serve_raw,
)

SCENARIOS = ("requests", "sessions", "burst", "logins", "isolation")
FEW_SESSIONS = 10
FULL = {"duration": 7, "warmup": 2, "sessions": 1_000_000}
QUICK = {"duration": 2, "warmup": 1, "sessions": 100_000}


def run_database(
    database: Database,
    args: argparse.Namespace,
    load: Load,
    fastapi_users_bin: Path | None,
) -> report.DatabaseResults:
    """Every scenario of one database, Sessionary and its references one after another."""
    results = report.DatabaseResults(database.name)
    workdir, name = database.workdir, database.name
    only = args.only
    if {"requests", "burst", "logins"} & only:
        with database.scratch() as url:
            users = sessionary_app.prepare(url, workdir)
            with sessionary_app.serve(f"sessionary-{database.slug}", url, workdir) as base:
                cookie = sessionary_app.login(base, users.password)
                key = sessionary_app.create_api_key(base, cookie)
                if "requests" in only:
                    headers = hot_path.credentials(cookie, key)
                    results.rows += hot_path.measure_app(name, "Sessionary", base, headers, load)
                if "burst" in only:
                    wrk_logins = logins.sessionary_logins(base, users.login_body())
                    results.burst = logins.burst(name, base, cookie, wrk_logins, load)
                if "logins" in only:
                    results.rows.append(
                        logins.throughput(
                            name,
                            "Sessionary",
                            base + sessionary_app.LOGIN_PATH,
                            users.login_body(),
                            "application/json",
                            load,
                        )
                    )
            if "requests" in only:
                with serve_raw(database, url, workdir) as base:
                    app = database.raw_app.replace("_", " ")
                    headers = hot_path.credentials(cookie, key)
                    results.rows += hot_path.measure_app(name, app, base, headers, load)
    if fastapi_users_bin is not None and {"requests", "logins"} & only:
        with serve_fastapi_users(fastapi_users_bin, database, workdir) as ref:
            if "requests" in only:
                headers = hot_path.credentials(ref.cookie, ref.bearer)
                results.rows += hot_path.measure_app(name, "fastapi-users", ref.base, headers, load)
            if "logins" in only:
                results.rows.append(
                    logins.throughput(
                        name,
                        "fastapi-users",
                        ref.login_url,
                        ref.login_body,
                        ref.login_content_type,
                        load,
                    )
                )
    if "sessions" in only:
        results.session_count = session_count.run(
            database, workdir, load, FEW_SESSIONS, args.sessions, args.rounds
        )
    return results


def run(args: argparse.Namespace) -> report.Results:
    load = Load(args.duration, args.warmup, args.runs, args.connections)
    results = report.Results(datetime.now(UTC), load, (FEW_SESSIONS, args.sessions), args.rounds)
    fastapi_users_bin = None
    if args.no_fastapi_users:
        results.skipped.append("fastapi-users (--no-fastapi-users)")
    elif {"requests", "logins"} & args.only:
        say("installing the fastapi-users reference (its own lock)…")
        fastapi_users_bin = fastapi_users_env()
    with tempfile.TemporaryDirectory(prefix="sessionary-bench-") as temp:
        workdir = Path(temp)
        if "requests" in args.only:
            with serve_bare(workdir) as base:
                results.bare = measure("ceiling", "—", "bare FastAPI", "/", Wrk(base + "/"), load)
        databases = [Database("SQLite", workdir)]
        if args.pg_url:
            databases.append(Database("PostgreSQL", workdir, args.pg_url))
        else:
            results.skipped.append("PostgreSQL (no --pg-url or SESSIONARY_TEST_DATABASE_URL)")
        for database in databases if args.only - {"isolation"} else []:
            say(f"== {database.name} ==")
            results.databases.append(run_database(database, args, load, fastapi_users_bin))
    if "isolation" in args.only:
        say("== test toolkit isolation overhead ==")
        results.isolation = isolation.measure(args.pg_url)
    skipped = [s for s in SCENARIOS if s not in args.only]
    if skipped:
        results.skipped.append("scenarios left out with --only: " + ", ".join(skipped))
    return results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The SPEC §8 bench suite (see bench/run.py's docstring)."
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("SESSIONARY_TEST_DATABASE_URL"),
        help="a PostgreSQL server URL: scratch databases sessionary_bench* are made there "
        "(default SESSIONARY_TEST_DATABASE_URL; without it, SQLite only)",
    )
    parser.add_argument("--duration", type=int, help="seconds per run (7; --quick 2)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per row (2; --quick 1)")
    parser.add_argument("--runs", type=int, default=2, help="runs per row, at least 2 (2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument(
        "--sessions",
        type=int,
        help="stored sessions of the large case (1000000; --quick 100000; "
        f"the small one has {FEW_SESSIONS})",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved runs of the stored-sessions pair (3)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help="comma-separated scenarios to run, of " + ", ".join(SCENARIOS) + " (all)",
    )
    parser.add_argument(
        "--no-fastapi-users", action="store_true", help="leave the fastapi-users reference out"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="development defaults: --duration 2 --warmup 1 --sessions 100000 (not to quote)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="where <date>.md and <date>.png go"
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.only = {item.strip() for item in args.only.split(",") if item.strip()}
    if unknown := args.only - set(SCENARIOS):
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}")
    if args.runs < 2 or args.rounds < 3:
        parser.error("--runs must be at least 2 and --rounds at least 3 (SPEC §8)")
    if args.duration < 1 or args.warmup < 1 or args.connections < 1:
        parser.error("--duration, --warmup and --connections must be at least 1")
    if args.sessions <= FEW_SESSIONS:
        parser.error(f"--sessions must be more than {FEW_SESSIONS}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    check_machine()
    started = time.monotonic()
    try:
        results = run(args)
    except BenchError as error:
        sys.exit(f"bench failed: {error}")
    results.seconds = time.monotonic() - started
    written = write(results, args.results)
    say("\n" + written[0].read_text())
    if len(written) == 1:
        say("no chart: matplotlib is not installed (make bench installs it)")
    say("written: " + ", ".join(str(path) for path in written))


def write(results: report.Results, directory: Path) -> list[Path]:
    """``<date>.md`` and ``<date>.png``, and the same as ``latest.md``/``latest.png``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in (f"{results.started:%Y-%m-%d}", "latest"):
        chart = report.chart(results, directory / f"{stem}.png")
        markdown = directory / f"{stem}.md"
        markdown.write_text(report.markdown(results, chart))
        written += [markdown] + ([chart] if chart else [])
    return written


if __name__ == "__main__":
    main()
