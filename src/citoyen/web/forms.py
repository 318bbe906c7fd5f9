"""The form toolkit every page route uses: a form's text field, the redirect after a post, a refusal turned into a
404, a safe `next` path, and the app's settings as a dependency."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from starlette.responses import RedirectResponse

from citoyen.config import Settings
from citoyen.errors import Refusal

T = TypeVar("T")


def field(form: Any, name: str, *, strip: bool = True) -> str:
    """A text field of a submitted form ("" when absent or a file), stripped unless `strip` is False."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.strip() if strip else value


def see_other(url: str) -> RedirectResponse:
    """The answer to a successful post: the browser gets `url` (303, so a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


def safe_next(target: str, fallback: str = "") -> str:
    """A `next` path to go back to when it is local (`fallback` otherwise), so a form cannot send people to
    another site ("//host" and "/\\host" name other sites to browsers)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else fallback


async def or_404(lookup: Awaitable[T], detail: str) -> T:
    """What a service lookup finds, or a 404 saying `detail` when it refuses (`Refusal`) or finds nothing:
    `process = await or_404(participation.get_process(session, process_id), "Unknown process.")`."""
    try:
        value = await lookup
    except Refusal as error:
        raise HTTPException(404, detail) from error
    return found(value, detail)


def found(value: T | None, detail: str) -> T:
    """`value`, or a 404 saying `detail` when it is None."""
    if value is None:
        raise HTTPException(404, detail)
    return value


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(app_settings)]
