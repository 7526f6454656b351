"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""

from harmnet import create_app

app = create_app()
