"""skops files: the same bytes for the same model, allow-listed loading. Plumbing, rarely edited.

Why an exact allow-list: skops builds whatever types an archive names, so anyone who can
write the file chooses them. A model may hold only the types its estimator's training
produces (``MODEL_TYPES``, reviewed by hand; no functions, no name prefixes); anything
else is refused, by name, before skops loads a byte of it.

Why canonical bytes: skops names array files after ``id()`` and stamps the zip entries
with the current time, so two identical models give different files, and DVC and
``sha256`` would see a new model on every run. Renaming the entries by order of first
appearance and fixing the timestamps makes the bytes a function of the model alone.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from .errors import DataError


class UntrustedModel(ValueError):
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


def loads(data: bytes) -> Any:
    """Build the model in skops bytes, trusting only allow-listed types."""
    import skops.io as sio  # noqa: PLC0415

    return sio.loads(data, trusted=trusted_types(data))


def load(path: Path) -> Any:
    """Load a skops file written from :func:`dumps`."""
    if not path.is_file():
        raise DataError(f"{path}: not found (run `dvc repro` or `dvc pull`)")
    return loads(path.read_bytes())
