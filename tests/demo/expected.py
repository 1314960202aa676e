"""What the demo's tests expect: which views are correct, and where each mistake's line is."""

from typing import NamedTuple

from .conftest import ROOT

MISTAKES_FILE = "demo_site/shop/views/mistakes.py"
CORRECT = "demo_site.shop.views.correct."
MISTAKES = "demo_site.shop.views.mistakes."

CORRECT_PATHS = [
    "/good/async-get/",
    "/good/about/",
    "/good/books/",
    "/good/books/1/",
    "/good/async-db/",
    "/good/external-api/",
    "/good/dashboard/",
    "/good/parallel-ratings/",
    "/good/async-dispatch/",
    "/good/stream/",
]


class MistakeLine(NamedTuple):
    """A mistake view, the record kind loopwatch makes of it, and the line it must name."""

    view: str  # class name in MISTAKES_FILE
    path: str
    kind: str
    after: str  # the line opening the class or function that holds the line
    code: str

    @property
    def dotted(self) -> str:
        return MISTAKES + self.view

    @property
    def line(self) -> int:
        return line_number(self.after, self.code)


MISTAKE_LINES = [
    MistakeLine("SyncOrmView", "/mistakes/sync-orm/", "sync_orm", "class SyncOrmView",
                "books = list(Book.objects.all())"),
    MistakeLine("TimeSleepView", "/mistakes/time-sleep/", "stall", "class TimeSleepView",
                "time.sleep(0.2)"),
    MistakeLine("BlockingLibraryView", "/mistakes/blocking-library/", "stall",
                "class BlockingLibraryView", "response = requests.get(url, timeout=5)"),
    MistakeLine("CpuBoundView", "/mistakes/cpu-bound/", "stall", "def _checksum",
                "return sum(i * i % 7 for i in range(n))"),
    MistakeLine("ForgottenAwaitView", "/mistakes/forgotten-await/", "unawaited",
                "class ForgottenAwaitView", "_count_visit(request.path)"),
    MistakeLine("LostExceptionView", "/mistakes/lost-exception/", "lost_exception",
                "async def _send_receipt",
                'raise ConnectionError(f"mail server refused the receipt for order {order}")'),
    MistakeLine("GuideDetailView", "/mistakes/guide-detail-view/1/", "sync_orm",
                "class GuideDetailView", "return await super().get(request, *args, **kwargs)"),
]  # fmt: skip

# The guide's TemplateView example fails before it can block: only the static check sees it.
GUIDE_TEMPLATE_VIEW = MistakeLine(
    "GuideTemplateView",
    "/mistakes/guide-template-view/",
    "check",
    "class GuideTemplateView",
    "return await super().get(request, *args, **kwargs)",
)


def line_number(after: str, code: str) -> int:
    """Number of the first line reading ``code`` after the line starting with ``after``."""
    lines = (ROOT / MISTAKES_FILE).read_text().splitlines()
    start = next(i for i, text in enumerate(lines) if text.startswith(after))
    return next(i + 1 for i in range(start, len(lines)) if lines[i].strip() == code)
