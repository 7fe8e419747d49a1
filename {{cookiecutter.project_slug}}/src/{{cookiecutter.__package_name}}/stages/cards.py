"""Stage cards: re-render docs/data_card.md and docs/model_card.md. Yours to edit."""

from __future__ import annotations

from ..cards import write_cards
from ..config import Params
from ..paths import ProjectPaths
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """Spec, validation, metrics, run info and bundle metadata -> the two cards."""
    written = write_cards(params, paths)
    print(f"cards: wrote {' and '.join(str(path) for path in written)}")


if __name__ == "__main__":
    run("cards", main)
