"""Settings of the Django project the test suite serves (in-process and under uvicorn)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "loopwatch-tests-not-secret"
DEBUG = os.environ.get("LOOPWATCH_TEST_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "loopwatch",
    "tests.testproject",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.testproject.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LOOPWATCH_TEST_DB", str(BASE_DIR / "test.sqlite3")),
        "TEST": {"NAME": os.environ.get("LOOPWATCH_TEST_DB") or None},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
INTERNAL_IPS: list[str] = []
LOOPWATCH = {
    "THRESHOLD": float(os.environ.get("LOOPWATCH_TEST_THRESHOLD", "0.05")),
    "TOKEN": "test-token-0123456789abcdef",
    "LOG": False,
}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]
