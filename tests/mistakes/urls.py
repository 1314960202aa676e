"""URLconf of the mistakes tests: the test project's "mistakes/" routes on their own.

The shared URLconf has many more routes; these tests need only the ones below.
"""

from django.urls import include, path

urlpatterns = [
    path("mistakes/", include("tests.testproject.mistake_urls")),
    path("loopwatch/", include("loopwatch.urls")),
]
