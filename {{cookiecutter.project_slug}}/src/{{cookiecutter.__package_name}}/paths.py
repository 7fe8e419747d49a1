"""Every file the pipeline reads or writes, in one place (dvc.yaml repeats them; a test checks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    """Paths relative to the project root (DVC runs every stage from there)."""

    root: Path = Path()

    @property
    def params(self) -> Path:
        """The pipeline's parameters."""
        return self.root / "params.yaml"

    @property
    def raw_data(self) -> Path:
        """The dataset as loaded, before the split."""
        return self.root / "data" / "raw" / "dataset.csv"

    @property
    def train_data(self) -> Path:
        """Training split."""
        return self.root / "data" / "processed" / "train.csv"

    @property
    def test_data(self) -> Path:
        """Held-out split used by evaluate only."""
        return self.root / "data" / "processed" / "test.csv"

    @property
    def spec(self) -> Path:
        """DatasetSpec derived from the training split."""
        return self.root / "data" / "processed" / "spec.json"

    @property
    def validation_report(self) -> Path:
        """Machine-readable validation result."""
        return self.root / "reports" / "validation.json"

    @property
    def raw_images(self) -> Path:
        """The image task's data: one folder of images per class (prepare)."""
        return self.root / "data" / "raw" / "images"

    @property
    def image_metadata(self) -> Path:
        """The image task's metadata table, one row per file (validate)."""
        return self.root / "reports" / "images.csv"

    @property
    def contact_sheet(self) -> Path:
        """The image task's sample images per class, shown in the data card (cards)."""
        return self.root / "reports" / "contact_sheet.png"

    @property
    def misclassified_sheet(self) -> Path:
        """The image task's misclassified test images, shown in the model card (cards)."""
        return self.root / "reports" / "misclassified.png"

    @property
    def validation_summary(self) -> Path:
        """Human-readable validation result."""
        return self.root / "reports" / "validation.md"

    @property
    def gx_suite(self) -> Path:
        """The expectation suite in Great Expectations' file layout (gx/), written by validate.
        Only the suite is a stage output: GX's own gx/uncommitted/ is never in a clone."""
        return self.root / "gx" / "expectations" / "data_card.json"

    @property
    def validation_results(self) -> Path:
        """Great Expectations' validation results of both splits (JSON)."""
        return self.root / "reports" / "validation_results.json"

    @property
    def data_docs(self) -> Path:
        """Great Expectations' Data Docs (HTML; open index.html)."""
        return self.root / "reports" / "data_docs"

    @property
    def trained_model(self) -> Path:
        """The fitted estimator (skops), before the quality gate."""
        return self.root / "artifacts" / "train" / "model.skops"

    @property
    def run_info(self) -> Path:
        """MLflow run id, model URI and emissions of the training run."""
        return self.root / "artifacts" / "train" / "run.json"

    @property
    def metrics(self) -> Path:
        """Model and baseline metrics plus the gate decision."""
        return self.root / "reports" / "metrics.json"

    @property
    def predictions_plot(self) -> Path:
        """Actual vs predicted on the test split (DVC plot data)."""
        return self.root / "reports" / "plots" / "predictions.csv"

    @property
    def models_dir(self) -> Path:
        """The exported bundle that serving loads."""
        return self.root / "models"

    @property
    def data_card(self) -> Path:
        """Hugging Face style data card."""
        return self.root / "docs" / "data_card.md"

    @property
    def model_card(self) -> Path:
        """Hugging Face style model card."""
        return self.root / "docs" / "model_card.md"
