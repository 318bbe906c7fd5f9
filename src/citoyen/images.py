"""Uploaded photos (reports, participation): check an upload is a real photo, then re-encode it as a
web-sized JPEG without any metadata.

Photos of public space are public, so EXIF/GPS, comments, XMP and embedded profiles are all dropped;
the original upload is never kept or served, only the re-encoded copy.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageCms, ImageOps

from citoyen.errors import Refusal
from citoyen.i18n import N_

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_SIDE = 1600  # pixels, longest side of the stored photo
# Room for 50 MP phone cameras (8192x6144) while bounding the memory a decoded upload takes.
MAX_PIXELS = 60_000_000
JPEG_QUALITY = 82
# Accepted by the decoded format, never by a file name or a declared content type.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")

NOT_A_PHOTO = N_("This file is not a photo (JPEG, PNG, WebP or HEIC).")
TOO_MANY_BYTES = N_("A photo may be at most 10 MB.")
TOO_MANY_PIXELS = N_("A photo may be at most 60 megapixels.")

# Teaches Pillow to open HEIF/HEIC (iPhone photos); a process-wide plugin registration, idempotent.
pillow_heif.register_heif_opener()


class PhotoError(Refusal):
    """An upload was refused (`citoyen.errors.Refusal`, field "image"); the message is an English msgid."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="image")


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready to store and serve: JPEG bytes without metadata, and their size in pixels."""

    content: bytes
    media_type: str
    width: int
    height: int


def prepare_photo(data: bytes) -> PreparedPhoto:
    """Decode an upload, keep its visual orientation, and re-encode it as a JPEG of at most MAX_SIDE pixels
    a side, in sRGB, with no EXIF, GPS, comment, XMP or ICC profile."""
    if not data:
        raise PhotoError(NOT_A_PHOTO)
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(TOO_MANY_BYTES)
    image = _decode(data)
    image = _to_rgb(_to_srgb(image))
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)  # keeps the aspect ratio, never upscales
    image.info = {}  # JPEG saving would carry a comment (and more) over from here
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return PreparedPhoto(output.getvalue(), "image/jpeg", image.width, image.height)


def _decode(data: bytes) -> Image.Image:
    """The decoded image, turned as EXIF says so that it looks the same once EXIF is gone."""
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as error:
        raise PhotoError(TOO_MANY_PIXELS) from error
    except Exception as error:  # Pillow raises assorted types on malformed or hostile input
        raise PhotoError(NOT_A_PHOTO) from error
    if image.width * image.height > MAX_PIXELS:
        raise PhotoError(TOO_MANY_PIXELS)
    try:
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # big JPEGs decode directly at a reduced scale
        image.load()
        return ImageOps.exif_transpose(image)
    except Exception as error:  # truncated or corrupt data shows only when decoding
        raise PhotoError(NOT_A_PHOTO) from error


def _to_srgb(image: Image.Image) -> Image.Image:
    """Pixels converted to sRGB from an embedded profile (phones often use Display P3), since the
    profile itself is dropped; an unreadable profile leaves the pixels as they are."""
    icc_profile = image.info.get("icc_profile")
    if not icc_profile or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        srgb = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(image, source, srgb, outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
    return converted if converted is not None else image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Plain 8-bit RGB: transparency flattened on white, 16-bit greyscale scaled down rather than clipped."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")
