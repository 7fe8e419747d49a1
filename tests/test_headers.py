"""Every generated file says on its first line what it is for and who edits it (issue 15.6),
and the tour page names only files that exist in that milestone's render."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WHO = r"(Yours to edit|Rewritten by dvc repro|Plumbing, rarely edited)\."
# The first line's form per kind of file: a docstring, a comment, a Jinja or HTML comment.
HEADER = {
    ".py": re.compile(rf'^""".+\. {WHO}(""")?$'),
    ".md": re.compile(rf"^<!-- .+\. {WHO} -->$"),
    ".j2": re.compile(rf"^\{{#- .+\. {WHO} -#\}}$"),
}
COMMENT = re.compile(rf"^# .+\. {WHO}$")
# Files whose format has no comments, or where a first line would change what they mean.
EXCEPTIONS = {
    ".cruft.json": "JSON",
    "deploy/grafana/dashboards/model-api.json": "JSON",
    "notebooks/01_explore.ipynb": "JSON",
    "notebooks/01_explore_images.ipynb": "JSON",
    ".python-version": "one version line, read by uv and pyenv",
    "LICENSE": "the license text, verbatim",
}
MILESTONES = ["M1", "M2", "M3", "M4", "M5", "all"]
# Each milestone's starter, and the whole image project (its own stages, notebook and docs).
RENDERS = {name: [f"milestone={name}"] for name in MILESTONES}
RENDERS["images"] = ["ml_task=image_classification"]


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each of RENDERS, rendered once without VCS work."""
    from ccmlops.answers import parse_answers
    from ccmlops.generate import build_context, render

    out = tmp_path_factory.mktemp("headers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CCMLOPS_SKIP_VCS", "1")
        return {
            name: render(
                build_context(parse_answers(answers), no_input=True), out / name, force=False
            ).path
            for name, answers in RENDERS.items()
        }


def is_header(suffix: str, line: str) -> bool:
    """Whether ``line`` is a valid first line for a file with that suffix."""
    return bool(HEADER.get(suffix, COMMENT).match(line))


def generated_files(project: Path) -> list[Path]:
    """Every file of the render except Git's and DVC's own folders' internals."""
    return sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts)


def test_every_generated_file_opens_with_what_it_is_for_and_who_edits_it(
    renders: dict[str, Path],
) -> None:
    missing = []
    for project in renders.values():
        for path in generated_files(project):
            rel = path.relative_to(project).as_posix()
            if rel in EXCEPTIONS:
                continue
            first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            if not is_header(path.suffix, first):
                missing.append(f"{rel}: {first[:80]!r}")
    assert not missing, "no header line:\n" + "\n".join(sorted(set(missing)))


LINK = re.compile(r"\]\(([^)#]+)\)")


@pytest.mark.parametrize("milestone", RENDERS)
def test_tour_names_three_to_five_existing_files_per_milestone(
    renders: dict[str, Path], milestone: str
) -> None:
    project = renders[milestone]
    tour = project / "docs" / "tour.md"
    sections = tour.read_text(encoding="utf-8").split("\n## ")[1:]
    reached = int(milestone[1:]) if milestone in MILESTONES[:-1] else 6
    assert [s[:2] for s in sections] == [f"M{n}" for n in range(1, reached + 1)]
    for section in sections:
        targets = LINK.findall(section)
        assert 3 <= len(targets) <= 5, section
        missing = [t for t in targets if not (tour.parent / t).resolve().is_file()]
        assert not missing, f"{milestone} tour names files its render lacks: {missing}"
    assert "(docs/tour.md)" in (project / "README.md").read_text(encoding="utf-8")


def test_header_patterns_refuse_a_line_without_who_edits_it() -> None:
    """The check itself can fail: an ordinary first line is not a header."""
    check = is_header
    assert check(".py", '"""Load the data. Yours to edit."""')
    assert check(".yaml", "# The stages. Rewritten by dvc repro.")
    assert not check(".py", '"""Load the data."""')
    assert not check(".yaml", "# The stages. Edit me.")
    assert not check(".md", "# Title")
