"""Debate read-only JSON API: a proposal's or a process's comments, a page of threads at a time, in the
same orders as the pages. Hidden comments keep their place in a thread, their text replaced by the
moderators' public reason. Authors appear by their public pseudonym only; votes are counts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from citoyen.db import DbSession
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.models import Alignment, Comment
from citoyen.participation.debate.service import DebateError, DebatePage
from citoyen.web.params import PathId

router = APIRouter(prefix="/api/participation", tags=["participation"])
ALIGNMENT_NAMES = {Alignment.FOR.value: "for", Alignment.AGAINST.value: "against", Alignment.NEUTRAL.value: "neutral"}


class ErrorBody(BaseModel):
    status: int
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class CommentOut(BaseModel):
    id: int
    in_reply_to: int | None = Field(description="The comment this one answers (null: a top-level comment).")
    depth: int = Field(description="0 for top-level comments, at most 2.")
    author: str | None = Field(description="Public pseudonym; null once the author erased their account.")
    body: str = Field(description="The text, or 'Hidden by moderation: <reason>' when hidden.")
    locale: Literal["fr", "en"] = Field(description="The language the author wrote in.")
    hidden: bool
    alignment: Literal["for", "against", "neutral"] | None
    up_votes: int
    down_votes: int
    created_at: datetime
    replies: list[CommentOut] = []


class CommentPage(BaseModel):
    comments: list[CommentOut]
    sort: Literal["oldest", "newest", "best"]
    page: int
    pages: int
    threads: int = Field(description="Top-level comments in the whole debate.")


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "Unknown proposal or process."}}
Sort = Annotated[Literal["oldest", "newest", "best"], Query(description="Order of the top-level comments.")]
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="Page of 50 top-level comments.")]


def _out(listing: DebatePage, comment: Comment) -> CommentOut:
    return CommentOut(
        id=comment.id,
        in_reply_to=comment.parent_id,
        depth=comment.depth,
        author=listing.author_names.get(comment.author_id) if comment.author_id is not None else None,
        body=f"Hidden by moderation: {comment.hidden_reason}" if comment.is_hidden else comment.body,
        locale="en" if comment.locale == "en" else "fr",
        hidden=comment.is_hidden,
        alignment=ALIGNMENT_NAMES.get(comment.alignment)
        if comment.alignment is not None and not comment.is_hidden
        else None,
        up_votes=comment.up_votes,
        down_votes=comment.down_votes,
        created_at=comment.created_at,
        replies=[_out(listing, reply) for reply in listing.children(comment)],
    )


def _page(listing: DebatePage) -> CommentPage:
    return CommentPage(
        comments=[_out(listing, thread) for thread in listing.threads],
        sort=listing.sort,
        page=listing.page,
        pages=listing.pages,
        threads=listing.total_threads,
    )


@router.get("/proposals/{proposal_id}/comments", response_model=CommentPage, responses=NOT_FOUND)
async def proposal_comments(
    session: DbSession, proposal_id: PathId, sort: Sort = "oldest", page: PageNumber = 1
) -> CommentPage:
    try:
        target = await debate.proposal_target(session, proposal_id)
    except DebateError as error:
        raise HTTPException(404, "unknown proposal") from error
    if target.proposal is not None and target.proposal.hidden_at is not None:
        raise HTTPException(404, "unknown proposal")
    return _page(await debate.debate_page(session, target, sort, page))


@router.get("/processes/{process_id}/comments", response_model=CommentPage, responses=NOT_FOUND)
async def process_comments(
    session: DbSession, process_id: PathId, sort: Sort = "oldest", page: PageNumber = 1
) -> CommentPage:
    try:
        target = await debate.process_target(session, process_id)
    except DebateError as error:
        raise HTTPException(404, "unknown process") from error
    return _page(await debate.debate_page(session, target, sort, page))
