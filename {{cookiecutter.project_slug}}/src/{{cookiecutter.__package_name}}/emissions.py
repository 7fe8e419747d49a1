"""Energy and CO2 of training, measured offline with CodeCarbon. Plumbing, rarely edited.

Why offline: the online tracker looks the location up on the internet; the country in
params.yaml gives the carbon intensity without any network access.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Emissions:
    """What the tracker measured (zeros when tracking is disabled)."""

    emissions_kg: float = 0.0
    energy_kwh: float = 0.0
    duration_s: float = 0.0
    tracked: bool = False


@contextmanager
def track(country_iso_code: str, enabled: bool = True) -> Iterator[Emissions]:
    """Measure the block; the yielded object is filled when the block ends."""
    result = Emissions()
    if not enabled:
        yield result
        return
    os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")  # the only fully quiet switch
    from codecarbon import OfflineEmissionsTracker  # noqa: PLC0415 - optional, slow start-up

    tracker = OfflineEmissionsTracker(
        country_iso_code=country_iso_code, save_to_file=False, log_level="error"
    )
    tracker.start()
    try:
        yield result
    finally:
        result.emissions_kg = float(tracker.stop() or 0.0)
        data = tracker.final_emissions_data
        result.energy_kwh = float(getattr(data, "energy_consumed", 0.0) or 0.0)
        result.duration_s = float(getattr(data, "duration", 0.0) or 0.0)
        result.tracked = True
