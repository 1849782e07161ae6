"""Settings of the ready site.

Environment:
    BCBRIDGE_HOME: data folder (default ``./var``): SQLite database, generated keys, logs.
    DATABASE_URL: e.g. ``postgres://user@127.0.0.1:5432/bcbridge``; default SQLite in the home.
    BCBRIDGE_ENCRYPTION_KEYS: comma-separated Fernet keys; default a key generated once into
        ``$BCBRIDGE_HOME/encryption.keys`` (keep that file secret and backed up).
    DJANGO_SECRET_KEY: default a key generated once into ``$BCBRIDGE_HOME/secret.key``.
    DJANGO_DEBUG: ``1`` for debug pages. DJANGO_ALLOWED_HOSTS: comma-separated.
    CELERY_BROKER_URL / BCBRIDGE_REDIS_URL: scale-out (optional).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet

HOME = Path(os.environ.get("BCBRIDGE_HOME", "var")).resolve()
HOME.mkdir(parents=True, exist_ok=True)


def _generated(filename: str, make: object) -> str:
    """A value kept in a file under the home, created (mode 0600) on first use.

    The file appears atomically (written aside, then hard-linked into place), so processes
    starting together agree on one value and never read a half-written file.
    """
    path = HOME / filename
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=HOME, prefix=f".{filename}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())  # type: ignore[operator]
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won the race: use its value
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _generated("secret.key", lambda: secrets.token_urlsafe(50))
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # the REST API's docs page serves its own Swagger UI files
    "bcbridge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bcbridge.site.urls"
WSGI_APPLICATION = "bcbridge.site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_SQLITE = f"sqlite:///{HOME / 'bcbridge.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or _SQLITE, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # IMMEDIATE makes every atomic() take SQLite's write lock at BEGIN, so
    # select_for_update() sections serialise across threads and processes as row locks
    # do on PostgreSQL; WAL lets readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not shared-cache memory: threads in tests then wait on the lock instead of
    # failing with "database table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(HOME / f"test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = HOME / "static"

LOGIN_URL = "admin:login"
# The admin's Authorize button opens Entra's sign-in in a popup that reports back to it.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin-allow-popups"

_keys = os.environ.get("BCBRIDGE_ENCRYPTION_KEYS") or _generated(
    "encryption.keys", lambda: Fernet.generate_key().decode()
)
BCBRIDGE = {
    "ENCRYPTION_KEYS": [k.strip() for k in _keys.replace("\n", ",").split(",") if k.strip()],
    "REDIS_URL": os.environ.get("BCBRIDGE_REDIS_URL", ""),
    # where BC reaches the webhook receiver; the runner's renewals need it (README: Webhooks)
    "PUBLIC_URL": os.environ.get("BCBRIDGE_PUBLIC_URL", ""),
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "")
CELERY_TASK_ACKS_LATE = True  # a job cut off by a crashed worker runs again (jobs are idempotent)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "bcbridge.redaction.RedactSecretsFilter"},
        "cli_quiet": {"()": "bcbridge._cli_log.CliQuiet"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact", "cli_quiet"]},
    },
    "loggers": {
        "bcbridge": {"handlers": ["console"], "level": os.environ.get("BCBRIDGE_LOG_LEVEL", "INFO")},
        "httpx": {"handlers": ["console"], "level": "WARNING"},
        # request paths carry the webhook receiver's token: redacted before any handler
        "django.request": {"filters": ["redact"]},
        "django.server": {"handlers": ["console"], "filters": ["redact"], "level": "INFO", "propagate": False},
        "waitress": {"handlers": ["console"], "filters": ["redact"], "level": "INFO", "propagate": False},
        "waitress.queue": {"handlers": ["console"], "filters": ["redact"], "level": "INFO", "propagate": False},
    },
}
