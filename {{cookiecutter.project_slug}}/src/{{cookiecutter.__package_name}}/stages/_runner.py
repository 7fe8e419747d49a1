"""Shared entry point: a pipeline error is one line and exit code 1. Plumbing, rarely edited."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from threadpoolctl import threadpool_limits

from ..config import Params, load_params
from ..errors import PipelineError
from ..paths import ProjectPaths


def run(stage: str, body: Callable[[Params, ProjectPaths], None]) -> None:
    """Parse ``--config``, load params and run ``body``; exit 1 with a message on failure."""
    parser = argparse.ArgumentParser()  # "usage: <stage module>.py"
    parser.add_argument("--config", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument("--root", type=Path, default=Path(), help="project root")
    args = parser.parse_args()
    threadpool_limits(limits=1, user_api="blas")  # more only spin on small data (docs/pipeline.md)
    try:
        body(load_params(args.config), ProjectPaths(args.root))
    except PipelineError as error:
        print(f"{stage}: error: {error}", file=sys.stderr)
        sys.exit(1)
