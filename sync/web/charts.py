"""Server-rendered bar charts for the statistics tab: numbers in, SVG geometry out
(no JavaScript chart library). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.formats import date_format
from django.utils.translation import ngettext, pgettext_lazy

# Event actions grouped into what the chart shows, with each series' colour.
SERIES: list[tuple[str, str, str]] = [
    ("created", pgettext_lazy("chart series", "Created"), "#16a34a"),
    ("updated", pgettext_lazy("chart series", "Updated"), "#2563eb"),
    ("deleted", pgettext_lazy("chart series", "Deleted"), "#9333ea"),
    ("errors", pgettext_lazy("chart series", "Errors"), "#dc2626"),
]
CATEGORY_OF_ACTION = {
    "create": "created",
    "update": "updated",
    "tag": "updated",
    "unsubscribe": "updated",
    "delete": "deleted",
    "trash": "deleted",
    "remove_from_list": "deleted",
    "mark": "deleted",
    "error": "errors",
}

CHART_HEIGHT = 120
BAR_WIDTH = 16
BAR_GAP = 8


@dataclass
class Bar:
    """One day's stacked column: segments (y, height, colour, title) from the bottom."""

    day: date
    x: int
    total: int
    segments: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    peak: int

    @property
    def empty(self) -> bool:
        return self.peak == 0


def days_back(today: date, days: int) -> list[date]:
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def segment_title(key: str, day: date, n: int) -> str:
    """A segment's tooltip, "02 Dec: 3 created", with the locale's month and plural."""
    counts = {
        "created": ngettext("%(count)d created", "%(count)d created", n),
        "updated": ngettext("%(count)d updated", "%(count)d updated", n),
        "deleted": ngettext("%(count)d deleted", "%(count)d deleted", n),
        "errors": ngettext("%(count)d error", "%(count)d errors", n),
    }
    return f"{date_format(day, 'd M')}: {counts[key] % {'count': n}}"


def stacked_chart(title: str, days: list[date], counts: dict[date, dict[str, int]]) -> Chart:
    """A column per day, stacked by series, scaled to the busiest day."""
    peak = max((sum(counts.get(d, {}).values()) for d in days), default=0)
    bars = []
    for index, day in enumerate(days):
        values = counts.get(day, {})
        bar = Bar(day=day, x=index * (BAR_WIDTH + BAR_GAP), total=sum(values.values()))
        bottom = CHART_HEIGHT
        for key, _label, colour in SERIES:
            n = values.get(key, 0)
            if not n or not peak:
                continue
            height = max(1, round(n / peak * CHART_HEIGHT))
            bottom -= height
            bar.segments.append(
                {
                    "y": bottom,
                    "height": height,
                    "colour": colour,
                    "title": segment_title(key, day, n),
                }
            )
        bars.append(bar)
    width = len(days) * (BAR_WIDTH + BAR_GAP)
    return Chart(title=title, bars=bars, width=width, height=CHART_HEIGHT, peak=peak)
