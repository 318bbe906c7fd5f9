"""Pol.is exports in and out: `citoyen opinions import-polis` and `export-polis` as an operator runs them (a round
trip keeps Pol.is's participant and statement numbers), and bad files refused naming their line, nothing imported."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from citoyen.app import build_event_hub
from citoyen.cli import app
from citoyen.db import make_engine, make_sessionmaker
from citoyen.opinions import service as opinions
from citoyen.opinions.models import Conversation
from tests.opinions.helpers import simulated_votes
from tests.participation.helpers import create_process
from tests.test_cli import cli_env, database_url  # noqa: F401 - the fixture is used by name

runner = CliRunner()
HEADER_COMMENTS = "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
HEADER_VOTES = "timestamp,datetime,comment-id,voter-id,vote\n"


def polis_export(directory: Path) -> Path:
    """A Pol.is export of 60 participants in two groups on 10 statements, numbered as Pol.is would not start us:
    participants from 100, statements 3, 5, 7…; statement 7 moderated out."""
    votes, _ = simulated_votes(participants=60, statements=10, groups=2, seed=11)
    directory.mkdir()
    comments = [HEADER_COMMENTS]
    for index in range(10):
        moderated = -1 if index == 2 else 1
        body = f'"Affirmation n° {index}, avec une virgule"'
        comments.append(f"1700000000,Tue Nov 14 2023,{3 + 2 * index},{100 + index},0,0,{moderated},{body}\n")
    (directory / "comments.csv").write_text("".join(comments))
    lines = [HEADER_VOTES] + [f"1700000100,x,{3 + 2 * tid},{100 + pid},{value}\n" for pid, tid, value in votes]
    (directory / "votes.csv").write_text("".join(lines))
    return directory


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("file", "content", "line"),
    [
        ("comments.csv", HEADER_COMMENTS.replace("moderated", "mood"), 1),
        ("votes.csv", HEADER_VOTES + "1700000100,x,3,1,1\n1700000100,x,3,1,-1\n", 3),
        ("votes.csv", HEADER_VOTES + "1700000100,x,3,1,1\n1700000100,x,4,1,1\n", 3),
        ("votes.csv", HEADER_VOTES + "1700000100,x,3,1,2\n", 2),
    ],
    ids=["unknown column", "duplicate vote", "missing statement", "bad value"],
)
def test_bad_exports_are_refused_naming_the_line(tmp_path: Path, file: str, content: str, line: int) -> None:
    directory = tmp_path / "export"
    directory.mkdir()
    (directory / "comments.csv").write_text(HEADER_COMMENTS + '1700000000,x,3,1,0,0,1,"Un banc."\n')
    (directory / "votes.csv").write_text(HEADER_VOTES)
    (directory / file).write_text(content)
    with pytest.raises(opinions.PolisFormatError) as refused:
        opinions.read_polis_export(directory)
    assert refused.value.file == file and refused.value.line == line
    assert f"line {line}" in str(refused.value)


def test_import_then_export_keeps_the_polis_numbers(cli_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert runner.invoke(app, ["migrate"], env=cli_env).exit_code == 0

    async def prepare() -> None:
        engine = make_engine(database_url(cli_env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            await create_process(session, slug="canal")
            await session.commit()
        await engine.dispose()

    asyncio.run(prepare())
    source = polis_export(tmp_path / "polis")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "comments.csv").write_text((source / "comments.csv").read_text())
    (bad / "votes.csv").write_text((source / "votes.csv").read_text() + "1700000200,x,3,100,1\n")
    refused = runner.invoke(app, ["opinions", "import-polis", str(bad), "--process", "canal"], env=cli_env)
    assert refused.exit_code == 2 and "votes.csv, line" in refused.output and "nothing was imported" in refused.output

    async def count() -> int:
        engine = make_engine(database_url(cli_env))
        async with make_sessionmaker(engine, build_event_hub())() as session:
            found = int(await session.scalar(select(func.count()).select_from(Conversation)) or 0)
        await engine.dispose()
        return found

    assert asyncio.run(count()) == 0
    imported = runner.invoke(app, ["opinions", "import-polis", str(source), "--process", "canal"], env=cli_env)
    assert imported.exit_code == 0, imported.output
    conversation_id = imported.output.strip().splitlines()[-1]
    assert conversation_id.isdigit() and "2 groups" in imported.output

    out = tmp_path / "out"
    exported = runner.invoke(app, ["opinions", "export-polis", conversation_id, str(out)], env=cli_env)
    assert exported.exit_code == 0, exported.output
    comments = _csv((out / "comments.csv").read_text())
    assert [row["comment-id"] for row in comments] == [str(3 + 2 * i) for i in range(10)]
    assert [row["author-id"] for row in comments] == [str(100 + i) for i in range(10)]
    assert comments[2]["moderated"] == "-1" and comments[0]["comment-body"] == "Affirmation n° 0, avec une virgule"
    original = {(r["voter-id"], r["comment-id"], r["vote"]) for r in _csv((source / "votes.csv").read_text())}
    again = {(r["voter-id"], r["comment-id"], r["vote"]) for r in _csv((out / "votes.csv").read_text())}
    assert again == original
    assert int(comments[0]["agrees"]) == sum(1 for voter, tid, vote in original if tid == "3" and vote == "1")
    participants = _csv((out / "participants-votes.csv").read_text())
    assert {row["participant"] for row in participants} == {str(100 + pid) for pid in range(60)}
    # Two groups; a participant with fewer than 7 votes is in none (an empty group-id), as on Pol.is.
    assert {row["group-id"] for row in participants} - {""} == {"0", "1"}
    assert all(row["group-id"] or int(row["n-votes"]) < 7 for row in participants)
    first = next(row for row in participants if row["participant"] == "100")
    assert int(first["n-votes"]) == sum(1 for voter, _, _ in original if voter == "100")
    # Imported again from our own export: the same numbers.
    second = runner.invoke(app, ["opinions", "import-polis", str(out), "--process", "canal"], env=cli_env)
    assert second.exit_code == 0, second.output
