"""What a refresh of a platform dataset says changed, in French and English ("12 nouvelles lignes dans
signalements.csv" / "12 new rows in signalements.csv"): one short sentence per dataset, naming a few files and
counting the others."""

from __future__ import annotations

# A change note names this many files at most, then says how many more changed.
NOTE_PARTS = 4

Note = tuple[str, str]  # (French, English)


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def first_publication(files: int, rows: int) -> Note:
    return (
        f"Première publication\u00a0: {plural(files, 'fichier', 'fichiers')}, {plural(rows, 'ligne', 'lignes')}.",
        f"First publication: {plural(files, 'file', 'files')}, {plural(rows, 'row', 'rows')}.",
    )


def file_note(name: str, table: bool, rows: int | None, new: bool, previous: int | None) -> Note:
    """What changed in one file: new, grown, shrunk or updated (`rows` None: not a table nor a layer)."""
    if rows is None:
        return f"{name} mis à jour", f"{name} updated"
    french = (
        ("ligne", "lignes", "nouvelle ligne", "nouvelles lignes")
        if table
        else ("objet", "objets", "nouvel objet", "nouveaux objets")
    )
    english = ("row", "rows") if table else ("feature", "features")
    if new:
        return (
            f"nouveau fichier {name} ({plural(rows, french[0], french[1])})",
            f"new file {name} ({plural(rows, *english)})",
        )
    difference = rows - (previous or 0)
    if difference > 0:
        return (
            f"{plural(difference, french[2], french[3])} dans {name}",
            f"{plural(difference, 'new ' + english[0], 'new ' + english[1])} in {name}",
        )
    if difference < 0:
        return (
            f"{plural(-difference, french[0], french[1])} de moins dans {name}",
            f"{plural(-difference, *english)} fewer in {name}",
        )
    updated = "mises à jour" if table else "mis à jour"
    return f"{french[1]} {updated} dans {name}", f"{english[1]} updated in {name}"


def removed(name: str) -> Note:
    return f"fichier {name} retiré", f"file {name} removed"


def sentence(parts: list[str], locale: str) -> str:
    """The changes as one sentence: French puts a non-breaking space before its semicolons; a long list of
    files ends with how many more changed."""
    if len(parts) > NOTE_PARTS:
        more = len(parts) - NOTE_PARTS + 1
        parts = [
            *parts[: NOTE_PARTS - 1],
            f"{more} autres fichiers modifiés" if locale == "fr" else f"{more} more files",
        ]
    text_ = ("\u00a0; " if locale == "fr" else "; ").join(parts)
    if "." in text_.split(" ", 1)[0]:  # it starts with a file name: kept as it is
        return text_ + "."
    return text_[:1].upper() + text_[1:] + "."


def summary(notes: list[Note]) -> Note:
    """The dataset's note: its changes as one sentence per language, or that nothing changed."""
    if not notes:
        return "Aucun changement.", "No change."
    return sentence([fr for fr, _ in notes], "fr"), sentence([en for _, en in notes], "en")
