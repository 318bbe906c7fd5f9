"""Admission control: a bounded number of expensive requests in flight per process, a bounded wait for a slot,
then a 503 with `Retry-After` in the format of the API asked.

Under a crowd of heavy requests (32 clients sending the worst searches, maps and SensorThings queries each API
allows) a process that starts everything at once shares its one event loop and its database connections
among all of them: every answer slows down, `/healthz` with them, and memory grows with the answers being
built. Here expensive requests (GET and HEAD of pages and APIs) take one of `admission_max_concurrent`
slots; the next ones wait, holding nothing but a future, in arrival order, at most
`admission_max_wait_seconds` and at most `admission_max_waiting` of them; past that the request is refused
with a 503 that says when to come back. `/healthz`, static files, SensorThings reads (which have their own
slots, `sensing.api`) and every write (forms, ingest) pass straight through: checking costs a comparison.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from citoyen.config import Settings

# Paths never queued: the health probe must answer while the process is busy, static files are cheap, and
# SensorThings reads are bounded by their own gate (`sensing.api`) around the query alone.
EXEMPT_PREFIXES = ("/healthz", "/static/", "/sta/")
QUEUED_METHODS = frozenset({"GET", "HEAD"})
BUSY_MESSAGE = "the server is busy with other requests: try again in a few seconds"


class Busy(Exception):
    """No slot came free within the bounded wait (or too many were already waiting)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(BUSY_MESSAGE)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Gate:
    """At most `limit` holders at once; up to `max_waiting` more wait, each at most `wait_seconds`, first come
    first served. A slot given back goes straight to the oldest waiter, so nobody overtakes the queue."""

    def __init__(self, limit: int, max_waiting: int, wait_seconds: float) -> None:
        self.limit = limit
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[bool]] = deque()

    @classmethod
    def from_settings(cls, limit: int, settings: Settings) -> Gate:
        return cls(limit, settings.admission_max_waiting, settings.admission_max_wait_seconds)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def retry_after(self) -> int:
        """Seconds a refused client should wait: about what a queued request may wait, at least one."""
        return max(1, math.ceil(self.wait_seconds))

    async def enter(self) -> None:
        """Take a slot, waiting a bounded time for one; `Busy` when none came free."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.max_waiting or self.wait_seconds <= 0:
            raise Busy(self.retry_after)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        expiry = loop.call_later(self.wait_seconds, self._expire, waiter)
        try:
            admitted = await waiter
        except asyncio.CancelledError:
            # The client left (or the server stops): a slot handed over meanwhile goes to the next one.
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.leave()
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        finally:
            expiry.cancel()
        if not admitted:
            raise Busy(self.retry_after)

    def leave(self) -> None:
        """Give the slot back: to the oldest waiter if any, else to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot passes on: in_flight stays the same
                return
        self.in_flight -= 1

    def _expire(self, waiter: asyncio.Future[bool]) -> None:
        if not waiter.done():
            waiter.set_result(False)
            self._waiters.remove(waiter)

    async def __aenter__(self) -> Gate:
        await self.enter()
        return self

    async def __aexit__(self, *_: object) -> None:
        self.leave()


@dataclass
class AdmissionGates:
    """The process's gates, kept on `app.state.admission` (tests fill them to see refusals)."""

    expensive: Gate
    sta_reads: Gate  # taken by `sensing.api` around the query of a SensorThings GET

    @classmethod
    def from_settings(cls, settings: Settings) -> AdmissionGates:
        return cls(
            Gate.from_settings(settings.admission_max_concurrent, settings),
            Gate.from_settings(settings.sta_max_concurrent_reads, settings),
        )


def is_expensive(scope: Scope) -> bool:
    return scope["method"] in QUEUED_METHODS and not scope["path"].startswith(EXEMPT_PREFIXES)


class Admission:
    """ASGI middleware: expensive requests pass the process's gate; a refusal is answered by the app's own
    HTTP error handler, so it comes in the path's format (Open311 error list, SensorThings error object, the
    JSON APIs' error, the HTML error page). Installed inside the session and language middlewares, which the
    HTML page needs; outside the routes, so a waiting request holds no database connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_expensive(scope):
            await self.app(scope, receive, send)
            return
        gate: Gate = scope["app"].state.admission.expensive
        try:
            await gate.enter()
        except Busy as busy:
            await self._refuse(scope, receive, send, busy)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.leave()

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, busy: Busy) -> None:
        request = Request(scope, receive)
        handler = scope["app"].exception_handlers[StarletteHTTPException]
        response = await handler(request, StarletteHTTPException(503, BUSY_MESSAGE, busy.headers))
        await response(scope, receive, send)
