"""Course mode: each milestone's starter passes its own checks, and a student's project moves
from M1 to M6 by `ccmlops update --set milestone=...` alone, work intact, `check` green each time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import assert_own_lint_passes, env_for, install_project, run
from test_checker import PROMPT, WRITTEN, actionlint_bin  # noqa: F401 - the checker's fixture
from test_newcomer import fresh_copy

pytestmark = pytest.mark.tier2

CCMLOPS = str(Path(sys.executable).parent / "ccmlops")
IDENTITY = ["-c", "user.name=Student", "-c", "user.email=student@example.com"]
STUDENT_TEST = "def test_my_own_idea() -> None:\n    assert sum([1, 2]) == 3\n"


def in_project(python: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([str(python), "-m", *args], cwd=project, env=env_for(python))


@pytest.mark.parametrize("milestone", ["M1", "M2"])
def test_milestone_starter_passes_its_own_tests_and_lint(
    generated_project: Callable[..., Path], project_python: Path, milestone: str
) -> None:
    """M6 is the whole project (tests/test_projects.py); the pipeline's first milestone also
    runs its slow end-to-end test, since its pipeline (no data checks, no CodeCarbon) differs.
    M3 to M5 are linted, tested and checked in the M1-to-M6 chain below, whose files are the
    starters' files plus a student's edits (each starter alone took about 2 minutes more)."""
    project = generated_project(f"milestone={milestone}", f"project_name=Course {milestone}")
    assert_own_lint_passes(project_python, project)
    selection = [] if milestone == "M2" else ["-m", "not slow"]
    tests = in_project(
        project_python, project, "pytest", "-q", "-p", "no:cacheprovider", *selection
    )
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert f"**Course milestone {milestone}.**" in readme
    assert (project / ".dvc").is_dir() == (milestone != "M1")  # no DVC before the pipeline


def git(project: Path, *args: str) -> str:
    result = run(["git", *IDENTITY, *args], cwd=project)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


class Student:
    """One student's project and the commands they type, in the shared environment."""

    def __init__(self, template: Path, python: Path, actionlint: Path, out: Path) -> None:
        self.template, self.python = template, python
        self.env = {
            **env_for(python),
            "CCMLOPS_TEMPLATE": str(template),
            "PATH": f"{actionlint}{os.pathsep}{env_for(python)['PATH']}",
        }
        made = run([CCMLOPS, "new", "--no-input", "-o", str(out), "milestone=M1",
                    "project_name=Chain Student"], cwd=out, env=self.env)  # fmt: skip
        assert made.returncode == 0, made.stderr
        self.root = out / "chain_student"
        self.package = self.root / "src" / "chain_student"
        install_project(python, self.root)

    def python_m(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = run([str(self.python), "-m", *args], cwd=self.root, env=self.env)
        assert result.returncode == 0, f"{args}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
        return result

    def commit(self, message: str) -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)

    def update_to(self, milestone: str) -> None:
        result = run([CCMLOPS, "update", str(self.root), "--yes", "--set",
                      f"milestone={milestone}"], cwd=self.root, env=self.env)  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        leftovers = [p for p in self.root.rglob("*") if p.suffix in {".rej", ".orig"}]
        assert not leftovers
        # the next milestone's commands run at once: no `setup` step between (issue 17.5)
        later = [line.strip() for line in result.stdout.split("\nNext:\n", 1)[1].splitlines()]
        assert any(line.startswith("uv run dvc repro") for line in later), later

    def check(self, milestone: str) -> dict[str, float]:
        """`ccmlops check` with the project's own milestone; item -> seconds, all passed."""
        result = run([CCMLOPS, "check", "--json", "--python", str(self.python)],
                     cwd=self.root, env=self.env)  # fmt: skip
        report = json.loads(result.stdout)
        bad = [(i["id"], i["detail"]) for i in report["items"] if i["status"] != "passed"]
        assert result.returncode == 0 and not bad, bad
        assert report["milestone"] == milestone
        return {item["id"]: item["seconds"] for item in report["items"]}


@pytest.mark.e2e
def test_a_student_moves_from_m1_to_m6_by_updates_alone(
    tmp_path: Path,
    project_python: Path,
    actionlint_bin: Path,  # noqa: F811 - actionlint and promtool (exercise M6.2)
) -> None:
    template = fresh_copy(tmp_path / "template")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "template"]):
        git(template, *args)
    out = tmp_path / "projects"
    out.mkdir()
    student = Student(template, project_python, actionlint_bin, out)
    timings: dict[str, float] = {}

    # M1: scoping. The student writes the scoping document, the cards' judgement and a test.
    scoping = student.root / "docs" / "scoping.md"
    for card in [scoping, *(student.package / "_card_templates").glob("*.j2")]:
        card.write_text(
            PROMPT.sub("Written by the student. " + WRITTEN, card.read_text(encoding="utf-8"))
        )
    (student.root / "tests" / "test_mine.py").write_text(STUDENT_TEST, encoding="utf-8")
    survey = student.root / "data" / "external" / "survey.csv"  # data of their own, before DVC
    survey.parent.mkdir(parents=True)
    survey.write_text("a,b\n1,2\n", encoding="utf-8")
    student.python_m("chain_student.cli", "cards")
    student.commit("M1: cards")
    assert git(student.root, "ls-files", "data/external/survey.csv")  # committed, not ignored
    timings["M1"] = sum(student.check("M1").values())

    # M2: the pipeline arrives; the student tunes a hyperparameter and changes a stage.
    start = time.perf_counter()
    student.update_to("M2")
    assert (student.root / "dvc.yaml").is_file()
    student.commit("Update to M2")
    edit(student.root / "params.yaml", "    C: 1.0", "    C: 0.5")
    edit(student.package / "stages" / "prepare.py", 'print(f"prepare: ', 'print(f"mine: ')
    student.python_m("dvc", "repro")
    student.commit("M2: pipeline run")
    seconds = student.check("M2")
    assert "exercises-m2" in seconds and (student.root / "reports" / "sample.csv").is_file()
    timings["M2"] = sum(seconds.values())

    # M3..M6: each update keeps all of that and brings the next milestone's parts.
    arrivals = {
        "M3": "src/chain_student/validation.py",
        "M4": "src/chain_student/serving/app.py",
        "M5": "Dockerfile",
        "M6": "src/chain_student/monitoring/drift.py",
    }
    for milestone, arrived in arrivals.items():
        student.update_to(milestone)
        assert (student.root / arrived).is_file()
        readme = (student.root / "README.md").read_text(encoding="utf-8")
        assert f"**Course milestone {milestone}.**" in readme, readme[:500]
        assert_own_lint_passes(student.python, student.root)  # the starter's lint, with edits
        assert "    C: 0.5" in (student.root / "params.yaml").read_text(encoding="utf-8")
        prepare = (student.package / "stages" / "prepare.py").read_text(encoding="utf-8")
        assert 'print(f"mine: ' in prepare
        assert (student.root / "tests" / "test_mine.py").read_text() == STUDENT_TEST
        for card in [scoping, *(student.package / "_card_templates").glob("*.j2")]:
            assert not PROMPT.search(card.read_text(encoding="utf-8")), card.name
        student.python_m("dvc", "repro")
        student.commit(f"{milestone}: update and pipeline run")
        seconds = student.check(milestone)  # the milestone's exercises graded passed too
        assert f"exercises-m{milestone[1]}" in seconds, seconds
        timings[milestone] = sum(seconds.values())
    print(
        "check seconds per milestone:",
        json.dumps(timings),
        f"(chain {time.perf_counter() - start:.0f} s)",
    )
    model_card = (student.root / "docs" / "model_card.md").read_text(encoding="utf-8")
    assert re.search(r"Written by the student\.", model_card)
    assert "kWh" in model_card  # CodeCarbon measured training once M3 arrived
