"""The floor under every row: a bare FastAPI JSON endpoint, no database, no auth.

uvicorn --app-dir bench/references bare:app --no-access-log
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"message": "hello"}
