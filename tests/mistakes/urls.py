"""URLconf of the mistakes tests: the test project's "mistakes/" routes on their own.

The shared URLconf also includes `loopwatch.urls`; these tests need only the routes below.
"""

from django.urls import include, path

urlpatterns = [path("mistakes/", include("tests.testproject.mistake_urls"))]
