"""The hostile-input corpus (testkit/hostile_corpus.py) sent through gradio_client to a real server.

Each file is either colorized correctly (displayed size, alpha kept or not, output lightness following
the input's where the colour is in gamut, which also pins the orientation) or refused with a one-line
message naming the file and the problem; after every file the server colorizes a normal photo.
"""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from testkit.app_server import running_app
from testkit.hostile_corpus import Colorize, HostileFile, Refuse, hostile_corpus, scene

CORPUS = hostile_corpus()
MIN_IN_GAMUT = 0.2  # below this share of unclipped pixels the mean L error says little (e.g. 1-bit)


@pytest.fixture(scope="module")
def server_url(synthetic_model, tmp_path_factory):
    with running_app(synthetic_model, tmp_path_factory.mktemp("hostile_server")) as url:
        yield url


@pytest.fixture(scope="module")
def client(server_url, tmp_path_factory):
    return Client(server_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def normal_photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("normal") / "normal.png"
    Image.fromarray(scene(80, 48)).save(path)
    return path


def read_png(path) -> np.ndarray:
    """The PNG the server returned, as uint8 HxWx3 or HxWx4."""
    with open(path, "rb") as stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as image:
        assert image.mode in ("RGB", "RGBA"), image.mode
        return np.array(image)


def lightness(rgb_unit: np.ndarray) -> np.ndarray:
    """float32 HxWx3 RGB in 0..1 -> Lab L, 0..100."""
    return cv2.cvtColor(rgb_unit.astype(np.float32), cv2.COLOR_RGB2Lab)[..., 0]


def check_colorized(output: np.ndarray, expect: Colorize, name: str) -> None:
    channels = 4 if expect.alpha else 3
    assert output.shape == (expect.height, expect.width, channels), \
        f"{name}: got {output.shape}, expected {(expect.height, expect.width, channels)} (H, W, C)"
    colour = output[..., :3]
    out_l = lightness(colour / 255)
    expected_l = lightness(cv2.cvtColor(expect.grey, cv2.COLOR_GRAY2RGB))
    in_gamut = np.all((colour > 0) & (colour < 255), axis=2)  # there L survives the RGB round trip
    if in_gamut.mean() >= MIN_IN_GAMUT:
        error = np.abs(out_l - expected_l)[in_gamut].mean()
        assert error <= expect.l_tolerance, f"{name}: mean |L out - L in| {error:.2f} > {expect.l_tolerance}"
    if expected_l.std() > 1:  # a flip or rotation would break this (the scene has no symmetry)
        correlation = np.corrcoef(out_l.ravel(), expected_l.ravel())[0, 1]
        assert correlation > 0.9, f"{name}: output L correlates {correlation:.3f} with the input's"


def test_corpus_covers_the_issue():
    names = {item.name for item in CORPUS}
    assert len(CORPUS) >= 25
    for required in ("bomb.png", "bomb.jpg", "empty.png", "notes.jpg", "truncated.jpg", "truncated.png",
                     "grey16.png", "palette_transparent.png", "animated.gif", "animated.webp", "cmyk.jpg",
                     "exif_rotate_90.jpg", "progressive.jpg", "multipage.tiff", "photo.bmp", "logo.svg",
                     "photo.heic", "one_pixel.png", "strip_20000x200.png", "png_named.jpg"):
        assert required in names, required


@pytest.mark.parametrize("item", CORPUS, ids=[item.name for item in CORPUS])
def test_hostile_file_then_a_normal_request(client, item: HostileFile, normal_photo, tmp_path):
    path = tmp_path / item.name
    path.write_bytes(item.data)

    if isinstance(item.expect, Refuse):
        with pytest.raises(AppError) as refused:
            client.predict(handle_file(str(path)), api_name="/colorize")
        message = str(refused.value)
        assert re.search(item.expect.pattern, message), f"{item.name}: message {message!r}"
        assert "\n" not in message and "Traceback" not in message
    else:
        check_colorized(read_png(client.predict(handle_file(str(path)), api_name="/colorize")),
                        item.expect, item.name)

    after = read_png(client.predict(handle_file(str(normal_photo)), api_name="/colorize"))
    assert after.shape == (48, 80, 3), f"the server misbehaved after {item.name}"
