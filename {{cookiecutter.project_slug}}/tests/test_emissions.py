"""CodeCarbon wrapper (the enabled path runs in the end-to-end test). Yours to edit."""

from __future__ import annotations

from {{ cookiecutter.__package_name }}.emissions import Emissions, track


def test_disabled_tracking_reports_zeros() -> None:
    with track("USA", enabled=False) as result:
        sum(range(1000))
    assert result == Emissions()
    assert not result.tracked
