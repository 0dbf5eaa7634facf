"""The raw one-query reference on SQLite: one aiosqlite connection, the query sent as is
(the session query, or the API-key one for ``Authorization: Bearer sk_…``).

    BENCH_SQLITE_PATH=/tmp/.../bench.db \\
        uvicorn --app-dir bench/references raw_aiosqlite:app --no-access-log
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
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

SQL = QUERY.format(placeholder="?")
KEY_SQL = KEY_QUERY.format(placeholder="?")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with aiosqlite.connect(os.environ["BENCH_SQLITE_PATH"]) as connection:
        app.state.db = connection
        yield


app = FastAPI(lifespan=lifespan)


async def _me(request: Request) -> dict[str, Any]:
    connection: aiosqlite.Connection = request.app.state.db
    authorization = request.headers.get("authorization")
    if authorization is not None:
        digest = bearer_key_hash(authorization)
        sql, answer = KEY_SQL, key_user_me
    else:
        digest = token_hash(request.cookies.get(COOKIE))
        sql, answer = SQL, user_me
    if digest is not None:
        async with connection.execute(sql, (digest,)) as cursor:
            me = answer(list(await cursor.fetchall()))
        if me is not None:
            return me
    raise HTTPException(status_code=401, detail="Not authenticated")


@app.get("/users/me")
async def read_me(request: Request) -> dict[str, Any]:
    return await _me(request)


@app.get("/protected_data/")
async def read_protected(request: Request) -> dict[str, Any]:
    return protected_data(await _me(request))
