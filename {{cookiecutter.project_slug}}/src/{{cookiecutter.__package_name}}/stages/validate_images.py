"""Stage validate (image task): every image's metadata, checked with GX. Yours to edit."""

from __future__ import annotations

import pandas as pd

from ..config import Params
from ..data import read_split, write_csv
from ..errors import ParamsError
from ..features import DatasetSpec
from ..image_quality import build_image_checks, with_class_counts
from ..images import metadata
from ..paths import ProjectPaths
from ..validation import run_checks, team_checks, write_report
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """Writes reports/images.csv (the metadata), reports/validation.{json,md}, the GX suite,
    results and Data Docs; exits 1 naming the files when any expectation is broken."""
    if params.validation is None or params.images is None:
        raise ParamsError(f"{paths.params}: validate needs `validation:` and `images:` sections")
    spec = DatasetSpec.load(paths.spec)
    splits = {"train": paths.train_data, "test": paths.test_data}
    files = pd.concat([read_split(path, spec).assign(split=name) for name, path in splits.items()])
    table = with_class_counts(metadata(files))
    write_csv(table, paths.image_metadata)
    checks = build_image_checks(params.images, spec.classes or [], params.validation.min_rows)
    checks += team_checks(spec)
    failures = run_checks({"images": table}, checks, paths, index_column="path")
    write_report(failures, len(checks), paths.validation_report, paths.validation_summary)
    print(f"validate: all {len(checks)} expectations hold on {len(table)} images")


if __name__ == "__main__":
    run("validate", main)
