"""The app (for gunicorn) and Celery app (for the worker) of a browser-suite stack."""

from harmnet import create_app
from tests.browser.stack import config_from_env
from worker.schedule import configure_schedule

app = create_app(config_from_env())
celery_app = app.extensions["celery"]
configure_schedule(celery_app)

import worker.tasks  # noqa: E402,F401  (register every task module, as worker/app.py does)
