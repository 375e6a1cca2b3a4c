"""webapp/media_check.py: pictures and videos recognised by their bytes; damaged or oversized files refused."""
import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from webapp import media_check
from webapp.media_check import MediaError, check_media


def picture_bytes(fmt: str, size=(48, 27), **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), np.uint8)).save(buffer, fmt, **save)
    return buffer.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fmt, save, mimetype", [
    ("PNG", {}, "image/png"), ("JPEG", {}, "image/jpeg"), ("JPEG", {"progressive": True}, "image/jpeg"),
    ("WEBP", {}, "image/webp"), ("WEBP", {"lossless": True}, "image/webp")])
def test_pictures_are_recognised_with_their_size(tmp_path, fmt, save, mimetype):
    # The file name says nothing: the bytes decide.
    media = check_media(write(tmp_path, "picture.bin", picture_bytes(fmt, **save)))
    assert (media.kind, media.mimetype, media.width, media.height) == ("picture", mimetype, 48, 27)


def test_videos_are_recognised_by_signature(tmp_path):
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + bytes(64)
    mp4 = struct.pack(">I", 24) + b"ftypisom" + bytes(64)
    assert check_media(write(tmp_path, "a.webm", webm)).mimetype == "video/webm"
    assert check_media(write(tmp_path, "b.mp4", mp4)).mimetype == "video/mp4"


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"hello, world", "not a PNG, JPEG or WebP"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska" + bytes(64), "not WebM"),
    (picture_bytes("PNG")[:-12], "truncated PNG"),
    (picture_bytes("JPEG")[:-40], "truncated JPEG"),
    (picture_bytes("WEBP")[:-10], "truncated WebP"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path, data, reason):
    with pytest.raises(MediaError, match=reason):
        check_media(write(tmp_path, "x", data))


def test_a_png_with_a_damaged_chunk_is_refused(tmp_path):
    data = bytearray(picture_bytes("PNG"))
    data[40] ^= 0xFF  # inside IDAT: its CRC no longer matches
    with pytest.raises(MediaError, match="checksum"):
        check_media(write(tmp_path, "x.png", bytes(data)))


def test_size_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(media_check, "MAX_PICTURE_BYTES", 100)
    with pytest.raises(MediaError, match="limit for a picture"):
        check_media(write(tmp_path, "big.png", picture_bytes("PNG")))
    monkeypatch.setattr(media_check, "MAX_VIDEO_BYTES", 100)
    with pytest.raises(MediaError, match="limit for a video"):
        check_media(write(tmp_path, "big.webm", b"\x1a\x45\xdf\xa3webm" + bytes(200)))
    monkeypatch.undo()
    monkeypatch.setattr(media_check, "MAX_PICTURE_SIDE", 40)
    with pytest.raises(MediaError, match="48 x 27 pixels is over the limit"):
        check_media(write(tmp_path, "wide.jpg", picture_bytes("JPEG")))
