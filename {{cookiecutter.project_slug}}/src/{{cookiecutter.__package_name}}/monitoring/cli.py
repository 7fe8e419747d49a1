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

from ..errors import PipelineError

# Exit codes, documented in docs/monitoring.md: cron and CI branch on them.
EXIT_OK = 0
EXIT_ERROR = 1  # no log, no reference, too few rows, bad params.yaml
EXIT_RETRAIN = 3  # the report was written and says the model needs retraining

console = Console()


def export_training_csv(window: Any, paths: Any, spec: Any, out: Path) -> int:
    """The current dataset plus the window's labelled production rows, as one CSV to train on.

    Returns the number of production rows added. Point ``data.source`` at the file and run
    ``dvc repro`` (docs/monitoring.md).
    """
    import pandas as pd  # noqa: PLC0415

    from ..data import write_csv  # noqa: PLC0415
    from .window import labelled_rows  # noqa: PLC0415

    production = labelled_rows(window, spec)
    columns = [*spec.feature_names, spec.target]
    base = pd.read_csv(paths.raw_data) if paths.raw_data.is_file() else None
    frames = [base[columns]] if base is not None else []
    write_csv(pd.concat([*frames, production[columns]], ignore_index=True), out)
    return len(production)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"Drift: {summary['window']['rows']} logged rows vs the training data")
    for name in ("column", "test", "p-value", "PSI", "verdict"):
        table.add_column(name)
    for item in [*summary["features"].values(), summary["prediction_drift"]]:
        verdict = "[red]drifted[/red]" if item["drifted"] else "[green]stable[/green]"
        test = item["test"]
        table.add_row(item["name"], test, f"{item['p_value']:.3g}", f"{item['psi']:.3f}", verdict)
    console.print(table)
    live = summary["live"]
    if live["metrics"]:
        scores = ", ".join(f"{k} {v:.4f}" for k, v in live["metrics"].items())
        console.print(f"Live metrics on {live['labelled']} labelled rows: {scores}")
    else:
        console.print(
            f"Live metrics: {live['labelled']} labelled rows (need {live['min_feedback']})"
        )


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
        summary, added = _run(since, last, store, export, config)
    except ModuleNotFoundError as error:
        console.print(f"[red]monitor needs the pipeline dependencies ({error.name}):[/red] uv sync")
        raise typer.Exit(EXIT_ERROR) from None
    except PipelineError as error:  # bad params, no log or reference, too few rows
        console.print(f"[red]monitor: error:[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    _print_summary(summary)
    if added is not None:
        console.print(f"Training data with {added} labelled production rows: {export}")
    if summary["needs_retraining"]:
        console.print(f"[red]Needs retraining:[/red] {'; '.join(summary['reasons'])}")
        raise typer.Exit(EXIT_RETRAIN)
    console.print(f"[green]No retraining needed[/green] (drift share {summary['drift_share']:.0%})")


def _run(
    since: float | None, last: int | None, store: Path | None, export: Path | None, config: Path
) -> tuple[dict[str, Any], int | None]:
    """Build and write the reports (and the export); the summary and rows exported."""
    from ..config import load_params  # noqa: PLC0415 - pandas, scipy: pipeline group only
    from ..errors import ParamsError  # noqa: PLC0415
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
    if export is None:
        return summary, None
    return summary, export_training_csv(window, paths, DatasetSpec.load(paths.spec), export)


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the project's command line (called by ``<package>.cli``)."""
    app.command("monitor")(monitor)
