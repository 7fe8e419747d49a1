"""The names a generated project's package must not take: the top-level modules and the
distribution names of its pinned dependencies, read from the shared project environment.

``uv run python tests/module_names.py`` rewrites the list in hooks/pre_gen_project.py (the
hook runs alone, as a copy, so the list lives in it); a tier-2 test checks it is up to date.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT, shared_env

HOOK = ROOT / "hooks" / "pre_gen_project.py"
BLOCK = re.compile(r'(TAKEN_NAMES = """\n)(.*?)(""")', re.S)
# Runs inside the environment: every importable top-level name and every distribution name,
# skipping what was installed from a local folder (generated projects the tests installed
# there, editable or not): only the pinned dependencies come from the index.
PROBE = """
import importlib.metadata as md, json, re
editable = {
    d.metadata["Name"] for d in md.distributions()
    if json.loads(d.read_text("direct_url.json") or "{}").get("url", "").startswith("file:")
}
names = {re.sub(r"[-_.]+", "_", d.metadata["Name"]).lower()
         for d in md.distributions() if d.metadata["Name"] not in editable}
names |= {m for m, dists in md.packages_distributions().items() if set(dists) - editable}
print(json.dumps(sorted(names)))
"""


def dependency_names(python: Path) -> list[str]:
    """Sorted names that could be a package name (lowercase identifiers) and are taken."""
    found = json.loads(subprocess.run([str(python), "-c", PROBE], capture_output=True,
                                      text=True, check=True).stdout)  # fmt: skip
    return [name for name in found if re.fullmatch(r"[a-z_][a-z0-9_]*", name)]


def names_block(names: list[str]) -> str:
    """The names as the hook holds them: space-separated lines, indented."""
    return textwrap.fill(" ".join(names), width=96, break_on_hyphens=False,
                         initial_indent="    ", subsequent_indent="    ") + "\n"  # fmt: skip


def hook_names_block() -> str:
    """The block as it is in the hook now."""
    found = BLOCK.search(HOOK.read_text(encoding="utf-8"))
    assert found, "TAKEN_NAMES block not found in the hook"
    return found[2]


def main() -> int:
    """Rewrite the hook's list from the shared Python 3.11 environment."""
    block = names_block(dependency_names(shared_env("3.11")))
    text = HOOK.read_text(encoding="utf-8")
    assert BLOCK.search(text), "TAKEN_NAMES block not found in the hook"
    HOOK.write_text(BLOCK.sub(lambda m: m[1] + block + m[3], text, count=1), encoding="utf-8")
    print(f"{HOOK}: {len(block.split())} names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
