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


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("data", "test_size", "0.2"),
        ("data", "test_size", 1.5),
        ("data", "seed", 4.2),
        ("emissions", "enabled", "yes"),
        ("emissions", "country_iso_code", "France"),
        ("evaluate", "min_improvement", -1),
        ("tracking", "alias", "has space"),
    ],
)
def test_wrong_type_or_range_is_named(
    project_params: dict[str, Any], section: str, key: str, value: object
) -> None:
    raw = copy.deepcopy(project_params)
    raw.setdefault(section, dict(LATER_SECTIONS.get(section, {})))  # added by a later milestone
    raw[section][key] = value
    with pytest.raises(ParamsError, match=rf"{section}\.{key}"):
        parse_params(raw)


def test_missing_section_is_named(project_params: dict[str, Any]) -> None:
    raw = copy.deepcopy(project_params)
    del raw["evaluate"]
    with pytest.raises(ParamsError, match="evaluate: missing"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("section", "key", "wrong"),
    [
        ("train", "estimator", {"classification": "ridge", "regression": "random_forest"}),
        ("evaluate", "gate_metric", {"classification": "rmse", "regression": "accuracy"}),
    ],
)
def test_estimator_and_gate_metric_must_fit_the_task(
    project_params: dict[str, Any], section: str, key: str, wrong: dict[str, str]
) -> None:
    raw = copy.deepcopy(project_params)
    raw[section][key] = wrong[raw["data"]["task"]]
    with pytest.raises(ParamsError, match=rf"{section}\.{key} .*: use one of"):
        parse_params(raw)


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(ParamsError, match="expected a mapping"):
        parse_params(["data"])


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


def test_a_huge_wrong_value_is_shown_shortened(project_params: dict[str, Any]) -> None:
    raw = copy.deepcopy(project_params)
    raw["data"]["features"] = [[f"column_{i}"] for i in range(10_000)]
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    assert "data.features" in str(info.value) and len(str(info.value)) < 2_000
