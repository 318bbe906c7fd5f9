"""Reading and writing the CSV files of `citoyen foresight`: a series (`date,value`, daily or weekly) and events
(`id,time,lon,lat[,category]`). Bad input is refused with the line it is on, never guessed around: a gap, a
duplicate, a negative or non-numeric value or an out-of-range coordinate raises `InputError`."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

DAILY = "daily"
WEEKLY = "weekly"
PERIOD = {DAILY: 7, WEEKLY: 52}  # the seasonal period a method uses: the week for daily data, the year for weekly


class InputError(Exception):
    """A file the foresight commands refuse; `line` is the 1-based line of the file (the header is line 1)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True)
class Series:
    """A regular series without gaps: `values[i]` is the value of `start + i * step`."""

    start: date
    frequency: str  # DAILY or WEEKLY
    values: npt.NDArray[np.float64]

    @property
    def step(self) -> timedelta:
        return timedelta(days=1 if self.frequency == DAILY else 7)

    @property
    def period(self) -> int:
        return PERIOD[self.frequency]

    def date_at(self, index: int) -> date:
        return self.start + index * self.step

    def index_of(self, day: date) -> int:
        """The first index whose date is on or after `day` (len(values) when `day` is past the end)."""
        days = (day - self.start).days
        if days <= 0:
            return 0
        step = self.step.days
        return min(len(self.values), -(-days // step))


@dataclass(frozen=True)
class Events:
    """Events with their time (UTC) and place (WGS84); `ids` as given in the file."""

    ids: list[str]
    times: npt.NDArray[np.float64]  # seconds since the epoch
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    categories: list[str]


def parse_day(text: str) -> date:
    """An ISO date (`2026-03-01`), or the date part of an ISO date-time."""
    text = text.strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) > 10 and text[10] in "T " else date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def parse_time(text: str) -> datetime:
    """An ISO date-time (naive ones are UTC) or a date (its midnight, UTC)."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date-time (expected ISO 8601, e.g. 2026-03-01T14:30:00Z)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _number(text: str, what: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{what} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} {text.strip()!r} is not a finite number")
    return value


def _rows(path: Path, required: Sequence[str]) -> Iterable[tuple[int, dict[str, str]]]:
    """The file's rows as (line number, {column: text}), after checking the header names `required`."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration:
            raise InputError("the file is empty (expected a header: " + ",".join(required) + ")", 1) from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"unreadable CSV: {exc}", 1) from None
        missing = [name for name in required if name not in header]
        if missing:
            raise InputError(f"the header lacks {', '.join(missing)} (expected {','.join(required)})", 1)
        try:
            for row in reader:
                line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise InputError(f"{len(row)} fields where the header has {len(header)}", line)
                yield line, dict(zip(header, row, strict=True))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"unreadable CSV: {exc}", reader.line_num) from None


def read_series(path: Path, min_length: int = 1) -> Series:
    """A `date,value` file: daily or weekly (inferred from the first two dates), sorted, without gaps,
    duplicates, negative or non-numeric values, and at least `min_length` rows."""
    days: list[date] = []
    values: list[float] = []
    lines: list[int] = []
    for line, row in _rows(path, ("date", "value")):
        try:
            day = parse_day(row["date"])
            value = _number(row["value"], "value")
        except ValueError as exc:
            raise InputError(str(exc), line) from None
        if value < 0:
            raise InputError(f"value {value:g} is negative (counts and measures here are never below zero)", line)
        if days:
            if day == days[-1]:
                raise InputError(f"date {day} is a duplicate of line {lines[-1]}", line)
            if day < days[-1]:
                raise InputError(f"date {day} comes before {days[-1]} (line {lines[-1]}): sort the file", line)
        days.append(day)
        values.append(value)
        lines.append(line)
    if len(days) < max(min_length, 2):
        last = lines[-1] if lines else 1
        raise InputError(f"too short: {len(days)} rows, at least {max(min_length, 2)} are needed", last)
    step = (days[1] - days[0]).days
    if step not in (1, 7):
        raise InputError(f"{days[1]} is {step} days after {days[0]}: a series is daily or weekly", lines[1])
    for i in range(2, len(days)):
        gap = (days[i] - days[i - 1]).days
        if gap != step:
            kind = DAILY if step == 1 else WEEKLY
            raise InputError(
                f"{days[i]} is {gap} days after {days[i - 1]}: the series is {kind}, a gap or an irregular date",
                lines[i],
            )
    return Series(days[0], DAILY if step == 1 else WEEKLY, np.asarray(values, dtype=np.float64))


def read_events(path: Path) -> Events:
    """An `id,time,lon,lat[,category]` file; coordinates WGS84 (lon in [-180, 180], lat in [-90, 90])."""
    ids: list[str] = []
    times: list[float] = []
    lons: list[float] = []
    lats: list[float] = []
    categories: list[str] = []
    seen: dict[str, int] = {}
    for line, row in _rows(path, ("id", "time", "lon", "lat")):
        event_id = row["id"].strip()
        if not event_id:
            raise InputError("the id is empty", line)
        if event_id in seen:
            raise InputError(f"id {event_id!r} is a duplicate of line {seen[event_id]}", line)
        seen[event_id] = line
        try:
            moment = parse_time(row["time"])
            lon = _number(row["lon"], "lon")
            lat = _number(row["lat"], "lat")
        except ValueError as exc:
            raise InputError(str(exc), line) from None
        if not -180 <= lon <= 180:
            raise InputError(f"lon {lon:g} is out of range [-180, 180]", line)
        if not -90 <= lat <= 90:
            raise InputError(f"lat {lat:g} is out of range [-90, 90]", line)
        ids.append(event_id)
        times.append(moment.timestamp())
        lons.append(lon)
        lats.append(lat)
        categories.append(row.get("category", "").strip())
    if len(ids) < 2:
        raise InputError(f"too short: {len(ids)} events, a scan needs at least 2", 1)
    return Events(ids, np.asarray(times), np.asarray(lons), np.asarray(lats), categories)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write `rows` under `header`; the number of rows written."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def number(value: float) -> str:
    """A figure for a CSV cell: up to 6 significant digits, empty when not defined."""
    return "" if not math.isfinite(value) else f"{value:.6g}"
