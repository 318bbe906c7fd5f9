"""The two wire formats of a SensorThings batch request (18-088 §11.2, after OData 4.01): `multipart/mixed`
with change sets (OData Part 1 §11.7) and the JSON batch (OData JSON Format 4.01 §19). Both are read into
`Unit`s of `Part`s (a unit is one request, or an atomic change set / atomicity group), and the answers are
written back in the format the client sent. No database here: `batch.py` runs the parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Any
from uuid import uuid4

from citoyen import fastjson
from citoyen.sensing.context import StaError
from citoyen.sensing.validation import load_json

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
MULTIPART = "multipart/mixed"
_HTTP_LINE = re.compile(r"^([A-Za-z]+)[ \t]+(\S+)(?:[ \t]+HTTP/1\.[01])?[ \t]*$")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


class BatchError(StaError):
    """The batch itself is malformed: nothing of it runs."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status, message)


@dataclass(frozen=True)
class BatchLimits:
    requests: int = 1_000  # requests in one batch, all units together
    bytes: int = 10_000_000  # the batch's body


@dataclass
class Part:
    """One request of a batch: its id (multipart `Content-ID`, JSON `id`), method, URL as sent, headers (names in
    lower case) and body bytes."""

    id: str | None
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    depends_on: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return self.method != "GET"


@dataclass
class Unit:
    """A request alone, or an atomic change set / atomicity group: all of its parts are stored, or none."""

    parts: list[Part]
    atomic: bool = False
    group: str | None = None  # the JSON batch's atomicityGroup


@dataclass
class Answer:
    """What one part answers: a status, headers, and a JSON document or a raw text (`$value`), or nothing."""

    status: int
    document: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, message: str) -> Answer:
        return cls(status, {"code": status, "type": "error", "message": message})

    def body(self) -> tuple[bytes, str | None]:
        if self.text is not None:
            return self.text.encode(), "text/plain; charset=utf-8"
        if self.document is None:
            return b"", None
        return fastjson.dumps(self.document), "application/json"


@dataclass
class Outcome:
    """The answers of one unit that ran: one per part, or, for an atomic unit that failed, the failure (a multipart
    change set answers it alone; a JSON atomicity group answers every part, the others with 424)."""

    unit: Unit
    answers: list[Answer]
    failed: Answer | None = None


# --- Reading ---


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _boundary(content_type: str) -> str:
    message = Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise BatchError(f"{MULTIPART} needs a boundary parameter in its Content-Type")
    return boundary


def _bodies(raw: bytes, boundary: str) -> list[bytes]:
    """The body parts between `--boundary` lines, up to the closing `--boundary--` (preamble and epilogue dropped)."""
    delimiter = re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    found = list(delimiter.finditer(raw))
    bodies: list[bytes] = []
    for match, following in zip(found, [*found[1:], None], strict=True):
        if match.group(1):
            return bodies
        if following is None:
            break
        bodies.append(raw[match.end() : following.start()])
    raise BatchError(f"the multipart body does not end with the closing delimiter --{boundary}--")


def _headers(block: bytes, what: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        if line[0] in " \t" and headers:  # a folded header goes on
            last = next(reversed(headers))
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise BatchError(f"{what}: {line[:80]!r} is not a header line (Name: value)")
        headers[name.strip().lower()] = value.strip()
    return headers


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    if data.startswith((b"\r\n", b"\n")):
        return b"", data.split(b"\n", 1)[1]
    found = _BLANK_LINE.search(data)
    if found is None:
        return data, b""
    return data[: found.start()], data[found.end() :]


def _http_part(data: bytes, content_id: str | None, what: str) -> Part:
    head, body = _split_head(data)
    lines = head.decode("utf-8", "replace").splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise BatchError(f"{what} has no request line (METHOD URL HTTP/1.1)")
    match = _HTTP_LINE.match(lines[0].strip())
    if match is None:
        raise BatchError(f"{what}: {lines[0][:80]!r} is not a request line (METHOD URL HTTP/1.1)")
    method = match.group(1).upper()
    if method not in METHODS:
        raise BatchError(f"{what}: the method {method} is not one of {', '.join(METHODS)}")
    headers = _headers("\n".join(lines[1:]).encode(), what)
    return Part(content_id or headers.get("content-id"), method, match.group(2), headers, body)


def read_multipart(content_type: str, raw: bytes, limits: BatchLimits) -> list[Unit]:
    """A `multipart/mixed` batch: each part `application/http` (one request) or `multipart/mixed` (a change set)."""
    units: list[Unit] = []
    count = 0
    for index, data in enumerate(_bodies(raw, _boundary(content_type)), start=1):
        head, content = _split_head(data)
        headers = _headers(head, f"part {index}")
        kind = media_type(headers.get("content-type", ""))
        if kind == "application/http":
            units.append(Unit([_http_part(content, headers.get("content-id"), f"part {index}")]))
        elif kind == MULTIPART:
            parts = []
            inner = _bodies(content, _boundary(headers["content-type"]))
            for number, item in enumerate(inner, start=1):
                what = f"part {number} of change set {index}"
                item_head, item_content = _split_head(item)
                item_headers = _headers(item_head, what)
                if media_type(item_headers.get("content-type", "")) != "application/http":
                    raise BatchError(f"{what} must be application/http (a change set holds requests, not change sets)")
                parts.append(_http_part(item_content, item_headers.get("content-id"), what))
            if not parts:
                raise BatchError(f"change set {index} holds no request")
            units.append(Unit(parts, atomic=True))
        else:
            raise BatchError(f"part {index} must be application/http or {MULTIPART} (a change set), not {kind!r}")
        count += len(units[-1].parts)
        if count > limits.requests:
            raise BatchError(f"a batch holds at most {limits.requests:,} requests")
    _check_ids(units)
    return units


def _check_ids(units: list[Unit]) -> None:
    seen: set[str] = set()
    for unit in units:
        for part in unit.parts:
            if part.id is None:
                continue
            if part.id in seen:
                raise BatchError(f"the request id {part.id!r} is used twice in the batch")
            seen.add(part.id)


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise BatchError(f"{what} must be a non-empty string")
    return value


def read_json(raw: bytes, limits: BatchLimits) -> list[Unit]:
    """A JSON batch: `{"requests": [{"id", "method", "url", "headers"?, "body"?, "atomicityGroup"?, "dependsOn"?}]}`.
    Requests of one atomicityGroup must be adjacent; dependsOn names earlier requests or groups."""
    try:
        document = load_json(raw)
    except ValueError as error:
        raise BatchError(f"the batch is not valid JSON: {error}") from None
    requests = document.get("requests") if isinstance(document, dict) else None
    if not isinstance(requests, list):
        raise BatchError('a JSON batch is an object with a "requests" array')
    if len(requests) > limits.requests:
        raise BatchError(f"a batch holds at most {limits.requests:,} requests")
    units: list[Unit] = []
    groups: dict[str, list[str]] = {}
    ids: set[str] = set()
    for index, item in enumerate(requests, start=1):
        what = f"request {index}"
        if not isinstance(item, dict):
            raise BatchError(f"{what} must be a JSON object")
        unknown = set(item) - {"id", "method", "url", "headers", "body", "atomicityGroup", "dependsOn"}
        if unknown:
            raise BatchError(f"{what}: unknown member {sorted(unknown)[0]!r}")
        part_id = _string(item.get("id"), f"{what}: id")
        if part_id in ids or part_id in groups:
            raise BatchError(f"{what}: the id {part_id!r} is used twice in the batch")
        method = _string(item.get("method"), f"{what}: method").upper()
        if method not in METHODS:
            raise BatchError(f"{what}: the method {method} is not one of {', '.join(METHODS)}")
        headers = item.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise BatchError(f"{what}: headers must be an object of strings")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(name, str) for name in depends):
            raise BatchError(f"{what}: dependsOn must be an array of request or group ids")
        needed: list[str] = []
        for name in depends:
            if name in groups:
                needed.extend(groups[name])
            elif name in ids:
                needed.append(name)
            else:
                raise BatchError(f"{what}: dependsOn names {name!r}, which is no earlier request or atomicity group")
        body = item.get("body")
        part = Part(
            part_id,
            method,
            _string(item.get("url"), f"{what}: url"),
            {name.lower(): value for name, value in headers.items()},
            b"" if body is None else fastjson.dumps(body),
            tuple(needed),
        )
        group = item.get("atomicityGroup")
        if group is None:
            units.append(Unit([part]))
        else:
            group = _string(group, f"{what}: atomicityGroup")
            if group in ids:
                raise BatchError(f"{what}: the atomicityGroup {group!r} is also a request id")
            if group in groups and units[-1].group != group:
                raise BatchError(f"{what}: the requests of atomicityGroup {group!r} must be adjacent")
            if units and units[-1].group == group:
                units[-1].parts.append(part)
            else:
                units.append(Unit([part], atomic=True, group=group))
            groups.setdefault(group, []).append(part_id)
        ids.add(part_id)
    return units


# --- Writing ---


def _http_response(answer: Answer, content_id: str | None) -> bytes:
    body, content_type = answer.body()
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}"]
    headers = dict(answer.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["", ""]
    return "\r\n".join(lines).encode() + body


def _multipart(boundary: str, pieces: list[bytes]) -> bytes:
    delimiter = f"--{boundary}\r\n".encode()
    return b"".join(delimiter + piece + b"\r\n" for piece in pieces) + f"--{boundary}--\r\n".encode()


def write_multipart(outcomes: list[Outcome]) -> tuple[bytes, str]:
    """The multipart answer (its body and Content-Type): a change set answers as a change set, or, when it failed,
    with the one response that says why (OData Part 1 §11.7.4)."""
    boundary = f"batchresponse_{uuid4()}"
    pieces = []
    for outcome in outcomes:
        if outcome.failed is not None:
            pieces.append(_http_response(outcome.failed, None))
        elif outcome.unit.atomic:
            inner = f"changesetresponse_{uuid4()}"
            pairs = zip(outcome.unit.parts, outcome.answers, strict=True)
            answers = [_http_response(answer, part.id) for part, answer in pairs]
            pieces.append(f"Content-Type: {MULTIPART}; boundary={inner}\r\n\r\n".encode() + _multipart(inner, answers))
        else:
            pieces.append(_http_response(outcome.answers[0], outcome.unit.parts[0].id))
    return _multipart(boundary, pieces), f"{MULTIPART}; boundary={boundary}"


def write_json(outcomes: list[Outcome]) -> dict[str, Any]:
    """The JSON answer: one response per request that ran, in order (`id`, `atomicityGroup`, `status`, ...)."""
    responses = []
    for outcome in outcomes:
        for part, answer in zip(outcome.unit.parts, outcome.answers, strict=False):
            response: dict[str, Any] = {"id": part.id}
            if outcome.unit.group is not None:
                response["atomicityGroup"] = outcome.unit.group
            response["status"] = answer.status
            if answer.headers:
                response["headers"] = {name.lower(): value for name, value in answer.headers.items()}
            if answer.text is not None:
                response["body"] = answer.text
            elif answer.document is not None:
                response["body"] = answer.document
            responses.append(response)
    return {"responses": responses}
