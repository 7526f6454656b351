"""Bench-only WSGI entry: harmnet, plus a bare Flask "hello" route on the same gunicorn.

`gunicorn bench.hello_wsgi:app` serves harmnet as usual and `/__hello/` from a second,
empty Flask app, so the load test can compare a real page with the cost of Flask and
gunicorn alone in the same run. Never deploy this: it is not part of the product.
"""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from wsgi import app as harmnet_app  # the app exactly as gunicorn serves it

hello = Flask("hello")


@hello.get("/")
def index() -> str:
    return "hello"


app = DispatcherMiddleware(harmnet_app, {"/__hello": hello})
