"""The audit event as the API shows it (docs/security.md "Audit log": the keys are exact)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from sessionary.core.pagination import Page


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    actor_user_id: int | None
    actor_api_key_id: int | None
    target_type: str | None
    target_id: str | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    detail: dict[str, Any]


AuditEventPage = Page[AuditEventRead]
