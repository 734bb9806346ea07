"""Rostra's SQLite database backend: Django's own, with its placeholder rewriting remembered
(``base.py``)."""
