"""``ccmlops check``: is a generated project's milestone really delivered, item by item?

Why a table of items: each deliverable of the course (M1 scoping ... M6 monitoring) is one
row with its milestone, whether it is required, a category and a check that returns one
line saying what is missing and how to fix it. Selecting a milestone is a filter on that
table (cumulative: M3 grades the M1, M2 and M3 rows), and the exit code (0 when every
required selected item passes, 1 otherwise) makes the command an autograding step in CI.

Why the project's own environment: the MLflow query, pytest, pylint and the API run with
the project's interpreter and configuration (thresholds come from its pyproject.toml),
exactly as the project's own ``check`` task and CI run them; ccmlops only reads results.
Nothing is re-computed that DVC already tracks: ``dvc status`` being clean proves the
reports (validation, metrics, cards) belong to the current code, data and parameters.

Modules: ``project`` (finding the project and its interpreter, outcomes, the API probe),
``items`` (the checks and the item table), ``score`` (the ML Test Score summary) and
``command`` (running, the JSON report, the table and the typer command).
"""

from .command import Result, register, report, run_checks, run_item
from .items import CATEGORIES, ITEMS, MILESTONES, WRITTEN_DOCS, Item, judgement_sections, select
from .project import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    SKIPPED,
    NotAProject,
    Outcome,
    Project,
    UsageError,
    failed,
    not_applicable,
    passed,
    skipped,
)
from .score import ML_TEST_CATEGORIES, classify, ml_test_score

__all__ = [
    "CATEGORIES",
    "FAILED",
    "ITEMS",
    "MILESTONES",
    "ML_TEST_CATEGORIES",
    "NOT_APPLICABLE",
    "PASSED",
    "SKIPPED",
    "WRITTEN_DOCS",
    "Item",
    "NotAProject",
    "Outcome",
    "Project",
    "Result",
    "UsageError",
    "classify",
    "failed",
    "judgement_sections",
    "ml_test_score",
    "not_applicable",
    "passed",
    "register",
    "report",
    "run_checks",
    "run_item",
    "select",
    "skipped",
]
