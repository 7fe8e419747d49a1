"""ccmlops: generate cookiecutter-mlops projects safely (validated answers, atomic output)."""

import sys

__version__ = "0.1.0"


def main() -> None:
    """The `ccmlops` command. Ctrl-C while it starts (imports take a second) is one line and
    exit 130, as inside a command, instead of a traceback."""
    try:
        from .cli import app

        app()
    except KeyboardInterrupt:
        print("ccmlops: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
