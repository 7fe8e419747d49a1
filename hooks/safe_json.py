"""Jinja extension that makes ``tojson`` emit real UTF-8 instead of ``\\uXXXX`` escapes.

Why: with ASCII escapes an emoji becomes a surrogate pair, which TOML refuses and Python
turns into two broken characters. Raw UTF-8 keeps one answer valid in JSON, TOML, YAML
and Python string literals alike.
"""

from __future__ import annotations

from jinja2 import Environment
from jinja2.ext import Extension


class SafeJson(Extension):
    """Sets the ``json.dumps`` policy used by the ``tojson`` filter."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
