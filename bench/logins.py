"""SPEC §8 scenarios 4 and 5: a burst of logins beside the hot path, and login throughput.

Two clients logging in back to back are ``wrk -t1 -c2`` with ``bench/login.lua`` POSTing the
login body (each connection sends its next login as soon as the answer to the last one
arrives), on the load core like every load.

Burst (Sessionary): the run's wrk load on ``GET /users/me`` with the bench user's cookie
(``-t1 -c64`` by default, as in the research), idle and then while the two clients log in as
``bench-login``, interleaved ``--runs`` times (idle, burst, idle, burst, …) after a warm-up of
each; the logins start a second before the measured load and end a second after it. The
figure is median p99 burst ÷ median p99 idle (SPEC §8: ≤ 3).

Throughput: the two clients alone, a warm-up and ``--runs`` samples; logins/s of Sessionary
(``POST /auth/login``, JSON) and of fastapi-users (its cookie login, a form) on the same
database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from harness import Load, Row, Sample, Wrk, cookie_header, login_wrk, measure

BURST = "login burst"
THROUGHPUT = "logins"
CLIENTS = 2
LEAD_SECONDS = 1


@dataclass(frozen=True)
class Burst:
    """``GET /users/me`` idle and during the burst, and the logins of the burst."""

    idle: Row
    busy: Row
    logins: Row

    @property
    def ratio(self) -> float:
        return self.busy.p99 / self.idle.p99


def burst(database: str, base: str, cookie: str, logins: Wrk, load: Load) -> Burst:
    me = Wrk(base + "/users/me", (cookie_header(cookie),))
    me.run(load.warmup, load.connections)
    logins.run(load.warmup, CLIENTS)
    idle: list[Sample] = []
    busy: list[Sample] = []
    logged_in: list[Sample] = []
    for _ in range(load.runs):
        idle.append(me.run(load.duration, load.connections))
        seconds = load.duration + 2 * LEAD_SECONDS
        clients = logins.start(seconds, CLIENTS)
        try:
            time.sleep(LEAD_SECONDS)
            busy.append(me.run(load.duration, load.connections))
        finally:
            logged_in.append(logins.finish(clients, seconds))
    rows = Burst(
        Row(BURST, database, "Sessionary", "/users/me idle", tuple(idle), load.connections),
        Row(BURST, database, "Sessionary", "/users/me burst", tuple(busy), load.connections),
        Row(BURST, database, "Sessionary", "logins in burst", tuple(logged_in), CLIENTS),
    )
    for row in (rows.idle, rows.busy, rows.logins):
        row.show()
    return rows


def throughput(database: str, app: str, url: str, body: str, content_type: str, load: Load) -> Row:
    """Logins/s of two clients back to back."""
    logins = login_wrk(url, body, content_type)
    return measure(
        THROUGHPUT, database, app, "POST login", logins, replace(load, connections=CLIENTS)
    )


def sessionary_logins(base: str, body: str) -> Wrk:
    return login_wrk(base + "/auth/login", body, "application/json")
