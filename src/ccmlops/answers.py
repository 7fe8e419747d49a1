"""Turn ``key=value`` words into checked answers before anything is written."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from .template import Option, options

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off"})
JINJA_MARKERS = ("{{", "{%", "{#")


class AnswerError(ValueError):
    """A bad answer; the message is one line meant for the user."""


def parse_bool(name: str, text: str) -> bool:
    """Accept the usual spellings of yes and no."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise AnswerError(f"{name} must be true or false, not {text!r}")


def jinja_literal(text: str) -> str:
    """Wrap text so cookiecutter's rendering of answers gives it back unchanged.

    Cookiecutter renders every answer as a Jinja template; a Jinja string literal with
    unicode escapes survives that rendering byte for byte, whatever the text holds.
    """
    if not any(marker in text for marker in JINJA_MARKERS):
        return text
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return '{{ "' + escaped + '" }}'


def parse_answers(words: Iterable[str]) -> dict[str, Any]:
    """Parse ``key=value`` words against the template's options."""
    known = {option.name: option for option in options()}
    answers: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise AnswerError(f"expected key=value, got {word!r}")
        option = known.get(key)
        if option is None:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise AnswerError(f"unknown option {key!r}{hint} (see `ccmlops options`)")
        answers[key] = convert(option, value)
    return answers


def convert(option: Option, value: str) -> Any:
    """One raw string to the option's type, or an AnswerError listing what is valid."""
    if option.kind == "bool":
        return parse_bool(option.name, value)
    if option.kind == "choice":
        assert option.choices is not None
        if value not in option.choices:
            valid = ", ".join(map(str, option.choices))
            raise AnswerError(
                f"{option.name}={value!r} is not a valid choice; choose one of: {valid}"
            )
        return value
    return jinja_literal(value)
