"""Who holds the astreinte when: rotations of turns, overrides, swaps and gaps.

A rotation hands over at a fixed local wall-clock time (e.g. Monday 08:30 in the commune's
time zone), so a turn spanning a daylight-saving change lasts an hour more or less.
A local hand-over time that does not exist or happens twice is resolved with zoneinfo's
``fold=0``: a repeated time (autumn) is its first occurrence, a skipped time (spring) is
read with the offset in force before the jump, i.e. 02:30 becomes 03:30 summer time.

Overrides are applied in list order on top of the scheduled holder, each one seeing the
holder left by the ones before it; so a later override wins where they overlap, and one
with ``replaces`` only applies while that person holds the turn at that point.
Every returned datetime is in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

UTC = UTC


@dataclass(frozen=True)
class Rotation:
    members: tuple[int, ...]  # person ids, in turn order (turn k is held by members[k % len])
    anchor: datetime  # naive local wall-clock time of the first hand-over
    tz: str
    turn_days: int = 7
    until: datetime | None = None  # aware; the rotation ends at this instant

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a rotation needs at least one member")
        if self.turn_days < 1:
            raise ValueError("turn_days must be at least 1")
        if self.anchor.tzinfo is not None:
            raise ValueError("the anchor is a naive local wall-clock time")
        if self.until is not None:
            _require_aware(self.until, "until")
        ZoneInfo(self.tz)  # an unknown time zone fails here, not at the first query


@dataclass(frozen=True)
class Override:
    start: datetime
    end: datetime
    person_id: int | None  # None: nobody is on call (a gap)
    replaces: int | None = None  # None: whoever holds the turn

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")
        _require_aware(self.end, "end")
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")


@dataclass(frozen=True)
class Turn:
    index: int
    person_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    person_id: int | None
    start: datetime
    end: datetime
    turn_index: int | None  # None outside any turn
    replacing: int | None  # the scheduled holder, when an override put someone else in


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _handover(rotation: Rotation, index: int) -> datetime:
    """The UTC instant when turn `index` starts, ignoring `until`."""
    local = rotation.anchor + timedelta(days=index * rotation.turn_days)
    return local.replace(tzinfo=ZoneInfo(rotation.tz), fold=0).astimezone(UTC)


def turn_bounds(rotation: Rotation, index: int) -> tuple[datetime, datetime]:
    """Start and end of turn `index`; the last turn ends at `until`."""
    start = _handover(rotation, index)
    if index < 0 or (rotation.until is not None and start >= rotation.until):
        raise ValueError(f"turn {index} does not exist in this rotation")
    end = _handover(rotation, index + 1)
    if rotation.until is not None:
        end = min(end, rotation.until.astimezone(UTC))
    return start, end


def _turn(rotation: Rotation, index: int) -> Turn:
    start, end = turn_bounds(rotation, index)
    return Turn(index, rotation.members[index % len(rotation.members)], start, end)


def turn_at(rotation: Rotation, at: datetime) -> Turn | None:
    """The scheduled turn running at `at`; None before the anchor or from `until` on."""
    _require_aware(at, "at")
    if rotation.until is not None and at >= rotation.until:
        return None
    first = _handover(rotation, 0)
    if at < first:
        return None
    # Elapsed time is within a few hours of the wall-clock count; correct the estimate.
    index = (at - first) // timedelta(days=rotation.turn_days)
    while index > 0 and _handover(rotation, index) > at:
        index -= 1
    while _handover(rotation, index + 1) <= at:
        index += 1
    return _turn(rotation, index)


def turns(rotation: Rotation, start: datetime, end: datetime) -> list[Turn]:
    """Whole (unclipped) turns overlapping [start, end)."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        return []
    current = turn_at(rotation, start)
    index = current.index if current is not None else 0
    found = []
    while True:
        if rotation.until is not None and _handover(rotation, index) >= rotation.until:
            break
        turn = _turn(rotation, index)
        if turn.start >= end:
            break
        if turn.end > start and turn.end > turn.start:
            found.append(turn)
        index += 1
    return found


def _state_at(rotation: Rotation, overrides: list[Override], at: datetime):
    """(person, turn index, replacing) in force at `at`."""
    turn = turn_at(rotation, at)
    scheduled = turn.person_id if turn is not None else None
    person = scheduled
    for override in overrides:
        if override.start <= at < override.end and override.replaces in (None, person):
            person = override.person_id
    replacing = scheduled if scheduled is not None and person != scheduled else None
    return person, (turn.index if turn is not None else None), replacing


def shifts(rotation: Rotation, overrides: list[Override], start: datetime, end: datetime) -> list[Shift]:
    """Effective on-call periods tiling [start, end), nobody's periods included."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    cuts = {start, end}
    for turn in turns(rotation, start, end):
        cuts.update((turn.start, turn.end))
    for override in overrides:
        cuts.update((override.start.astimezone(UTC), override.end.astimezone(UTC)))
    points = sorted(c for c in cuts if start <= c <= end)
    result: list[Shift] = []
    for left, right in zip(points, points[1:]):
        person, index, replacing = _state_at(rotation, overrides, left)
        last = result[-1] if result else None
        if last is not None and (last.person_id, last.turn_index, last.replacing) == (person, index, replacing):
            result[-1] = Shift(person, last.start, right, index, replacing)
        else:
            result.append(Shift(person, left, right, index, replacing))
    return result


def holder_at(rotation: Rotation, overrides: list[Override], at: datetime) -> int | None:
    """Who is on call at `at`, overrides applied; None for nobody."""
    _require_aware(at, "at")
    return _state_at(rotation, overrides, at)[0]


def roster_at(
    group_members: tuple[int, ...], rotation: Rotation | None, overrides: list[Override], at: datetime
) -> tuple[int, ...]:
    """The order to try people at `at`: the holder first, then the group in its order."""
    if rotation is None:
        return tuple(group_members)
    holder = holder_at(rotation, overrides, at)
    if holder is None:
        return tuple(group_members)
    return (holder,) + tuple(p for p in group_members if p != holder)


def swap(rotation: Rotation, turn_a: int, turn_b: int) -> tuple[Override, Override]:
    """The two overrides that exchange the holders of whole turns a and b."""
    a, b = _turn(rotation, turn_a), _turn(rotation, turn_b)
    return (
        Override(a.start, a.end, b.person_id, replaces=a.person_id),
        Override(b.start, b.end, a.person_id, replaces=b.person_id),
    )


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def gaps(shifts: list[Shift], windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Parts of the windows where no shift has a person; merged and sorted, in UTC."""
    held = _merge([(s.start.astimezone(UTC), s.end.astimezone(UTC)) for s in shifts if s.person_id is not None])
    found = []
    for start, end in _merge([(s.astimezone(UTC), e.astimezone(UTC)) for s, e in windows]):
        cursor = start
        for held_start, held_end in held:
            if held_end <= cursor or held_start >= end:
                continue
            if held_start > cursor:
                found.append((cursor, held_start))
            cursor = max(cursor, held_end)
        if cursor < end:
            found.append((cursor, end))
    return _merge(found)
