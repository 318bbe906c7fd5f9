"""The feed's refusal (citoyen.errors.Refusal): an English msgid, a kind, a field."""

from __future__ import annotations

from citoyen.errors import Refusal


class FeedError(Refusal):
    """A refused feed action (posting, replying, flagging, paging)."""
