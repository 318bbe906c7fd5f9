"""The refusals of the people rules; their `problems` are English msgids, translated where shown."""

from __future__ import annotations

from citoyen.errors import Kind, Refusal


class PeopleError(Refusal):
    """A rule was broken (`citoyen.errors.Refusal`); `problems` are all the msgids, the first is `message`."""

    kind_of_refusal = Kind.INVALID

    def __init__(self, *problems: str) -> None:
        super().__init__(problems[0] if problems else "", self.kind_of_refusal)
        self.problems = list(problems)
        self.args = ("; ".join(problems),)


class LoginThrottled(PeopleError):
    kind_of_refusal = Kind.THROTTLED
