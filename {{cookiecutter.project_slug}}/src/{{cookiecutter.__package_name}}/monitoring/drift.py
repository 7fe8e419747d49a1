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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# A column with at most this many distinct reference values is compared as categories.
MAX_CATEGORIES = 5
PSI_BINS = 10
PSI_FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite


@dataclass(frozen=True)
class ColumnDrift:  # pylint: disable=too-many-instance-attributes  # one flat JSON record
    """The verdict for one column: which test, its p-value, PSI and the bins compared."""

    name: str
    test: str  # "ks" (numbers) or "chi2" (categories)
    statistic: float
    p_value: float
    psi: float
    drifted: bool
    reference_rows: int
    current_rows: int
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


Test = tuple[float, float, list[str], np.ndarray]  # statistic, p-value, bin labels, counts


def _numeric(reference: np.ndarray, current: np.ndarray) -> Test:
    """Two-sample KS test, and the rows per decile of the reference."""
    from scipy import stats  # noqa: PLC0415 - heavy, only the monitor needs it

    edges = np.unique(np.quantile(reference, np.linspace(0, 1, PSI_BINS + 1)))[1:-1]
    labels = [f"< {edges[0]:.4g}"] if len(edges) else ["all"]
    labels += [f"{low:.4g} .. {high:.4g}" for low, high in itertools.pairwise(edges)]
    labels += [f">= {edges[-1]:.4g}"] if len(edges) else []
    counts = [
        np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(labels))
        for values in (reference, current)
    ]
    result = stats.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue), labels, np.array(counts)


def _categorical(reference: np.ndarray, current: np.ndarray) -> Test:
    """Chi-square test of homogeneity on the rows per category (as text: 1 and "1" are one)."""
    from scipy import stats  # noqa: PLC0415

    texts = reference.astype(str), current.astype(str)
    labels = sorted(set(texts[0]) | set(texts[1]))
    counts = np.array([[np.sum(values == label) for label in labels] for values in texts])
    if len(labels) < 2:  # one category on both sides: nothing can have moved
        return 0.0, 1.0, labels, counts
    result = stats.chi2_contingency(counts)
    return float(result.statistic), float(result.pvalue), labels, counts


def column_drift(
    name: str, reference: np.ndarray, current: np.ndarray, p_value: float, categorical: bool
) -> ColumnDrift:
    """Drop missing values, then run the test that fits the column."""
    if categorical:
        keep = ~pd.isna(current)
    else:
        reference = np.asarray(reference, dtype=np.float64)
        reference = reference[np.isfinite(reference)]
        current = np.asarray(current, dtype=np.float64)
        keep = np.isfinite(current)
    current = current[keep]
    statistic, pvalue, labels, counts = (_categorical if categorical else _numeric)(
        reference, current
    )
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    pvalue = 1.0 if math.isnan(pvalue) else pvalue  # a constant column: no evidence of drift
    return ColumnDrift(
        name=name,
        test="chi2" if categorical else "ks",
        statistic=statistic,
        p_value=pvalue,
        psi=_psi(shares[0], shares[1]),
        drifted=pvalue < p_value,
        reference_rows=len(reference),
        current_rows=len(current),
        missing=int((~keep).sum()),
        reference_mean=None if categorical else float(np.mean(reference)),
        current_mean=None if categorical else float(np.mean(current)),
        bins=[
            {"label": label, "reference": float(r), "current": float(c)}
            for label, r, c in zip(labels, shares[0], shares[1], strict=True)
        ],
    )


def is_categorical(reference: np.ndarray) -> bool:
    """Few distinct values (a flag, a code): compare counts, not a continuous distribution."""
    return len(np.unique(reference)) <= MAX_CATEGORIES
