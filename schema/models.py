"""RPC payload models, declared once and imported by services and gateway.

Services return ``model.model_dump(mode="json")``; the gateway validates the
reply with the same model, so a drift in either side fails loudly.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field


class Status(str, Enum):
    UP = "UP"
    DOWN = "DOWN"


class DependencyHealth(BaseModel):
    name: str
    status: Status
    detail: str = ""


class ServiceHealth(BaseModel):
    """What a service's ``health()`` RPC returns."""

    name: str
    version: str
    status: Status
    dependencies: list[DependencyHealth] = Field(default_factory=list)
