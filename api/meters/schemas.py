from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from stream.aggregation import Meter

from ..fields import ResourceSlug

__all__ = ["MeterCreate", "MeterPublic"]

# A dotted path into the event's `data` object, as stream.aggregation.extract_value reads it.
_VALUE_PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")

EventType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class MeterCreate(BaseModel):
    slug: ResourceSlug = Field(examples=["api-calls"])
    event_type: EventType = Field(description="The CloudEvents `type` this meter counts", examples=["api.request"])
    aggregation: Literal["COUNT", "SUM"]
    value_path: str | None = Field(default=None, max_length=256,
                                   description="Dotted path into `data` of the number to sum; SUM only",
                                   examples=["usage.tokens"])

    @model_validator(mode="after")
    def _value_path_matches_aggregation(self) -> MeterCreate:
        if self.aggregation == "SUM":
            if not self.value_path:
                raise ValueError("value_path is required when aggregation is SUM")
            if not _VALUE_PATH.match(self.value_path):
                raise ValueError("value_path must be a dotted path such as 'usage.tokens'")
        elif self.value_path is not None:
            # COUNT ignores values; accepting one would suggest it is summed.
            raise ValueError("value_path applies only to SUM meters")
        return self


class MeterPublic(BaseModel):
    slug: str
    event_type: str
    aggregation: Literal["COUNT", "SUM"]
    value_path: str | None

    @classmethod
    def of(cls, meter: Meter) -> MeterPublic:
        return cls(slug=meter.slug, event_type=meter.event_type, aggregation=meter.aggregation,
                   value_path=meter.value_path)
