"""Every file the pipeline reads or writes, in one place. Plumbing, rarely edited."""

from __future__ import annotations

from pathlib import Path


class ProjectPaths:  # pylint: disable=too-many-instance-attributes,too-few-public-methods
    """Paths relative to the project root (DVC runs every stage from there)."""

    def __init__(self, root: Path = Path()) -> None:
        self.root = root
        self.params = root / "params.yaml"
        self.raw_data = root / "data/raw/dataset.csv"  # as loaded, before the split
        self.train_data = root / "data/processed/train.csv"
        self.test_data = root / "data/processed/test.csv"  # read by evaluate only
        self.spec = root / "data/processed/spec.json"  # DatasetSpec of the training split
        self.validation_report = root / "reports/validation.json"
        self.validation_summary = root / "reports/validation.md"
        # Great Expectations' suite, the only GX stage output (gx/uncommitted/ is never cloned)
        self.gx_suite = root / "gx/expectations/data_card.json"
        self.validation_results = root / "reports/validation_results.json"
        self.data_docs = root / "reports/data_docs"  # GX's HTML: open index.html
        self.trained_model = root / "artifacts/train/model.skops"  # before the quality gate
        self.run_info = root / "artifacts/train/run.json"  # MLflow run id, model URI, emissions
        self.metrics = root / "reports/metrics.json"  # model and baseline, the gate's decision
        self.predictions_plot = root / "reports/plots/predictions.csv"  # actual vs predicted
        self.importance = root / "reports/importance.json"  # permutation importance (evaluate)
        self.importance_plot = root / "reports/importance.png"
        self.models_dir = root / "models"  # the exported bundle that serving loads
        self.data_card = root / "docs/data_card.md"
        self.model_card = root / "docs/model_card.md"
        # where `monitor` writes: production, not the pipeline, so not DVC outputs
        self.monitoring = root / "reports/monitoring"
        # the image task's: one folder of images per class, one metadata row per file
        self.raw_images = root / "data/raw/images"
        self.image_metadata = root / "reports/images.csv"
        self.contact_sheet = root / "reports/contact_sheet.png"  # samples per class (data card)
        self.misclassified_sheet = root / "reports/misclassified.png"  # (model card)
