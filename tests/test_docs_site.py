"""The docs site: it builds with --strict, its nav matches its pages, its examples are real.

Examples (marked ``<!-- example: … -->``) are regenerated from a real render by
``tests/docs_examples.py`` and compared here; the ones that need the generated project's
environment are tier 2.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run
from docs_examples import (
    EXAMPLES,
    PAGES,
    Block,
    Workspace,
    all_blocks,
    blocks,
    needs_project_env,
    produce,
    rewrite,
    workspace_dir,
)

CONFIG = ROOT / "docs" / "mkdocs.yml"
QUIET = {"NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
BLOCKS = all_blocks()
FAST = [b for b in BLOCKS if b.words[0] in EXAMPLES and not needs_project_env(b)]
SLOW = [b for b in BLOCKS if b.words[0] in EXAMPLES and needs_project_env(b)]


def mkdocs_build(config: Path, site: Path) -> tuple[int, str, float]:
    """``mkdocs build --strict``; exit code, output and seconds."""
    started = time.perf_counter()
    result = run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=config.parent,
        env=QUIET,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr, time.perf_counter() - started


def nav_pages(nav: list[object]) -> Iterator[str]:
    """Every page path named in a MkDocs nav, however deeply nested."""
    for entry in nav:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            for value in entry.values():
                yield from nav_pages(value) if isinstance(value, list) else [value]


def test_site_builds_with_strict(tmp_path: Path) -> None:
    code, output, seconds = mkdocs_build(CONFIG, tmp_path / "site")
    assert code == 0, output
    assert (tmp_path / "site" / "faq.html").is_file()
    print(f"mkdocs build --strict: {seconds:.1f} s")


def test_strict_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("site"))
    page = docs / "pages" / "faq.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [gone](no-such-page.md).\n")
    code, output, _ = mkdocs_build(docs / "mkdocs.yml", tmp_path / "site")
    assert code != 0
    assert "no-such-page.md" in output


def test_nav_and_pages_match() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    in_nav = list(nav_pages(config["nav"]))
    assert len(in_nav) == len(set(in_nav)), "a page is twice in nav"
    missing = [page for page in in_nav if not (PAGES / page).is_file()]
    assert not missing, f"nav entries without a page: {missing}"
    on_disk = {p.relative_to(PAGES).as_posix() for p in PAGES.rglob("*.md")}
    assert on_disk == set(in_nav), f"pages not in nav: {sorted(on_disk - set(in_nav))}"


def test_docs_folder_holds_only_the_site() -> None:
    """A page written straight into docs/ would be missing from the site: pages go in pages/."""
    assert sorted(p.name for p in (ROOT / "docs").iterdir()) == ["mkdocs.yml", "pages"]


def test_readme_links_to_docs_exist() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert targets
    assert [t for t in targets if not (ROOT / t).is_file()] == []


def test_every_example_names_a_known_producer() -> None:
    unknown = [str(b) for b in BLOCKS if b.words[0] not in EXAMPLES]
    assert not unknown
    assert FAST and SLOW


def test_every_faq_code_block_is_a_checked_example() -> None:
    """No message in the FAQ is typed by hand: each code block is regenerated."""
    import re

    text = (PAGES / "faq.md").read_text(encoding="utf-8")
    fences = len(re.findall(r"^```", text, flags=re.MULTILINE))
    assert fences == 2 * len(blocks(PAGES / "faq.md"))


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    with workspace_dir() as tmp:
        yield Workspace(tmp)


def check_blocks(workspace: Workspace, chosen: list[Block]) -> None:
    stale = [str(block) for block in chosen if produce(workspace, block) != block.body]
    assert not stale, f"run: uv run python tests/docs_examples.py  (stale: {stale})"


def test_examples_match_a_fresh_render(workspace: Workspace) -> None:
    check_blocks(workspace, FAST)


def test_a_stale_example_is_caught_and_rewritten(workspace: Workspace, tmp_path: Path) -> None:
    original = (PAGES / "faq.md").read_text(encoding="utf-8")
    spec = "new license=GPL"
    body = next(b.body for b in blocks(PAGES / "faq.md") if b.spec == spec)
    page = tmp_path / "faq.md"
    page.write_text(original.replace(body, "error: a message the generator never prints\n", 1))
    stale = next(b for b in blocks(page) if b.spec == spec)
    fresh = produce(workspace, stale)
    assert fresh != stale.body
    rewrite(page, {stale.start: fresh})
    assert page.read_text(encoding="utf-8") == original


@pytest.mark.tier2
def test_project_examples_match_real_output(workspace: Workspace, project_python: Path) -> None:
    workspace.project_python = project_python
    check_blocks(workspace, SLOW)
