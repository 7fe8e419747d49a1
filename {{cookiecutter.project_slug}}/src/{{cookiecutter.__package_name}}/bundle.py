"""The model bundle that serving loads: skops file, metadata, checksum. Plumbing, rarely edited.

Why skops and a checksum: a pickle-based file runs code when loaded; skops builds only the
types on the reviewed allow-list (``serialization.MODEL_TYPES``). The checksum catches a
truncated or corrupted file; it proves nothing against whoever writes ``models/``, since
they can rewrite ``model.json`` too: the allow-list is the safety check, not the checksum.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from .features import DatasetSpec
from .serialization import UntrustedModel, dumps, loads, trusted_types

MODEL_FILE = "model.skops"
METADATA_FILE = "model.json"


class BundleError(RuntimeError):
    """The bundle is missing, truncated, tampered with or unsafe; the message says which."""


class ModelMetadata(BaseModel):
    """Everything serving and the model card need to know about the exported model."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    name: str
    version: str
    spec: DatasetSpec
    metrics: dict[str, float]
    trained_at: datetime
    sha256: str
    trusted_types: list[str]  # informational: loading checks the allow-list, not this


def _atomic_write(path: Path, data: bytes) -> None:
    """Write beside the file and rename, so a crash never leaves half a file (serving reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def save_bundle(
    model: Any,
    directory: Path,
    *,
    name: str,
    version: str,
    spec: DatasetSpec,
    metrics: dict[str, float],
    trained_at: datetime,
) -> ModelMetadata:
    """Write ``model.skops`` (canonical bytes) and ``model.json`` with its checksum."""
    data = dumps(model)
    try:
        trusted = trusted_types(data)
    except UntrustedModel as error:
        raise BundleError(str(error)) from error
    model_path = directory / MODEL_FILE
    _atomic_write(model_path, data)
    metadata = ModelMetadata(
        name=name,
        version=version,
        spec=spec,
        metrics=metrics,
        trained_at=trained_at,
        sha256=hashlib.sha256(data).hexdigest(),
        trusted_types=trusted,
    )
    _atomic_write(directory / METADATA_FILE, (metadata.model_dump_json(indent=2) + "\n").encode())
    return metadata


def read_metadata(directory: Path) -> ModelMetadata:
    """Read and validate ``model.json``."""
    path = directory / METADATA_FILE
    if not path.is_file():
        raise BundleError(f"model metadata not found: {path} (run `dvc repro` or `dvc pull`)")
    try:
        return ModelMetadata.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as error:
        raise BundleError(f"model metadata {path} is invalid: {error}") from error


def load_bundle(directory: Path) -> tuple[Any, ModelMetadata]:
    """Load the model after checking its checksum and that every type in it is allowed."""
    metadata = read_metadata(directory)
    path = directory / MODEL_FILE
    if not path.is_file():
        raise BundleError(f"model file not found: {path} (run `dvc repro` or `dvc pull`)")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != metadata.sha256:
        raise BundleError(
            f"model file {path} does not match its checksum "
            f"(expected {metadata.sha256[:12]}…, found {actual[:12]}…): truncated or tampered"
        )
    try:
        model = loads(data)  # the types are checked before skops builds anything
    except UntrustedModel as error:
        raise BundleError(f"model file {path} is not trusted: {error}") from error
    except Exception as error:  # skops raises many kinds; all mean "unusable file"
        reason = type(error).__name__
        raise BundleError(f"model file {path} could not be loaded: {reason}") from error
    return model, metadata
