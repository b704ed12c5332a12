"""What a file's first bytes announce: a photo format, or a film container. One table for both
questions, asked by the photo decoder (to word a refusal) and by the film reader (photo or film?).

    image_kind(head)  # "JPEG", "PNG", "HEIC", "HEIF/AVIF", ... or None
    film_kind(head)   # "MP4/MOV", "Matroska/WebM", "AVI", ... or None

``head``: the file's first bytes, 32 at least (a HEIF file's compatible brands need up to 256).
"""

from __future__ import annotations

# Magic numbers of the photo formats, at the start of the file.
IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
)
# ISO-BMFF brands of still images (HEIF, AVIF); of those, the HEVC-coded ones phones call HEIC.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"})
HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})  # ISO-BMFF sound alone
FILM_SIGNATURES = (
    (b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (b"FLV", "FLV"),
    (b"\x00\x00\x01\xba", "MPEG-PS"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "ASF/WMV"),
)


def image_kind(head: bytes) -> str | None:
    """The photo format the first bytes of a file announce ("JPEG", "PNG", "HEIC", "HEIF/AVIF", ...),
    or None."""
    for signature, kind in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "HEIC" if looks_like_heic(head) else "HEIF/AVIF"
    return None


def film_kind(head: bytes) -> str | None:
    """The film container the first bytes of a file announce ("MP4/MOV", "AVI", ...), or None."""
    for signature, kind in FILM_SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if (head[4:8] == b"ftyp" and head[8:12] not in HEIF_BRANDS | AUDIO_BRANDS) or head[4:8] in (b"moov", b"mdat"):
        return "MP4/MOV"
    return None


def looks_like_heic(head: bytes) -> bool:
    """An ISO-BMFF 'ftyp' box whose major or compatible brands name HEVC-coded HEIF."""
    if head[4:8] != b"ftyp" or len(head) < 12:
        return False
    box_size = int.from_bytes(head[0:4], "big")
    brands = head[8:12] + head[16 : min(box_size, 256)]  # major brand, then compatible brands
    return any(brands[i : i + 4] in HEIC_BRANDS for i in range(0, len(brands) - 3, 4))
