"""The project's ``monitor`` command: drift and live metrics of the model. Plumbing, rarely edited.

Why a command and not a DVC stage: its input is production traffic, which changes all the
time and is not versioned with the code, and its "needs retraining" verdict is an exit
code for cron or CI to act on; ``dvc repro`` would treat that as a failed stage.
Only typer, rich and the error classes are imported here: the serving image (runtime
dependencies only) registers the command too, and the heavy libraries load when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..errors import ParamsError, PipelineError

# Exit codes, documented in docs/monitoring.md: cron and CI branch on them.
EXIT_ERROR = 1  # no log, no reference, too few rows, bad params.yaml
EXIT_RETRAIN = 3  # the report was written and says the model needs retraining

console = Console()


def export_training_csv(window: Any, paths: Any, spec: Any, out: Path) -> int:
    """The current dataset plus the window's labelled production rows, as one CSV to train on.

    Returns the number of production rows added. Point ``data.source`` at the file and run
    ``dvc repro`` (docs/monitoring.md). Not for images: their log holds metadata, not images.
    """
    import pandas as pd  # noqa: PLC0415

    from ..data import write_csv  # noqa: PLC0415
    from ..errors import DataError  # noqa: PLC0415

    if spec.image_size is not None:
        raise DataError("--export: the log holds no images (metadata only) to train on")
    labelled = window.labelled.to_numpy()
    production = window.inputs.loc[labelled]
    outcomes = window.outcomes[labelled].to_numpy()
    production[spec.target] = outcomes.astype(str if spec.task == "classification" else float)
    columns = [*spec.feature_names, spec.target]
    frames = [pd.read_csv(paths.raw_data)[columns]] if paths.raw_data.is_file() else []
    write_csv(pd.concat([*frames, production[columns]], ignore_index=True), out)
    return len(production)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"Drift: {summary['window']['rows']} logged rows vs the training data")
    for name in ("column", "test", "p-value", "PSI", "verdict"):
        table.add_column(name)
    for item in [*summary["features"].values(), summary["prediction_drift"]]:
        verdict = "[red]drifted[/red]" if item["drifted"] else "[green]stable[/green]"
        cells = f"{item['p_value']:.3g}", f"{item['psi']:.3f}"
        table.add_row(item["name"], item["test"], *cells, verdict)
    console.print(table)
    live = summary["live"]
    metrics = live["metrics"] or {}
    scores = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()) or f"need {live['min_feedback']}"
    console.print(f"Live metrics on {live['labelled']} labelled rows: {scores}")


def monitor(
    since: Annotated[
        float | None,
        typer.Option(help="Hours of traffic to compare (default: monitor.window_hours; 0: all)."),
    ] = None,
    last: Annotated[
        int | None,
        typer.Option(min=1, help="At most the N newest rows (default: monitor.max_rows)."),
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Prediction log (default: monitor.store).")
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(help="Also write data/raw/dataset.csv + labelled production rows here."),
    ] = None,
    config: Annotated[Path, typer.Option(help="Parameters file.")] = Path("params.yaml"),
) -> None:
    """Compare recent production traffic with the training data; exit 3 if retraining is due."""
    try:
        summary = _run(since, last, store, export, config)
    except ModuleNotFoundError as error:
        console.print(f"[red]monitor needs the pipeline dependencies ({error.name}):[/red] uv sync")
        raise typer.Exit(EXIT_ERROR) from None
    except PipelineError as error:  # bad params, no log or reference, too few rows
        console.print(f"[red]monitor: error:[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    _print_summary(summary)
    drifted = f"drift share {summary['drift_share']:.0%} ({', '.join(summary['drifted_features'])})"
    if summary["needs_retraining"]:
        console.print(f"[red]Needs retraining:[/red] {drifted}")
        raise typer.Exit(EXIT_RETRAIN)
    console.print(f"[green]No retraining needed[/green]: {drifted}")


def _run(
    since: float | None, last: int | None, store: Path | None, export: Path | None, config: Path
) -> dict[str, Any]:
    """Build and write the reports (and the export); the summary."""
    from ..config import load_params  # noqa: PLC0415 - pandas, scipy: pipeline group only
    from ..features import DatasetSpec  # noqa: PLC0415
    from ..paths import ProjectPaths  # noqa: PLC0415
    from .report import build_summary, write_reports  # noqa: PLC0415

    params = load_params(config).monitor
    if params is None:
        raise ParamsError(f"{config}: no `monitor:` section (see docs/monitoring.md)")
    paths = ProjectPaths()
    summary, window = build_summary(
        params,
        paths,
        store or Path(params.store),
        since_hours=params.window_hours if since is None else (since or None),
        last=last or params.max_rows,
    )
    written = write_reports(summary, paths.monitoring)
    console.print(f"Reports: {written[0]}, {written[1]}", highlight=False)
    if export is not None:
        added = export_training_csv(window, paths, DatasetSpec.load(paths.spec), export)
        console.print(f"Training data with {added} labelled production rows: {export}")
    return summary


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the project's command line (called by ``<package>.cli``)."""
    app.command("monitor")(monitor)
