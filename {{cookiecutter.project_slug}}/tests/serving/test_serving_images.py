"""The image task's /predict: each bad upload a named 4xx. Yours to edit.

Uploads are judged by their content. docs/serving.md ("Images") lists the cases and why each
answer is what it is.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import _bundle, app_client
from fastapi.testclient import TestClient
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from test_serving_bad_input import assert_clean_error

from {{ cookiecutter.__package_name }}.images import image_spec, pixels


def encoded(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


DIGITS = load_digits()


def digit(pixels_0_16: np.ndarray) -> Image.Image:
    return Image.fromarray((pixels_0_16 * 15).astype(np.uint8), mode="L").resize((64, 64))


# half a 0, half a 1: an unsure model, so a wrongly read pixel changes the probabilities
SAMPLE = digit((DIGITS.images[0] + DIGITS.images[1]) / 2)
PNG = encoded(SAMPLE)
EXIF = Image.Exif()
EXIF[0x0112] = 6  # orientation: rotate to display upright (exif_transpose undoes it)
ROTATED = encoded(SAMPLE.transpose(Image.Transpose.ROTATE_90), exif=EXIF)


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model on 8 x 8 pixels of the digits, with the spec the pipeline writes."""
    x = np.vstack([pixels(digit(image), 8) for image in DIGITS.images[:600]])
    labels = DIGITS.target[:600].astype(str)
    spec = image_spec(pd.DataFrame({"label": labels}), 8)
    model = LogisticRegression(max_iter=500).fit(x, labels)
    return _bundle(tmp_path_factory, model, spec, name="digits", version="1", metrics={})


@pytest.fixture
def image_client(digits_dir: Path) -> Iterator[TestClient]:
    with app_client(digits_dir) as client:
        yield client


@pytest.mark.parametrize(
    ("name", "data", "status", "problem"),
    [
        ("empty.png", b"", 422, "empty"),
        ("text.png", b"not an image, only a name", 422, "not a PNG or JPEG"),
        ("truncated.png", PNG[: len(PNG) // 2], 422, "truncated or corrupt"),
        ("animation.gif", encoded(SAMPLE, "GIF"), 422, "not a PNG or JPEG"),
        ("bomb.png", encoded(Image.new("L", (5000, 4000))), 422, "pixels"),
        ("labelled-as.jpg", PNG, 200, ""),
        ("cmyk.jpg", encoded(SAMPLE.convert("CMYK"), "JPEG"), 200, ""),
        ("palette.png", encoded(SAMPLE.convert("P")), 200, ""),
        ("16-bit.png", encoded(Image.fromarray(np.asarray(SAMPLE, np.uint16) * 257)), 200, ""),
        ("rotated.png", ROTATED, 200, ""),
    ],
)
def test_uploads_are_judged_by_content_and_bad_ones_named(
    image_client: TestClient, name: str, data: bytes, status: int, problem: str
) -> None:
    """A PNG labelled as JPEG, CMYK, palette, 16-bit and rotated images all read as the
    plain PNG does; an empty, text, truncated, GIF or oversized upload is a 422 saying which."""
    response = image_client.post("/predict", files={"file": (name, data, "image/jpeg")})
    if status == 200:
        expected = image_client.post("/predict", files={"file": PNG}).json()["probabilities"]
        assert response.json()["probabilities"] == pytest.approx(expected, abs=0.02)
    else:
        assert problem in assert_clean_error(response, status)["detail"]


def test_batch_answers_in_order_and_logs_hashes_not_images(
    digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zero, one = (encoded(digit(DIGITS.images[index])) for index in (0, 1))
    files = [("files", ("a.png", zero, "image/png")), ("files", ("b.png", one, "image/png"))]
    log = tmp_path / "log.sqlite"
    monkeypatch.setenv("SERVING_MAX_IMAGES", "4")
    with app_client(digits_dir, prediction_log=log) as client:
        response = client.post("/predict/batch", files=files)
        assert [p["prediction"] for p in response.json()["predictions"]] == ["0", "1"]
        too_many = assert_clean_error(client.post("/predict/batch", files=files * 3), 413)
        assert "at most 4" in too_many["detail"]
    with sqlite3.connect(log) as connection:
        (inputs,) = connection.execute("SELECT inputs FROM requests").fetchone()
    assert hashlib.sha256(zero).hexdigest() in inputs and '"width": 64' in inputs


def test_uploads_are_read_without_the_training_packages() -> None:
    """The container holds the runtime dependencies only: pandas is not among them."""
    module = "{{ cookiecutter.__package_name }}.images"
    code = f"import sys; import {module}; print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
