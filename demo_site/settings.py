"""Settings for the loopwatch demo site: SQLite, no external services.

Environment variables (all optional):
    DJANGO_DEBUG       "0" turns debug off (default on: this is a demo)
    DJANGO_SECRET_KEY  secret key (default: a fixed, public demo key)
    DEMO_SITE_DB       path of the SQLite file (default: demo_site/db.sqlite3)
    LOOPWATCH_TOKEN    bearer token for /loopwatch/ when debug is off
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

DEBUG = os.environ.get("DJANGO_DEBUG", "1").lower() not in {"0", "false", "no", "off", ""}
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-site-key-not-secret-do-not-deploy")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "demo_site.shop",
    "loopwatch",
]

# Django's stock middleware is MiddlewareMixin-based: under ASGI each of its sync hooks hops to
# a worker thread on every request. The demo leaves it out so that the one view served behind
# sync middleware (see demo_site/shop/middleware.py) stands out in loopwatch's thread-hop metric.
MIDDLEWARE: list[str] = []

ROOT_URLCONF = "demo_site.urls"
ASGI_APPLICATION = "demo_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_SITE_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

LOOPWATCH = {
    "THRESHOLD": 0.05,
    "TOKEN": os.environ.get("LOOPWATCH_TOKEN", "loopwatch-demo-token"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "demo_site": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
