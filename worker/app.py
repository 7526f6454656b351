"""The Celery app, built from the Flask app: `celery -A worker.app worker -B`."""

from harmnet import create_app

from .schedule import configure_schedule

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
configure_schedule(celery_app)
celery_app.autodiscover_tasks(["worker"], related_name="tasks", force=True)

import worker.tasks  # noqa: E402,F401  (register every task module)
