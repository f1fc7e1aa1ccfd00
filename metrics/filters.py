"""The one Filters value that flows from a page to every metric (SPEC section 4)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

Tier = Literal["VIP", "key", "standard"]
Area = Literal["urban", "rural", "remote"]
TicketType = Literal["repair", "connection", "billing", "inquiry", "complaint", "suggestion", "praise"]
Channel = Literal["hotline", "online", "counter", "account_manager", "visit"]

TIERS: tuple[str, ...] = ("VIP", "key", "standard")
AREAS: tuple[str, ...] = ("urban", "rural", "remote")
TICKET_TYPES: tuple[str, ...] = ("repair", "connection", "billing", "inquiry", "complaint", "suggestion", "praise")
CHANNELS: tuple[str, ...] = ("hotline", "online", "counter", "account_manager", "visit")


class Filters(BaseModel):
    """Inclusive date window plus optional dimension lists (None = all).

    `allowed_regions`, `allowed_service_centers` and `allowed_account_managers` are set from the signed-in user,
    never from the URL: they can only narrow `regions`, `service_centers` and `account_managers`. Metrics use
    `chosen(dimension)` (`effective_regions`, `effective_service_centers`, `effective_account_managers`), the
    intersections (an empty intersection selects nothing); a row limit on another customer dimension is one field
    here and its `allowed` name in metrics.model. `voltages`: voltage levels in kV (customers.voltage_kv).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.date
    end: dt.date
    regions: tuple[str, ...] | None = None
    service_centers: tuple[str, ...] | None = None
    industries: tuple[str, ...] | None = None
    tiers: tuple[Tier, ...] | None = None
    areas: tuple[Area, ...] | None = None
    ticket_types: tuple[TicketType, ...] | None = None
    channels: tuple[Channel, ...] | None = None
    account_managers: tuple[str, ...] | None = None
    voltages: tuple[float, ...] | None = None
    allowed_regions: tuple[str, ...] | None = None
    allowed_service_centers: tuple[str, ...] | None = None
    allowed_account_managers: tuple[str, ...] | None = None

    @field_validator("regions", "service_centers", "industries", "tiers", "areas", "ticket_types", "channels",
                     "account_managers", "voltages", "allowed_regions", "allowed_service_centers",
                     "allowed_account_managers", mode="after")
    @classmethod
    def _sorted_unique(cls, values):
        return None if values is None else tuple(sorted(set(values)))

    @model_validator(mode="after")
    def _start_before_end(self) -> Filters:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}; choose a start on or before the end")
        return self

    def chosen(self, dimension: str) -> tuple | None:
        """The values of a customer dimension (metrics.model) the figures count: the user's choice intersected with
        the row limit declared for that dimension (its `allowed` field), None for all."""
        from metrics.model import DIMENSION_BY_NAME

        d = DIMENSION_BY_NAME[dimension]
        values = getattr(self, d.filter)
        allowed = getattr(self, d.allowed) if d.allowed is not None else None
        if allowed is None:
            return values
        if values is None:
            return allowed
        return tuple(v for v in values if v in allowed)

    @property
    def effective_regions(self) -> tuple[str, ...] | None:
        return self.chosen("region")

    @property
    def effective_service_centers(self) -> tuple[str, ...] | None:
        return self.chosen("service_center")

    @property
    def effective_account_managers(self) -> tuple[str, ...] | None:
        """The account managers whose accounts the filters select. The roll-ups summed at load are not kept per
        manager (metrics.model: in_rollups=False), so such a Filters is answered from the facts."""
        return self.chosen("account_manager")

    @property
    def by_account_manager(self) -> bool:
        """True when the filters select accounts by manager (a choice or the user's limit)."""
        return self.effective_account_managers is not None

    def shifted_years(self, years: int) -> Filters:
        """The same window `years` earlier (29 February falls back to the 28th)."""
        def shift(day: dt.date) -> dt.date:
            try:
                return day.replace(year=day.year + years)
            except ValueError:
                return day.replace(year=day.year + years, day=28)
        return self.model_copy(update={"start": shift(self.start), "end": shift(self.end)})

    def window(self, start: dt.date, end: dt.date) -> Filters:
        return self.model_copy(update={"start": start, "end": end})
