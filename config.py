"""Configuration classes, read from environment variables."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("HARMNET_INSTANCE_DIR", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """Raised when a configuration cannot run safely."""


def _env_list(name: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, "").split(",") if v.strip()]


def _instance_secrets(instance_dir: Path) -> dict[str, str]:
    """Generate the embedded default's secrets once, into instance/, and reuse them."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    data = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PSEUDONYM_KEY": secrets.token_urlsafe(48),
    }
    # Write a private temporary file, then link it into place: processes starting at once
    # (gunicorn workers) never read a half-written file, and the first link wins.
    fd, tmp = tempfile.mkstemp(dir=instance_dir, prefix=".secrets-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return json.loads(path.read_text())
    finally:
        os.unlink(tmp)
    return data


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    #: The owner role used for migrations; the app itself connects as DATABASE_URL.
    MIGRATION_DATABASE_URL = os.environ.get("MIGRATION_DATABASE_URL")
    #: Optional (worker only): a narrow BYPASSRLS, SELECT-only role (`flask db-reports-role`)
    #: that lets the monthly job compute every group in a few statements. Unset: the job
    #: computes group by group under each group's context.
    REPORTS_DATABASE_URL: str | None = None
    #: Optional (worker only): a BYPASSRLS role that may read reminders' group ids, statuses
    #: and due times and nothing else (`flask db-reminders-role`). With it the dispatcher
    #: finds due work in one statement over all groups; unset, on PostgreSQL it asks each
    #: group in turn (a statement per group every minute). SQLite needs none.
    REMINDERS_DATABASE_URL: str | None = None

    # Sessions: the signed cookie names a server-side session row (`user_sessions`), which
    # holds the idle and absolute limits and ends at sign-out, in every process.
    SESSION_COOKIE_NAME = "harmnet_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("SESSION_IDLE_MINUTES", "30")))
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12")))
    #: The cookie outlives no session: the server row's limits end it sooner.
    PERMANENT_SESSION_LIFETIME = SESSION_ABSOLUTE_TIMEOUT
    #: The cookie is sent again only when the session changed: its limits live in the
    #: server-side row, and a static response must never carry a session cookie.
    SESSION_REFRESH_EACH_REQUEST = False
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_TIME_LIMIT = None  # the session's own limits bound the token's life
    #: A release name (e.g. a git tag); with the static files, templates and catalogues it
    #: versions the service worker, so a new release replaces the pages phones kept.
    RELEASE = os.environ.get("HARMNET_RELEASE", "")
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024  # member imports are the largest upload

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    RATELIMIT_HEADERS_ENABLED = False
    # With Redis unreachable the limits are counted in this process (and a warning logged)
    # rather than failing the request: sign-in keeps working, still limited.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    #: And an error the fallback cannot catch (Redis lost between the check and the count
    #: of a failed attempt) is logged, not turned into a 500.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STRATEGY = "moving-window"
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    #: Opening invitation links, per address: enough for people, too few to guess tokens.
    INVITATION_RATE_LIMIT = os.environ.get("INVITATION_RATE_LIMIT", "30 per minute")
    #: "Check client" answers whether a code has been seen: per login, enough for a day in
    #: the field (the page asks as the code is typed), too few to try codes one by one.
    CLIENT_CHECK_RATE_LIMIT = os.environ.get("CLIENT_CHECK_RATE_LIMIT",
                                             "30 per minute;300 per hour")

    INVITATION_TTL = timedelta(hours=72)
    #: Compare the keys with the database's record when the web or the worker starts
    #: (harmnet/keys.py); `flask check-keys` does it on demand.
    KEY_CHECK_AT_START = True
    #: Password reset links (handed over in person, no e-mail): one use, this long.
    PASSWORD_RESET_TTL = timedelta(hours=72)
    #: Reset links a person may issue, and tries at opening one, per address.
    RESET_ISSUE_RATE_LIMIT = os.environ.get("RESET_ISSUE_RATE_LIMIT", "20 per hour")
    #: Wrong two-step codes allowed (failed tries only) per address.
    TWO_STEP_RATE_LIMIT = os.environ.get("TWO_STEP_RATE_LIMIT", "5 per minute")
    #: Two-step sign-in is required of coordinators, department staff and admins when on
    #: (production's default); otherwise it is offered to everyone (the embedded default,
    #: so the demo logins keep working).
    TOTP_REQUIRED = os.environ.get("TOTP_REQUIRED", "0") == "1"
    #: "Remember this device" (off unless ticked) spares the code for this long.
    TOTP_REMEMBER_DEVICE = timedelta(days=30)
    #: The issuer name shown in the authenticator app.
    TOTP_ISSUER = os.environ.get("TOTP_ISSUER", "harmnet")
    PAGE_SIZE = 25

    COMPRESS_MIMETYPES = ["text/html", "text/css", "application/javascript", "text/javascript",
                          "application/json", "application/manifest+json",
                          "image/svg+xml", "text/csv"]
    COMPRESS_ALGORITHM = ["br", "gzip"]
    # Brotli 2, not the default 4: our pages (2-20 KB) come out as small as with gzip 6
    # (within 5%; 10-15% larger than brotli 4, 150-300 bytes) for less than half of
    # brotli 4's time in a busy worker (57 against 125 µs for the home page), where its
    # large tables are no longer in the cache.
    COMPRESS_BR_LEVEL = 2
    # Flask-Compress re-evaluates If-None-Match/Range after compressing, ~35 µs a page.
    # Pages are no-store with no validator, and static files are fetched by hashed URLs
    # cached for a year (werkzeug's send_file still answers ranges before compression).
    COMPRESS_EVALUATE_CONDITIONAL_REQUEST = False
    COMPRESS_MIN_SIZE = 300
    SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600  # static URLs carry a content hash

    CELERY: dict = {
        "task_ignore_result": True,
        "timezone": "UTC",
        "broker_connection_retry_on_startup": True,
        # Chosen on purpose (DESIGN section 8; docs/reminders.md):
        # - Two queues besides the default: `reminders` (dispatch and send, small and
        #   urgent) and `reports` (monthly fan-out, slow), so a long report run never
        #   delays a reminder. Run a dedicated worker with `-Q reminders` in production.
        # - Prefetch 1: a worker reserves one message per process. A reminder waiting in
        #   a busy worker's buffer is late for nothing, and a killed worker strands
        #   at most one message per process.
        # - acks_late and reject_on_worker_lost are set per task, only on tasks that are
        #   idempotent (the send task is: it moves its row from `sending` with a
        #   compare-and-set, so a redelivered message finds nothing to do). A message is
        #   acknowledged after the task ran, and requeued when the process died under it.
        # - Redis visibility timeout: an unacknowledged message comes back after it. It
        #   must only exceed how long a message can wait reserved; a duplicate delivery is
        #   harmless for the same reason, and the database, not the broker, finds lost work.
        "worker_prefetch_multiplier": 1,
        "task_routes": {
            "worker.tasks.reminders.*": {"queue": "reminders"},
            "worker.tasks.reports.*": {"queue": "reports"},
        },
        "broker_transport_options": {"visibility_timeout": 900},
    }

    # Reminder channels (DESIGN section 8). With no SMS gateway or SMTP host configured,
    # reminders of that channel go to the outbox, a coordinator page (the `make run` default).
    REMINDER_SMS_GATEWAY_URL = os.environ.get("REMINDER_SMS_GATEWAY_URL")
    REMINDER_SMS_GATEWAY_TOKEN = os.environ.get("REMINDER_SMS_GATEWAY_TOKEN")
    #: The gateway answers GET <url>/<idempotency key> (200 sent, 404 never received).
    REMINDER_SMS_GATEWAY_CONFIRMS = os.environ.get("REMINDER_SMS_GATEWAY_CONFIRMS", "1") == "1"
    REMINDER_SMTP_HOST = os.environ.get("REMINDER_SMTP_HOST")
    REMINDER_SMTP_PORT = int(os.environ.get("REMINDER_SMTP_PORT", "25"))
    REMINDER_SMTP_USER = os.environ.get("REMINDER_SMTP_USER")
    REMINDER_SMTP_PASSWORD = os.environ.get("REMINDER_SMTP_PASSWORD")
    REMINDER_SMTP_STARTTLS = os.environ.get("REMINDER_SMTP_STARTTLS", "0") == "1"
    REMINDER_EMAIL_FROM = os.environ.get("REMINDER_EMAIL_FROM", "no-reply@localhost")
    #: Seconds a channel call may take; a `sending` row is stale after REMINDER_STALE_SECONDS,
    #: which must be well above it so a slow send is never taken for a dead one.
    REMINDER_CHANNEL_TIMEOUT = float(os.environ.get("REMINDER_CHANNEL_TIMEOUT", "10"))
    REMINDER_STALE_SECONDS = int(os.environ.get("REMINDER_STALE_SECONDS", "300"))
    REMINDER_MAX_ATTEMPTS = int(os.environ.get("REMINDER_MAX_ATTEMPTS", "5"))
    #: First retry delay; it doubles with each attempt.
    REMINDER_BACKOFF_SECONDS = int(os.environ.get("REMINDER_BACKOFF_SECONDS", "60"))
    REMINDER_CLAIM_BATCH = int(os.environ.get("REMINDER_CLAIM_BATCH", "500"))
    #: Reminders one send task takes at once (outbox and SMS; e-mail goes one by one, see
    #: docs/reminders.md): one claim, one read of their targets, one record of the outbox.
    REMINDER_SEND_BATCH = int(os.environ.get("REMINDER_SEND_BATCH", "100"))


def _database_url(url: str) -> str:
    # psycopg 3 is the driver: accept the plain postgresql:// form operators write.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _reports_url() -> str | None:
    url = os.environ.get("REPORTS_DATABASE_URL")
    return _database_url(url) if url else None


def _reminders_url() -> str | None:
    url = os.environ.get("REMINDERS_DATABASE_URL")
    return _database_url(url) if url else None


class DevelopmentConfig(Config):
    """Embedded default: SQLite and a filesystem broker in instance/, no server needed."""

    ENV_NAME = "development"

    def __init__(self) -> None:
        data = _instance_secrets(INSTANCE_DIR)
        self.SECRET_KEY = os.environ.get("SECRET_KEY", data["SECRET_KEY"])
        self.ENCRYPTION_KEYS = _env_list("HARMNET_ENCRYPTION_KEYS") or [data["ENCRYPTION_KEYS"]]
        self.PSEUDONYM_KEY = os.environ.get("HARMNET_PSEUDONYM_KEY", data["PSEUDONYM_KEY"])
        db_url = os.environ.get("DATABASE_URL")
        self.SQLALCHEMY_DATABASE_URI = (
            _database_url(db_url) if db_url else f"sqlite:///{INSTANCE_DIR / 'harmnet.sqlite'}"
        )
        self.REPORTS_DATABASE_URL = _reports_url()
        self.REMINDERS_DATABASE_URL = _reminders_url()
        redis_url = os.environ.get("REDIS_URL")
        self.REDIS_URL = redis_url
        self.RATELIMIT_STORAGE_URI = redis_url or "memory://"
        broker_dir = INSTANCE_DIR / "broker"
        for sub in ("out", "processed"):
            (broker_dir / sub).mkdir(parents=True, exist_ok=True)
        self.CELERY = dict(Config.CELERY)
        if redis_url:
            self.CELERY["broker_url"] = redis_url
        else:
            # kombu's filesystem transport: web and worker share a folder, no server.
            self.CELERY["broker_url"] = "filesystem://"
            self.CELERY["broker_transport_options"] = {
                "data_folder_in": str(broker_dir / "out"),
                "data_folder_out": str(broker_dir / "out"),
                "processed_folder": str(broker_dir / "processed"),
                # Else kombu writes its exchange tables to ./control in the working directory.
                "control_folder": str(broker_dir / "control"),
                "store_processed": False,
            }
        self.CELERY["beat_schedule_filename"] = str(INSTANCE_DIR / "celerybeat-schedule")


class TestingConfig(Config):
    """The test suite: SQLite unless HARMNET_TEST_DATABASE_URL names PostgreSQL."""

    ENV_NAME = "testing"
    TESTING = True
    KEY_CHECK_AT_START = False  # the suite makes apps with many keys; tests call it
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    PSEUDONYM_KEY = "test-pseudonym-key"
    WTF_CSRF_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    REDIS_URL = None

    def __init__(self) -> None:
        self.CELERY = dict(Config.CELERY, task_always_eager=True, broker_url="memory://")


class ProductionConfig(Config):
    """PostgreSQL, Redis, gunicorn: refuses to start without its secrets."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    TOTP_REQUIRED = os.environ.get("TOTP_REQUIRED", "1") == "1"

    def __init__(self) -> None:
        required = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "HARMNET_ENCRYPTION_KEYS",
                    "HARMNET_PSEUDONYM_KEY"]
        missing = [name for name in required if not os.environ.get(name)]
        if missing:
            raise ConfigError("production needs these environment variables: " + ", ".join(missing))
        self.SECRET_KEY = os.environ["SECRET_KEY"]
        if len(self.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters")
        self.ENCRYPTION_KEYS = _env_list("HARMNET_ENCRYPTION_KEYS")
        self.PSEUDONYM_KEY = os.environ["HARMNET_PSEUDONYM_KEY"]
        self.SQLALCHEMY_DATABASE_URI = _database_url(os.environ["DATABASE_URL"])
        self.REPORTS_DATABASE_URL = _reports_url()
        self.REMINDERS_DATABASE_URL = _reminders_url()
        self.REDIS_URL = os.environ["REDIS_URL"]
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL
        self.CELERY = dict(Config.CELERY, broker_url=self.REDIS_URL)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> Config:
    """Instantiate the configuration named by HARMNET_ENV (development by default)."""
    name = name or os.environ.get("HARMNET_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"unknown HARMNET_ENV {name!r}") from None
