"""The HTTP serving app around the model bundle in ``models/``. Plumbing, rarely edited.

Start it with ``uvicorn --factory <package>.serving.app:create_app`` or the project's
``serve`` command. This package never imports pandas, MLflow or DVC: the serving image
installs only the runtime dependencies.
"""
