"""Per-column drift tests: Kolmogorov-Smirnov for numbers, chi-square else. Yours to edit.

Why scipy and not Evidently: Evidently 0.7.23 does not import with pandas 3 (it uses
``pandas.core.dtypes.common.infer_dtype_from_object``, removed there) and brings about
80 packages (plotly, nltk, litestar, ...). scipy is already installed with scikit-learn,
and two classic two-sample tests plus the population stability index (PSI) are what the
drift presets of such libraries compute for small tables anyway.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# A column with at most this many distinct reference values is compared as categories.
MAX_CATEGORIES = 5
PSI_BINS = 10
PSI_FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite


@dataclass(frozen=True)
class Bin:
    """One bin (or category) of a column: its label and the share of rows in it."""

    label: str
    reference: float
    current: float


@dataclass(frozen=True)
class ColumnDrift:  # pylint: disable=too-many-instance-attributes  # one flat JSON record
    """The verdict for one column: which test, its p-value, PSI and the bins compared."""

    name: str
    kind: str  # "numeric" or "categorical"
    test: str  # "ks" or "chi2"
    statistic: float
    p_value: float
    psi: float
    drifted: bool
    reference_rows: int
    current_rows: int
    missing: int = 0
    reference_mean: float | None = None
    current_mean: float | None = None
    bins: list[Bin] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (bins as plain dicts)."""
        return asdict(self)


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two share vectors (same bins)."""
    # exercise M6.1: Compute the population stability index (PSI) of two share vectors
    ref = np.clip(reference, PSI_FLOOR, None)
    cur = np.clip(current, PSI_FLOOR, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))
    # end exercise


def _shares(bin_index: np.ndarray, bins: int) -> np.ndarray:
    """Share of rows in each bin."""
    counts = np.bincount(bin_index, minlength=bins).astype(np.float64)
    return counts / max(len(bin_index), 1)


def _counts(values: np.ndarray) -> dict[str, int]:
    """Rows per category (as text: 1 and "1" are the same class)."""
    labels, counts = np.unique(values.astype(str), return_counts=True)
    return dict(zip(labels.tolist(), counts.tolist(), strict=True))


def _finite(value: float) -> float:
    """NaN (a constant column) counts as 'no evidence of drift'."""
    return 1.0 if math.isnan(value) else float(value)


def numeric_drift(
    name: str, reference: np.ndarray, current: np.ndarray, p_value: float, missing: int = 0
) -> ColumnDrift:
    """Two-sample KS test; PSI over the reference's deciles."""
    from scipy import stats  # noqa: PLC0415 - heavy, only the monitor needs it

    result = stats.ks_2samp(reference, current)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, PSI_BINS + 1)))
    inner = edges[1:-1]
    ref_p = _shares(np.searchsorted(inner, reference, side="right"), len(edges) - 1)
    cur_p = _shares(np.searchsorted(inner, current, side="right"), len(edges) - 1)
    labels = [f"< {inner[0]:.4g}"] if len(inner) else ["all"]
    labels += [f"{low:.4g} .. {high:.4g}" for low, high in itertools.pairwise(inner)]
    labels += [f">= {inner[-1]:.4g}"] if len(inner) else []
    pvalue = _finite(float(result.pvalue))
    return ColumnDrift(
        name=name,
        kind="numeric",
        test="ks",
        statistic=float(result.statistic),
        p_value=pvalue,
        psi=_psi(ref_p, cur_p),
        drifted=pvalue < p_value,
        reference_rows=len(reference),
        current_rows=len(current),
        missing=missing,
        reference_mean=float(np.mean(reference)),
        current_mean=float(np.mean(current)),
        bins=[
            Bin(label, float(r), float(c)) for label, r, c in zip(labels, ref_p, cur_p, strict=True)
        ],
    )


def categorical_drift(
    name: str, reference: np.ndarray, current: np.ndarray, p_value: float, missing: int = 0
) -> ColumnDrift:
    """Chi-square test of homogeneity on the category counts of both samples."""
    from scipy import stats  # noqa: PLC0415

    ref, cur = _counts(reference), _counts(current)
    categories = sorted(ref.keys() | cur.keys())
    table = np.array([[ref.get(c, 0) for c in categories], [cur.get(c, 0) for c in categories]])
    if len(categories) < 2:  # one category on both sides: nothing can have moved
        statistic, pvalue = 0.0, 1.0
    else:
        result = stats.chi2_contingency(table)
        statistic, pvalue = float(result.statistic), _finite(float(result.pvalue))
    ref_p = table[0] / max(table[0].sum(), 1)
    cur_p = table[1] / max(table[1].sum(), 1)
    return ColumnDrift(
        name=name,
        kind="categorical",
        test="chi2",
        statistic=statistic,
        p_value=pvalue,
        psi=_psi(ref_p, cur_p),
        drifted=pvalue < p_value,
        reference_rows=len(reference),
        current_rows=len(current),
        missing=missing,
        bins=[
            Bin(label, float(r), float(c))
            for label, r, c in zip(categories, ref_p, cur_p, strict=True)
        ],
    )


def column_drift(
    name: str, reference: np.ndarray, current: np.ndarray, p_value: float, categorical: bool
) -> ColumnDrift:
    """Drop missing values, then run the test that fits the column."""
    if categorical:
        keep = ~pd.isna(current)
        return categorical_drift(
            name, reference, current[keep], p_value, missing=int((~keep).sum())
        )
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    finite = np.isfinite(cur)
    return numeric_drift(
        name, ref[np.isfinite(ref)], cur[finite], p_value, missing=int((~finite).sum())
    )


def is_categorical(reference: np.ndarray) -> bool:
    """Few distinct values (a flag, a code): compare counts, not a continuous distribution."""
    return len(np.unique(reference)) <= MAX_CATEGORIES
