"""The refusal every open-data rule raises (a `citoyen.errors.Refusal`). The CKAN API turns it into CKAN's error
format with `reason`: invalid (CKAN's Validation Error, 409), not_found (404), forbidden (Authorization Error,
403), too_large (a Validation Error with 413), bad_request (400). `fields` are what a Validation Error lists."""

from __future__ import annotations

from citoyen.errors import Kind, Refusal

_KINDS = {"not_found": Kind.NOT_FOUND, "forbidden": Kind.FORBIDDEN}


class OpendataError(Refusal):
    def __init__(self, message: str, reason: str = "invalid", fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, _KINDS.get(reason, Kind.INVALID), next(iter(fields), "") if fields else "")
        self.reason = reason
        self.fields = fields or {}


def invalid(field: str, message: str) -> OpendataError:
    """A Validation Error about one field."""
    return OpendataError(f"{field}: {message}", "invalid", {field: [message]})


def not_found(what: str) -> OpendataError:
    return OpendataError(f"Not found: {what}", "not_found")
