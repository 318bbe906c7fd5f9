"""A conversation's Pol.is export published as open data: a valid Data Package in Pol.is's format (our own import
reads it back), only the published statements, times to the day, no one's name or e-mail, and nothing published
below ten participants."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import frictionless
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata import feeds, opinion_feeds
from citoyen.opendata.feed_kit import PublishContext
from citoyen.opinions import service as opinions
from citoyen.people.service import Role
from tests.factories import create_person
from tests.opinions.helpers import SEEDS, create_conversation

HIDDEN = "Monsieur Kerbrat du 12 rue des Lilas est un voleur."


async def test_a_conversation_is_published_in_polis_format_without_anyone_in_it(
    session: AsyncSession, tmp_path: Path
) -> None:
    conversation = await create_conversation(session)
    statements = await opinions.statements_of(session, conversation.id)
    people = [
        await create_person(session, f"gwendoline.kerbrat{n}@example.org", display_name=f"Gwendoline Kerbrat {n}")
        for n in range(opinions.MIN_PARTICIPANTS)
    ]
    voters = [opinions.Voter(person) for person in people]
    for number, voter in enumerate(voters[:-1]):
        for position, statement in enumerate(statements):
            await opinions.vote(session, conversation, voter, statement.id, 1 if (number + position) % 3 else -1)
    # Nine participants: not published.
    assert await opinion_feeds.conversation_feeds(session) == []
    written = await opinions.write_statement(session, conversation, voters[-1], "Il faut un kiosque à musique.")
    hidden = await opinions.write_statement(session, conversation, voters[-1], HIDDEN)
    moderator = await create_person(session, role=Role.MODERATOR)
    await opinions.moderate(session, moderator, hidden.id, accept=False, reason="Attaque personnelle")
    await opinions.recompute(session, conversation.id)

    (feed,) = await opinion_feeds.conversation_feeds(session)
    directory = tmp_path / feed.slug
    done = await feeds.write_feed(PublishContext(session), feed, directory)
    report = frictionless.validate(str(done.datapackage))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])
    assert [resource.path.name for resource in done.resources] == [
        "comments.csv",
        "votes.csv",
        "participants-votes.csv",
    ]
    texts = [path.read_text(encoding="utf-8") for path in directory.iterdir()]
    for text in texts:
        assert "Kerbrat" not in text and "@" not in text and "Lilas" not in text

    # Pol.is's format: our own import (Pol.is's columns, nothing else) reads it back.
    export = opinions.read_polis_export(directory)
    assert sorted(comment.tid for comment in export.comments) == list(range(len(SEEDS) + 1))
    assert written.tid == len(SEEDS) and len(export.votes) == 9 * len(SEEDS) + 1
    with (directory / "votes.csv").open(encoding="utf-8") as handle:
        assert all(int(row["timestamp"]) % 86_400 == 0 for row in csv.DictReader(handle))
    with (directory / "participants-votes.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["participant"] for row in rows] == [str(pid) for pid in range(opinions.MIN_PARTICIPANTS)]
    assert {row["group-id"] for row in rows[:-1]} <= {"0", "1", "2", "3", "4"}
    assert rows[-1]["n-comments"] == "1" and rows[-1][str(written.tid)] == "1"
    package = json.loads(done.datapackage.read_text(encoding="utf-8"))
    assert package["resources"][2]["schema"]["primaryKey"] == ["participant"]
