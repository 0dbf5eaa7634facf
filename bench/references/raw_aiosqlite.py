"""The raw one-query reference on SQLite: one aiosqlite connection, the query sent as is.

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
from raw_common import COOKIE, QUERY, protected_data, token_hash, user_me

SQL = QUERY.format(placeholder="?")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with aiosqlite.connect(os.environ["BENCH_SQLITE_PATH"]) as connection:
        app.state.db = connection
        yield


app = FastAPI(lifespan=lifespan)


async def _me(request: Request) -> dict[str, Any]:
    digest = token_hash(request.cookies.get(COOKIE))
    if digest is not None:
        connection: aiosqlite.Connection = request.app.state.db
        async with connection.execute(SQL, (digest,)) as cursor:
            me = user_me(list(await cursor.fetchall()))
        if me is not None:
            return me
    raise HTTPException(status_code=401, detail="Not authenticated")


@app.get("/users/me")
async def read_me(request: Request) -> dict[str, Any]:
    return await _me(request)


@app.get("/protected_data/")
async def read_protected(request: Request) -> dict[str, Any]:
    return protected_data(await _me(request))
