"""harmnet: privacy-first records and de-identified reporting for harm-reduction groups."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | str | None = None) -> Flask:
    """Application factory: `config` is a Config instance, a config name, or None (env)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
    )
    cfg = config if isinstance(config, Config) else load_config(config)
    app.config.from_object(cfg)
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations")
    )
    if app.config.get("PROXY_COUNT"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_COUNT"]))  # type: ignore[method-assign]

    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_static_files(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_cli(app)
    configure_logging(app)
    from .keys import check_at_start

    check_at_start(app)  # a wrong or lost key stops here, with a clear message
    return app


def register_extensions(app: Flask) -> None:
    from . import security
    from .extensions import (
        babel,
        celery_init_app,
        compress,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )
    from .i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    limiter.init_app(app)
    compress.init_app(app)
    security.init_app(app)
    celery_init_app(app)

    from . import models  # noqa: F401  (register every model on the metadata)
    from .database import configure_engine

    with app.app_context():
        configure_engine(db.engine)


def register_blueprints(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .contacts import bp as contacts_bp
    from .credentials import admin_bp as admin_credentials_bp
    from .credentials import bp as credentials_bp
    from .credentials import department_bp as department_credentials_bp
    from .credentials import group_bp as group_credentials_bp
    from .department import bp as department_bp
    from .erasure import bp as erasure_bp
    from .group import bp as group_bp
    from .main import bp as main_bp
    from .members import bp as members_bp
    from .offline import bp as offline_bp
    from .providers import bp as providers_bp
    from .reminders import bp as reminders_bp
    from .reports import bp as reports_bp
    from .stock import bp as stock_bp
    from .trail import admin_bp as admin_audit_bp
    from .trail import department_bp as department_audit_bp
    from .trail import group_bp as group_audit_bp
    from .trainings import bp as trainings_bp

    # Before any rule is added: every `<int:...>` in a URL is a database id, so one past
    # BIGINT matches no route (a 404), never a database error.
    from .web import IdConverter

    app.url_map.converters["int"] = IdConverter
    for bp in (main_bp, auth_bp, group_bp, department_bp, admin_bp, members_bp, trainings_bp,
               contacts_bp, providers_bp, reminders_bp, reports_bp, api_bp, offline_bp,
               credentials_bp, group_credentials_bp, department_credentials_bp,
               admin_credentials_bp,
               group_audit_bp, department_audit_bp, admin_audit_bp, erasure_bp, stock_bp):
        app.register_blueprint(bp)


def register_request_hooks(app: Flask) -> None:
    from .web import install_hooks

    install_hooks(app)


def register_static_files(app: Flask) -> None:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from .web import static_files

    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {app.static_url_path: static_files(app)})


def register_template_helpers(app: Flask) -> None:
    from .web import install_template_helpers

    install_template_helpers(app)


def register_error_handlers(app: Flask) -> None:
    from .web import install_error_handlers

    install_error_handlers(app)


def register_cli(app: Flask) -> None:
    from .cli import register

    register(app)


def configure_logging(app: Flask) -> None:
    from .redact import install

    install()  # one-time tokens never reach a log, in every environment
    # Logs carry ids, never personal values: request paths never hold a name, phone or
    # client code (those travel only in POST bodies, which are never logged).
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
