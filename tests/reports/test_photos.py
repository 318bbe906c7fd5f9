"""Report photos: real images go in, web-sized JPEGs without any metadata come out, anything else is refused."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pillow_heif
import pytest
from PIL import Image, ImageCms

from citoyen.reports import photos
from citoyen.reports.photos import MAX_PHOTO_BYTES, MAX_SIDE, PhotoError, prepare_photo, prepare_photos

GPS_IFD = 0x8825
ORIENTATION = 0x0112
HEIF_CAN_ENCODE = bool(pillow_heif.libheif_info().get("HEIF"))


def encode(image: Image.Image, format: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: the camera, where the photo was taken, how to turn it."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    return exif


def two_halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: shows which way an image was turned."""
    image = Image.new("RGB", (width, height), "red")
    image.paste("blue", (width // 2, 0, width, height))
    return image


def decoded(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def assert_no_metadata(content: bytes) -> None:
    image = decoded(content)
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0
    assert not {"exif", "icc_profile", "comment", "xmp"} & image.info.keys()
    for marker in (b"Exif", b"ICC_PROFILE", b"http://ns.adobe.com/xap/1.0/", b"PhoneMaker", b"secret"):
        assert marker not in content


def close_to(pixel: Any, expected: tuple[int, int, int]) -> bool:
    return all(abs(channel - wanted) <= 12 for channel, wanted in zip(pixel, expected, strict=True))


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size its (absent) data never delivers."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_phone_jpeg_loses_exif_gps_and_all_metadata_but_keeps_its_orientation() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://ns.adobe.com/xap/1.0/"/></x:xmpmeta>'
    data = encode(
        two_halves(400, 200), "JPEG", exif=exif_with_gps(orientation=6), icc_profile=srgb, comment=b"secret", xmp=xmp
    )
    source = Image.open(io.BytesIO(data))
    # The input really carries a position, a profile, a comment and XMP.
    assert source.getexif().get_ifd(GPS_IFD)[2] == (48.0, 51.0, 24.0)
    assert {"icc_profile", "comment", "xmp"} <= source.info.keys()

    photo = prepare_photo(data)

    assert photo.media_type == "image/jpeg"
    assert_no_metadata(photo.content)
    image = decoded(photo.content)
    # Orientation 6: turned a quarter clockwise for display, so the left (red) half is now on top.
    assert (photo.width, photo.height) == image.size == (200, 400)
    assert close_to(image.getpixel((100, 50)), (255, 0, 0))
    assert close_to(image.getpixel((100, 350)), (0, 0, 255))


@pytest.mark.parametrize(("size", "expected"), [((4000, 3000), (1600, 1200)), ((2000, 5000), (640, 1600))])
def test_large_photos_are_downscaled_to_max_side_keeping_their_proportions(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    photo = prepare_photo(encode(Image.new("RGB", size, "green"), "JPEG"))

    assert max(expected) == MAX_SIDE
    assert (photo.width, photo.height) == decoded(photo.content).size == expected


def test_small_photos_are_not_upscaled() -> None:
    photo = prepare_photo(encode(Image.new("RGB", (800, 600), "green"), "JPEG"))

    assert (photo.width, photo.height) == decoded(photo.content).size == (800, 600)


def test_a_transparent_png_is_accepted_and_flattened_on_white() -> None:
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 150, 200))

    photo = prepare_photo(encode(image, "PNG"))

    assert_no_metadata(photo.content)
    result = decoded(photo.content)
    assert result.mode == "RGB"
    assert close_to(result.getpixel((75, 100)), (0, 0, 255))
    assert close_to(result.getpixel((225, 100)), (255, 255, 255))


def test_a_16_bit_greyscale_png_keeps_its_tones() -> None:
    photo = prepare_photo(encode(Image.new("I;16", (100, 100), 32768), "PNG"))

    assert close_to(decoded(photo.content).getpixel((50, 50)), (128, 128, 128))


def test_a_webp_is_accepted_without_its_metadata() -> None:
    photo = prepare_photo(encode(two_halves(300, 200), "WEBP", exif=exif_with_gps()))

    assert_no_metadata(photo.content)
    assert (photo.width, photo.height) == (300, 200)


@pytest.mark.skipif(not HEIF_CAN_ENCODE, reason="this libheif build has no HEIF encoder to make a test image")
def test_a_heic_is_accepted_without_its_metadata_and_keeps_its_orientation() -> None:
    data = encode(two_halves(400, 200), "HEIF", exif=exif_with_gps(orientation=6).tobytes())
    assert Image.open(io.BytesIO(data)).format == "HEIF"

    photo = prepare_photo(data)

    assert_no_metadata(photo.content)
    image = decoded(photo.content)
    assert (photo.width, photo.height) == image.size == (200, 400)
    assert close_to(image.getpixel((100, 50)), (255, 0, 0))


def truncated_jpeg() -> bytes:
    data = encode(Image.effect_noise((400, 400), 64).convert("RGB"), "JPEG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", photos.NOT_A_PHOTO, id="empty"),
        pytest.param(b"Pothole on the corner of Rue Victor Hugo.\n", photos.NOT_A_PHOTO, id="text"),
        pytest.param(truncated_jpeg(), photos.NOT_A_PHOTO, id="truncated-jpeg"),
        pytest.param(encode(Image.new("RGB", (50, 50), "red"), "GIF"), photos.NOT_A_PHOTO, id="gif"),
        pytest.param(encode(Image.new("RGB", (50, 50), "red"), "BMP"), photos.NOT_A_PHOTO, id="bmp"),
        # A valid JPEG followed by padding: refused by its size before any decoding.
        pytest.param(
            encode(Image.new("RGB", (50, 50), "red"), "JPEG").ljust(11 * 1024 * 1024, b"\0"),
            photos.TOO_MANY_BYTES,
            id="11-mb",
        ),
        pytest.param(png_header_claiming(100_000, 100_000), photos.TOO_MANY_PIXELS, id="bomb-header"),
        pytest.param(png_header_claiming(10_000, 7_000), photos.TOO_MANY_PIXELS, id="70-megapixel-header"),
        # Genuinely 64 megapixels, yet only a few kilobytes once compressed.
        pytest.param(encode(Image.new("1", (8000, 8000)), "PNG"), photos.TOO_MANY_PIXELS, id="64-megapixel-png"),
    ],
)
def test_anything_but_a_reasonable_photo_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(PhotoError) as refused:
        prepare_photo(data)

    assert str(refused.value) == message


def test_a_photo_of_exactly_ten_megabytes_is_accepted_one_byte_more_is_not() -> None:
    # JPEG decoders ignore what follows the end-of-image marker: padding makes a valid photo of any size.
    data = encode(Image.new("RGB", (50, 50), "red"), "JPEG")
    assert MAX_PHOTO_BYTES == 10 * 1024 * 1024

    assert prepare_photo(data.ljust(MAX_PHOTO_BYTES, b"\0")).width == 50
    with pytest.raises(PhotoError, match="at most 10 MB"):
        prepare_photo(data.ljust(MAX_PHOTO_BYTES + 1, b"\0"))


def test_up_to_three_photos_per_report() -> None:
    data = encode(Image.new("RGB", (64, 48), "green"), "JPEG")

    assert len(prepare_photos([data] * 3)) == 3
    with pytest.raises(PhotoError) as refused:
        prepare_photos([data] * 4)
    assert str(refused.value) == photos.TOO_MANY_PHOTOS
