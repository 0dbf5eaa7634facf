"""The ``login_devices`` table: browsers that have logged in as a user before."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from sessionary.core.models import Base, UTCDateTime


class LoginDevice(Base):
    """A browser that has logged in as a user before (the ``session_device`` cookie).

    It gets its own brute-force bucket, so an attacker hammering the account from
    the same network cannot lock its owner out. Only the token's SHA-256 is stored.
    """

    __tablename__ = "login_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
