"""The exported model: canonical skops bytes, allowed types, model.json. Plumbing, rarely edited.

Why skops with an exact allow-list: a pickle runs code when loaded, and skops builds whatever
types an archive names, so anyone who can write the file chooses them. A model may hold only
the types its estimator's training produces (``MODEL_TYPES``, reviewed by hand; no functions,
no name prefixes); anything else is refused, by name, before skops loads a byte of it.

Why canonical bytes: skops names array files after ``id()`` and stamps the zip entries with
the current time, so DVC and ``sha256`` would see a new model on every run. Renaming the
entries by order of first appearance and fixing the timestamps makes the bytes a function of
the model alone. The checksum in ``model.json`` catches a truncated or corrupted file; it
proves nothing against whoever writes ``models/`` (they can rewrite ``model.json`` too).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import PipelineError
from .features import DatasetSpec

MODEL_FILE = "model.skops"
METADATA_FILE = "model.json"


class BundleError(PipelineError):
    """The model file or its metadata is missing, truncated, tampered with or unsafe."""


class UntrustedModel(BundleError):
    """The archive names a type its estimator's training never produces (code could run)."""


# The containers and arrays skops writes for any fitted estimator below.
_PLAIN = (
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
)
# Estimator (params.yaml's train.estimator) -> every type its fitted model contains, the
# estimator's own class first (training builds that one). Adding an estimator:
# tests/test_serialization.py names what is missing.
MODEL_TYPES: dict[str, tuple[str, ...]] = {
    "logistic_regression": ("sklearn.linear_model._logistic.LogisticRegression", *_PLAIN),
    "random_forest": (
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._tree.Tree",
        *_PLAIN,
    ),
    "ridge": ("sklearn.linear_model._ridge.Ridge", *_PLAIN),
    "random_forest_regressor": (
        "sklearn.ensemble._forest.RandomForestRegressor",
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._tree.Tree",
        *_PLAIN,
    ),
{%- if cookiecutter.ml_task == "image_classification" %}
    "torch_mlp": ("{{ cookiecutter.__package_name }}.torch_model.TorchMLPClassifier", *_PLAIN),
{%- endif %}
}
_BY_ROOT = {types[0]: frozenset(types) for types in MODEL_TYPES.values()}
# How skops may build them: as objects, containers, arrays, trees; never as a function,
# method or partial, whatever the name.
_NODES = frozenset(
    {"ObjectNode", "DictNode", "ListNode", "TupleNode", "JsonNode", "TypeNode", "NdArrayNode",
     "TreeNode"}
)  # fmt: skip
SCHEMA = "schema.json"
EPOCH = (1980, 1, 1, 0, 0, 0)


def _renumber(node: Any, files: dict[str, str], ids: dict[int, int]) -> Any:
    """Walk the schema in order, renaming files and object ids by first appearance."""
    if isinstance(node, list):
        return [_renumber(item, files, ids) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "file" and isinstance(value, str):
            out[key] = files.setdefault(value, f"{len(files)}{Path(value).suffix}")
        elif key == "__id__" and isinstance(value, int):
            out[key] = ids.setdefault(value, len(ids))
        else:
            out[key] = _renumber(value, files, ids)
    return out


def canonicalize(data: bytes) -> bytes:
    """Rewrite a skops archive with stable member names, ids and timestamps (idempotent)."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        schema = json.loads(source.read(SCHEMA))
        members = {info.filename: source.read(info) for info in source.infolist()}
        compression = source.infolist()[0].compress_type
    files: dict[str, str] = {}
    schema = _renumber(schema, files, {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as target:
        entries = [*((new, members[old]) for old, new in files.items())]
        entries.append((SCHEMA, json.dumps(schema, indent=2).encode("utf-8")))
        for name, payload in entries:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.compress_type = compression
            target.writestr(info, payload)
    return buffer.getvalue()


def dumps(model: Any) -> bytes:
    """Serialize a fitted estimator to canonical skops bytes."""
    import skops.io as sio  # noqa: PLC0415 - skops is only needed when saving or loading

    return canonicalize(sio.dumps(model))


def _named_types(node: Any, found: set[str]) -> set[str]:
    """Every ``module.name`` the schema asks skops to build, at any depth."""
    if isinstance(node, list):
        for item in node:
            _named_types(item, found)
    elif isinstance(node, dict):
        if "__class__" in node:
            name, kind = f"{node.get('__module__')}.{node['__class__']}", node.get("__loader__")
            found.add(name if kind in _NODES else f"{name} (as {kind})")
        for value in node.values():
            _named_types(value, found)
    return found


def trusted_types(data: bytes) -> list[str]:
    """The types to trust when loading ``data``, after checking them all against the
    reviewed list of the estimator at the archive's root; raises :class:`UntrustedModel`."""
    import skops.io as sio  # noqa: PLC0415

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read(SCHEMA))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise UntrustedModel(f"not a skops archive ({type(error).__name__})") from None
    root = f"{schema.get('__module__')}.{schema.get('__class__')}"
    if root not in _BY_ROOT:
        raise UntrustedModel(f"refusing a model of type {root}: not an estimator of training")
    named = _named_types(schema, set()) | set(sio.get_untrusted_types(data=data))
    refused = sorted(named - _BY_ROOT[root])
    if refused:
        raise UntrustedModel(f"refusing types outside the allow-list of {root}: {refused}")
    return sorted(named)


def _read(path: Path, what: str = "model file") -> bytes:
    if not path.is_file():
        raise BundleError(f"{what} not found: {path} (run `dvc repro` or `dvc pull`)")
    return path.read_bytes()


def loads(data: bytes) -> Any:
    """Build the model in skops bytes, trusting only allow-listed types."""
    import skops.io as sio  # noqa: PLC0415

    return sio.loads(data, trusted=trusted_types(data))


def load(path: Path) -> Any:
    """Load a skops file written from :func:`dumps` (the trained model the stages pass on)."""
    return loads(_read(path))


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


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside the file and rename: neither a crash nor a reader sees half a file."""
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
    trusted = trusted_types(data)  # refuses a model that could not be loaded back
    atomic_write(directory / MODEL_FILE, data)
    metadata = ModelMetadata(
        name=name,
        version=version,
        spec=spec,
        metrics=metrics,
        trained_at=trained_at,
        sha256=hashlib.sha256(data).hexdigest(),
        trusted_types=trusted,
    )
    atomic_write(directory / METADATA_FILE, (metadata.model_dump_json(indent=2) + "\n").encode())
    return metadata


def read_metadata(directory: Path) -> ModelMetadata:
    """Read and validate ``model.json``."""
    path = directory / METADATA_FILE
    try:
        return ModelMetadata.model_validate_json(_read(path, "model metadata"))
    except ValueError as error:
        raise BundleError(f"model metadata {path} is invalid: {error}") from error


def load_bundle(directory: Path) -> tuple[Any, ModelMetadata]:
    """Load the model after checking its checksum and that every type in it is allowed."""
    metadata = read_metadata(directory)
    path = directory / MODEL_FILE
    data = _read(path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != metadata.sha256:
        raise BundleError(
            f"model file {path} does not match its checksum "
            f"(expected {metadata.sha256[:12]}…, found {actual[:12]}…): truncated or tampered"
        )
    try:
        return loads(data), metadata  # the types are checked before skops builds anything
    except BundleError:
        raise
    except Exception as error:  # skops raises many kinds; all mean "unusable file"
        reason = type(error).__name__
        raise BundleError(f"model file {path} could not be loaded: {reason}") from error
