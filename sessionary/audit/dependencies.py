"""Where a request came from, for the events it records."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sessionary.audit.service import Origin
from sessionary.core.http import client_ip


def request_origin(request: Request) -> Origin:
    return Origin(ip=client_ip(request), user_agent=request.headers.get("user-agent"))


RequestOrigin = Annotated[Origin, Depends(request_origin)]
