"""French typography in what the demo seeds: a no-break space before "?" ";" ":" "!" (docs/languages.md), in the
texts as written in the demo's modules and in the categories' questions and reports the demo stores."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import citoyen.demo

# A plain space (or a tab) where French writes a no-break one: before ? ; : !, inside a number ("30 000") and
# before € and %. Python's slices (`rows[first : first + n]`) are not strings and are not read.
PLAIN_SPACE_BEFORE = re.compile(r"[ \t][?;:!]|\d[ \t]\d{3}\b|\d[ \t][€%]")
DEMO_DIR = Path(citoyen.demo.__file__).parent


def plain_spaces(text: str) -> list[str]:
    """The places in `text` where a plain space stands where French wants a no-break one, with some context."""
    return [text[max(0, found.start() - 30) : found.end()] for found in PLAIN_SPACE_BEFORE.finditer(text)]


def test_the_demos_texts_keep_a_no_break_space_before_french_punctuation() -> None:
    found = []
    for path in sorted(DEMO_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [f"{path.name}:{node.lineno}: {place!r}" for place in plain_spaces(node.value)]
    assert found == []


def test_plain_spaces_are_found() -> None:
    assert plain_spaces("Quel avenir ? Rue X\u00a0: oui\u202f; non\u202f!") == ["Quel avenir ?"]
    assert plain_spaces("Quel avenir\u202f? environ 30\u202f000\u00a0€, 12\u00a0%") == []
    assert plain_spaces("environ 30 000 €, 12 %") == ["environ 30 000", "environ 30 000 €, 12 %"]
