"""Paging people, not machines: how many notifications one target gets in a window, and the
summary of the rest of a storm when the window ends.

A phone's push service allows a few hundred notifications a day (the companion app's: 500 per
device, reset at midnight UTC). Each target gets at most `per_window` notifications per window;
incidents beyond that are held and summed up in one notification when the window ends. Every
incident still escalates and shows everywhere: only the pushes are bundled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_PER_WINDOW = 3
DEFAULT_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundling:
    """At most `per_window` notifications per target per `window`."""

    per_window: int = DEFAULT_PER_WINDOW
    window: timedelta = DEFAULT_WINDOW


class PageDecision(StrEnum):
    SENT = "sent"
    BUNDLED = "bundled"


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """What one target is told when its window ends: the incidents held, by source."""

    target: str
    incident_ids: tuple[str, ...]
    # (source name, incidents), most first.
    by_source: tuple[tuple[str, int], ...]


@dataclass(slots=True)
class _Window:
    ends: datetime
    sent: int = 0
    # Held incidents (ids, in order) with their source's name.
    held: dict[str, str] = field(default_factory=dict)


class Pager:
    """The windows of every target of one Home Assistant."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._ended: list[tuple[str, _Window]] = []

    def page(
        self,
        target: str,
        incident_id: str,
        source_name: str,
        bundling: Bundling | None,
        now: datetime,
    ) -> PageDecision:
        """Whether this incident's notification to `target` goes out now or waits for the
        summary. Without bundling, always now."""
        if bundling is None:
            return PageDecision.SENT
        window = self._windows.get(target)
        if window is None or now >= window.ends:
            if window is not None and window.held:
                self._ended.append((target, window))
            window = self._windows[target] = _Window(ends=now + bundling.window)
        if incident_id in window.held:
            return PageDecision.BUNDLED  # a later level of an incident held already
        if window.sent < bundling.per_window:
            window.sent += 1
            return PageDecision.SENT
        window.held[incident_id] = source_name
        return PageDecision.BUNDLED

    def forget(self, incident_id: str) -> None:
        """An incident accepted or resolved before its summary: nobody needs to be told."""
        for window in (*self._windows.values(), *(window for _, window in self._ended)):
            window.held.pop(incident_id, None)

    def due(self, now: datetime) -> list[Summary]:
        """The summaries of the windows that have ended, each once."""
        ended, self._ended = self._ended, []
        for target, window in list(self._windows.items()):
            if now >= window.ends:
                del self._windows[target]
                ended.append((target, window))
        return [_summary(target, window) for target, window in ended if window.held]

    def next_due(self) -> datetime | None:
        """When the next summary is due, if any incident is held."""
        if any(window.held for _, window in self._ended):
            return min(window.ends for _, window in self._ended)
        return min((w.ends for w in self._windows.values() if w.held), default=None)


def _summary(target: str, window: _Window) -> Summary:
    counts = Counter(window.held.values())
    return Summary(
        target=target,
        incident_ids=tuple(window.held),
        by_source=tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
    )
