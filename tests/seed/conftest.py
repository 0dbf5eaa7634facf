"""The original example expects its demo user; load it inside each test's transaction."""

import pytest
from fastapi import FastAPI

from sessionary.runtime import runtime_of
from sessionary.testing import SyncDB
from sessionary.users import service as users_service


@pytest.fixture(autouse=True)
def demo_data(db: SyncDB, sessionary_app: FastAPI) -> None:
    hasher = runtime_of(sessionary_app).hasher
    result = db.run(lambda session: users_service.load_demo_users(session, hasher))
    assert result.created == ["user123"]
