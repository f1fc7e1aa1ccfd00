"""Configurable parts of the definitions: tier boundaries (SPEC 5.1) and SLA targets (SPEC 5.4)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Model = TypeVar("Model", bound=BaseModel)


def read_toml(path: Path, model: type[Model], error: type[Exception]) -> Model:
    """A TOML settings file checked by its pydantic model; any problem raises `error` naming the file and the key."""
    try:
        return model.model_validate(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise error(f"{path}: {problems}") from None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierBoundaries(Strict):
    """VIP while the revenue share of everyone ranked above is below `vip_below`; key while below `key_below`."""

    vip_below: float = Field(0.50, gt=0, lt=1)
    key_below: float = Field(0.80, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> TierBoundaries:
        if self.vip_below >= self.key_below:
            raise ValueError("vip_below must be smaller than key_below")
        return self


class RepairArrival(Strict):
    urban: float = Field(45, gt=0)
    rural: float = Field(90, gt=0)
    remote: float = Field(120, gt=0)


class SlaTargets(Strict):
    """Defaults are State Grid's published service commitments."""

    repair_arrival_minutes: RepairArrival = RepairArrival()
    complaint_response_hours: float = Field(24, gt=0)
    complaint_resolution_hours: float = Field(7 * 24, gt=0)
    inquiry_resolution_hours: float = Field(24, gt=0)
    billing_resolution_hours: float = Field(24, gt=0)
    connection_working_days_low_voltage: int = Field(5, gt=0)
    connection_working_days_high_voltage: int = Field(22, gt=0)
    low_voltage_max_kv: float = Field(0.4, gt=0)


class MetricSettings(Strict):
    tiers: TierBoundaries = TierBoundaries()
    sla: SlaTargets = SlaTargets()
    # Read the tables pre-aggregated at load time where they answer the query; False forces the row-level
    # path, which tests use to check that both give the same numbers.
    rollups: bool = True


class LoadResources(Strict):
    """What a load may use (branch `load`, issue 17): DuckDB's memory limit (beyond it, DuckDB spills to
    `temp_directory`, by default a scratch folder beside the warehouse) and its threads (None: one per core)."""

    memory_limit: str = Field("2GiB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
    temp_directory: str | None = None
    threads: int | None = Field(None, gt=0)


DEFAULT_BOUNDARIES = TierBoundaries()
DEFAULT_SLA = SlaTargets()


DEFAULT_SETTINGS = MetricSettings()
