from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from metering import Aggregation, Meter, aggregation_for
from metering.aggregations import registered

from ..fields import DataPath, EventType, ResourceSlug

__all__ = ["MeterCreate", "MeterPublic"]


class MeterCreate(BaseModel):
    slug: ResourceSlug = Field(examples=["api-calls"])
    event_type: EventType = Field(description="The CloudEvents `type` this meter counts", examples=["api.request"])
    aggregation: Aggregation = Field(description="; ".join(kind.description for kind in registered()))
    value_path: DataPath | None = Field(default=None,
                                        description="Dotted path into `data` of the value; every aggregation but COUNT",
                                        examples=["usage.tokens"])
    group_by: list[DataPath] = Field(default_factory=list, max_length=8,
                                     description="Dotted paths into `data` whose values split the usage",
                                     examples=[["region", "model"]])
    allow_negative: bool = Field(default=False, description="Whether ingest accepts a negative value at "
                                 "`value_path` (otherwise 422): a negative value lowers the usage billed")

    @model_validator(mode="after")
    def _value_path_matches_aggregation(self) -> MeterCreate:
        if aggregation_for(self.aggregation).needs_value:
            if not self.value_path:
                raise ValueError(f"value_path is required when aggregation is {self.aggregation}")
        elif self.value_path is not None:
            # COUNT ignores values; accepting one would suggest it is summed.
            raise ValueError(f"value_path does not apply to {self.aggregation} meters")
        kind = aggregation_for(self.aggregation)
        if self.allow_negative and (not kind.needs_value or kind.reads_text):
            raise ValueError(f"allow_negative applies to meters whose values are numbers, not {self.aggregation}")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by lists a path twice")
        return self


class MeterPublic(BaseModel):
    slug: str
    event_type: str
    aggregation: Aggregation
    value_path: str | None
    group_by: list[str]

    @classmethod
    def of(cls, meter: Meter) -> MeterPublic:
        return cls(slug=meter.slug, event_type=meter.event_type, aggregation=meter.aggregation,
                   value_path=meter.value_path, group_by=list(meter.group_by))
