import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.testproject.settings")

from django.core.asgi import get_asgi_application

from loopwatch.asgi import LoopwatchMiddleware

application = LoopwatchMiddleware(get_asgi_application())
