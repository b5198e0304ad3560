"""Response figures per alert source: how many incidents it opened, and the mean time from an
incident's creation to its accept and to its resolve over the last 30 days.

Kept as running sums, changed where an incident opens, is accepted, is accepted no longer or is
resolved: a figure is read from at most 30 daily sums of its source, never from a pass over the
stored incidents, and it outlives the resolved incidents pruned after their retention period.

The sums follow the incidents' records: an incident counts in the time to accept while it has an
accept (one the acknowledgement timeout takes back is taken out again, and the accept that holds
counts instead), in the time to resolve once resolved. Days are UTC days; the window is the
current day and the 29 before it, so a day's incidents leave the means at the UTC midnight
30 days later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from .models import Incident

WINDOW_DAYS: Final = 30


@dataclass(slots=True)
class DurationSum:
    """The incidents of one day: how many, and their durations added up."""

    count: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MeanDuration:
    """A mean over the window and how many incidents it is taken over."""

    mean: timedelta
    incidents: int


type DailySums = dict[date, DurationSum]


@dataclass(slots=True, kw_only=True)
class SourceStatistics:
    """One source's figures; the sums by the UTC day of the accept or the resolve."""

    opened: int = 0
    to_accept: DailySums = field(default_factory=dict)
    to_resolve: DailySums = field(default_factory=dict)


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _first_day_kept(now: datetime) -> date:
    return _day(now) - timedelta(days=WINDOW_DAYS - 1)


def _add(sums: DailySums, since: datetime, at: datetime, sign: int = 1) -> None:
    day = _day(at)
    found = sums.get(day)
    if found is None:
        if sign < 0:
            return  # its day has left the window already
        found = sums[day] = DurationSum()
    found.count += sign
    found.seconds += sign * max(0.0, (at - since).total_seconds())
    if found.count <= 0:
        del sums[day]


def _mean(sums: DailySums, now: datetime) -> MeanDuration | None:
    first = _first_day_kept(now)
    count = 0
    seconds = 0.0
    for day, found in sums.items():
        if day >= first:
            count += found.count
            seconds += found.seconds
    if not count:
        return None
    return MeanDuration(mean=timedelta(seconds=seconds / count), incidents=count)


def _drop_before(sums: DailySums, first: date) -> None:
    for day in [day for day in sums if day < first]:
        del sums[day]


@dataclass(slots=True, kw_only=True)
class IncidentStatistics:
    """The figures of every source, told of every change by the incident life cycle."""

    sources: dict[str, SourceStatistics] = field(default_factory=dict)
    # Each source's data as `to_data` gave it, until the source changes: the state's small
    # fields are encoded whole with every write, and most writes change one source or none.
    # Never changed once built, so a write being encoded on another thread may hold it.
    _data: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def _of(self, source_id: str) -> SourceStatistics:
        """The source's figures, about to change."""
        self._data.pop(source_id, None)
        found = self.sources.get(source_id)
        if found is None:
            found = self.sources[source_id] = SourceStatistics()
        return found

    # --- changes ---------------------------------------------------------------------------

    def opened(self, incident: Incident) -> None:
        self._of(incident.source_id).opened += 1

    def accepted(self, incident: Incident, now: datetime) -> None:
        """The incident was accepted `now` (its `accepted` time)."""
        source = self._of(incident.source_id)
        _add(source.to_accept, incident.created, now)
        _drop_before(source.to_accept, _first_day_kept(now))

    def unaccepted(self, incident: Incident) -> None:
        """Before the incident's accept is taken back: it no longer counts."""
        if incident.accepted is not None and incident.source_id in self.sources:
            _add(self._of(incident.source_id).to_accept, incident.created, incident.accepted, -1)

    def resolved(self, incident: Incident, now: datetime) -> None:
        source = self._of(incident.source_id)
        _add(source.to_resolve, incident.created, now)
        _drop_before(source.to_resolve, _first_day_kept(now))

    def drop_old(self, now: datetime) -> None:
        """Forget the days that left the window (the means skip them anyway)."""
        first = _first_day_kept(now)
        for source_id, source in self.sources.items():
            if min(source.to_accept, default=first) < first or (
                min(source.to_resolve, default=first) < first
            ):
                self._data.pop(source_id, None)
                _drop_before(source.to_accept, first)
                _drop_before(source.to_resolve, first)

    # --- figures ---------------------------------------------------------------------------

    def opened_count(self, source_id: str) -> int:
        found = self.sources.get(source_id)
        return found.opened if found is not None else 0

    def time_to_accept(self, source_id: str, now: datetime) -> MeanDuration | None:
        """The mean time from creation to accept of the incidents accepted in the window."""
        found = self.sources.get(source_id)
        return _mean(found.to_accept, now) if found is not None else None

    def time_to_resolve(self, source_id: str, now: datetime) -> MeanDuration | None:
        """The mean time from creation to resolve of the incidents resolved in the window."""
        found = self.sources.get(source_id)
        return _mean(found.to_resolve, now) if found is not None else None

    # --- built from incidents, and stored ---------------------------------------------------

    @classmethod
    def from_incidents(cls, incidents: Iterable[Incident]) -> IncidentStatistics:
        """The figures the incidents show (a state stored before statistics were kept): those
        pruned already are missing from the count and the means. Days before the window stay
        until the next change or pruning drops them."""
        statistics = cls()
        for incident in incidents:
            source = statistics._of(incident.source_id)
            source.opened += 1
            if incident.accepted is not None:
                _add(source.to_accept, incident.created, incident.accepted)
            if incident.resolved is not None:
                _add(source.to_resolve, incident.created, incident.resolved)
        return statistics

    def to_data(self) -> dict[str, Any]:
        """JSON-able, in containers the state never changes: `{source: {"opened": n,
        "to_accept": [[day, count, seconds], ...], "to_resolve": [...]}}`."""
        data = self._data
        for source_id, source in self.sources.items():
            if source_id not in data:
                data[source_id] = {
                    "opened": source.opened,
                    "to_accept": _sums_to_data(source.to_accept),
                    "to_resolve": _sums_to_data(source.to_resolve),
                }
        return dict(data)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> IncidentStatistics:
        """From `to_data`'s form; KeyError, TypeError or ValueError when it is not."""
        return cls(
            sources={
                str(source_id): SourceStatistics(
                    opened=int(source["opened"]),
                    to_accept=_sums_from_data(source["to_accept"]),
                    to_resolve=_sums_from_data(source["to_resolve"]),
                )
                for source_id, source in data.items()
            }
        )


def _sums_to_data(sums: DailySums) -> list[list[Any]]:
    return [[day.isoformat(), found.count, found.seconds] for day, found in sorted(sums.items())]


def _sums_from_data(data: Iterable[list[Any]]) -> DailySums:
    return {
        date.fromisoformat(day): DurationSum(count=int(count), seconds=float(seconds))
        for day, count, seconds in data
    }
