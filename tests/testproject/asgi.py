import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.testproject.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

from loopwatch.asgi import LoopwatchMiddleware  # noqa: E402

application = LoopwatchMiddleware(get_asgi_application())
