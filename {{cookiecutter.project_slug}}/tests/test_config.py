"""params.yaml schema: the shipped file is valid; typos and types name the key. Yours to edit."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.__package_name }}.config import load_params, parse_params
from {{ cookiecutter.__package_name }}.errors import ParamsError

# Valid sections of later course milestones, for projects rendered before them.
LATER_SECTIONS: dict[str, dict[str, Any]] = {
    "emissions": {"enabled": True, "country_iso_code": "USA"},
}


def test_shipped_params_are_valid(project_params: dict[str, Any]) -> None:
    params = parse_params(project_params)
    assert params.data.task in {"classification", "regression"}
    assert 0 < params.data.test_size < 1
    with pytest.raises(ParamsError, match=r"\(top level\): Input should be a valid dictionary"):
        parse_params(["data"])


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        ("data", "test_sise", "did you mean 'test_size'"),
        ("train", "estimater", "did you mean 'estimator'"),
        (None, "trian", "did you mean 'train'"),
        ("validation", "min_rowz", "did you mean 'min_rows'"),  # an optional section
    ],
)
def test_unknown_key_is_named(
    project_params: dict[str, Any], section: str | None, key: str, expected: str
) -> None:
    raw = copy.deepcopy(project_params)
    (raw.setdefault(section, {}) if section else raw)[key] = 1
    with pytest.raises(ParamsError, match=expected) as info:
        parse_params(raw)
    assert key in str(info.value)


def _set(section: str, key: str, value: object) -> Any:
    def edit(raw: dict[str, Any]) -> None:
        raw.setdefault(section, dict(LATER_SECTIONS.get(section, {})))  # added by a later milestone
        raw[section][key] = value

    return edit


WRONG = {"classification": ("ridge", "rmse"), "regression": ("random_forest", "accuracy")}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("data", "test_size", "0.2"), r"data\.test_size"),
        (_set("data", "test_size", 1.5), r"data\.test_size"),
        (_set("data", "seed", 4.2), r"data\.seed"),
        (_set("emissions", "enabled", "yes"), r"emissions\.enabled"),
        (_set("emissions", "country_iso_code", "France"), r"emissions\.country_iso_code"),
        (_set("evaluate", "min_improvement", -1), r"evaluate\.min_improvement"),
        (_set("tracking", "alias", "has space"), r"tracking\.alias"),
        (lambda raw: raw.pop("evaluate"), "evaluate: missing"),
        (lambda raw: raw["train"].update(estimator=WRONG[raw["data"]["task"]][0]),
         r"train\.estimator .*: use one of"),
        (lambda raw: raw["evaluate"].update(gate_metric=WRONG[raw["data"]["task"]][1]),
         r"evaluate\.gate_metric .*: use one of"),
        (lambda raw: raw["train"].update(estimator="xgb"), r"train\.estimator 'xgb': use one of"),
        (lambda raw: raw["data"].update(features=[[f"c{i}"] for i in range(10_000)]),
         r"data\.features.{0,1900}$"),  # a huge wrong value is shown shortened
    ],
)  # fmt: skip
def test_wrong_type_range_or_missing_section_is_named(
    project_params: dict[str, Any], edit: Any, message: str
) -> None:
    raw = copy.deepcopy(project_params)
    edit(raw)
    with pytest.raises(ParamsError, match=message):
        parse_params(raw)


def test_load_params_reports_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "params.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(broken)


def _alias_bomb(levels: int = 9) -> str:
    """A "billion laughs" params.yaml: nine aliases per level, 9**levels strings in the end."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    lines += ["data:", "  source: iris", f"  features: *l{levels - 1}"]
    return "\n".join(lines) + "\n"


def test_yaml_aliases_are_refused_fast_in_one_line(tmp_path: Path) -> None:
    bomb = tmp_path / "params.yaml"
    bomb.write_text(_alias_bomb(), encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(ParamsError, match=r"alias") as info:
        load_params(bomb)
    assert time.monotonic() - start < 2
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message
    assert str(bomb) in message and "line 2" in message
