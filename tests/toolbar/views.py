"""HTML pages for the toolbar tests: the toolbar is inserted before `</body>`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from asgiref.sync import sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.views import View

from tests.testproject.models import Item

# With ?open=<panel id> the page opens that toolbar panel once the toolbar's script has run,
# and copies the panel's text into #panel-text, outside the toolbar's shadow root, so that
# `chromium --dump-dom` shows what the browser rendered.
OPENER = """<script type="module">
const panelId = %s;
function root() {
  // Toolbar 7+ renders into a shadow root under #djDebugRoot; earlier ones into the page.
  const host = document.getElementById("djDebugRoot");
  return host ? host.shadowRoot || host : document;
}
function open() {
  const r = root();
  const link = r && r.querySelector("#djDebugPanelList a." + panelId);
  if (!link || !globalThis.djdt) { setTimeout(open, 20); return; }
  r.querySelector("#djDebug").addEventListener("djdt.panel.render", () => {
    const panel = r.querySelector("#" + panelId + " .djdt-scroll");
    document.getElementById("panel-text").textContent = panel.innerText;
  });
  link.click();
}
open();
</script>"""


def page(title: str, request: HttpRequest) -> HttpResponse:
    panel = request.GET.get("open", "")
    # Only a panel id (an identifier) is put into the script.
    opener = OPENER % json.dumps(panel) if panel.isidentifier() else ""
    return HttpResponse(
        f"<!doctype html><html><head><title>{escape(title)}</title></head>"
        f'<body><h1>{escape(title)}</h1><pre id="panel-text" hidden></pre>{opener}</body></html>'
    )


class BlockingPage(View):
    """Blocks the loop, then trips Django's guard with a sync ORM call."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        time.sleep(float(request.GET.get("s", "0.15")))  # TOOLBAR_SLEEP_LINE
        # Django raises; the page still renders, and loopwatch has recorded the call.
        with contextlib.suppress(SynchronousOnlyOperation):
            Item.objects.count()  # TOOLBAR_ORM_LINE
        return page("blocking", request)


class HoppingPage(View):
    """Hands two calls to a worker thread: two sync_to_async hops made by this view's line."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        for _ in range(2):
            await sync_to_async(time.monotonic)()  # TOOLBAR_HOP_LINE
        return page("hopping", request)


class CalmPage(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0)
        return page("calm", request)
