"""Stage prepare (image task): gather, split into file lists, write the spec. Yours to edit."""

from __future__ import annotations

from ..config import Params
from ..data import write_csv
from ..errors import ParamsError
from ..images import split_images
from ..paths import ProjectPaths
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """data.source -> data/raw/images/<label>/*, data/processed/{train,test}.csv (path,
    label; stratified, seeded) and spec.json. Nothing is decoded here: validate judges files."""
    if params.images is None:
        raise ParamsError(f"{paths.params}: the image task needs an `images:` section")
    train, test, spec = split_images(params.data, params.images, paths)
    write_csv(train, paths.train_data)
    write_csv(test, paths.test_data)
    spec.save(paths.spec)
    # exercise M2.5: Write each split's images per class to reports/split.json, a DVC metric
    report = paths.root / "reports" / "split.json"
    report.parent.mkdir(exist_ok=True)
    counts = train.label.value_counts().rename("train").to_frame()
    counts.join(test.label.value_counts().rename("test")).sort_index().to_json(report, indent=2)
    # end exercise
    print(f"prepare: {len(train)} train + {len(test)} test images, {len(set(train.label))} classes")


if __name__ == "__main__":
    run("prepare", main)
