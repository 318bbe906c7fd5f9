"""The one helper for bilingual columns (`citoyen.i18n.localized`, `localized(...)` in templates): the English
text for English readers when there is one, the French source otherwise."""

from __future__ import annotations

from citoyen.i18n import localized
from citoyen.participation.models import Process
from citoyen.web.templating import make_templates


def test_english_readers_get_the_english_text_when_there_is_one() -> None:
    assert localized("en", "Voirie", "Roads") == "Roads"
    assert localized("fr", "Voirie", "Roads") == "Voirie"
    assert localized("en", "Voirie", "") == "Voirie"
    assert localized("en", "Voirie", None) == "Voirie"


def test_models_and_templates_use_it() -> None:
    process = Process(title="Budget participatif", title_en="Participatory budget")
    assert process.label("en") == "Participatory budget" and process.label("fr") == "Budget participatif"
    untranslated = Process(title="Budget participatif", title_en="")
    assert untranslated.label("en") == "Budget participatif"
    template = make_templates().env.from_string("{{ localized(process.title, process.title_en) }}")
    assert template.render(process=process, locale="en") == "Participatory budget"
    assert template.render(process=process, locale="fr") == "Budget participatif"
