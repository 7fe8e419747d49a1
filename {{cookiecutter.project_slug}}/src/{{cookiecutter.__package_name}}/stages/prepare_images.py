"""Stage prepare (image task): gather the images, split them into file lists, write the spec."""

from __future__ import annotations

from ..config import Params
from ..data import split, write_csv
from ..errors import ParamsError
from ..images import gather, image_spec, list_images
from ..paths import ProjectPaths
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """data.source -> data/raw/images/<label>/*, data/processed/{train,test}.csv (path,
    label; stratified, seeded) and spec.json. Nothing is decoded here: validate judges files."""
    cfg = params.data
    if params.images is None:
        raise ParamsError(f"{paths.params}: the image task needs an `images:` section")
    folder = paths.root / "data" / "raw" / "images"
    gather(cfg.source, folder)
    train, test = split(list_images(folder), "label", "classification", cfg.test_size, cfg.seed)
    write_csv(train, paths.train_data)
    write_csv(test, paths.test_data)
    image_spec(train, params.images.size).save(paths.spec)
    print(f"prepare: {len(train)} train + {len(test)} test images, {len(set(train.label))} classes")


if __name__ == "__main__":
    run("prepare", main)
