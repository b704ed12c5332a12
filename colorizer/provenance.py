"""What a colorized PNG says about itself: PNG text chunks naming the software, the model, the
settings and that its colours are predicted.

    png = add_png_text(encode_png(rgb), provenance_text(model_sha256, options.describe()))

TODO(cli helper): colorizer.encode is getting ``write_image(path, image, format, quality, text)``;
once it writes text chunks itself, ``add_png_text`` can go and the app pass ``text=`` instead.
"""
from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping

import onnxruntime

from colorizer.errors import ColorizerError

SOFTWARE = f"colorizer (ECCV16, Zhang, Isola and Efros 2016) on onnxruntime {onnxruntime.__version__}"
NOTE = "colorized: colours are predicted, not original"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_END = len(PNG_SIGNATURE) + 4 + 4 + 13 + 4  # signature, then IHDR's length, type, 13 data bytes, CRC

KEY_SOFTWARE = "Software"
KEY_MODEL = "Model SHA-256"
KEY_SETTINGS = "Settings"
KEY_COMMENT = "Comment"


def provenance_text(model_sha256: str, settings: Mapping[str, object]) -> dict[str, str]:
    """The text chunks of a result: keyword -> Latin-1 text."""
    return {KEY_SOFTWARE: SOFTWARE, KEY_MODEL: model_sha256,
            KEY_SETTINGS: json.dumps(dict(settings), sort_keys=True), KEY_COMMENT: NOTE}


def add_png_text(png: bytes, text: Mapping[str, str]) -> bytes:
    """PNG bytes -> the same PNG with one tEXt chunk per entry, right after IHDR (before the pixel
    data, where readers that stop early still see them). Keywords: 1-79 Latin-1 characters."""
    if png[:len(PNG_SIGNATURE)] != PNG_SIGNATURE or png[12:16] != b"IHDR":
        raise ColorizerError("not a PNG: cannot add text chunks")
    chunks = b"".join(_text_chunk(keyword, value) for keyword, value in text.items())
    return png[:_IHDR_END] + chunks + png[_IHDR_END:]


def _text_chunk(keyword: str, value: str) -> bytes:
    if not 1 <= len(keyword) <= 79 or "\0" in keyword:
        raise ColorizerError(f"bad PNG text keyword {keyword!r}")
    data = keyword.encode("latin-1") + b"\0" + value.encode("latin-1", "replace")
    body = b"tEXt" + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))  # length, type+data, CRC
