"""Typed dependencies: routes receive the state or a ready service, never globals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .errors import ApiError
from .recorder import new_prediction_id
from .service import ModelService
from .state import ServingState


async def get_state(request: Request) -> ServingState:
    """The app's serving state (set by ``create_app``)."""
    state: ServingState = request.app.state.serving
    return state


StateDep = Annotated[ServingState, Depends(get_state)]


async def get_service(state: StateDep) -> ModelService:
    """The model service, or 503 when no verified model is loaded.

    While draining, requests are still answered: only readiness turns 503, so a load
    balancer stops sending traffic before the socket closes.
    """
    if state.service is None:
        raise ApiError(503, f"model not ready: {state.reason}", "not_ready", {"Retry-After": "5"})
    return state.service


ServiceDep = Annotated[ModelService, Depends(get_service)]


def service_of(request: Request) -> tuple[ModelService, str]:
    """``get_service`` and the request id without ``Depends`` (for the hot predict routes)."""
    state: ServingState = request.app.state.serving
    request_id = str(request.scope.get("state", {}).get("request_id", "-"))
    if state.service is None:
        raise ApiError(503, f"model not ready: {state.reason}", "not_ready", {"Retry-After": "5"})
    return state.service, request_id


def issue_prediction_id(request: Request) -> str:
    """A new server-issued id for this request's predictions, also put in its access-log line."""
    prediction_id = new_prediction_id()
    request.scope["state"]["prediction_id"] = prediction_id
    return prediction_id
