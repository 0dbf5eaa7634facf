"""Where a request came from, as recorded with the events it causes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from sessionary.core.http import client_ip

USER_AGENT_MAX = 512  # the width of every user_agent column


@dataclass(frozen=True, slots=True)
class Origin:
    """The client's address (after trusted proxies) and its ``User-Agent``."""

    ip: str | None = None
    user_agent: str | None = None

    @property
    def stored_user_agent(self) -> str | None:
        """The user agent cut to the columns' width: a client picks its length."""
        return self.user_agent[:USER_AGENT_MAX] if self.user_agent else None


def request_origin(request: Request) -> Origin:
    return Origin(ip=client_ip(request), user_agent=request.headers.get("user-agent"))


RequestOrigin = Annotated[Origin, Depends(request_origin)]
