"""Plans: what a tenant pays for, as pydantic models.

They are stored as JSON in PostgreSQL and served as API schemas, so they must
round-trip through `model_dump(mode="json")` / `model_validate`: Decimals are
serialized as strings, and float input is refused for every amount or quantity
(a JSON 0.1 is already a binary approximation by the time we would see it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from .money import currency_exponent, format_decimal, to_decimal

__all__ = [
    "GraduatedCharge",
    "NonNegativeDecimal",
    "PackageCharge",
    "Plan",
    "Slug",
    "Tier",
    "UnitCharge",
    "UsageCharge",
    "UsageLimit",
    "VolumeCharge",
    "tier_label",
]


def _exact_decimal(value: object) -> object:
    # Strings, ints and Decimals pass through to pydantic; floats (and bools)
    # stop here. ValueError, not the money module's TypeError, so that API
    # input fails as a ValidationError (HTTP 422) rather than a crash.
    if isinstance(value, (float, bool)):
        raise ValueError(f"{value!r}: floats are not accepted for amounts or quantities; send a string")
    return value


def _non_negative(value: Decimal) -> Decimal:
    value = to_decimal(value)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _strict_int(value: object) -> object:
    if isinstance(value, (float, bool)):
        raise ValueError(f"{value!r}: expected an integer, not {type(value).__name__}")
    return value


def _known_currency(code: str) -> str:
    currency_exponent(code)
    return code


NonNegativeDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal), AfterValidator(_non_negative)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)]
PositiveInt = Annotated[int, BeforeValidator(_strict_int), Field(gt=0)]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Tier(BaseModel):
    """Units above the previous tier's `up_to` and up to this one (inclusive)."""

    model_config = _FROZEN

    up_to: NonNegativeDecimal | None
    unit_price: NonNegativeDecimal
    flat_fee: NonNegativeDecimal = Decimal(0)


def tier_label(tiers: list[Tier], index: int) -> str:
    """Human label, 1-based: 'tier 2 (1001-10000)', last 'tier 3 (10001+)'."""
    previous = tiers[index - 1].up_to if index > 0 else Decimal(0)
    assert previous is not None  # guaranteed by _validate_tiers
    # Integer boundaries read best as "1001-10000"; fractional ones cannot
    # use "+1", so they say ">1000.5".
    if previous == previous.to_integral_value():
        lower = format_decimal(previous + 1)
    else:
        lower = f">{format_decimal(previous)}"
    upper = tiers[index].up_to
    span = f"{lower}+" if upper is None else f"{lower}-{format_decimal(upper)}"
    return f"tier {index + 1} ({span})"


def _validate_tiers(tiers: list[Tier]) -> list[Tier]:
    if not tiers:
        raise ValueError("at least one tier is required")
    if tiers[-1].up_to is not None:
        raise ValueError("the last tier must have up_to = null (unbounded)")
    previous = Decimal(0)
    for position, tier in enumerate(tiers[:-1], start=1):
        if tier.up_to is None:
            raise ValueError(f"only the last tier may be unbounded (tier {position} is)")
        if tier.up_to <= previous:
            raise ValueError("tier up_to values must be strictly increasing and > 0")
        previous = tier.up_to
    return tiers


Tiers = Annotated[list[Tier], AfterValidator(_validate_tiers)]


class _ChargeBase(BaseModel):
    model_config = _FROZEN

    meter_slug: Slug
    # Free units subtracted from the period's usage before any price applies.
    included_usage: NonNegativeDecimal = Decimal(0)
    # Minimum charge for this meter per period, in major units.
    minimum: NonNegativeDecimal | None = None


class UnitCharge(_ChargeBase):
    model: Literal["unit"] = "unit"
    unit_price: NonNegativeDecimal


class PackageCharge(_ChargeBase):
    """`package_price` per started block of `package_size` units."""

    model: Literal["package"] = "package"
    package_size: PositiveInt
    package_price: NonNegativeDecimal


class GraduatedCharge(_ChargeBase):
    """Each tier prices only the units that fall inside it."""

    model: Literal["graduated"] = "graduated"
    tiers: Tiers


class VolumeCharge(_ChargeBase):
    """The tier reached by the total prices every unit."""

    model: Literal["volume"] = "volume"
    tiers: Tiers


UsageCharge = Annotated[
    Union[UnitCharge, PackageCharge, GraduatedCharge, VolumeCharge],
    Field(discriminator="model"),
]


class UsageLimit(BaseModel):
    model_config = _FROZEN

    meter_slug: Slug
    quantity: NonNegativeDecimal
    kind: Literal["soft", "hard"]


class Plan(BaseModel):
    model_config = _FROZEN

    slug: Slug
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    currency: CurrencyCode
    interval: Literal["month"] = "month"
    flat_fee: NonNegativeDecimal = Decimal(0)
    charges: list[UsageCharge] = Field(default_factory=list)
    limits: list[UsageLimit] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_charge_and_one_limit_kind_per_meter(self) -> Plan:
        # One charge per meter keeps an invoice line traceable to one price;
        # two would bill the same usage twice.
        meters = [charge.meter_slug for charge in self.charges]
        if len(meters) != len(set(meters)):
            raise ValueError("each meter may have at most one charge")
        limits = [(limit.meter_slug, limit.kind) for limit in self.limits]
        if len(limits) != len(set(limits)):
            raise ValueError("each meter may have at most one soft and one hard limit")
        return self
