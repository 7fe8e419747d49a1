"""Stage prepare: load the data, split it, describe the training split. Yours to edit."""

from __future__ import annotations

from ..config import Params
from ..data import derive_spec, load_source, select_columns, split, write_csv
from ..paths import ProjectPaths
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """data.* params -> data/raw/dataset.csv, data/processed/{train,test}.csv, spec.json."""
    cfg = params.data
    frame, descriptions = load_source(cfg.source, cfg.target)
    frame = select_columns(frame, cfg.target, cfg.features)
    write_csv(frame, paths.raw_data)
    train, test = split(frame, cfg.target, cfg.task, cfg.test_size, cfg.seed)
    spec = derive_spec(train, cfg.target, cfg.task, descriptions, cfg.range_tolerance)
    write_csv(train, paths.train_data)
    write_csv(test, paths.test_data)
    spec.save(paths.spec)
    print(f"prepare: {len(train)} train + {len(test)} test rows, {len(spec.features)} features")


if __name__ == "__main__":
    run("prepare", main)
