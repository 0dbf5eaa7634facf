"""What the project routes take and give."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from projects.models import DESCRIPTION_MAX, NAME_MAX


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)


class ProjectRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    name: str
    description: str
    created_at: datetime
