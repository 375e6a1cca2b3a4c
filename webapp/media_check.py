"""Is this file a picture or a looping video the page can show? Checked once, at start-up, by content.

Pictures (PNG, JPEG, WebP) are read structurally without the train/test extras: PNG's chunk CRCs and its
IEND, JPEG's frame header and end marker, WebP's RIFF size; and when Pillow is installed they are decoded in
full. Videos (WebM, MP4) are checked by signature and size; the browser decodes them. The kind comes from
the bytes, never from the file name, and so does the MIME type the file is served with.
"""
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

# The same bounds the page puts on a user's own upload (static/js/backgrounds/upload.js, video.js).
MAX_PICTURE_BYTES = 25 * 1024 * 1024
MAX_VIDEO_BYTES = 200 * 1024 * 1024
MAX_PICTURE_SIDE = 16384  # px: the largest texture side browsers promise
MAX_PICTURE_PIXELS = 100_000_000  # 4 bytes each once decoded: 400 MB, about what a phone's tab can spare

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
# JPEG start-of-frame markers (baseline, progressive, ...) that carry the picture's size; not DHT/JPG/DAC.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_HEAD_BYTES = 64  # enough for every signature below


class MediaError(ValueError):
    """The file is not a picture or video we serve; the message says why, in words."""


@dataclass(frozen=True)
class Media:
    kind: str  # "picture" | "video"
    mimetype: str
    width: int | None = None  # px; known for pictures only
    height: int | None = None


def check_media(path: Path) -> Media:
    """What `path` holds, or MediaError with the reason."""
    size = path.stat().st_size
    if size == 0:
        raise MediaError("the file is empty")
    with path.open("rb") as file:
        head = file.read(_HEAD_BYTES)
    if head.startswith(_EBML_MAGIC) or head[4:8] == b"ftyp":
        return _check_video(head, size)
    if size > MAX_PICTURE_BYTES:
        raise MediaError(f"{size / 2**20:.1f} MB is over the {MAX_PICTURE_BYTES // 2**20} MB limit for a picture")
    data = path.read_bytes()
    if data.startswith(_PNG_SIGNATURE):
        media = Media("picture", "image/png", *_png_size(data))
    elif data.startswith(_JPEG_SOI):
        media = Media("picture", "image/jpeg", *_jpeg_size(data))
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        media = Media("picture", "image/webp", *_webp_size(data))
    else:
        raise MediaError("not a PNG, JPEG or WebP picture, nor a WebM or MP4 video")
    if media.width > MAX_PICTURE_SIDE or media.height > MAX_PICTURE_SIDE or media.width * media.height > MAX_PICTURE_PIXELS:
        raise MediaError(f"{media.width} x {media.height} pixels is over the limit ({MAX_PICTURE_SIDE} px a side, "
                         f"{MAX_PICTURE_PIXELS // 1_000_000} megapixels)")
    _decode_with_pillow(path)
    return media


def _check_video(head: bytes, size: int) -> Media:
    if size > MAX_VIDEO_BYTES:
        raise MediaError(f"{size / 2**20:.1f} MB is over the {MAX_VIDEO_BYTES // 2**20} MB limit for a video")
    if head.startswith(_EBML_MAGIC):
        # Matroska and WebM share the EBML header; only the DocType says "webm", which browsers play.
        if b"webm" not in head:
            raise MediaError("a Matroska file that is not WebM (browsers play WebM only)")
        return Media("video", "video/webm")
    return Media("video", "video/mp4")


def _png_size(data: bytes) -> tuple[int, int]:
    position = len(_PNG_SIGNATURE)
    size = None
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        crc_at = position + 8 + length
        if crc_at + 4 > len(data):
            break
        if zlib.crc32(kind + body) != struct.unpack(">I", data[crc_at:crc_at + 4])[0]:
            raise MediaError(f"a damaged PNG (chunk {kind.decode('latin-1')!r} fails its checksum)")
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        if kind == b"IEND":
            if not size or 0 in size:
                raise MediaError("a PNG without a picture size")
            return size
        position = crc_at + 4
    raise MediaError("a truncated PNG (no end chunk)")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise MediaError("a truncated JPEG (no end marker)")
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise MediaError("a damaged JPEG (bad marker)")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        (length,) = struct.unpack(">H", data[position + 2:position + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            if not width or not height:
                raise MediaError("a JPEG without a picture size")
            return width, height
        if marker == 0xDA:  # start of scan before any frame header
            break
        position += 2 + length
    raise MediaError("a damaged JPEG (no frame header)")


def _webp_size(data: bytes) -> tuple[int, int]:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 > len(data):
        raise MediaError("a truncated WebP")
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise MediaError("a damaged WebP (no VP8, VP8L or VP8X header)")


def _decode_with_pillow(path: Path) -> None:
    # Pillow comes with the test and train extras, not with serving; where it is, every pixel is decoded.
    try:
        from PIL import Image
    except ImportError:
        return
    try:
        with Image.open(path) as image:
            image.load()
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, struct.error, ...)
        raise MediaError(f"the picture does not decode ({exc})") from None
