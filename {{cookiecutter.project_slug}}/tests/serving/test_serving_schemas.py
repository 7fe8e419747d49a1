"""The API schema, the bundle's spec and the MLflow signature agree. Yours to edit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import app_client
from pydantic import ValidationError

from {{ cookiecutter.__package_name }}.bundle import read_metadata
from {{ cookiecutter.__package_name }}.features import DatasetSpec, FeatureSpec
from {{ cookiecutter.__package_name }}.serving.schemas import build_schemas


def test_openapi_request_schema_is_the_bundle_spec(any_model_dir: Path) -> None:
    spec = read_metadata(any_model_dir).spec
    with app_client(any_model_dir) as client:
        document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    row = schemas["PredictRow"]
    assert list(row["properties"]) == row["required"] == spec.feature_names
    assert row["additionalProperties"] is False
    for feature in spec.features:
        prop = row["properties"][feature.name]
        assert prop["type"] == ("integer" if feature.dtype == "int" else "number")
        assert prop["minimum"] == feature.minimum and prop["maximum"] == feature.maximum
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/PredictRow"
    answers = {p: next(iter(i.values()))["responses"] for p, i in document["paths"].items()}
    assert {"500", "504"} <= set(answers["/predict"]) and "503" in answers["/model"]
    assert {"500", "504"}.isdisjoint(answers["/feedback"])  # each route its own errors
    prediction = schemas["PredictionResponse"]["properties"]["prediction"]
    if spec.task == "classification":  # the allowed classifiers all give probabilities
        assert prediction["enum"] == spec.classes
        probabilities = schemas["PredictionResponse"]["properties"]["probabilities"]
        assert probabilities["type"] == "object" and "null" not in json.dumps(probabilities)
    else:
        assert prediction["type"] == "number"
    batch = schemas["PredictBatch"]["properties"]["rows"]
    assert batch["minItems"] == 1 and batch["maxItems"] == 1000
    feedback = schemas["FeedbackRequest"]  # one shape: an outcome per row of the prediction
    assert feedback["required"] == ["prediction_id", "outcomes"]
    assert feedback["additionalProperties"] is False
    assert feedback["properties"]["outcomes"]["minItems"] == 1
    assert "null" not in json.dumps(feedback["properties"]["outcomes"])


def test_openapi_agrees_with_the_mlflow_signature(any_model_dir: Path) -> None:
    """MLflow infers the signature from the same spec columns the pipeline trains on."""
    import pandas as pd  # noqa: PLC0415 - test-only: serving code never imports these
    from mlflow.models import infer_signature  # noqa: PLC0415

    spec = read_metadata(any_model_dir).spec
    frame = pd.DataFrame(
        [[f.minimum for f in spec.features], [f.maximum for f in spec.features]],
        columns=spec.feature_names,
    ).astype({f.name: "float64" for f in spec.features if f.dtype == "float"})
    signature = infer_signature(frame)
    with app_client(any_model_dir) as client:
        row = client.get("/openapi.json").json()["components"]["schemas"]["PredictRow"]
    assert signature.inputs.input_names() == list(row["properties"])
    types = {col.name: col.type.name for col in signature.inputs.inputs}
    for name, prop in row["properties"].items():
        assert (types[name] in {"double", "float"}) == (prop["type"] == "number")


def test_int_features_are_strict_integers_with_bounds() -> None:
    spec = DatasetSpec(
        task="regression",
        target="y",
        features=[
            FeatureSpec(name="rooms", dtype="int", minimum=1, maximum=9),
            FeatureSpec(name="area m²", minimum=10.5, maximum=300.0),
        ],
    )
    schemas = build_schemas(spec, max_batch=3)
    row = schemas.row.model_validate_json(b'{"rooms": 3, "area m\xc2\xb2": 20}')
    assert row.feature_0 == 3 and row.feature_1 == 20.0  # type: ignore[attr-defined]
    for bad in (b'{"rooms": 3.0, "area m\xc2\xb2": 20}', b'{"rooms": 10, "area m\xc2\xb2": 20}'):
        with pytest.raises(ValidationError):
            schemas.row.model_validate_json(bad)
    widened = build_schemas(spec.model_copy(update={"range_tolerance": 0.1}), max_batch=3)
    limits = widened.row.model_json_schema()["properties"]["rooms"]
    assert (limits["minimum"], limits["maximum"]) == (0, 10)
