"""Cookiecutter hooks, importable so that ccmlops and the tests share their rules."""
