"""The building blocks every settings model shares: strict models, non-empty secrets, a rate limit."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from bridge.config_errors import EmptySecret


def _non_empty(secret: SecretStr) -> SecretStr:
    if not secret.get_secret_value().strip():
        raise EmptySecret("is empty")
    return secret


# A secret that is given must not be empty: an empty token or webhook secret fails every request.
Secret = Annotated[SecretStr, AfterValidator(_non_empty)]


class Strict(BaseModel):
    """Every settings block refuses keys it does not know, so typos surface at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(Strict):
    """Outbound pace to one target: a steady rate with a short burst allowance."""

    per_second: float = Field(default=5.0, gt=0)
    burst: int = Field(default=10, ge=1)


class TargetSettings(Strict):
    """What every target type has: its pace, and whether items are told as threads where the chat can."""

    rate_limit: RateLimit = RateLimit()
    threads: bool = True

    @property
    def threaded(self) -> bool:
        """True when events that belong to an item are sent as that item's thread activity."""
        return self.threads

    def urls(self) -> dict[str, str]:
        """The URLs this target posts to, by key, for the plain-http check; none by default."""
        return {}
