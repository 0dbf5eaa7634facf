"""Remembered login devices (``login_devices``, the ``session_device`` cookie): their expiry,
purge and revocation.

A device row gives a browser its own brute-force bucket. It expires once unused for
``SESSIONARY_LOGIN_DEVICE_TTL`` seconds (default 30 days): past that it gives no bucket and
``sessionary sessions purge`` deletes it. A password change (one's own, or set by an
operator) and a deactivation forget every device of the user, so a stolen device cookie
stops counting the moment the account is secured.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.auth.models import LoginDevice
from sessionary.config import Settings


def unused_since(settings: Settings) -> datetime:
    """A device last used at or before this moment has expired."""
    return clock.now() - timedelta(seconds=settings.login_device_ttl)


async def forget_devices(db: AsyncSession, user_id: int) -> int:
    """Delete every remembered device of a user; returns how many."""
    result = await db.execute(delete(LoginDevice).where(LoginDevice.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_devices(db: AsyncSession, settings: Settings) -> int:
    """Delete the devices that expired (unused for the TTL); returns how many."""
    result = await db.execute(
        delete(LoginDevice).where(LoginDevice.last_used_at <= unused_since(settings))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def has_devices(db: AsyncSession, user_id: int) -> bool:
    """Whether the user has a remembered device (someone has used the account before)."""
    found = await db.scalar(select(LoginDevice.id).where(LoginDevice.user_id == user_id).limit(1))
    return found is not None
