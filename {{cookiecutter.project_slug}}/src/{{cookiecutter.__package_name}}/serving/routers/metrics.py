"""GET /metrics in the Prometheus text format, from this app's own registry."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..dependencies import StateDep

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(state: StateDep) -> Response:
    """Request counts, latency histogram, errors by kind, prediction distribution."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
