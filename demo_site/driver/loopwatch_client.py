"""Reads what loopwatch serves: stalls.json, the HTML page and the metrics."""

from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families


@dataclass
class LoopwatchAnswers:
    """stalls.json's document (None if it did not answer 200), and each endpoint's status."""

    document: dict[str, Any] | None
    statuses: dict[str, int] = field(default_factory=dict)
    metrics_text: str = ""


async def fetch_loopwatch(base_url: str, token: str | None) -> LoopwatchAnswers:
    """GET /loopwatch/stalls.json, /loopwatch/ and /loopwatch/metrics with the bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answers = LoopwatchAnswers(document=None)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30.0) as client:
        for path in ("/loopwatch/stalls.json", "/loopwatch/", "/loopwatch/metrics"):
            response = await client.get(path)
            answers.statuses[path] = response.status_code
            if response.status_code != 200:
                continue
            if path.endswith(".json"):
                answers.document = response.json()
            elif path.endswith("metrics"):
                answers.metrics_text = response.text
    return answers


def counter_by_view(metrics_text: str, sample_name: str) -> dict[str, float]:
    """Values of one counter sample (e.g. ``loopwatch_thread_hops_total``) summed per view."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == sample_name and "view" in sample.labels:
                view = sample.labels["view"]
                values[view] = values.get(view, 0.0) + sample.value
    return values
