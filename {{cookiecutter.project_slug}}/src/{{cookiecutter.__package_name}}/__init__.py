"""The project's package: pipeline stages, model code, serving app. Plumbing, rarely edited."""

PROJECT_NAME = {{ cookiecutter.project_name | tojson }}
PROJECT_DESCRIPTION = {{ cookiecutter.description | tojson }}
__version__ = "0.1.0"
