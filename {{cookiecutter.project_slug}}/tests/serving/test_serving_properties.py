"""Inside the feature bounds always 200, outside always 422. Yours to edit."""

from __future__ import annotations

from pathlib import Path

from conftest import app_client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.bundle import read_metadata

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_any_row_inside_the_bounds_is_predicted(iris_dir: Path) -> None:
    spec = read_metadata(iris_dir).spec
    row_strategy = st.fixed_dictionaries(
        {f.name: st.floats(f.minimum, f.maximum, allow_nan=False) for f in spec.features}
    )
    with app_client(iris_dir, access_log=False) as client:

        @PROPERTY_SETTINGS
        @given(row=row_strategy)
        def check(row: dict[str, float]) -> None:
            response = client.post("/predict", json=row)
            assert response.status_code == 200, response.text
            assert response.json()["prediction"] in (spec.classes or [])

        check()


def test_any_value_outside_the_bounds_is_refused_naming_the_field(diabetes_dir: Path) -> None:
    spec = read_metadata(diabetes_dir).spec
    middle = {f.name: (f.minimum + f.maximum) / 2 for f in spec.features}
    index = st.integers(0, len(spec.features) - 1)
    with app_client(diabetes_dir, access_log=False) as client:

        @PROPERTY_SETTINGS
        @given(index=index, data=st.data())
        def check(index: int, data: st.DataObject) -> None:
            feature = spec.features[index]
            below = st.floats(
                max_value=feature.minimum, exclude_max=True, allow_nan=False, allow_infinity=False
            )
            above = st.floats(
                min_value=feature.maximum, exclude_min=True, allow_nan=False, allow_infinity=False
            )
            value = data.draw(below | above)
            response = client.post("/predict", json={**middle, feature.name: value})
            assert response.status_code == 422, response.text
            assert [e["loc"] for e in response.json()["detail"]] == [["body", feature.name]]

        check()
