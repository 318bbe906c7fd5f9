"""Report photos: at most a few per report, each prepared by `citoyen.images` (re-encoded, no metadata)."""

from __future__ import annotations

from citoyen.i18n import N_
from citoyen.images import (
    MAX_PHOTO_BYTES,
    MAX_SIDE,
    NOT_A_PHOTO,
    TOO_MANY_BYTES,
    TOO_MANY_PIXELS,
    PhotoError,
    PreparedPhoto,
    prepare_photo,
)

MAX_PHOTOS = 3
TOO_MANY_PHOTOS = N_("At most 3 photos per report.")

__all__ = [
    "MAX_PHOTOS",
    "MAX_PHOTO_BYTES",
    "MAX_SIDE",
    "NOT_A_PHOTO",
    "TOO_MANY_BYTES",
    "TOO_MANY_PHOTOS",
    "TOO_MANY_PIXELS",
    "PhotoError",
    "PreparedPhoto",
    "prepare_photo",
    "prepare_photos",
]


def prepare_photos(files: list[bytes]) -> list[PreparedPhoto]:
    """The photos of one report, each prepared; at most MAX_PHOTOS."""
    if len(files) > MAX_PHOTOS:
        raise PhotoError(TOO_MANY_PHOTOS)
    return [prepare_photo(data) for data in files]
