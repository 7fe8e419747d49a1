"""The image task: class folders, file-list splits, pixels as features. Yours to edit.

Why file lists: the split is two small CSVs (path, label) in Git, the images stay one
DVC-tracked folder, and every stage reads the pixels it needs from the files themselves.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from .errors import DataError
from .features import DatasetSpec, FeatureSpec
from .paths import ProjectPaths

if TYPE_CHECKING:  # the serving app imports this module, and its image has no pandas
    import pandas as pd

    from .config import DataParams, ImagesParams

BUNDLED = "digits"
BUNDLED_SIDE = 64  # the digits' 8 x 8 pixels are written as 64 x 64 PNG files
SUFFIXES = {".png", ".jpg", ".jpeg"}
THUMB = 48  # pixels per image in the contact sheets
FORMATS = ("PNG", "JPEG")  # what the served model accepts, recognised by content
MAX_PIXELS = 4096 * 4096  # larger uploads are refused before decoding


def write_digits(folder: Path) -> None:
    """scikit-learn's digits as ``folder/<digit>/<index>.png`` (exact repeats left out)."""
    from sklearn.datasets import load_digits  # noqa: PLC0415 - only for the bundled data

    digits = load_digits()
    shutil.rmtree(folder, ignore_errors=True)
    seen: set[bytes] = set()
    for index, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        data = (pixels * (255 / 16)).round().astype(np.uint8)
        if data.tobytes() in seen:
            continue
        seen.add(data.tobytes())
        target = folder / str(label) / f"{index:04d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(data, mode="L").resize((BUNDLED_SIDE, BUNDLED_SIDE))
        image.save(target, format="PNG")


def gather(source: str, folder: Path) -> None:
    """Fill ``folder`` (data/raw/images) from ``data.source``: the digits, or a copy of the
    user's folder of class folders (byte for byte: validation judges the files as given)."""
    if source == BUNDLED:
        write_digits(folder)
        return
    origin = Path(source)
    if not origin.is_dir():
        raise DataError(f"data.source {source!r}: not a folder (nor 'digits'); see docs/images.md")
    if origin.resolve() != folder.resolve():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(origin, folder)


def list_images(folder: Path, root: Path) -> pd.DataFrame:
    """One row per image file (path relative to the project ``root``, label): the label is
    its folder's name. Stages run from the root, so the lists hold no machine's paths."""
    import pandas as pd  # noqa: PLC0415 - not in the serving image

    rows = [
        (file.relative_to(root).as_posix(), file.parent.name)
        for file in sorted(folder.glob("*/*"))
        if file.suffix.lower() in SUFFIXES
    ]
    if not rows:
        raise DataError(f"{folder}: no .png or .jpg files in class folders (<label>/<file>)")
    return pd.DataFrame(rows, columns=["path", "label"])


def split_images(
    data: DataParams, images: ImagesParams, paths: ProjectPaths
) -> tuple[pd.DataFrame, pd.DataFrame, DatasetSpec]:
    """Gather the images into ``paths.raw_images``, split the file list (stratified, seeded),
    and describe the model's input: what prepare writes, and the cards use before it exists."""
    from .data import split  # noqa: PLC0415 - pandas: not in the serving image

    gather(data.source, paths.raw_images)
    files = list_images(paths.raw_images, paths.root)
    train, test = split(files, "label", "classification", data.test_size, data.seed)
    return train, test, image_spec(train, images.size)


def image_spec(train: pd.DataFrame, size: int) -> DatasetSpec:
    """The spec of a model reading ``size`` x ``size`` grayscale pixels scaled to [0, 1]."""
    pixels = [
        FeatureSpec(name=f"px_{index}", minimum=0.0, maximum=1.0) for index in range(size * size)
    ]
    classes = sorted({str(label) for label in train["label"]})
    return DatasetSpec(
        task="classification", target="label", features=pixels, classes=classes, image_size=size
    )


def grayscale(image: Image.Image) -> Image.Image:
    """Upright (EXIF) and grayscale. Any mode converts (CMYK, palette, RGBA...); 16-bit is
    scaled, as ``convert`` would clip."""
    upright = ImageOps.exif_transpose(image)
    if upright.mode.startswith("I"):
        upright = Image.fromarray(np.clip(np.asarray(upright) // 257, 0, 255).astype(np.uint8))
    return upright.convert("L")


def pixels(image: Image.Image, size: int) -> np.ndarray:
    """The model's input: upright, grayscale, resized, flattened, in [0, 1]."""
    gray = grayscale(image).resize((size, size))
    return np.asarray(gray, dtype=np.float64).reshape(-1) / 255.0


def light(image: Image.Image) -> dict[str, float]:
    """Mean brightness and contrast (pixel standard deviation, 0..255) at the file's own size:
    one measure for validation, the data card, the served uploads' log and the monitor."""
    values = np.asarray(grayscale(image), dtype=np.float64)
    return {"brightness": float(values.mean()), "contrast": float(values.std())}


class TooManyPixels(ValueError):
    """The image's header declares more pixels than allowed."""


def decode(
    data: bytes, size: int, max_pixels: int = MAX_PIXELS
) -> tuple[np.ndarray, dict[str, object]]:
    """An uploaded file as the model's pixels and a metadata row (never the image itself).

    Judged by its content, not its name or declared type. ``ValueError`` names the problem:
    empty, not PNG/JPEG, over ``max_pixels`` (read from the header, before decoding: a
    decompression bomb; ``TooManyPixels``), truncated or corrupt.
    """
    if not data:
        raise ValueError("the file is empty")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            if image.width * image.height > max_pixels:
                raise TooManyPixels(f"{image.width} x {image.height} pixels: over {max_pixels}")
            row: dict[str, object] = {"format": image.format, "mode": image.mode}
            row |= {"width": image.width, "height": image.height, "bytes": len(data)}
            row |= light(image)
            features = pixels(image, size)
    except UnidentifiedImageError:
        raise ValueError(f"not a {' or '.join(FORMATS)} image (by its content)") from None
    except Image.DecompressionBombError:
        raise ValueError(f"over {MAX_PIXELS} pixels") from None
    except (OSError, SyntaxError) as error:  # Pillow raises SyntaxError for broken chunks
        raise ValueError(f"the image is truncated or corrupt ({error})") from None
    row["hash"] = hashlib.sha256(data).hexdigest()
    return features, row


def pixel_matrix(paths: Iterable[str], size: int) -> np.ndarray:
    """One row of pixels per file; a file that does not decode is named."""
    rows = []
    for path in paths:
        try:
            with Image.open(path) as image:
                rows.append(pixels(image, size))
        except (OSError, UnidentifiedImageError) as error:
            raise DataError(f"{path}: cannot read the image ({error})") from None
    return np.vstack(rows)


def describe(path: str) -> dict[str, object]:
    """One metadata row: what validation checks and the data card summarises."""
    data = Path(path).read_bytes()
    row: dict[str, object] = {"path": path, "bytes": len(data)}
    row["hash"] = hashlib.sha256(data).hexdigest()
    try:
        with Image.open(path) as image:
            row |= {"format": image.format, "width": image.width, "height": image.height}
            row["mode"] = image.mode
            row |= light(image)  # decodes every pixel
    except (OSError, UnidentifiedImageError, ValueError):
        return row | {"format": "unreadable"}
    return row


def metadata(files: pd.DataFrame) -> pd.DataFrame:
    """The metadata table: path, label, format, width, height, mode, bytes, mean brightness,
    contrast (pixel standard deviation) and a SHA-256 of the file's content."""
    import pandas as pd  # noqa: PLC0415 - not in the serving image

    rows = pd.DataFrame([describe(path) for path in files["path"]])
    columns = ["format", "width", "height", "mode", "brightness", "contrast"]
    rows = rows.reindex(columns=["path", "bytes", "hash", *columns])
    return files.reset_index(drop=True).join(rows.drop(columns="path"))


def contact_sheet(paths: Sequence[str], captions: Sequence[str], target: Path) -> None:
    """A grid of thumbnails with a caption under each (the cards' example images)."""
    columns = max(1, min(8, len(paths)))
    rows = max(1, -(-len(paths) // columns))
    sheet = Image.new("L", (columns * THUMB, rows * (THUMB + 12)), color=255)
    draw = ImageDraw.Draw(sheet)
    for index, (path, caption) in enumerate(zip(paths, captions, strict=True)):
        x, y = index % columns * THUMB, index // columns * (THUMB + 12)
        with Image.open(path) as image:
            sheet.paste(ImageOps.exif_transpose(image).convert("L").resize((THUMB, THUMB)), (x, y))
        draw.text((x + 2, y + THUMB), caption, fill=0)
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(target, format="PNG")


def card_facts(paths: ProjectPaths) -> dict[str, Any]:
    """The cards' image facts from this run: images per class, size and brightness
    distributions, a contact sheet; once evaluated, the confusion matrix, per-class
    metrics and a sheet of misclassified test images (PNGs in reports/)."""
    import pandas as pd  # noqa: PLC0415 - not in the serving image

    table = pd.read_csv(paths.image_metadata, dtype={"label": str})
    samples = table.groupby("label").head(2)
    contact_sheet(list(samples["path"]), list(samples["label"]), paths.contact_sheet)
    stats = table[["width", "height", "brightness", "contrast"]].describe()
    facts: dict[str, Any] = {
        "per_class": table["label"].value_counts().sort_index().to_dict(),
        "distributions": stats.loc[["min", "50%", "max"]].round(1).to_dict(),
        "formats": table["format"].value_counts().to_dict(),
        "contact_sheet": "../reports/contact_sheet.png",
        "evaluation": None,
    }
    if paths.predictions_plot.is_file():
        from sklearn.metrics import classification_report, confusion_matrix  # noqa: PLC0415

        results = pd.read_csv(paths.predictions_plot, dtype=str)
        results["path"] = pd.read_csv(paths.test_data, dtype={"label": str})["path"]
        labels = sorted(set(results["actual"]) | set(results["predicted"]))
        wrong = results[results["actual"] != results["predicted"]].head(32)
        captions = [f"{a}>{p}" for a, p in zip(wrong["actual"], wrong["predicted"], strict=True)]
        contact_sheet(list(wrong["path"]), captions, paths.misclassified_sheet)
        report = classification_report(
            results["actual"], results["predicted"], labels=labels, output_dict=True
        )
        facts["evaluation"] = {
            "labels": labels,
            "confusion": confusion_matrix(results["actual"], results["predicted"], labels=labels),
            "per_class": {label: report[label] for label in labels},
            "misclassified": len(results[results["actual"] != results["predicted"]]),
            "sheet": "../reports/misclassified.png",
        }
    return facts
