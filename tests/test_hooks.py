"""The hooks are plain Python: unit tests without rendering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hooks import cruft_state, exercises, parts
from hooks import post_gen_project as post
from hooks import pre_gen_project as pre

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = {
    "project_name": "Demo",
    "project_slug": "demo",
    "__package_name": "demo",
    "author_name": "A",
    "author_email": "a@b.c",
    "serving": True,
    "docker": True,
    "ci": True,
    "license": "MIT",
}


def test_pre_gen_main_reports_each_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {**ANSWERS, "project_slug": "import", "__package_name": "import", "serving": False}
    monkeypatch.setattr(pre, "ANSWERS_JSON", json.dumps(bad))
    assert pre.main() == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert "keyword" in lines[0]
    assert "docker-needs-serving" in lines[1]


def test_the_image_task_renders_with_serving_and_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 phase 2: the image task serves uploads; its defaults include the app."""
    image = {**ANSWERS, "ml_task": "image_classification", "serving": True, "docker": True}
    monkeypatch.setattr(pre, "ANSWERS_JSON", json.dumps(image))
    assert pre.main() == 0
    removed = parts.removed_paths(image)
    assert "src/demo/serving" not in removed and "Dockerfile" not in removed


def test_the_task_picks_the_image_or_the_tabular_modules() -> None:
    image = parts.removed_paths({**ANSWERS, "ml_task": "image_classification", "serving": False})
    tabular = parts.removed_paths({**ANSWERS, "ml_task": "regression"})
    assert "src/demo/stages/prepare.py" in image and "src/demo/images.py" not in image
    assert "src/demo/images.py" in tabular and "src/demo/stages/prepare.py" not in tabular
    # the image uploads of the serving app (issue 15: the tabular render carries none of it)
    assert "src/demo/serving/images.py" in tabular and "src/demo/serving/images.py" not in image


def test_pre_gen_main_accepts_good_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pre, "ANSWERS_JSON", "\n" + json.dumps(ANSWERS) + "\n")
    assert pre.main() == 0


def test_control_characters_are_refused() -> None:
    problems = pre.validate({**ANSWERS, "description": "bell\x07"})
    assert problems == ["description contains a control character; remove it"]


def test_rendered_removals_parse_in_the_hook() -> None:
    """The hook reads the paths rendered by the ``removed_paths`` filter (hooks/parts.py)."""
    removed = parts.removed_paths({**ANSWERS, "milestone": "M1", "license": "none"})
    assert json.loads("\n" + json.dumps(removed) + "\n") == removed
    assert {"dvc.yaml", "src/demo/serving", "LICENSE"} <= set(removed)
    assert "src/demo/cli.py" not in removed


def remove(root: Path, answers: dict[str, Any]) -> list[str]:
    return post.remove_optional_parts(root, parts.removed_paths(answers))


def test_milestone_m1_leaves_out_every_later_part(tmp_path: Path) -> None:
    make_tree(tmp_path)
    removed = remove(tmp_path, {**ANSWERS, "milestone": "M1"})
    assert {"benchmarks", "src/demo/serving", "Dockerfile", ".github"} <= set(removed)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["LICENSE", "src/demo/cli.py"]


def make_tree(root: Path) -> None:
    for rel in [
        "src/demo/serving/app.py",
        "tests/serving/test_app.py",
        "benchmarks/serving.py",
        "benchmarks/pipeline.py",
        "Dockerfile",
        "deploy/prometheus.yml",
        ".github/workflows/ci.yml",
        "LICENSE",
        "src/demo/cli.py",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")


def test_remove_optional_parts_follows_the_table(tmp_path: Path) -> None:
    make_tree(tmp_path)
    answers = {**ANSWERS, "serving": False, "docker": False, "ci": False, "license": "none"}
    removed = remove(tmp_path, answers)
    assert set(removed) == {
        "src/demo/serving",
        "tests/serving",
        "benchmarks/serving.py",
        "Dockerfile",
        "deploy",
        ".github",
        "LICENSE",
    }
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["benchmarks/pipeline.py", "src/demo/cli.py"]


def test_remove_optional_parts_keeps_everything_when_all_on(tmp_path: Path) -> None:
    make_tree(tmp_path)
    assert remove(tmp_path, ANSWERS) == []


def test_post_gen_main_skips_vcs_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(post.SKIP_VCS_ENV, "1")
    answers = {**ANSWERS, "ci": False}
    monkeypatch.setattr(post, "ANSWERS_JSON", json.dumps(answers))
    monkeypatch.setattr(post, "REMOVED_JSON", json.dumps(parts.removed_paths(answers)))
    monkeypatch.setattr(post, "TEMPLATE_ROOT_JSON", json.dumps(str(ROOT)))
    (tmp_path / ".cruft.json").write_text('{"commit": "abc"}')  # a template file
    assert post.main() == 0
    assert not (tmp_path / ".git").exists()
    assert not (tmp_path / ".github").exists()


def test_the_hook_needs_no_dvc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain cookiecutter from pipx has no DVC: DVC's files are template files, so the first
    commit is complete without it, and no next step is left."""
    monkeypatch.setitem(sys.modules, "dvc", None)  # any `import dvc...` fails
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "README.md").write_text("demo")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    assert post.init_vcs(tmp_path / "demo", ANSWERS) == []
    assert capsys.readouterr().err == ""
    log = subprocess.run(
        ["git", "log", "--format=%an"], cwd=tmp_path / "demo", capture_output=True, text=True
    )
    assert log.stdout.strip() == "A"  # committed with the answers' identity


@pytest.mark.parametrize(
    "text", ["plain", 'Quote "x" {{ y }}', "{% if %}", "two\nlines {# c #}", "back\\slash {{ é 🚀"]
)
def test_hook_and_ccmlops_store_answers_as_the_same_literal(text: str) -> None:
    from jinja2 import Environment

    from ccmlops.answers import jinja_literal

    assert cruft_state.jinja_literal(text) == jinja_literal(text)
    assert Environment().from_string(cruft_state.jinja_literal(text)).render() == text


def test_cruft_state_is_what_cruft_writes_without_machine_keys() -> None:
    answers = {
        **ANSWERS,
        "project_name": "A {{ b }}",
        "_extensions": ["hooks.safe_json.SafeJson"],
        "_template": "gh:someone/template",
        "_commit": "abc123",
        "_output_dir": "/home/me/out",
        "_repo_dir": "/home/me/.cookiecutters/template",
        "_checkout": None,
    }
    order = ["project_name", "project_slug", "__package_name", "_extensions", "_template"]
    state = cruft_state.cruft_state({k: answers[k] for k in order} | answers)
    assert list(state) == ["template", "commit", "checkout", "context", "directory"]
    assert (state["template"], state["commit"]) == ("gh:someone/template", "abc123")
    context = state["context"]["cookiecutter"]
    assert list(context)[:4] == order[:4]
    assert list(context)[-2:] == ["_template", "_commit"]
    assert context["project_name"] == '{{ "A {{ b }}" }}'
    assert not {"_output_dir", "_repo_dir", "_checkout"} & context.keys()


EXERCISE_SOURCE = '''"""Module."""


def kept(x: int) -> int:
    """Docstring stays."""
    # exercise M1.1: Double the number
    return 2 * x
    # end exercise


class Box:
    def later(self) -> str:
        """A task of a later milestone."""
        # exercise M4.2: Name the box
        return "box"
        # end exercise
'''
EXERCISE_README = "# Demo\n\n## Set up\n\n<!-- tasks -->\n\n## Pipeline\n"


def exercise_tree(root: Path, source: str = EXERCISE_SOURCE) -> Path:
    """A project with one marked module and a README with the tasks placeholder."""
    (root / "src" / "demo").mkdir(parents=True)
    (root / "src" / "demo" / "mod.py").write_text(source)
    (root / "README.md").write_text(EXERCISE_README)
    return root / "src" / "demo" / "mod.py"


def test_exercises_off_deletes_only_the_marker_lines(tmp_path: Path) -> None:
    module = exercise_tree(tmp_path)
    assert exercises.apply_exercises(tmp_path, {**ANSWERS, "exercises": False}) == []
    expected = "\n".join(
        line
        for line in EXERCISE_SOURCE.split("\n")
        if "# exercise" not in line and "# end exercise" not in line
    )
    assert module.read_text() == expected
    assert (tmp_path / "README.md").read_text() == "# Demo\n\n## Set up\n\n## Pipeline\n"


def test_exercises_stub_the_tasks_up_to_the_milestone(tmp_path: Path) -> None:
    module = exercise_tree(tmp_path)
    tasks = exercises.apply_exercises(tmp_path, {**ANSWERS, "exercises": True, "milestone": "M3"})
    assert [(t.task_id, t.path, t.function) for t in tasks] == [("M1.1", "src/demo/mod.py", "kept")]
    text = module.read_text()
    assert '    """Docstring stays."""\n    raise NotImplementedError(' in text
    assert "Task M1.1 (README.md, section Tasks): Double the number" in text
    assert '        return "box"\n' in text and "exercise" not in text  # M4 > M3: kept
    readme = (tmp_path / "README.md").read_text()
    assert "## Tasks\n" in readme and "<!-- tasks -->" not in readme
    assert "- [ ] **M1.1** Double the number (`src/demo/mod.py`, `kept`)" in readme
    assert readme.endswith("done when every test passes.\n\n## Pipeline\n")
    # `all` (the default) is the last milestone: the method is stubbed too, at its indentation
    exercise_tree(tmp_path / "all")
    tasks = exercises.apply_exercises(tmp_path / "all", {**ANSWERS, "exercises": True})
    assert [t.task_id for t in tasks] == ["M1.1", "M4.2"]
    assert (
        '        """A task of a later milestone."""\n        raise NotImplementedError('
        in (tmp_path / "all" / "src" / "demo" / "mod.py").read_text()
    )


def test_long_task_descriptions_are_wrapped_as_ruff_formats_them() -> None:
    task = exercises.Task("M2.1", 2, 1, " ".join(["word"] * 40), "src/demo/mod.py", "f")
    lines = exercises.stub_lines("        ", task)
    assert lines[0] == "        raise NotImplementedError(" and lines[-1] == "        )"
    assert all(len(line) <= exercises.LINE_LENGTH for line in lines)
    joined = "".join(json.loads(line.strip()) for line in lines[1:-1])
    assert joined == f"Task M2.1 (README.md, section Tasks): {task.text}"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f():\n    # exercise M1.1: Open\n    return 1\n", "mod.py:2: exercise M1.1 has no"),
        ("def f():\n    return 1\n    # end exercise\n", "mod.py:3: `# end exercise` without"),
        ("def f():\n    # exercise 1.1: Bad id\n    pass\n    # end exercise\n", "mod.py:2: mal"),
        ("def f():\n    # exercise M7.1: Bad\n    pass\n    # end exercise\n", "mod.py:2: mal"),
        ("def f():\n    # exercise M1.1:\n    pass\n    # end exercise\n", "mod.py:2: malformed"),
        (
            "def f():\n    # exercise M1.1: A\n    # exercise M1.2: B\n    # end exercise\n",
            "mod.py:2: exercise M1.1 is not closed before the next `# exercise` (line 3)",
        ),
        (
            "def f():\n    # exercise M1.1: A\n    pass\n# end exercise\n",
            "mod.py:4: `# end exercise` must be indented like its `# exercise`",
        ),
    ],
)
def test_malformed_exercise_markers_name_the_file_and_line(
    tmp_path: Path, source: str, message: str
) -> None:
    exercise_tree(tmp_path, source)
    for switched_on in (True, False):  # a broken marker fails every render, not only exercises
        with pytest.raises(exercises.ExerciseError) as info:
            exercises.apply_exercises(tmp_path, {**ANSWERS, "exercises": switched_on})
        assert str(info.value).startswith("src/demo/" + message), str(info.value)


COMMENT_STUBS = {
    "dvc.yaml": "stages:\n  a:\n    cmd: a\n  # exercise M2.3: Add a stage\n  b:\n    cmd: b\n"
    "  # end exercise\n",
    "params.yaml": "a: 1\n# exercise M2.3: Add a stage\nb:\n  rows: 5\n# end exercise\n",
    "Dockerfile": "FROM python\n# exercise M5.1: Label the image\nLABEL a=b\n# end exercise\n",
    "src/demo/mid.py": "def f() -> list[int]:\n    found = [1]\n    # exercise M3.2: Add a two\n"
    "    found.append(2)\n    # end exercise\n    return found\n\n\nROWS = [\n"
    "    1,\n    # exercise M3.3: Add a row\n    2,\n    # end exercise\n]\n",
}


def test_blocks_that_do_not_end_a_function_become_todo_comments(tmp_path: Path) -> None:
    """YAML, Dockerfile, TOML and mid-function or module-level Python blocks: the answer goes,
    a `# TODO exercise` comment at the block's indentation stays; one task may span files."""
    exercise_tree(tmp_path)
    for name, text in COMMENT_STUBS.items():
        (tmp_path / name).write_text(text)
    tasks = exercises.apply_exercises(tmp_path, {**ANSWERS, "exercises": True})
    assert [(t.task_id, t.path) for t in tasks if t.function is None] == [
        ("M2.3", "dvc.yaml"), ("M2.3", "params.yaml"), ("M3.2", "src/demo/mid.py"),
        ("M3.3", "src/demo/mid.py"), ("M5.1", "Dockerfile"),
    ]  # fmt: skip
    assert (tmp_path / "dvc.yaml").read_text() == (
        "stages:\n  a:\n    cmd: a\n  # TODO exercise M2.3: Add a stage\n"
    )
    assert (tmp_path / "params.yaml").read_text() == "a: 1\n# TODO exercise M2.3: Add a stage\n"
    assert (
        tmp_path / "Dockerfile"
    ).read_text() == "FROM python\n# TODO exercise M5.1: Label the image\n"
    mid = (tmp_path / "src/demo/mid.py").read_text()
    assert "    # TODO exercise M3.2: Add a two\n    return found\n" in mid
    assert "    1,\n    # TODO exercise M3.3: Add a row\n]\n" in mid
    readme = (tmp_path / "README.md").read_text()
    assert "- [ ] **M2.3** Add a stage (`dvc.yaml`, `params.yaml`)" in readme
    assert "- [ ] **M1.1** Double the number (`src/demo/mod.py`, `kept`)" in readme
    # exercises off: the answers stay, the markers go
    answer = tmp_path / "answer"
    exercise_tree(answer)
    for name, text in COMMENT_STUBS.items():
        (answer / name).write_text(text)
    exercises.apply_exercises(answer, {**ANSWERS, "exercises": False})
    assert (answer / "params.yaml").read_text() == "a: 1\nb:\n  rows: 5\n"
    assert "exercise" not in (answer / "Dockerfile").read_text()


def test_a_long_todo_comment_is_wrapped() -> None:
    task = exercises.Task("M2.3", 2, 3, " ".join(["word"] * 40), "dvc.yaml", None)
    lines = exercises.todo_lines("    ", task)
    assert lines[0].startswith("    # TODO exercise M2.3: word")
    assert all(len(line) <= exercises.LINE_LENGTH and line.startswith("    #") for line in lines)


def test_a_task_id_used_twice_is_refused(tmp_path: Path) -> None:
    for switched_on in (True, False):
        root = tmp_path / str(switched_on)
        exercise_tree(root)
        (root / "src" / "demo" / "other.py").write_text(
            "def g():\n    # exercise M1.1: Again\n    pass\n    # end exercise\n"
        )
        with pytest.raises(
            exercises.ExerciseError, match=r"task M1\.1 is also in src/demo/mod\.py"
        ):
            exercises.apply_exercises(root, {**ANSWERS, "exercises": switched_on})


def test_post_gen_main_fails_on_a_malformed_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exercise_tree(tmp_path, "def f():\n    # exercise M1.1 no colon\n    pass\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(post.SKIP_VCS_ENV, "1")
    monkeypatch.setattr(post, "ANSWERS_JSON", json.dumps({**ANSWERS, "exercises": True}))
    monkeypatch.setattr(post, "REMOVED_JSON", "[]")
    monkeypatch.setattr(post, "TEMPLATE_ROOT_JSON", json.dumps(str(ROOT)))
    (tmp_path / ".cruft.json").write_text('{"commit": "abc"}')  # a template file
    assert post.main() == 1
    err = capsys.readouterr().err
    assert "ERROR: exercise markers: src/demo/mod.py:2: malformed exercise marker" in err


def test_the_post_gen_hook_does_only_what_cannot_be_a_file() -> None:
    """Issue 15.5: removal from one table, exercises by import, Git; budget 150 lines."""
    source = (Path(post.__file__)).read_text(encoding="utf-8")
    lines = [line for line in source.splitlines() if line.strip()]
    assert len(lines) <= 150, f"{len(lines)} non-blank lines"
    for moved in ("REMOVED_PATHS", "def cruft_state", "def apply_exercises"):
        assert moved not in source, f"{moved} belongs in another hooks/ module"
