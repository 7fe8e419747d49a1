"""Data checks with Great Expectations, derived from the DatasetSpec. Yours to edit.

Why the checks are plain data first: building and reporting them needs no GX import
(about 3 s), so they are unit-tested cheaply; only :func:`run_checks` talks to GX.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ValidationFailed
from .features import DatasetSpec
from .paths import ProjectPaths

NUMERIC_TYPES = ["int8", "int16", "int32", "int64", "float32", "float64", "Int64", "Float64"]
SAMPLE_SIZE = 5


@dataclass(frozen=True)
class Check:
    """One expectation: a GX class name (without the package) and its arguments."""

    expectation: str
    column: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    """A broken expectation, in words a reader can act on."""

    dataset: str
    expectation: str
    column: str | None
    unexpected: int | None  # rows that broke it, when the expectation counts rows
    found: str  # what broke it: rows and a sample, the observed value, or GX's error

    def describe(self) -> str:
        """One line: which dataset, which expectation, which column, what was found."""
        where = f"column {self.column!r}" if self.column else "table"
        return f"[{self.dataset}] {self.expectation} on {where}: {self.found}"


def build_checks(spec: DatasetSpec, min_rows: int) -> list[Check]:
    """The suite: columns, row count, types, no missing values, ranges and the class set."""
    # exercise M3.1: Derive the data checks from the spec (columns, types, nulls, ranges, classes)
    columns = [*spec.feature_names, spec.target]
    checks = [
        Check("ExpectTableColumnsToMatchSet", kwargs={"column_set": columns, "exact_match": True}),
        Check("ExpectTableRowCountToBeBetween", kwargs={"min_value": min_rows}),
        Check("ExpectColumnValuesToNotBeNull", spec.target),
    ]
    for feature in spec.features:
        low, high = spec.accepted_range(feature)  # the same rule as the API's
        checks += [
            Check("ExpectColumnValuesToNotBeNull", feature.name),
            Check("ExpectColumnValuesToBeInTypeList", feature.name, {"type_list": NUMERIC_TYPES}),
            Check(
                "ExpectColumnValuesToBeBetween",
                feature.name,
                {"min_value": low, "max_value": high},
            ),
        ]
    if spec.task == "classification" and spec.classes:
        classes = {"value_set": spec.classes}
        checks.append(Check("ExpectColumnValuesToBeInSet", spec.target, classes))
    else:
        checks.append(
            Check("ExpectColumnValuesToBeInTypeList", spec.target, {"type_list": NUMERIC_TYPES})
        )
    return checks
    # end exercise


def team_checks(spec: DatasetSpec) -> list[Check]:
    """Your own expectations, beyond those the spec derives (tests/test_exercise_m3.py)."""
    checks: list[Check] = []
    # exercise M3.2: Add an expectation that fails a split whose target has a single value
    checks.append(Check("ExpectColumnUniqueValueCountToBeBetween", spec.target, {"min_value": 2}))
    # end exercise
    return checks


def run_checks(
    frames: dict[str, pd.DataFrame],
    checks: list[Check],
    paths: ProjectPaths | None = None,
    index_column: str | None = None,
) -> list[Failure]:
    """Validate each frame with GX; return the broken expectations. With the project's
    ``paths``, the suite (gx/), the results and the Data Docs (reports/) are kept as files.
    With an ``index_column`` (the image task's ``path``), failures name rows by it."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # GX must not phone home
    import great_expectations as gx  # noqa: PLC0415 - 3 s import, only when validating
    import great_expectations.expectations as gxe  # noqa: PLC0415
    from great_expectations.core.run_identifier import RunIdentifier  # noqa: PLC0415
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: PLC0415

    context = _context(gx, paths)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = gx.ExpectationSuite(name="data_card")
    for check in checks:
        args = dict(check.kwargs)
        if check.column is not None:
            args["column"] = check.column
        suite.add_expectation(getattr(gxe, check.expectation)(**args))
    suite = context.suites.add_or_update(suite)  # a file context writes gx/expectations/
    batch = (
        context.data_sources.add_or_update_pandas("pipeline")
        .add_dataframe_asset("splits")
        .add_batch_definition_whole_dataframe("whole")
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name="data_card", data=batch, suite=suite)
    )
    failures: list[Failure] = []
    results: dict[str, Any] = {}
    for dataset, frame in frames.items():
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format=(
                {"result_format": "SUMMARY", "unexpected_index_column_names": [index_column]}
                if index_column
                else "SUMMARY"
            ),
            run_id=RunIdentifier(run_name=dataset),  # names the Data Docs page
        )
        results[dataset] = result.to_json_dict()
        for item in result.results:
            if not item.success:
                failures.append(_failure(dataset, item.to_json_dict(), index_column))
    if paths is not None:
        paths.validation_results.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(results, indent=2, default=str) + "\n"
        paths.validation_results.write_text(text, "utf-8")
        context.build_data_docs()
    return failures


def _context(gx: Any, paths: ProjectPaths | None) -> Any:
    """Ephemeral for unit tests; for the pipeline, the file context in ``gx/`` with one
    Data Docs site in ``paths.data_docs`` showing this run's results only."""
    if paths is None:
        return gx.get_context(mode="ephemeral")
    gx_dir = paths.gx_suite.parents[1]
    shutil.rmtree(gx_dir / "uncommitted" / "validations", ignore_errors=True)
    shutil.rmtree(paths.data_docs, ignore_errors=True)
    context = gx.get_context(mode="file", project_root_dir=gx_dir.parent)
    context.variables.data_docs_sites = {
        "reports": {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": os.path.relpath(paths.data_docs, gx_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    context.variables.save()
    return context


def _exception_message(info: dict[str, Any]) -> str | None:
    """First line of GX's exception, flat or keyed by metric (both shapes occur)."""
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            lines = str(candidate.get("exception_message") or "error").strip().splitlines()
            return lines[0][:200] if lines else "error"
    return None


def _failure(dataset: str, item: dict[str, Any], index_column: str | None = None) -> Failure:
    """Turn a GX result dict into a Failure (kept separate so it is testable without GX)."""
    config = item.get("expectation_config") or {}
    outcome = item.get("result") or {}
    unexpected = outcome.get("unexpected_count")
    sample = outcome.get("partial_unexpected_list") or []
    if index_column and (named := outcome.get("partial_unexpected_index_list")):
        sample = [row[index_column] for row in named]  # the image task: files, not values
    # NaN is not valid JSON: a missing value is shown as None
    sample = [None if isinstance(v, float) and math.isnan(v) else v for v in sample[:SAMPLE_SIZE]]
    if error := _exception_message(item.get("exception_info") or {}):
        found = f"could not be evaluated ({error})"
    elif unexpected is not None:
        found = f"{unexpected} of {outcome.get('element_count')} rows unexpected"
        found += f", e.g. {sample}" if sample else ""
    else:
        found = f"observed {outcome.get('observed_value')!r}"
    column = (config.get("kwargs") or {}).get("column")
    return Failure(dataset, str(config.get("type", "unknown")), column, unexpected, found)


def write_report(failures: list[Failure], checks: int, json_path: Path, md_path: Path) -> None:
    """reports/validation.json for tools and reports/validation.md for people; then, when an
    expectation is broken, raise ValidationFailed naming each (the validate stages' error)."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "success": not failures,
        "expectations": checks,
        "failures": [failure.__dict__ for failure in failures],
    }
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    lines = ["# Data validation", ""]
    if failures:
        lines.append(f"**FAILED**: {len(failures)} broken expectation(s), {checks} per split.")
        lines += ["", *(f"- {failure.describe()}" for failure in failures)]
    else:
        lines.append(f"**PASSED**: all {checks} expectations hold on every split.")
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if failures:
        details = "".join(f"\n  {failure.describe()}" for failure in failures)
        raise ValidationFailed(f"{len(failures)} expectation(s) broken (see {md_path}):{details}")
