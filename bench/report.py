"""The results of one bench run: the markdown report and its chart (matplotlib).

Every SPEC §8 figure is a ratio between rows of this run; the report gives each with its
floor and goal (:mod:`targets`) and a verdict, then the rows it comes from with every
sample, so a reader can see the spread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from harness import LOAD_CORE, SERVER_CORE, Load, Row
from hot_path import BEARER, COOKIE, ENDPOINTS
from isolation import Overhead
from isolation import markdown as isolation_markdown
from logins import Burst
from session_count import SessionCount
from targets import BURST, ISOLATION_MS, SESSION_COUNT, VS_FASTAPI_USERS, VS_RAW, Target

SESSIONARY = "Sessionary"
FASTAPI_USERS = "fastapi-users"


@dataclass
class DatabaseResults:
    """Everything measured on one database."""

    name: str
    rows: list[Row] = field(default_factory=list)
    session_count: SessionCount | None = None
    burst: Burst | None = None

    def find(self, scenario: str, app: str, path: str) -> Row | None:
        return next(
            (r for r in self.rows if (r.scenario, r.app, r.path) == (scenario, app, path)), None
        )

    def raw(self, scenario: str, path: str) -> Row | None:
        return next(
            (
                r
                for r in self.rows
                if r.scenario == scenario and r.path == path and r.app.startswith("raw ")
            ),
            None,
        )

    def all_rows(self) -> list[Row]:
        extra: list[Row] = []
        if self.session_count:
            extra += [self.session_count.few, self.session_count.many]
        if self.burst:
            extra += [self.burst.idle, self.burst.busy, self.burst.logins]
        return [*self.rows, *extra]


@dataclass
class Results:
    started: datetime
    load: Load
    sessions: tuple[int, int]
    rounds: int
    bare: Row | None = None
    databases: list[DatabaseResults] = field(default_factory=list)
    isolation: list[Overhead] | None = None
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


# -- markdown ----------------------------------------------------------------------------


def _ratio_cell(value: float | None, target: Target, unit: str = "x") -> str:
    if value is None:
        return "—"
    return f"{value:.2f}{unit} — {target.verdict(value)}"


def _worst(values: Iterable[float | None], target: Target) -> float | None:
    known = [v for v in values if v is not None]
    if not known:
        return None
    return min(known) if target.higher else max(known)


def _divide(a: Row | None, b: Row | None, figure: Callable[[Row], float]) -> float | None:
    if a is None or b is None:
        return None
    return figure(a) / figure(b)


def _rps(row: Row) -> float:
    return row.rps


def _requests_ratio(db: DatabaseResults, scenario: str, path: str, versus: str) -> float | None:
    mine = db.find(scenario, SESSIONARY, path)
    other = db.raw(scenario, path) if versus == "raw" else db.find(scenario, FASTAPI_USERS, path)
    return _divide(mine, other, _rps)


def _worst_endpoint(
    scenario: str, versus: str, target: Target
) -> Callable[[DatabaseResults], float | None]:
    def figure(db: DatabaseResults) -> float | None:
        return _worst((_requests_ratio(db, scenario, p, versus) for p in ENDPOINTS), target)

    return figure


def _glance(results: Results) -> list[str]:
    names = list(
        dict.fromkeys(
            [db.name for db in results.databases] + [r.database for r in results.isolation or []]
        )
    )
    lines = [
        "| SPEC §8 target | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]

    def add(label: str, target: Target, figure: Callable[[DatabaseResults], float | None]) -> None:
        cells = [_ratio_cell(figure(db), target) for db in results.databases]
        if not any(cell != "—" for cell in cells):
            return
        lines.append(f"| {label} ({target.describe('x')}) | " + " | ".join(cells) + " |")

    for scenario in (COOKIE, BEARER):
        for versus, target in (("raw", VS_RAW), (FASTAPI_USERS, VS_FASTAPI_USERS)):
            label = f"{scenario}: Sessionary ÷ {versus} req/s, worst endpoint"
            add(label, target, _worst_endpoint(scenario, versus, target))
    add(
        "p50 with many ÷ few stored sessions",
        SESSION_COUNT,
        lambda db: db.session_count.ratio if db.session_count else None,
    )
    add("p99 during a login burst ÷ idle", BURST, lambda db: db.burst.ratio if db.burst else None)
    if results.isolation:
        worst = {
            name: _worst(
                (r.overhead_ms for r in results.isolation if r.database == name), ISOLATION_MS
            )
            for name in names
        }
        cells = [_ratio_cell(worst[name], ISOLATION_MS, " ms") for name in names]
        label = f"toolkit isolation overhead, worst client ({ISOLATION_MS.describe(' ms')})"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _runs(values: Iterable[float]) -> str:
    return ", ".join(f"{v:.0f}" if v >= 100 else f"{v:.3g}" for v in values)


def _row_table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| database | scenario | app | what | req/s | p50 ms | p99 ms | runs (req/s) |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        runs = _runs(s.requests_per_second for s in row.samples)
        lines.append(
            f"| {row.database} | {row.scenario} | {row.app} | `{row.path}` | {row.rps:.0f} "
            f"| {row.p50:.2f} | {row.p99:.2f} | {runs} |"
        )
    return lines


def _requests_section(results: Results) -> list[str]:
    lines = [
        "## 1-2. Authenticated requests: session cookie and Bearer API key",
        "",
        f"Sessionary ÷ raw one-query reference ({VS_RAW.describe('x')}) and Sessionary ÷ "
        f"fastapi-users ({VS_FASTAPI_USERS.describe('x')}), req/s medians.",
        "",
        "| database | credential | endpoint | Sessionary req/s | ÷ raw | ÷ fastapi-users "
        "| Sessionary ÷ bare | raw ÷ bare |",
        "|---|---|---|---:|---|---|---:|---:|",
    ]
    for db in results.databases:
        for scenario in (COOKIE, BEARER):
            for path in ENDPOINTS:
                mine = db.find(scenario, SESSIONARY, path)
                if mine is None:
                    continue
                raw = db.raw(scenario, path)
                vs_raw = _ratio_cell(_requests_ratio(db, scenario, path, "raw"), VS_RAW)
                vs_fu = _ratio_cell(
                    _requests_ratio(db, scenario, path, FASTAPI_USERS), VS_FASTAPI_USERS
                )
                bare = results.bare
                mine_bare = f"{mine.rps / bare.rps:.2f}" if bare else "—"
                raw_bare = f"{raw.rps / bare.rps:.2f}" if bare and raw else "—"
                lines.append(
                    f"| {db.name} | {scenario} | `{path}` | {mine.rps:.0f} | {vs_raw} | {vs_fu} "
                    f"| {mine_bare} | {raw_bare} |"
                )
    rows = [results.bare] if results.bare else []
    rows += [r for db in results.databases for r in db.rows if r.scenario in (COOKIE, BEARER)]
    return [*lines, "", *_row_table(rows)]


def _sessions_section(results: Results) -> list[str]:
    few, many = results.sessions
    lines = [
        f"## 3. Stored sessions: p50 of `GET /users/me` with {few:,} vs {many:,}",
        "",
        f"`wrk -t1 -c1`, {results.rounds} interleaved runs of each, medians "
        f"(SPEC §8: p50 ratio {SESSION_COUNT.describe('x')}).",
        "",
        f"| database | p50 ms, {few:,} | p50 ms, {many:,} | runs (p50 ms) | ratio | req/s "
        f"{few:,} / {many:,} |",
        "|---|---:|---:|---|---|---|",
    ]
    for db in results.databases:
        count = db.session_count
        if count is None:
            continue
        runs = " / ".join(_runs(s.p50_ms for s in r.samples) for r in (count.few, count.many))
        lines.append(
            f"| {db.name} | {count.few.p50:.3f} | {count.many.p50:.3f} | {runs} "
            f"| {_ratio_cell(count.ratio, SESSION_COUNT)} "
            f"| {count.few.rps:.0f} / {count.many.rps:.0f} |"
        )
    return lines


def _burst_section(results: Results) -> list[str]:
    load = results.load
    lines = [
        "## 4. Login burst: p99 of `GET /users/me` while two clients log in back to back",
        "",
        f"`wrk -t1 -c{load.connections}` on `GET /users/me`, idle and while `wrk -t1 -c2 -s "
        "bench/login.lua` logs in as a second user, interleaved (idle, burst, …), "
        f"{load.runs} of each, medians (SPEC §8: p99 ratio {BURST.describe('x')}).",
        "",
        "| database | p99 idle ms | p99 burst ms | ratio | req/s idle / burst "
        "| logins/s in burst |",
        "|---|---:|---:|---|---|---:|",
    ]
    for db in results.databases:
        burst = db.burst
        if burst is None:
            continue
        lines.append(
            f"| {db.name} | {burst.idle.p99:.2f} | {burst.busy.p99:.2f} "
            f"| {_ratio_cell(burst.ratio, BURST)} | {burst.idle.rps:.0f} / {burst.busy.rps:.0f} "
            f"| {burst.logins.rps:.1f} |"
        )
    return lines


def _logins_section(results: Results) -> list[str]:
    lines = [
        "## 5. Login throughput: two clients logging in back to back",
        "",
        "`wrk -t1 -c2 -s bench/login.lua`: Sessionary `POST /auth/login` (JSON), fastapi-users "
        "its cookie login (form), each on its own database's bench user.",
        "",
        "| database | Sessionary logins/s | fastapi-users logins/s | Sessionary ÷ fastapi-users "
        "| p99 ms Sessionary / fastapi-users |",
        "|---|---:|---:|---:|---|",
    ]
    for db in results.databases:
        mine = db.find("logins", SESSIONARY, "POST login")
        if mine is None:
            continue
        theirs = db.find("logins", FASTAPI_USERS, "POST login")
        ratio = f"{mine.rps / theirs.rps:.2f}x" if theirs else "—"
        their_rps = f"{theirs.rps:.1f}" if theirs else "—"
        their_p99 = f"{theirs.p99:.1f}" if theirs else "—"
        lines.append(
            f"| {db.name} | {mine.rps:.1f} | {their_rps} | {ratio} | {mine.p99:.1f} / {their_p99} |"
        )
    return lines


def markdown(results: Results, chart: Path | None) -> str:
    load = results.load
    lines = [
        f"# Sessionary bench, {results.started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Every server on core {SERVER_CORE} (one process, uvicorn, access log off), one after "
        f"another; load from `wrk -t1 -c{load.connections} -d{load.duration}s --latency` on "
        f"core {LOAD_CORE} unless a section says otherwise; a {load.warmup}s warm-up per row, "
        f"then {load.runs} runs, medians. Only ratios taken in this run are compared. "
        f"The whole run took {results.seconds / 60:.1f} min.",
        "",
    ]
    if chart is not None:
        lines += [f"![req/s and p99 per scenario]({chart.name})", ""]
    lines += ["## SPEC §8 at a glance", "", *_glance(results), ""]
    for section in (_requests_section, _sessions_section, _burst_section, _logins_section):
        text = section(results)
        if not text[-1].startswith("|---"):  # a table with rows
            lines += [*text, ""]
    if results.isolation is not None:
        lines += ["## 6. Test toolkit: per-test isolation overhead", ""]
        lines += [*isolation_markdown(results.isolation), ""]
    lines += ["## All rows", "", *_row_table(all_rows(results)), ""]
    if results.skipped:
        lines += ["Not measured in this run:", "", *(f"- {item}" for item in results.skipped), ""]
    return "\n".join(lines)


SCENARIO_ORDER = (COOKIE, BEARER, "stored sessions", "login burst", "logins")


def all_rows(results: Results) -> list[Row]:
    """Every row, comparable rows together: per database and scenario, per path, per app."""
    rows = [results.bare] if results.bare else []
    for db in results.databases:
        found = db.all_rows()
        paths = list(dict.fromkeys(r.path for r in found))
        apps = list(dict.fromkeys(r.app for r in found))
        rows += sorted(
            found,
            key=lambda r: (
                SCENARIO_ORDER.index(r.scenario) if r.scenario in SCENARIO_ORDER else 99,
                paths.index(r.path),
                apps.index(r.app),
            ),
        )
    return rows


# -- chart -------------------------------------------------------------------------------

APP_COLOURS = {SESSIONARY: "#1f77b4", FASTAPI_USERS: "#d62728", "bare FastAPI": "#7f7f7f"}
RAW_COLOUR = "#2ca02c"


def chart(results: Results, path: Path) -> Path | None:
    """Horizontal bars of req/s and p99 per row, log scales; None when matplotlib is missing."""
    try:
        # Only `make bench` installs matplotlib (dependency group "bench").
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        return None
    rows = list(reversed(all_rows(results)))
    labels = [f"{r.database} · {r.scenario} · {r.app} · {r.path}" for r in rows]
    colours = [APP_COLOURS.get(r.app, RAW_COLOUR) for r in rows]
    height = max(4.0, 0.28 * len(rows) + 1.5)
    figure, (left, right) = plt.subplots(1, 2, figsize=(16, height), sharey=True)
    positions = list(range(len(rows)))
    left.barh(positions, [r.rps for r in rows], color=colours)
    left.set_xscale("log")
    left.set_xlabel("requests (or logins) per second, median — log scale")
    left.set_yticks(positions, labels, fontsize=7)
    latencies = [r.p50 if r.connections == 1 else r.p99 for r in rows]
    right.barh(positions, latencies, color=colours)
    right.set_xscale("log")
    right.set_xlabel("p99 latency, ms, median — log scale (stored sessions: p50)")
    for axis in (left, right):
        axis.grid(axis="x", which="both", alpha=0.3)
    shown = dict.fromkeys(r.app for r in reversed(rows))
    handles = [Patch(color=APP_COLOURS.get(app, RAW_COLOUR), label=app) for app in shown]
    right.legend(handles=handles, loc="upper right", fontsize=8)
    for position, row, latency in zip(positions, rows, latencies, strict=True):
        left.annotate(f" {row.rps:.0f}", (row.rps, position), va="center", fontsize=6)
        right.annotate(f" {latency:.2f}", (latency, position), va="center", fontsize=6)
    figure.suptitle(f"Sessionary bench, {results.started:%Y-%m-%d %H:%M} UTC")
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
