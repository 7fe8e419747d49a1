"""Errors a stage reports as one readable line, not a traceback. Plumbing, rarely edited."""

from __future__ import annotations


class PipelineError(RuntimeError):
    """Base class: the message is shown to the user as is, so it must say what to do."""


class ParamsError(PipelineError):
    """params.yaml has an unknown key, a wrong type or a value out of range."""


class DataError(PipelineError):
    """The input data cannot be read or has the wrong shape."""


class ValidationFailed(PipelineError):
    """The data broke an expectation; the report under reports/ lists which."""


class TrackingUnavailable(PipelineError):
    """The MLflow tracking store cannot be reached, so nothing was logged."""


class GateFailed(PipelineError):
    """The model did not beat the baseline by the required margin."""
