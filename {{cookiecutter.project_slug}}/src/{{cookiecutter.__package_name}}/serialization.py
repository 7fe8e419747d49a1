"""skops files with the same bytes for the same model, and loading with an allow-list.

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

# Only types from these libraries may ever be trusted, whatever a metadata file claims.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")
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


def trusted_types(data: bytes) -> list[str]:
    """Types a skops archive needs trusted; refuses any outside the bundle's allow-list."""
    import skops.io as sio  # noqa: PLC0415

    types = sorted(sio.get_untrusted_types(data=data))
    unsafe = [name for name in types if not name.startswith(TRUSTED_PREFIXES)]
    if unsafe:
        raise ValueError(f"refusing types outside the allow-list: {unsafe}")
    return types


def save(model: Any, path: Path) -> None:
    """Write canonical skops bytes to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dumps(model))


def load(path: Path) -> Any:
    """Load a skops file written by :func:`save`, trusting only allow-listed types."""
    import skops.io as sio  # noqa: PLC0415

    if not path.is_file():
        raise DataError(f"{path}: not found (run `dvc repro` or `dvc pull`)")
    data = path.read_bytes()
    return sio.loads(data, trusted=trusted_types(data))
