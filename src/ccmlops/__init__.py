"""ccmlops: generate cookiecutter-mlops projects safely (validated answers, atomic output)."""

__version__ = "0.1.0"
