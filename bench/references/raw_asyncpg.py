"""The raw one-query reference on PostgreSQL: an asyncpg pool, the query sent as is
(the session query, or the API-key one for ``Authorization: Bearer sk_…``).

    BENCH_ASYNCPG_DSN=postgresql://postgres@127.0.0.1/sessionary_bench \\
        uvicorn --app-dir bench/references raw_asyncpg:app --no-access-log

The pool holds as many connections as Sessionary's default (``SESSIONARY_DB_POOL_SIZE``,
10) unless ``BENCH_POOL_SIZE`` says otherwise. It skips asyncpg's reset on release
(``RESET ALL; UNLISTEN *; …``, a second round trip per request): a read-only query leaves
no session state, and the reference is meant to be one round trip — the practical limit.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from raw_common import (
    COOKIE,
    KEY_QUERY,
    QUERY,
    bearer_key_hash,
    key_user_me,
    protected_data,
    token_hash,
    user_me,
)

SQL = QUERY.format(placeholder="$1")
KEY_SQL = KEY_QUERY.format(placeholder="$1")


async def _no_reset(_connection: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get("BENCH_POOL_SIZE", "10"))
    pool = await asyncpg.create_pool(
        os.environ["BENCH_ASYNCPG_DSN"], min_size=size, max_size=size, reset=_no_reset
    )
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan)


async def _me(request: Request) -> dict[str, Any]:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        digest = bearer_key_hash(authorization)
        sql, answer = KEY_SQL, key_user_me
    else:
        digest = token_hash(request.cookies.get(COOKIE))
        sql, answer = SQL, user_me
    if digest is not None:
        me = answer(await request.app.state.pool.fetch(sql, digest))
        if me is not None:
            return me
    raise HTTPException(status_code=401, detail="Not authenticated")


@app.get("/users/me")
async def read_me(request: Request) -> dict[str, Any]:
    return await _me(request)


@app.get("/protected_data/")
async def read_protected(request: Request) -> dict[str, Any]:
    return protected_data(await _me(request))
