"""The image task's /predict and /predict/batch: PNG or JPEG uploads. Plumbing, rarely edited.

Only in the image task's projects (tabular projects take rows, see ``routes.py``). An
upload is decoded as training reads files (``images.pixels``); the prediction log gets each
image's metadata and SHA-256, never its pixels (docs/serving.md, "Images").
"""

import asyncio
import json
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, UploadFile
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..images import TooManyPixels, decode
from .model import ModelService
from .routes import MODEL_ERRORS, PredictionId, ServiceDep
from .schemas import ApiSchemas

INLINE_PIXELS = 256 * 256  # uploads up to this size are decoded on the event loop (< 1 ms)


class ImageSettings(BaseSettings):
    """``SERVING_MAX_IMAGES``: uploads per /predict/batch."""

    model_config = SettingsConfigDict(env_prefix="SERVING_", extra="ignore", frozen=True)
    max_images: int = Field(default=32, ge=1, le=1000)


async def predict_images(
    service: ModelService,
    files: list[UploadFile],
    prediction_id: str,
    max_images: int,
    *,
    single: bool = False,
) -> dict[str, Any]:
    """Decode the uploads, then predict them in one call."""
    if len(files) > max_images:
        raise HTTPException(413, f"{len(files)} images: at most {max_images} per request")
    size = service.metadata.spec.image_size or 0
    decoded = []
    for index, file in enumerate(files):
        data = await file.read()
        try:
            try:  # small images on the loop: handing them to a thread costs more (2x req/s)
                decoded.append(decode(data, size, max_pixels=INLINE_PIXELS))
            except TooManyPixels:  # a large one must not stall the other requests
                decoded.append(await asyncio.to_thread(decode, data, size))
        except ValueError as error:
            raise HTTPException(422, f"image {index}: {error}") from None
    matrix = np.vstack([features for features, _ in decoded])
    return await service.predict_matrix(
        matrix,
        prediction_id,
        lambda: json.dumps({"images": [record for _, record in decoded]}),
        single=single,
    )


def add_image_routes(router: APIRouter, schemas: ApiSchemas) -> None:
    """POST /predict (form field ``file``) and /predict/batch (form field ``files``)."""
    max_images = ImageSettings().max_images

    @router.post(
        "/predict",
        response_model=schemas.prediction,
        responses=MODEL_ERRORS,
        summary="Predict one image",
    )
    async def predict_image(
        file: UploadFile, service: ServiceDep, prediction_id: PredictionId
    ) -> Any:
        """A PNG or JPEG upload (form field ``file``), judged by its content."""
        return await predict_images(service, [file], prediction_id, max_images, single=True)

    @router.post(
        "/predict/batch",
        response_model=schemas.batch_prediction,
        responses=MODEL_ERRORS,
        summary="Predict several images",
    )
    async def predict_batch(
        files: list[UploadFile], service: ServiceDep, prediction_id: PredictionId
    ) -> Any:
        """Up to SERVING_MAX_IMAGES uploads (form field ``files``); answers in order."""
        return await predict_images(service, files, prediction_id, max_images)
