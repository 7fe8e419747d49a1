"""The HTTP serving app around the model bundle in ``models/``. Plumbing, rarely edited.

Start it with the project's ``serve`` command, or with ``uvicorn --factory`` and this package's
``app:create_app`` (docs/serving.md, "Start it"). It never imports pandas, MLflow or DVC: the
serving image installs only the runtime dependencies.
"""
