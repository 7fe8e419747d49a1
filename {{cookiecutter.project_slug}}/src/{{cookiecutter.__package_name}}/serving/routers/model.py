"""GET /model: which model answers, how it scored and when it was trained."""

from __future__ import annotations

from fastapi import APIRouter

from ..dependencies import ServiceDep
from ..schemas import ModelInfo

router = APIRouter(tags=["model"])


@router.get("/model", summary="The served model")
async def model_info(service: ServiceDep) -> ModelInfo:
    """Name, version, task, training date, metrics, features with ranges, classes."""
    metadata = service.metadata
    return ModelInfo(
        name=metadata.name,
        version=metadata.version,
        task=metadata.spec.task,
        trained_at=metadata.trained_at.isoformat(),
        metrics=metadata.metrics,
        features=metadata.spec.features,
        classes=metadata.spec.classes,
    )
