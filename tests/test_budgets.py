"""Line budgets of the generated project (issue 15): every line rendered is a line a student
reads, so the default render and each course milestone are measured, printed and capped.

A line is a non-blank line of Python. "Lines a student must read" in a milestone's render are
all of its ``src/``: a module marked ``Plumbing, rarely edited.`` is still code the team owns
(the count leaving those out is printed too, not capped).

Rows still over budget while issue 15 is open are in ``OVER_BUDGET`` with today's figure as a
ceiling: they shrink, grow only for a fix a closing note names, and a row that meets its
budget must leave the table.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PLUMBING = "Plumbing, rarely edited."
# row -> (measured path relative to the project, budget); {package} is the Python package.
BUDGETS: dict[str, tuple[str, int]] = {
    "src/": ("src", 3000),
    "serving package": ("src/{package}/serving", 900),
    "monitoring": ("src/{package}/monitoring", 450),
    "generated tests": ("tests", 3000),
}
SERVING_MODULES = 8
HOOK_BUDGET = 150
# milestone -> lines a student must read in that milestone's render
READ_BUDGETS = {"M1": 800, "M2": 1500, "M4": 2400}
# Issue 15, still open: row -> the figure it stands at now (a ceiling until it meets its budget).
# Raised by 40 / 39 / 40 lines since 3,542 / 1,141 / 3,094 for review fixes named in the
# closing notes of sessions 7 and 8 (a failed log declared writable, drift gauges, metric
# labels, feedback replays, error lists, response models, each route's documented errors),
# then by 9 for the speed floors (session 9: a fast model's single rows on the event loop).
# Session 10: 23 lines cut, 10 added back for a student walk's fixes (the DVC remote `setup`
# and `demo` print is read from DVC's config; generated request ids are UUIDs, unlike
# prediction ids; `demo` ends with the commit to make; a HELP text without a method label;
# HEAD on the health routes, as uptime checkers send).
OVER_BUDGET = {
    "src/": 3578,  # includes exercise answer keys (15 lines) and explain.py (issue 17.3, 45)
    "serving package": 1176,  # includes exercise M4.2's route, 4 lines
    "M4: lines a student must read": 3135,
}


def code_lines(path: Path) -> int:
    """Non-blank lines of Python in a file, or in every ``.py`` file under a folder."""
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    return sum(1 for f in files for line in f.read_text("utf-8").splitlines() if line.strip())


def not_plumbing_lines(project: Path) -> int:
    """Lines of the ``src/`` modules not marked as plumbing (printed, not capped)."""
    return sum(
        code_lines(module)
        for module in (project / "src").rglob("*.py")
        if PLUMBING not in module.read_text("utf-8").splitlines()[0]
    )


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The default project and the milestone starters, rendered once without VCS work."""
    from ccmlops.answers import parse_answers
    from ccmlops.generate import build_context, render

    os.environ["CCMLOPS_SKIP_VCS"] = "1"
    try:
        out = tmp_path_factory.mktemp("budgets")
        projects = {}
        for name in ["all", *READ_BUDGETS]:
            context = build_context(parse_answers([f"milestone={name}"]), no_input=True)
            projects[name] = render(context, out / name, force=False).path
        yield projects
    finally:
        os.environ.pop("CCMLOPS_SKIP_VCS")


def test_default_render_and_milestones_stay_within_their_line_budgets(
    renders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every figure is measured and printed before any is asserted, so one run shows them all."""
    from conftest import ROOT

    project = renders["all"]
    package = next(p.name for p in (project / "src").iterdir() if p.is_dir())
    rows = [(row, code_lines(project / rel.format(package=package)), limit)
            for row, (rel, limit) in BUDGETS.items()]  # fmt: skip
    serving = project / "src" / package / "serving"
    modules = [m for m in serving.rglob("*.py") if code_lines(m) > 1]  # empty __init__s aside
    rows.append(("serving modules", len(modules), SERVING_MODULES))
    rows.append(("hooks/post_gen_project.py", code_lines(ROOT / "hooks/post_gen_project.py"),
                 HOOK_BUDGET))  # fmt: skip
    for milestone, limit in READ_BUDGETS.items():
        src = renders[milestone] / "src"
        rows.append((f"{milestone}: lines a student must read", code_lines(src), limit))
        rows.append(
            (f"{milestone}: not plumbing (not capped)", not_plumbing_lines(renders[milestone]), 0)
        )
    with capsys.disabled():
        print("\nbudget (non-blank Python lines)")
        for row, measured, limit in rows:
            note = f" (over: issue 15, ceiling {OVER_BUDGET[row]})" if row in OVER_BUDGET else ""
            print(f"  {row:<40} {measured:>6} / {limit or '-'}{note}")
    over = [f"{row}: {measured} > {OVER_BUDGET.get(row, limit)}" for row, measured, limit in rows
            if limit > 0 and measured > OVER_BUDGET.get(row, limit)]  # fmt: skip
    assert not over, "over budget: " + "; ".join(over)
    met = [row for row, measured, limit in rows if row in OVER_BUDGET and measured <= limit]
    assert not met, f"within budget now, remove from OVER_BUDGET: {met}"


def test_the_instructor_guide_shows_the_measured_milestone_figures(
    renders: dict[str, Path],
) -> None:
    """The guide's table of lines to read per milestone is the measured one, not a stale copy."""
    from conftest import ROOT

    guide = (ROOT / "docs/pages/instructor-guide.md").read_text("utf-8")
    row = re.compile(r"^\| (M\d) \| ([\d,]+) \| ([\d,]+)( \(over\))? \| ([\d,]+) \|$", re.M)
    shown = {m[1]: (m[2], m[3], bool(m[4]), m[5]) for m in row.finditer(guide)}
    measured = {}
    for milestone, limit in READ_BUDGETS.items():
        read = code_lines(renders[milestone] / "src")
        plain = not_plumbing_lines(renders[milestone])
        measured[milestone] = (f"{limit:,}", f"{read:,}", read > limit, f"{plain:,}")
    assert shown == measured


IMAGE_ONLY = ("UploadFile", "predict_image", "max_images", "multipart")


def test_the_default_render_serves_no_image_code(renders: dict[str, Path]) -> None:
    """Image uploads live in ``serving/images.py``, which the hook removes for tabular tasks."""
    project = renders["all"]
    found = [
        f"{module.name}: {word}"
        for module in (project / "src").rglob("serving/*.py")
        for word in IMAGE_ONLY
        if word in module.read_text("utf-8")
    ]
    assert not found
