"""Typed dependencies: routes receive the state or a ready service, never globals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .errors import ApiError
from .service import ModelService
from .state import ServingState


def get_state(request: Request) -> ServingState:
    """The app's serving state (set by ``create_app``)."""
    state: ServingState = request.app.state.serving
    return state


StateDep = Annotated[ServingState, Depends(get_state)]


def get_service(state: StateDep) -> ModelService:
    """The model service, or 503 while the model is not ready or the server is draining."""
    if state.service is None or state.draining:
        raise ApiError(503, f"model not ready: {state.reason}", "not_ready", {"Retry-After": "5"})
    return state.service


ServiceDep = Annotated[ModelService, Depends(get_service)]


def get_request_id(request: Request) -> str:
    """The id set by RequestContextMiddleware."""
    return str(request.scope.get("state", {}).get("request_id", "-"))


RequestIdDep = Annotated[str, Depends(get_request_id)]
