"""`citoyen foresight` on CSV files: the contract's columns, and bad input refused with its line (exit 2)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citoyen.cli import app
from tests.foresight.helpers import daily_counts, events, with_outbreak, write_events, write_series

runner = CliRunner()


def read(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_detect_writes_one_decision_per_date_from_the_start(tmp_path: Path) -> None:
    counts = with_outbreak(daily_counts(200), 190, 3, 40)
    series = write_series(tmp_path / "s.csv", counts)
    out = tmp_path / "a.csv"
    args = ["foresight", "detect", "--series", str(series), "--from", "2024-05-01", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = read(out)
    assert list(rows[0]) == ["date", "alarm", "score", "threshold", "expected"]
    assert rows[0]["date"] == "2024-05-01" and rows[-1]["date"] == str(counts.date_at(199))
    assert {r["date"] for r in rows if r["alarm"] == "1"} & {str(counts.date_at(i)) for i in range(190, 193)}


def test_forecast_writes_every_target_and_horizon(tmp_path: Path) -> None:
    series = write_series(tmp_path / "s.csv", daily_counts(100))
    out = tmp_path / "f.csv"
    args = ["foresight", "forecast", "--series", str(series), "--from", "2024-04-01", "--horizon", "7"]
    result = runner.invoke(app, [*args, "--out", str(out), "--method", "seasonal-naive"])
    assert result.exit_code == 0, result.output
    rows = read(out)
    assert list(rows[0])[:5] == ["date", "horizon", "yhat", "lo90", "hi90"]
    # targets from 2024-04-01 to 7 days past the last row (2024-04-09), each with every horizon that reaches it
    assert rows[0]["date"] == "2024-04-01" and rows[-1]["date"] == "2024-04-16"
    assert sum(1 for r in rows if r["date"] == "2024-04-05") == 7
    assert all(float(r["lo90"]) <= float(r["yhat"]) <= float(r["hi90"]) for r in rows)


def test_scan_writes_the_planted_cluster(tmp_path: Path) -> None:
    found = write_events(tmp_path / "e.csv", events(600, planted=30))
    out = tmp_path / "c.csv"
    args = ["foresight", "scan", "--events", str(found), "--out", str(out), "--replicates", "39"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = read(out)
    assert list(rows[0]) == ["start", "end", "lon", "lat", "radius_m", "observed", "expected", "p_value", "ids"]
    assert sum(1 for i in rows[0]["ids"].split() if i.startswith("p")) >= 27


SERIES_HEAD = "date,value\n2024-01-01,3\n2024-01-02,4\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SERIES_HEAD + "2024-01-04,5\n", "line 4: 2024-01-04 is 2 days after 2024-01-02"),
        (SERIES_HEAD + "2024-01-02,5\n", "line 4: date 2024-01-02 is a duplicate of line 3"),
        (SERIES_HEAD + "2024-01-03,-1\n", "line 4: value -1 is negative"),
        (SERIES_HEAD + "2024-01-03,many\n", "line 4: value 'many' is not a number"),
        (SERIES_HEAD + "03/01/2024,5\n", "line 4: '03/01/2024' is not a date"),
        ("day,value\n2024-01-01,3\n", "line 1: the header lacks date"),
        (SERIES_HEAD + "2024-01-03,5\n", "line 4: too short: 3 rows"),
    ],
)
def test_bad_series_exit_2_naming_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(text)
    args = ["foresight", "detect", "--series", str(path), "--from", "2024-01-03", "--out", str(tmp_path / "a.csv")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_start_without_enough_history_is_refused(tmp_path: Path) -> None:
    series = write_series(tmp_path / "s.csv", daily_counts(200))
    args = ["foresight", "forecast", "--series", str(series), "--from", "2024-01-20", "--out", str(tmp_path / "f.csv")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--from 2024-01-20: too early" in result.output


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("b,2026-01-02T10:00:00Z,181,48.8", "line 3: lon 181 is out of range"),
        ("b,2026-01-02T10:00:00Z,2.3,-91", "line 3: lat -91 is out of range"),
        ("b,yesterday,2.3,48.8", "line 3: 'yesterday' is not a date-time"),
        ("a,2026-01-02T10:00:00Z,2.3,48.8", "line 3: id 'a' is a duplicate of line 2"),
    ],
)
def test_bad_events_exit_2_naming_the_line(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "e.csv"
    path.write_text(f"id,time,lon,lat\na,2026-01-01T10:00:00Z,2.35,48.86\n{row}\n")
    result = runner.invoke(app, ["foresight", "scan", "--events", str(path), "--out", str(tmp_path / "c.csv")])
    assert result.exit_code == 2
    assert message in result.output


def test_a_start_after_the_last_date_is_refused(tmp_path: Path) -> None:
    series = write_series(tmp_path / "s.csv", daily_counts(200))
    args = ["foresight", "detect", "--series", str(series), "--from", "2030-01-01", "--out", str(tmp_path / "a.csv")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--from 2030-01-01 is after the last date" in result.output
