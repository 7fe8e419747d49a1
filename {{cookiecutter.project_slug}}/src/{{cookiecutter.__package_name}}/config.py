"""The schema of params.yaml: a typo or a wrong type is refused by name. Yours to edit.

Why pydantic with ``extra="forbid"`` and strict types: DVC passes params.yaml through
unchecked, and a misspelt key would otherwise be silently ignored (training with defaults).
"""

from __future__ import annotations

import difflib
import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ParamsError
from .features import Task

# Estimator name -> task it solves. bundle.MODEL_TYPES maps the same names to classes.
ESTIMATOR_TASKS: dict[str, Task] = {
    "logistic_regression": "classification",
    "random_forest": "classification",
    "ridge": "regression",
    "random_forest_regressor": "regression",
{%- if cookiecutter.ml_task == "image_classification" %}
    "torch_mlp": "classification",  # a PyTorch network (torch_model.py, docs/pytorch.md)
{%- endif %}
}
GATE_METRICS: dict[str, Task] = {
    "accuracy": "classification",
    "f1_macro": "classification",
    "rmse": "regression",
    "mae": "regression",
}
HyperValue = bool | int | float | str | None
MAX_ERRORS = 10  # named in one message; the rest are counted


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DataParams(_Section):
    """Where the data comes from and how it is split."""

    source: str = Field(min_length=1, description="'iris', 'diabetes' or a CSV path")
    target: str = Field(min_length=1)
    features: list[str] | None = Field(default=None, description="None: every other column")
    task: Task
    test_size: float = Field(gt=0.0, lt=1.0)
    seed: int
    range_tolerance: float = Field(ge=0.0, description="validation and API, see DatasetSpec")


class ValidationParams(_Section):
    """How strict the data checks are."""

    min_rows: int = Field(ge=2)


class ImagesParams(_Section):
    """The image task: the model's input size and the limits validation enforces."""

    size: int = Field(ge=2, le=512, description="images are resized to size x size grayscale")
    formats: list[str] = Field(min_length=1, description="Pillow format names, e.g. PNG")
    max_bytes: int = Field(ge=1)
    min_side: int = Field(ge=1)
    max_side: int = Field(ge=1)
    modes: list[str] = Field(min_length=1, description="Pillow modes, e.g. L, RGB")
    min_per_class: int = Field(ge=1)
    min_balance: float = Field(ge=0.0, le=1.0, description="smallest class / largest class")


class TrainParams(_Section):
    """Which estimator to fit, and with what."""

    estimator: str = Field(description="a name in ESTIMATOR_TASKS, for data.task")
    seed: int
    hyperparameters: dict[str, HyperValue] = Field(default_factory=dict)


class EvaluateParams(_Section):
    """The quality gate: how much better than the naive baseline the model must be."""

    gate_metric: str = Field(description="a name in GATE_METRICS, for data.task")
    min_improvement: float = Field(ge=0.0, description="relative, 0.1 = 10 % better")


class TrackingParams(_Section):
    """MLflow names (the store's URI comes from MLFLOW_TRACKING_URI, not from here)."""

    experiment: str = Field(min_length=1)
    registered_model: str = Field(min_length=1)
    alias: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")


class EmissionsParams(_Section):
    """CodeCarbon settings (offline: the country sets the carbon intensity)."""

    enabled: bool
    country_iso_code: str = Field(pattern=r"^[A-Z]{3}$")


class MonitorParams(_Section):
    """Production monitoring (`<project> monitor`): which traffic, and when to retrain."""

    store: str = Field(min_length=1, description="the serving app's prediction log (SQLite)")
    window_hours: float | None = Field(default=None, gt=0.0, description="None: all logged")
    max_rows: int | None = Field(default=None, ge=1, description="None: every row in the window")
    min_rows: int = Field(ge=2, description="fewer logged rows: no verdict")
    p_value: float = Field(gt=0.0, lt=1.0, description="a column drifts below this p-value")
    max_drift_share: float = Field(gt=0.0, le=1.0, description="retrain from this share on")
    min_feedback: int = Field(ge=1, description="labelled rows needed for live metrics")


class Params(_Section):
    """The whole params.yaml."""

    data: DataParams
    train: TrainParams
    evaluate: EvaluateParams
    tracking: TrackingParams
    # Sections of later course milestones: M3 (data checks, CodeCarbon), M6 (monitoring).
    validation: ValidationParams | None = None
    images: ImagesParams | None = None  # the image task only
    emissions: EmissionsParams | None = None
    monitor: MonitorParams | None = None
    # exercise M2.3: Add a stage `sample`: `sample.rows` rows of the test split (params.yaml)
    sample: dict[str, int] | None = None  # your stage's section: dvc.yaml reads ${sample.rows}
    # end exercise

    @model_validator(mode="after")
    def _task_matches(self) -> Params:
        for key, name, tasks in (
            ("train.estimator", self.train.estimator, ESTIMATOR_TASKS),
            ("evaluate.gate_metric", self.evaluate.gate_metric, GATE_METRICS),
        ):
            if tasks.get(name) != self.data.task:  # unknown, or for the other task
                choices = sorted(k for k, v in tasks.items() if v == self.data.task)
                raise ValueError(f"{key} {name!r}: use one of {choices}")
        return self


def _describe(error: Any) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(part) for part in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        # every key of params.yaml (Params and its sections): a typo is close to the one meant
        known = {name for model in _Section.__subclasses__() for name in model.model_fields}
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return f"{key}: unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    if error["type"] == "missing":
        return f"{key}: missing"
    # the wrong value shortened by reprlib: a huge list would otherwise make a huge error line
    return f"{key}: {error['msg']} (got {reprlib.repr(error.get('input'))})"


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate already-parsed YAML; raise ParamsError naming every bad key."""
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        errors = error.errors()
        lines = "; ".join(_describe(item) for item in errors[:MAX_ERRORS])
        if len(errors) > MAX_ERRORS:
            lines += f"; and {len(errors) - MAX_ERRORS} more"
        raise ParamsError(f"{source}: {lines}") from None


def _refuse_aliases(text: str, path: Path) -> None:
    """No YAML aliases: nine nested ``*refs`` expand to a billion values (an alias bomb).

    Parsing yields events only, so an alias is found before anything is expanded.
    """
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            line = f"line {event.start_mark.line + 1}: " if event.start_mark else ""
            raise ParamsError(
                f"{path}: {line}YAML aliases (*name) are not allowed; write the value out"
            )


def load_params(path: Path) -> Params:
    """Read and validate params.yaml."""
    try:
        text = path.read_text(encoding="utf-8")
        _refuse_aliases(text, path)
        raw = yaml.safe_load(text)
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found (run from the project root)") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {error}") from None
    return parse_params(raw, str(path))
