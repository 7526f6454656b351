"""Celery worker package: the app, its schedule and its tasks."""
