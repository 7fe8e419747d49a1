"""Per-column drift tests: Kolmogorov-Smirnov for numbers, chi-square else. Yours to edit.

Why scipy and not Evidently: Evidently 0.7.23 does not import with pandas 3 and brings about
80 packages (docs/monitoring.md); scipy comes with scikit-learn, and two classic two-sample
tests plus the population stability index (PSI) are what drift presets compute for tables.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# A column with at most this many distinct reference values is compared as categories.
MAX_CATEGORIES = 5
PSI_BINS = 10
PSI_FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite


@dataclass(frozen=True)
class ColumnDrift:
    """The verdict for one column: which test, its p-value, PSI and the bins compared."""

    name: str
    test: str  # "ks" (numbers) or "chi2" (categories)
    p_value: float
    psi: float
    drifted: bool
    missing: int  # current values left out: missing or not finite
    reference_mean: float | None
    current_mean: float | None
    bins: list[dict[str, Any]]  # label, reference share, current share


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two share vectors (same bins)."""
    # exercise M6.1: Compute the population stability index (PSI) of two share vectors
    ref = np.clip(reference, PSI_FLOOR, None)
    cur = np.clip(current, PSI_FLOOR, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))
    # end exercise


Test = tuple[float, list[str], np.ndarray]  # p-value, bin labels, counts


def _numeric(reference: np.ndarray, current: np.ndarray) -> Test:
    """Two-sample KS test, and the rows per decile of the reference."""
    from scipy import stats  # noqa: PLC0415 - heavy, only the monitor needs it

    edges = np.unique(np.quantile(reference, np.linspace(0, 1, PSI_BINS + 1)))[1:-1]
    bounds = itertools.pairwise([-np.inf, *edges, np.inf])
    labels = [f"{low:.4g} .. {high:.4g}" for low, high in bounds]
    counts = [
        np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(labels))
        for values in (reference, current)
    ]
    result = stats.ks_2samp(reference, current)
    return float(result.pvalue), labels, np.array(counts)


def _categorical(reference: np.ndarray, current: np.ndarray) -> Test:
    """Chi-square test of homogeneity on the rows per category (as text: 1 and "1" are one)."""
    from scipy import stats  # noqa: PLC0415

    texts = reference.astype(str), current.astype(str)
    labels = sorted(set(texts[0]) | set(texts[1]))
    counts = np.array([[np.sum(values == label) for label in labels] for values in texts])
    if len(labels) < 2:  # one category on both sides: nothing can have moved
        return 1.0, labels, counts
    result = stats.chi2_contingency(counts)
    return float(result.pvalue), labels, counts


def column_drift(
    name: str,
    reference: np.ndarray,
    current: np.ndarray,
    p_value: float,
    categorical: bool | None = None,
) -> ColumnDrift:
    """Drop missing values, then run the test that fits the column; ``categorical=None``:
    a column with few distinct reference values (a flag, an image size) is categorical."""
    if categorical is None:
        categorical = len(np.unique(reference)) <= MAX_CATEGORIES
    if categorical:
        keep = ~pd.isna(current)
    else:
        reference = np.asarray(reference, dtype=np.float64)
        reference = reference[np.isfinite(reference)]
        current = np.asarray(current, dtype=np.float64)
        keep = np.isfinite(current)
    current = current[keep]
    pvalue, labels, counts = (_categorical if categorical else _numeric)(reference, current)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    pvalue = 1.0 if math.isnan(pvalue) else pvalue  # a constant column: no evidence of drift
    return ColumnDrift(
        name=name,
        test="chi2" if categorical else "ks",
        p_value=pvalue,
        psi=_psi(shares[0], shares[1]),
        drifted=pvalue < p_value,
        missing=int((~keep).sum()),
        reference_mean=None if categorical else float(np.mean(reference)),
        current_mean=None if categorical else float(np.mean(current)),
        bins=[
            {"label": label, "reference": float(r), "current": float(c)}
            for label, r, c in zip(labels, shares[0], shares[1], strict=True)
        ],
    )
