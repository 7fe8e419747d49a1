"""Stage validate: check both splits against the data card. Yours to edit."""

from __future__ import annotations

from ..config import Params
from ..data import read_split
from ..errors import ParamsError
from ..features import DatasetSpec
from ..paths import ProjectPaths
from ..validation import build_checks, run_checks, team_checks, write_report
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """Writes reports/validation.{json,md}, the GX suite (gx/), results and Data Docs
    (reports/); exits 1 when any expectation is broken."""
    spec = DatasetSpec.load(paths.spec)
    cfg = params.validation
    if cfg is None:
        raise ParamsError(f"{paths.params}: the validate stage needs a `validation:` section")
    checks = build_checks(spec, cfg.min_rows) + team_checks(spec)
    splits = {"train": paths.train_data, "test": paths.test_data}
    frames = {name: read_split(path, spec) for name, path in splits.items()}
    failures = run_checks(frames, checks, paths)
    write_report(failures, len(checks), paths.validation_report, paths.validation_summary)
    print(f"validate: all {len(checks)} expectations hold on train and test")


if __name__ == "__main__":
    run("validate", main)
