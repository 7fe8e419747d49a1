"""Docs that cannot drift: the options page is generated, README commands match CI."""

from __future__ import annotations

import re

from conftest import ROOT

from ccmlops.cli import options_markdown


def test_options_reference_is_generated_from_cookiecutter_json() -> None:
    page = ROOT / "docs" / "pages" / "options.md"
    assert page.read_text(encoding="utf-8") == options_markdown(), (
        "run: uv run ccmlops options --markdown > docs/pages/options.md"
    )


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    test_command = next(
        line
        for block in blocks
        for line in block.splitlines()
        if "pytest" in line and "pip install" in line
    )
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for part in test_command.split("&&"):
        assert (
            part.strip().replace(
                "python3 -m pip install",
                "python3 -m pip install --quiet --disable-pip-version-check",
            )
            in ci
        )
