"""The neighbourhood feed's pages: a quartier's feed (`/quartiers/{id}`, its Atom feed and its calendar), the feed of
what one follows (`/feed`), a post with its replies, and the moderators' queue of flagged posts and replies."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from citoyen.addresses import base_url
from citoyen.db import DbSession, utcnow
from citoyen.errors import Kind
from citoyen.feed import service as feed
from citoyen.i18n import N_, localized
from citoyen.people.service import Person
from citoyen.web.forms import AppSettings, field, see_other
from citoyen.web.params import PathId, QueryText
from citoyen.web.security import CurrentPerson, Form, SignedInPerson
from citoyen.web.templating import flash, locale_of, render

router = APIRouter(include_in_schema=False)


async def require_moderator(person: SignedInPerson) -> Person:
    """Participation's moderators decide on the feeds' posts and replies too."""
    if not feed.is_moderator(person):
        raise feed.FeedError(N_("Only moderators can do this."), Kind.FORBIDDEN)
    return person


ModeratorPerson = Annotated[Person, Depends(require_moderator)]
Before = Annotated[QueryText, Query(max_length=40)]


def _moment(text: str, name: str, zone: tzinfo) -> datetime | None:
    """A `datetime-local` field, read in the city's time (`zone`, as the form says), stored in UTC."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise feed.FeedError(N_("This date is not valid."), Kind.INVALID, name) from None
    return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).astimezone(UTC)


def _problem(request: Request, error: feed.FeedError) -> dict[str, object]:
    return error.problem(locale_of(request))


async def _neighbourhood_page(
    request: Request,
    session: DbSession,
    person: Person | None,
    neighbourhood_id: int,
    before: str = "",
    errors: list[dict[str, object]] | None = None,
    given: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    view = await feed.neighbourhood_feed(session, neighbourhood_id, person, before)
    context = {
        "view": view,
        "kind_labels": feed.KIND_LABELS,
        "item_kind_labels": feed.ITEM_KIND_LABELS,
        "errors": errors or [],
        "given": given or {},
    }
    return render(request, "feed/neighbourhood.html", context, status_code)


@router.get("/feed")
async def followed(request: Request, session: DbSession, person: SignedInPerson, before: Before = "") -> Response:
    """Everything in the quartiers one follows or lives in."""
    view = await feed.followed_feed(session, person, before)
    return render(request, "feed/followed.html", {"view": view, "item_kind_labels": feed.ITEM_KIND_LABELS})


@router.get("/quartiers/{neighbourhood_id:int}.atom")
async def atom(request: Request, session: DbSession, settings: AppSettings, neighbourhood_id: PathId) -> Response:
    """The quartier's newest items as Atom 1.0, for feed readers (no account)."""
    neighbourhood = await feed.get_neighbourhood(session, neighbourhood_id)
    items = await feed.page(session, [neighbourhood.id], limit=50)
    locale = locale_of(request)
    title = neighbourhood.name
    body = feed.atom_feed(base_url(settings, request), neighbourhood.id, title, items.items, locale, utcnow())
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/quartiers/{neighbourhood_id:int}/agenda")
async def agenda(request: Request, session: DbSession, neighbourhood_id: PathId) -> Response:
    """The quartier's coming events."""
    return render(request, "feed/agenda.html", {"view": await feed.agenda(session, neighbourhood_id)})


def _ics(body: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


@router.get("/quartiers/{neighbourhood_id:int}/agenda.ics")
async def agenda_ics(request: Request, session: DbSession, settings: AppSettings, neighbourhood_id: PathId) -> Response:
    """The quartier's coming events as one iCalendar file (a calendar application can subscribe to it)."""
    view = await feed.agenda(session, neighbourhood_id)
    base = base_url(settings, request)
    locale = locale_of(request)
    name = view.neighbourhood.name
    body = feed.calendar(base, request.url.hostname or "citoyen", name, view.events, locale, utcnow())
    return _ics(body, f"quartier-{neighbourhood_id}.ics")


@router.get("/quartiers/{neighbourhood_id:int}")
async def neighbourhood(
    request: Request, session: DbSession, person: CurrentPerson, neighbourhood_id: PathId, before: Before = ""
) -> Response:
    """Everything happening in the quartier, newest first, with the form to post there."""
    return await _neighbourhood_page(request, session, person, neighbourhood_id, before)


@router.post("/quartiers/{neighbourhood_id:int}/posts")
async def create_post(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    person: SignedInPerson,
    form: Form,
    neighbourhood_id: PathId,
) -> Response:
    given = {name: field(form, name) for name in ("kind", "title", "body", "starts_at", "ends_at", "place")}
    given["body"] = field(form, "body", strip=False)
    try:
        new = feed.NewPost(
            kind=given["kind"],
            title=given["title"],
            body=given["body"],
            starts_at=_moment(given["starts_at"], "starts_at", settings.zone),
            ends_at=_moment(given["ends_at"], "ends_at", settings.zone),
            place=given["place"],
        )
        post = await feed.create_post(session, person, neighbourhood_id, new)
    except feed.FeedError as error:
        if error.kind == Kind.NOT_FOUND:
            raise
        errors = [_problem(request, error)]
        return await _neighbourhood_page(
            request, session, person, neighbourhood_id, "", errors, given, error.status_code
        )
    flash(request, N_("Your post is published."), "success")
    return see_other(f"/quartiers/posts/{post.id}")


@router.post("/quartiers/{neighbourhood_id:int}/home")
async def declare_home(
    request: Request, session: DbSession, person: SignedInPerson, form: Form, neighbourhood_id: PathId
) -> Response:
    """The viewer says they live here (or, with action=leave, no longer says so)."""
    if field(form, "action") == "leave":
        await feed.declare_home(session, person, None)
        flash(request, N_("This quartier is no longer your home."), "success")
    else:
        await feed.declare_home(session, person, neighbourhood_id)
        flash(request, N_("This quartier is now your home: you can post here."), "success")
    return see_other(f"/quartiers/{neighbourhood_id}")


async def _post_page(
    request: Request,
    session: DbSession,
    person: Person | None,
    post_id: int,
    errors: list[dict[str, object]] | None = None,
    given: str = "",
    status_code: int = 200,
) -> Response:
    view = await feed.post_page(session, post_id, person)
    context = {
        "view": view,
        "kind_labels": feed.KIND_LABELS,
        "reason_labels": feed.REASON_LABELS,
        "errors": errors or [],
        "given": given,
    }
    return render(request, "feed/post.html", context, status_code)


@router.get("/quartiers/posts/{post_id:int}.ics")
async def post_ics(request: Request, session: DbSession, settings: AppSettings, post_id: PathId) -> Response:
    """One event as an iCalendar file."""
    post = await feed.get_post(session, post_id)
    if post.kind != "event" or post.hidden_at is not None or post.starts_at is None:
        raise feed.FeedError(N_("This post is not an event."), Kind.NOT_FOUND, "post")
    locale = locale_of(request)
    title = localized(locale, post.title, post.title_en)
    body = feed.calendar(
        base_url(settings, request), request.url.hostname or "citoyen", title, [post], locale, utcnow()
    )
    return _ics(body, f"event-{post.id}.ics")


@router.get("/quartiers/posts/{post_id:int}")
async def post(request: Request, session: DbSession, person: CurrentPerson, post_id: PathId) -> Response:
    return await _post_page(request, session, person, post_id)


@router.post("/quartiers/posts/{post_id:int}/replies")
async def reply(request: Request, session: DbSession, person: SignedInPerson, form: Form, post_id: PathId) -> Response:
    body = field(form, "body", strip=False)
    try:
        created = await feed.reply_to(session, person, post_id, body)
    except feed.FeedError as error:
        if error.kind == Kind.NOT_FOUND:
            raise
        return await _post_page(request, session, person, post_id, [_problem(request, error)], body, error.status_code)
    return see_other(f"/quartiers/posts/{post_id}#reply-{created.id}")


async def _flag(request: Request, session: DbSession, person: Person, form: Form, kind: str, target_id: int) -> None:
    await feed.flag(session, person, kind, target_id, field(form, "reason"), field(form, "details"))
    flash(request, N_("Thank you: the moderators will look at it."), "success")


@router.post("/quartiers/posts/{post_id:int}/flag")
async def flag_post(
    request: Request, session: DbSession, person: SignedInPerson, form: Form, post_id: PathId
) -> Response:
    """Flag a post for the moderators."""
    await _flag(request, session, person, form, "post", post_id)
    return see_other(f"/quartiers/posts/{post_id}")


@router.post("/quartiers/replies/{reply_id:int}/flag")
async def flag_reply(
    request: Request, session: DbSession, person: SignedInPerson, form: Form, reply_id: PathId
) -> Response:
    """Flag a reply for the moderators."""
    await _flag(request, session, person, form, "reply", reply_id)
    post_id = (await feed.get_reply(session, reply_id)).post_id
    return see_other(f"/quartiers/posts/{post_id}#reply-{reply_id}")


@router.get("/staff/feed-moderation")
async def moderation_queue(request: Request, session: DbSession, person: ModeratorPerson) -> Response:
    """Posts and replies flagged in the neighbourhood feeds, most flagged first (moderators)."""
    context = {"flagged": await feed.queue(session), "reason_labels": feed.REASON_LABELS}
    return render(request, "feed/moderation.html", context)


@router.post("/staff/feed-moderation/{kind}/{target_id:int}")
async def moderate(
    request: Request, session: DbSession, person: ModeratorPerson, form: Form, kind: str, target_id: PathId
) -> Response:
    if field(form, "action") == "hide":
        await feed.hide(session, person, kind, target_id, field(form, "reason"))
        flash(request, N_("Hidden: the public reason is shown in its place."), "success")
    else:
        await feed.keep(session, person, kind, target_id)
        flash(request, N_("Kept: it leaves the queue."), "success")
    return see_other("/staff/feed-moderation")
