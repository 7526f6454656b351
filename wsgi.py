"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""

import gc

from harmnet import create_app

app = create_app()

# Everything built so far (the app, its templates, SQLAlchemy's mappers, the catalogues)
# lives as long as the process. Freezing it keeps the garbage collector's full passes
# from walking those ~150,000 objects again and again while serving (a pass every few
# thousand requests, tens of milliseconds each).
gc.freeze()
