"""Metadata carried over (issue "Archive-grade photos", item 3): a photo's EXIF (date taken,
description, artist, copyright, camera), XMP and IPTC go from a JPEG, PNG, WebP or TIFF input into
every output format, read back here with Pillow alone; the orientation becomes 1 and the pixels are
upright (a non-square photo, turned); the provenance is added beside them and still read, and
``--resume`` still skips finished outputs; ``--strip-metadata`` leaves none; a block too large is not
carried and costs no copy."""

from __future__ import annotations

import io
import json
import logging
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, IptcImagePlugin, PngImagePlugin, TiffImagePlugin, TiffTags

from colorizer import cli
from colorizer.decode import decode_photo
from colorizer.encode import FORMATS, encode_image
from colorizer.metadata import MAX_BLOCK_BYTES, xmp_text, xmp_with_text
from colorizer.provenance import KEY_MODEL, KEY_SETTINGS, read_provenance

STORED_WIDTH, STORED_HEIGHT = 120, 80  # as stored; orientation 6 shows it 80 wide, 120 high
TAKEN = "1931:05:06 07:08:09"
DESCRIPTION, ARTIST, COPYRIGHT, MAKE, MODEL = (
    "The harbour at dawn",
    "Ann Artist",
    "(c) 1931 Ann Artist",
    "Kodak",
    "No. 2 Brownie",
)
XMP_DESCRIPTION = "Harbour, 1931 & the pier"
CAPTION = b"Fishing boats leaving the harbour"
INPUT_FORMATS = ("jpg", "png", "webp", "tif")


def exif_block() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E], exif[0x013B], exif[0x8298] = DESCRIPTION, ARTIST, COPYRIGHT
    exif[0x010F], exif[0x0110], exif[0x0112] = MAKE, MODEL, 6  # rotate 90 degrees clockwise to display
    exif.get_ifd(0x8769)[0x9003] = TAKEN  # DateTimeOriginal
    exif.get_ifd(0x8769)[0x927C] = b"maker notes with offsets into this file"
    return exif


def xmp_packet(orientation: int = 6, size: int = 0) -> bytes:
    padding = " " * size
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        f'tiff:Orientation="{orientation}"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">'
        "Harbour, 1931 &amp; the pier</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF>"
        f'</x:xmpmeta>{padding}<?xpacket end="w"?>'
    ).encode()


def iptc_records() -> bytes:
    """IPTC-IIM: record 2, dataset 120 (caption), as the standard lays it out."""
    return b"\x1c\x02\x78" + struct.pack(">H", len(CAPTION)) + CAPTION


def stored_pixels() -> np.ndarray:
    """uint8 HxW grey as stored: dark, with a bright block at the stored top-left corner."""
    grey = np.full((STORED_HEIGHT, STORED_WIDTH), 40, np.uint8)
    grey[:20, :30] = 230
    return grey


def write_input(path: Path, *, xmp: bytes | None = None) -> None:
    """The photo as ``path``'s format, with EXIF, XMP and IPTC written by Pillow (and, for what Pillow
    does not write, by the standards' layouts here)."""
    image = Image.fromarray(stored_pixels())
    xmp = xmp or xmp_packet()
    suffix = path.suffix
    if suffix == ".jpg":
        data = io.BytesIO()
        image.save(data, "JPEG", exif=exif_block().tobytes(), xmp=xmp)
        resource = b"8BIM\x04\x04\0\0" + struct.pack(">I", len(iptc_records())) + iptc_records()
        resource += b"\0" * (len(resource) & 1)
        app13 = b"Photoshop 3.0\0" + resource
        jpeg = data.getvalue()
        path.write_bytes(jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(app13) + 2) + app13 + jpeg[2:])
    elif suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
        hexed = iptc_records().hex()
        info.add_text("Raw profile type iptc", f"\niptc\n{len(iptc_records()):8d}\n{hexed}\n", zip=True)
        image.save(path, "PNG", pnginfo=info, exif=exif_block().tobytes())
    elif suffix == ".webp":
        image.save(path, "WEBP", lossless=True, exif=exif_block().tobytes(), xmp=xmp)
    else:
        directory = TiffImagePlugin.ImageFileDirectory_v2()
        for tag, value in exif_block().items():
            directory[tag] = value
        directory[0x8769] = {0x9003: TAKEN}
        directory.tagtype[0x8769] = TiffTags.LONG
        directory[700], directory.tagtype[700] = xmp, TiffTags.BYTE
        directory[33723], directory.tagtype[33723] = iptc_records(), TiffTags.UNDEFINED
        image.save(path, "TIFF", tiffinfo=directory)


def xmp_of(image: Image.Image) -> bytes:
    packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    return packet.encode("utf-8") if isinstance(packet, str) else packet


def iptc_of(image: ImageFile.ImageFile, path: Path) -> object:
    """The caption record of an output, read by Pillow (JPEG, TIFF) or from the PNG text form."""
    if path.suffix == ".png":  # ImageMagick's form: "\niptc\n  length\nhex", the records whole
        text = image.info.get("Raw profile type iptc")
        records = bytes.fromhex("".join(text.split("\n", 3)[3].split())) if text else None
        assert records is None or records[:5] == b"\x1c\x02\x78" + struct.pack(">H", len(CAPTION)), records
        return records[5:] if records else None
    info = IptcImagePlugin.getiptcinfo(image)
    return info.get((2, 120)) if info else None


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tagged")
    for format in INPUT_FORMATS:
        write_input(folder / f"harbour_{format}.{format}")
    return folder


@pytest.fixture(scope="module")
def outputs(inputs, synthetic_model, tmp_path_factory) -> dict[str, Path]:
    """Every input in every output format, through the command line: {format: output folder}."""
    root = tmp_path_factory.mktemp("tagged_out")
    for format in FORMATS:
        status = cli.main([str(inputs), "-o", str(root / format), "--model", str(synthetic_model), "--format", format])
        assert status == 0
    return {format: root / format for format in FORMATS}


@pytest.mark.parametrize("source", INPUT_FORMATS)
@pytest.mark.parametrize("format", FORMATS)
def test_exif_xmp_and_iptc_reach_every_format(outputs, source, format):
    path = outputs[format] / f"harbour_{source}_color.{format}"
    with Image.open(path) as image:
        exif = image.getexif()
        assert (exif.get(0x010E), exif.get(0x013B), exif.get(0x8298)) == (DESCRIPTION, ARTIST, COPYRIGHT)
        assert (exif.get(0x010F), exif.get(0x0110)) == (MAKE, MODEL)
        assert exif.get_ifd(0x8769).get(0x9003) == TAKEN, "date taken"
        assert exif.get(0x0112) == 1, "the orientation must say upright: the pixels are turned already"
        assert 0x927C not in exif.get_ifd(0x8769), "maker notes point into the input file"
        xmp = xmp_of(image)
        assert XMP_DESCRIPTION.replace("&", "&amp;").encode() in xmp
        # Upright (Pillow itself drops the XMP orientation of a TIFF it turned while loading)
        assert set(re.findall(rb'tiff:Orientation="(\d)"', xmp)) <= {b"1"}, xmp
        if "webp" not in (source, format):  # WebP has no place for IPTC (docs/color.md)
            assert iptc_of(image, path) == CAPTION
        # Upright: shown 80 wide and 120 high, the stored top-left block now at the top right.
        assert image.size == (STORED_HEIGHT, STORED_WIDTH)
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    assert grey[:25, -15:].mean() > 150 and grey[:25, :15].mean() < 100 and grey[-25:, -15:].mean() < 100
    text = read_provenance(path)
    assert text[KEY_MODEL] and json.loads(text[KEY_SETTINGS])["format"] == format, "the provenance beside them"


def test_resume_skips_the_finished_outputs_of_every_format(outputs, inputs, synthetic_model):
    for format, folder in outputs.items():
        made = {path: path.stat().st_mtime_ns for path in folder.glob(f"*_color.{format}")}
        assert len(made) == len(INPUT_FORMATS)
        run = [str(inputs), "-o", str(folder), "--model", str(synthetic_model), "--format", format, "--resume"]
        assert cli.main(run) == 0
        assert {path: path.stat().st_mtime_ns for path in made} == made, f"--resume redid {format} outputs"


@pytest.mark.parametrize("format", FORMATS)
def test_strip_metadata_leaves_only_the_provenance(inputs, synthetic_model, tmp_path, format):
    source = inputs / "harbour_jpg.jpg"
    run = [str(source), "-o", str(tmp_path), "--model", str(synthetic_model), "--format", format, "--strip-metadata"]
    assert cli.main(run) == 0
    path = tmp_path / f"harbour_jpg_color.{format}"
    with Image.open(path) as image:
        exif = image.getexif()
        assert not set(exif) & {0x010E, 0x013B, 0x8298, 0x010F, 0x0110}, dict(exif)
        assert not exif.get_ifd(0x8769)
        assert XMP_DESCRIPTION.encode() not in xmp_of(image) and b"Harbour" not in xmp_of(image)
        assert iptc_of(image, path) is None
        assert image.size == (STORED_HEIGHT, STORED_WIDTH), "still upright"
        assert "icc_profile" in image.info or "srgb" in image.info, "still tagged sRGB"
    text = read_provenance(path)
    assert text[KEY_MODEL] and json.loads(text[KEY_SETTINGS])["strip_metadata"] is True


def test_an_outputs_own_xmp_provenance_is_replaced_not_doubled(outputs, synthetic_model, tmp_path):
    """An output colorized again (--force) carries its input's XMP, but one provenance: the new one."""
    earlier = outputs["webp"] / "harbour_jpg_color.webp"
    run = [str(earlier), "-o", str(tmp_path), "--model", str(synthetic_model), "--format", "tiff", "--force"]
    assert cli.main(run) == 0
    with Image.open(tmp_path / "harbour_jpg_color_color.tiff") as image:
        xmp = xmp_of(image)
    assert xmp.count(b"<colorizer:Provenance>") == 1 and XMP_DESCRIPTION.replace("&", "&amp;").encode() in xmp
    assert "harbour_jpg_color.webp" not in read_provenance(tmp_path / "harbour_jpg_color_color.tiff")[KEY_SETTINGS]


def test_provenance_and_the_users_xmp_share_one_packet():
    text = {"Software": "colorizer test", KEY_MODEL: "ab" * 32}
    merged = xmp_with_text(text, xmp_packet(1))
    assert xmp_text(merged) == text
    ours = re.compile(
        rb'<rdf:Description rdf:about="" xmlns:colorizer="[^"]+"><colorizer:Provenance>.*?</rdf:Description>', re.S
    )
    assert len(ours.findall(merged)) == 1 and ours.sub(b"", merged) == xmp_packet(1), "the user's packet, whole"
    assert xmp_text(xmp_with_text(text)) == text
    assert xmp_with_text(None, b"<x/>") == b"<x/>"


def test_webp_provenance_written_before_metadata_was_kept_is_still_read():
    """WebP outputs made before held the provenance in dc:description: --resume must still know them."""
    legacy = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">'
        "Software: colorizer &lt;old&gt;\nModel SHA-256: 00</rdf:li></rdf:Alt></dc:description></rdf:Description>"
        '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    ).encode()
    assert xmp_text(legacy) == {"Software": "colorizer <old>", KEY_MODEL: "00"}


@pytest.mark.parametrize("source", ["png", "webp", "tif"])
def test_a_block_over_the_cap_is_not_carried(tmp_path, caplog, source):
    """An XMP larger than MAX_BLOCK_BYTES (a hostile file's 60 MB, here 1 MB) is left out with a warning;
    the EXIF still comes."""
    path = tmp_path / f"big.{source}"
    write_input(path, xmp=xmp_packet(size=1 << 20))
    with caplog.at_level(logging.WARNING, logger="colorizer.metadata"):
        pixels, metadata = decode_photo(path.read_bytes(), name=path.name)
    assert metadata.xmp is None and metadata.exif is not None
    assert pixels.shape[:2] == (STORED_WIDTH, STORED_HEIGHT)
    assert f"more than the {MAX_BLOCK_BYTES:,}" in caplog.text and path.name in caplog.text


def test_unreadable_exif_is_a_warning_not_a_failure(tmp_path, caplog):
    path = tmp_path / "broken.png"
    info = PngImagePlugin.PngInfo()
    info.add(b"eXIf", b"MM\0*\0\0\0\x08\x00\x05" + b"\xff" * 7)  # a directory of 5 entries cut short
    Image.fromarray(stored_pixels()).save(path, "PNG", pnginfo=info)
    with caplog.at_level(logging.WARNING):
        pixels, metadata = decode_photo(path.read_bytes(), name=path.name)
    assert metadata.exif is None and pixels.shape[:2] == (STORED_HEIGHT, STORED_WIDTH)


@pytest.mark.parametrize("source", ["jpg", "tif"])
@pytest.mark.parametrize("format", FORMATS)
def test_text_that_is_not_ascii_is_carried_byte_for_byte(tmp_path, source, format):
    """EXIF's text tags are ASCII by the standard, but cameras, Lightroom, exiftool and Windows write
    UTF-8 there (a description, an artist's name): it must come out as it went in, not as "?"."""
    description, artist = "Überfahrt — the harbour at dawn".encode(), "Zoë Müller".encode()
    exif = Image.Exif()
    exif[0x010E], exif[0x013B] = description, artist
    exif.get_ifd(0x8769)[0x9003] = TAKEN
    path = tmp_path / f"utf8.{source}"
    if source == "jpg":
        Image.fromarray(stored_pixels()).save(path, "JPEG", exif=exif.tobytes())
    else:
        directory = TiffImagePlugin.ImageFileDirectory_v2()
        directory[0x010E], directory[0x013B] = description, artist
        Image.fromarray(stored_pixels()).save(path, "TIFF", tiffinfo=directory)
    _pixels, metadata = decode_photo(path.read_bytes(), name=path.name)
    written = encode_image(np.zeros((8, 8, 3), np.uint8), format, metadata=metadata)
    with Image.open(io.BytesIO(written)) as image:
        carried = image.getexif()
    as_stored = [carried.get(tag, "").encode("latin-1") for tag in (0x010E, 0x013B)]  # Pillow reads Latin-1
    assert as_stored == [description, artist], f"{source} -> {format}: {as_stored}"


@pytest.mark.parametrize("writer", ["imagej", "shaped"])
def test_a_tiff_writers_description_of_its_layout_is_not_carried(tmp_path, writer):
    """tifffile and ImageJ (Fiji) describe the input's layout in its ImageDescription (ImageJ's
    "images=1 mode=grayscale min= max=", tifffile's {"shape": [h, w]}): carried into an RGB result it
    made tifffile read a shape the pixels do not have and Fiji show the colour as grey. A user's
    description is carried (the other tests)."""
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / f"{writer}.tif"
    grey = np.linspace(0, 65535, 40 * 60).reshape(40, 60).astype(np.uint16)
    tifffile.imwrite(path, grey, imagej=writer == "imagej", metadata={} if writer == "shaped" else None)
    with tifffile.TiffFile(path) as written:
        assert written.is_imagej or written.is_shaped, "the input must carry its writer's description"
    _pixels, metadata = decode_photo(path.read_bytes(), name=path.name)
    output = tmp_path / "out.tiff"
    output.write_bytes(encode_image(np.zeros((40, 60, 3), np.uint16), "tiff", metadata=metadata))
    with tifffile.TiffFile(output) as result:
        assert not (result.is_imagej or result.is_shaped), result.pages[0].description
        assert result.series[0].shape == (40, 60, 3)


def test_a_16_bit_tiffs_transfer_function_is_left_out_and_its_exif_carried(tmp_path):
    """A TransferFunction (tag 301) describes the input's tone curve, not the sRGB result's; a 16-bit
    scan's holds 65,536 numbers (128 KB), which took the EXIF past the cap: the date and description
    were lost with it."""
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "curve.tif"
    grey = np.linspace(0, 65535, 40 * 60).reshape(40, 60).astype(np.uint16)
    curve = (np.linspace(0, 1, 1 << 16) ** (1 / 2.2) * 65535).astype(np.uint16)
    curve_tag = (301, "H", 1 << 16, curve)
    tifffile.imwrite(path, grey, description=DESCRIPTION, datetime=TAKEN, metadata=None, extratags=[curve_tag])
    _pixels, metadata = decode_photo(path.read_bytes(), name=path.name)
    carried = metadata.exif_directory()
    assert carried is not None, "the EXIF was left out"
    assert (carried.get(0x010E), carried.get(0x0132)) == (DESCRIPTION, TAKEN)
    assert 301 not in carried


def test_a_png_raw_profile_over_the_cap_is_left_out_with_a_warning(tmp_path, caplog):
    """ImageMagick's text form of an IPTC block larger than MAX_BLOCK_BYTES: not carried, and said so
    (as for every other block over the cap), not dropped in silence."""
    records = (b"\x1c\x02\x19" + struct.pack(">H", 200) + b"k" * 200) * (MAX_BLOCK_BYTES // 200)
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type iptc", f"\niptc\n{len(records):8d}\n{records.hex()}\n", zip=True)
    path = tmp_path / "keywords.png"
    Image.fromarray(stored_pixels()).save(path, "PNG", pnginfo=info)
    with caplog.at_level(logging.WARNING, logger="colorizer.metadata"):
        _pixels, metadata = decode_photo(path.read_bytes(), name=path.name)
    assert metadata.iptc is None
    assert "IPTC not carried" in caplog.text and path.name in caplog.text


def test_a_large_private_tag_is_left_out_and_the_rest_of_the_exif_carried(tmp_path, caplog):
    """A TIFF with a large private tag (ImageJ's 50839, a scanner's data: here 100 KB) took the EXIF
    past the cap, and the date, description and artist were lost with it: now only the large tag
    goes, and the warning names it."""
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "scanner.tif"
    grey = np.linspace(0, 65535, 40 * 60).reshape(40, 60).astype(np.uint16)
    private = (50839, "B", 100_000, bytes(range(256)) * 390 + bytes(160))
    artist = (0x013B, "s", 0, ARTIST, True)
    tifffile.imwrite(path, grey, description=DESCRIPTION, datetime=TAKEN, metadata=None, extratags=[private, artist])
    with caplog.at_level(logging.WARNING, logger="colorizer.metadata"):
        _pixels, metadata = decode_photo(path.read_bytes(), name=path.name)
    carried = metadata.exif_directory()
    assert carried is not None, "the whole EXIF was left out"
    assert (carried.get(0x010E), carried.get(0x0132), carried.get(0x013B)) == (DESCRIPTION, TAKEN, ARTIST)
    assert 50839 not in carried
    assert "EXIF tags 50839 (100,000 bytes) not carried" in caplog.text and path.name in caplog.text


def test_many_large_private_tags_are_left_out_and_the_rest_of_the_exif_carried(tmp_path, caplog):
    """Eighty private tags of 2,000 bytes each (160 KB): as many as needed go, largest first, and the
    date and description stay; the warning names what went."""
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "many.tif"
    grey = np.linspace(0, 65535, 40 * 60).reshape(40, 60).astype(np.uint16)
    private = [(65000 + index, "B", 2000 + index, bytes(2000 + index), True) for index in range(80)]
    tifffile.imwrite(path, grey, description=DESCRIPTION, datetime=TAKEN, metadata=None, extratags=private)
    with caplog.at_level(logging.WARNING, logger="colorizer.metadata"):
        _pixels, metadata = decode_photo(path.read_bytes(), name=path.name)
    carried = metadata.exif_directory()
    assert carried is not None, "the whole EXIF was left out"
    assert (carried.get(0x010E), carried.get(0x0132)) == (DESCRIPTION, TAKEN)
    assert metadata.exif is not None and len(metadata.exif) <= MAX_BLOCK_BYTES
    kept = sorted(tag for tag in carried if tag >= 65000)
    gone = [tag for tag in range(65000, 65080) if tag not in kept]
    assert gone and kept, "either none or all of the private tags went"
    assert min(gone) > max(kept), "the largest did not go first"
    assert f"EXIF tags {65079} (2,079 bytes)" in caplog.text and path.name in caplog.text
