"""What a photo's file says of itself besides its pixels — EXIF, XMP, IPTC — read from the input
(``read_metadata``) and carried into the output (``colorizer.encode`` places each block), beside the
provenance the colorizer adds (``xmp_with_text`` where the two share XMP).

    metadata = read_metadata(image, (width, height), name)   # an opened Pillow image, as displayed
    metadata.exif, metadata.xmp, metadata.iptc                # bytes or None each

What is kept, and how it changes (docs/color.md lists it for users):
- EXIF: every tag of the first directory and of the EXIF and GPS sub-directories (date taken,
  description, artist, copyright, camera and lens, exposure, place), except the tags that describe
  how the input stored its pixels (``tiff.STRUCTURE``, and an ImageDescription that ImageJ or
  tifffile wrote about its layout), the thumbnail (it shows the black-and-white
  original), the maker notes (their offsets point into the input file) and the interoperability
  pointer. Orientation becomes 1: the pixels are already turned upright. PixelXDimension and
  PixelYDimension, where present, become the output's size.
- XMP: the packet as it is, its tiff:Orientation set to 1 and any provenance of ours it carried
  (an input that was itself an output) taken out.
- IPTC (IIM): the records as they are.
Each block is at most MAX_BLOCK_BYTES (what one JPEG segment holds, so every format can carry what
any can). An EXIF over it first loses its largest tags (over 1 KB each: private data, long comments),
so that the date, description and camera stay; a block still larger is not carried, with a warning, and costs no copy beyond the one Pillow made
while opening the file. Unreadable metadata is a warning too, never a failed photo.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, unescape

from PIL import Image

from colorizer.errors import PILLOW_DATA_ERRORS, PILLOW_PARSER_FAULTS, ColorizerError
from colorizer.preflight import check_exif
from colorizer.tiff import EXIF_IFD, GPS_IFD, ORIENTATION, STRUCTURE, as_read

log = logging.getLogger(__name__)

MAX_BLOCK_BYTES = 64_000  # each of EXIF, XMP, IPTC (a JPEG APP1 segment holds 65,533 bytes)
EXIF_HEADER = b"Exif\0\0"  # before the TIFF structure in JPEG APP1 (and in Pillow's info["exif"])
XMP_NAMESPACE = "urn:bw-colorizer:xmp:1.0:"  # our provenance's XMP property, colorizer:Provenance
_MAKER_NOTE, _INTEROP_IFD, _PIXEL_X, _PIXEL_Y = 0x927C, 0xA005, 0xA002, 0xA003
_DESCRIPTION = 0x010E
_SMALL_VALUE_BYTES = 1024  # a tag this small is never left out to make room: the EXIF is over the cap anyway
# An ImageDescription in which a TIFF writer describes its layout, not the photo: ImageJ's ("ImageJ=1.53t
# images=1 mode=grayscale min=0 max=65535") and tifffile's ({"shape": [h, w]}, as tifffile tells them).
_LAYOUT_DESCRIPTION = re.compile(r'ImageJ=|\{\s*"shape":|shape=\(')
_ORIENTATION_XMP = re.compile(rb'(tiff:Orientation\s*=\s*["\'])\d+(["\'])|(<tiff:Orientation>)\s*\d+\s*(</)')
_OURS = re.compile(
    rb'<rdf:Description rdf:about="" xmlns:colorizer="'
    + re.escape(XMP_NAMESPACE.encode())
    + rb'">.*?</rdf:Description>',
    re.S,
)
# What Pillow's parsers (EXIF, TIFF tags) and EXIF writer raise on data they cannot take, and the
# preflight's refusal of a block that would cost out of proportion.
_FAULTS = PILLOW_DATA_ERRORS + PILLOW_PARSER_FAULTS + (ColorizerError,)
_LEGACY_ITEM = '<rdf:li xml:lang="x-default">'  # the provenance's place in WebP XMP before metadata was kept
_PROVENANCE = re.compile(r"<colorizer:Provenance>(.*?)</colorizer:Provenance>", re.S)


@dataclass(frozen=True)
class Metadata:
    """An input's metadata, ready to write: ``exif`` a TIFF structure (byte order mark first, no
    "Exif" header) with Orientation 1, ``xmp`` a UTF-8 XMP packet, ``iptc`` IPTC-IIM records; None
    for what the input did not have (or is not carried)."""

    exif: bytes | None = None
    xmp: bytes | None = None
    iptc: bytes | None = None

    def exif_directory(self) -> Image.Exif | None:
        """``exif`` parsed (Pillow's Exif: the first directory's tags, ``get_ifd`` for the others)."""
        if self.exif is None:
            return None
        exif = Image.Exif()
        exif.load(self.exif)
        return exif


NO_METADATA = Metadata()


def read_metadata(image: Image.Image, size: tuple[int, int], name: str) -> Metadata:
    """The EXIF, XMP and IPTC of the opened ``image`` (its file already checked by
    ``colorizer.preflight``), changed as the module docstring says for an output of ``size``
    (width, height, as displayed). Reads only what Pillow read when opening the file; a block that
    cannot be read is left out with a warning."""
    blocks: list[bytes | None] = []
    for kind, reader in (("EXIF", _exif), ("XMP", _xmp), ("IPTC", _iptc)):
        try:
            blocks.append(reader(image, size, name))
        except _FAULTS as error:  # metadata never fails a photo
            log.warning("%s: %s not carried: it cannot be read (%s: %s)", name, kind, type(error).__name__, error)
            blocks.append(None)
    return Metadata(*blocks)


def _exif(image: Image.Image, size: tuple[int, int], name: str) -> bytes | None:
    if image.format == "TIFF":  # the TIFF's own first directory is its EXIF
        source = image.getexif()
    else:
        raw = _raw_exif(image)
        if raw is None or not _fits(name, "EXIF", raw):
            return None
        check_exif(raw, name)
        source = Image.Exif()
        source.load(raw)
    kept = Image.Exif()
    for tag, value in source.items():
        if tag == _DESCRIPTION and isinstance(value, str) and _LAYOUT_DESCRIPTION.match(value):
            continue  # it would describe the input's layout as the result's
        if tag not in STRUCTURE | {EXIF_IFD, GPS_IFD}:
            kept[tag] = as_read(value)
    for pointer in (EXIF_IFD, GPS_IFD):
        directory = {
            tag: as_read(value)
            for tag, value in source.get_ifd(pointer).items()
            if tag not in (_MAKER_NOTE, _INTEROP_IFD)
        }
        if pointer == EXIF_IFD:
            directory.update({tag: value for tag, value in zip((_PIXEL_X, _PIXEL_Y), size) if tag in directory})
        if directory:
            kept.get_ifd(pointer).update(directory)
    if not kept and not kept.get_ifd(EXIF_IFD) and not kept.get_ifd(GPS_IFD):
        return None
    kept[ORIENTATION] = 1
    block = kept.tobytes()[len(EXIF_HEADER) :]
    left_out: list[str] = []
    while len(block) > MAX_BLOCK_BYTES and (dropped := _drop_largest_tags(kept, len(block) - MAX_BLOCK_BYTES)):
        left_out += dropped
        block = kept.tobytes()[len(EXIF_HEADER) :]
    if left_out:
        log.warning(
            "%s: EXIF tags %s not carried: the EXIF would be more than the %s bytes a block may hold",
            name,
            ", ".join(left_out),
            f"{MAX_BLOCK_BYTES:,}",
        )
    return block if _fits(name, "EXIF", block) else None


def _drop_largest_tags(exif: Image.Exif, excess: int) -> list[str]:
    """Take ``exif``'s largest values of over 1 KB (a scanner's or ImageJ's private data, a long
    comment) out of its directories (the first, EXIF, GPS), largest first, until they add up to about
    ``excess`` bytes: what goes first when the EXIF is too large, so that the date, description and
    camera stay. Sizes are measured once, so a directory of many large tags costs one pass, not one
    per tag. Returns what was taken out ("tag (size bytes)"); empty when nothing large is left."""
    directories = [exif, exif.get_ifd(EXIF_IFD), exif.get_ifd(GPS_IFD)]
    sizes = [(_value_bytes(values[tag]), index, tag) for index, values in enumerate(directories) for tag in values]
    dropped: list[str] = []
    removed = 0
    for size, index, tag in sorted(sizes, reverse=True):
        if removed >= excess or size <= _SMALL_VALUE_BYTES:
            break
        del directories[index][tag]
        dropped.append(f"{tag} ({size:,} bytes)")
        removed += size
    return dropped


def _value_bytes(value: object) -> int:
    """About the bytes a tag's value takes in the EXIF (numbers at 8 bytes each)."""
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, (tuple, list)):
        return sum(_value_bytes(item) for item in value)
    return 8


def _raw_exif(image: Image.Image) -> bytes | None:
    """The EXIF block Pillow found (JPEG APP1, PNG eXIf, WebP EXIF, HEIF/AVIF), or a PNG's
    ImageMagick text form ("Raw profile type exif": hex), without the "Exif" header; None."""
    raw = image.info.get("exif")
    if not isinstance(raw, bytes):
        text = image.info.get("Raw profile type exif") or image.info.get("Raw profile type APP1")
        raw = _raw_profile(text) if isinstance(text, str) else None
    if not raw:
        return None
    return raw[len(EXIF_HEADER) :] if raw.startswith(EXIF_HEADER) else raw


def _xmp(image: Image.Image, size: tuple[int, int], name: str) -> bytes | None:
    packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    # Sized before anything copies it (a str has at most as many characters as its UTF-8 bytes).
    if not isinstance(packet, (bytes, str)) or not _fits(name, "XMP", packet):
        return None
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    if not packet.strip() or not _fits(name, "XMP", packet):
        return None
    packet = _OURS.sub(b"", packet)  # an earlier output's provenance: the new one replaces it
    return _ORIENTATION_XMP.sub(lambda match: _upright(match), packet)


def _upright(match: re.Match) -> bytes:
    """tiff:Orientation="N" or <tiff:Orientation>N</ -> the same saying 1."""
    if match.group(1) is not None:
        return match.group(1) + b"1" + match.group(2)
    return match.group(3) + b"1" + match.group(4)


def _iptc(image: Image.Image, size: tuple[int, int], name: str) -> bytes | None:
    records: object = None
    if image.format == "JPEG":  # Photoshop's APP13 resources: IPTC is resource 0x0404
        resources = image.info.get("photoshop")
        records = resources.get(0x0404) if isinstance(resources, dict) else None
    elif image.format == "TIFF":
        tags = image.tag_v2  # type: ignore[attr-defined]  # a TiffImageFile
        records = tags.get(33723)
        if isinstance(records, int):
            records = (records,)
        if isinstance(records, tuple) and all(isinstance(value, int) for value in records):  # LONG: as stored
            letter = "I" if tags.tagtype.get(33723) == 4 else "B"
            records = struct.pack(f"{tags._endian}{len(records)}{letter}", *records)
    elif image.format == "PNG":
        text = image.info.get("Raw profile type iptc")
        records = _raw_profile(text) if isinstance(text, str) else None
    if not isinstance(records, bytes) or not records:
        return None
    return records if _fits(name, "IPTC", records) else None


def _fits(name: str, kind: str, block: bytes | str) -> bool:
    """Whether ``block`` is at most MAX_BLOCK_BYTES; else False, with a warning."""
    if len(block) <= MAX_BLOCK_BYTES:
        return True
    log.warning(
        "%s: %s not carried: %s bytes, more than the %s a block may hold",
        name,
        kind,
        f"{len(block):,}",
        f"{MAX_BLOCK_BYTES:,}",
    )
    return False


# --- ImageMagick's PNG text form of a profile ("Raw profile type iptc") -------------------------------


def _raw_profile(text: str) -> bytes | None:
    """ImageMagick's "\\nNAME\\n  LENGTH\\nHEX..." -> the bytes (None when it is not that form)."""
    parts = text.lstrip("\n").split("\n", 2)
    if len(parts) < 3:
        return None
    try:
        length = int(parts[1])
        data = bytes.fromhex("".join(parts[2].split()))
    except ValueError:
        return None
    return data if len(data) == length else None  # its size is the caller's to check (``_fits``)


def raw_profile(kind: str, data: bytes) -> str:
    """``data`` in ImageMagick's PNG text form for a profile of ``kind`` ("iptc"), which exiftool
    and ImageMagick read: a newline, the kind, the length right-aligned in 8, then hex, 72 a line."""
    hexed = data.hex()
    lines = "\n".join(hexed[start : start + 72] for start in range(0, len(hexed), 72))
    return f"\n{kind}\n{len(data):8d}\n{lines}\n"


# --- the provenance in XMP -----------------------------------------------------------------------------


def text_lines(text: Mapping[str, str]) -> str:
    """Entries -> "keyword: value" lines (the form of the JPEG comment and the XMP provenance)."""
    for key, value in text.items():
        if ":" in key or "\n" in key or "\n" in value:
            raise ValueError(f"text entry {key!r} must be one line with no ':' in its keyword")
    return "\n".join(f"{key}: {value}" for key, value in text.items())


def parse_text_lines(block: str) -> dict[str, str]:
    """The inverse of ``text_lines`` (lines without ": " are ignored)."""
    return dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)


def xmp_with_text(text: Mapping[str, str] | None, packet: bytes | None = None) -> bytes | None:
    """An XMP packet holding ``packet`` (the input's, kept whole) and ``text`` (the provenance, as
    ``text_lines`` in colorizer:Provenance, a description of its own beside the input's); None when
    there is neither. A ``packet`` with no rdf:RDF to join is kept as it is and ours is not added to
    it (a warning)."""
    if not text:
        return packet
    ours = (
        f'<rdf:Description rdf:about="" xmlns:colorizer="{XMP_NAMESPACE}">'
        f"<colorizer:Provenance>{escape(text_lines(text))}</colorizer:Provenance></rdf:Description>"
    ).encode()
    if packet is None:
        return (
            b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            + ours
            + b'</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
        )
    end = packet.rfind(b"</rdf:RDF>")
    if end < 0:
        log.warning("XMP without rdf:RDF: kept as it is, the provenance not added to it")
        return packet
    return packet[:end] + ours + packet[end:]


def xmp_text(packet: bytes) -> dict[str, str]:
    """The provenance entries in an XMP ``packet`` (colorizer:Provenance; in a WebP written before
    metadata was kept, its dc:description); {} when there are none."""
    decoded = packet.decode("utf-8", "replace")
    found = _PROVENANCE.search(decoded)
    if found:
        return parse_text_lines(unescape(found.group(1)))
    start = decoded.find(_LEGACY_ITEM)
    end = decoded.find("</rdf:li>", start)
    return parse_text_lines(unescape(decoded[start + len(_LEGACY_ITEM) : end])) if 0 <= start < end else {}
