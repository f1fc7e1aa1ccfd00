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
    `effective_regions`, `effective_service_centers` and `effective_account_managers`, the intersections (an empty
    intersection selects nothing).
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
    allowed_regions: tuple[str, ...] | None = None
    allowed_service_centers: tuple[str, ...] | None = None
    allowed_account_managers: tuple[str, ...] | None = None

    @field_validator("regions", "service_centers", "industries", "tiers", "areas", "ticket_types", "channels",
                     "account_managers", "allowed_regions", "allowed_service_centers", "allowed_account_managers",
                     mode="after")
    @classmethod
    def _sorted_unique(cls, values):
        return None if values is None else tuple(sorted(set(values)))

    @model_validator(mode="after")
    def _start_before_end(self) -> Filters:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}; choose a start on or before the end")
        return self

    @property
    def effective_regions(self) -> tuple[str, ...] | None:
        if self.allowed_regions is None:
            return self.regions
        if self.regions is None:
            return self.allowed_regions
        return tuple(r for r in self.regions if r in self.allowed_regions)

    @property
    def effective_service_centers(self) -> tuple[str, ...] | None:
        if self.allowed_service_centers is None:
            return self.service_centers
        if self.service_centers is None:
            return self.allowed_service_centers
        return tuple(c for c in self.service_centers if c in self.allowed_service_centers)

    @property
    def effective_account_managers(self) -> tuple[str, ...] | None:
        """The account managers whose accounts the filters select. The roll-ups summed at load are not kept per
        manager: a Filters with managers is answered from row-level tables only (see `by_account_manager`)."""
        if self.allowed_account_managers is None:
            return self.account_managers
        if self.account_managers is None:
            return self.allowed_account_managers
        return tuple(m for m in self.account_managers if m in self.allowed_account_managers)

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
