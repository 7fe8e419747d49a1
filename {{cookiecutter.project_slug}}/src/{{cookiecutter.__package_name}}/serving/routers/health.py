"""Liveness (the process answers) and readiness (a verified model can answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..dependencies import StateDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process is up")
async def live() -> dict[str, str]:
    """Always 200 while the event loop runs, even when the model could not be loaded."""
    return {"status": "alive"}


@router.get(
    "/ready",
    summary="A verified model is loaded",
    responses={503: {"description": "Not ready, with the reason"}},
)
async def ready(state: StateDep) -> JSONResponse:
    """200 with the model version, or 503 with why not (missing, tampered, draining...)."""
    if state.ready and state.service is not None:
        metadata = state.service.metadata
        return JSONResponse(
            {"status": "ready", "model_name": metadata.name, "model_version": metadata.version}
        )
    status = "draining" if state.draining else "not_ready"
    return JSONResponse({"status": status, "reason": state.reason}, status_code=503)
