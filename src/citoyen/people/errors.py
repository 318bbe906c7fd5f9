"""The refusals of the people rules; their `problems` are English msgids, translated where shown."""

from __future__ import annotations


class PeopleError(ValueError):
    """A rule was broken; `problems` are English msgids, translated where they are shown."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class LoginThrottled(PeopleError):
    pass
