"""A project entry point with wsgi.py and no asgi.py next to it: served only through WSGI."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
