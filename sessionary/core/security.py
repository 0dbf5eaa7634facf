"""Secrets: session tokens and password hashing.

Tokens are 256 random bits, URL-safe; only their SHA-256 is stored, so a
database leak yields nothing that authenticates. Passwords are argon2id,
NFKC-normalised, hashed on a small dedicated thread pool so a burst of
logins never stalls the event loop (nor FastAPI's shared thread pool).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; anything else cannot be one of ours.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def is_well_formed_token(value: str) -> bool:
    return bool(_TOKEN_SHAPE.fullmatch(value))


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    """argon2id with fixed parameters, run on its own threads."""

    def __init__(self, *, memory_cost: int, time_cost: int, parallelism: int, threads: int) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism),)
        )
        self.parameters = (memory_cost, time_cost, parallelism)
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._dummy_hash: str | None = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="argon2")
        return self._executor

    def hash_sync(self, password: str) -> str:
        return self._hash.hash(normalize_password(password))

    def verify_sync(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """(matches, new hash when the stored one uses other parameters)."""
        return self._hash.verify_and_update(normalize_password(password), password_hash)

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool(), self.hash_sync, password
        )

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Exactly one argon2 verification; against a dummy hash when there is no user,
        so unknown users cost the same as wrong passwords."""
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash(new_token())
            await asyncio.get_running_loop().run_in_executor(
                self._pool(), self.verify_sync, password, self._dummy_hash
            )
            return False, None
        return await asyncio.get_running_loop().run_in_executor(
            self._pool(), self.verify_sync, password, password_hash
        )

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
