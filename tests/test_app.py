"""The Gradio app: its handlers called directly, then the real server driven through gradio_client."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import os
import subprocess
import unicodedata
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import cv2
import gradio as gr
import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import app
from appkit.handlers import Handlers
from appkit.uploads import RUN_FOLDER
from colorizer.models import ModelSet
from colorizer.naming import result_name
from colorizer.preview import PREVIEW_SIDE, preview
from colorizer.settings import (
    MUTED_TEMPERATURE,
    VIBRANCY_DEFAULT,
    VIVID_TEMPERATURE,
    Settings,
    temperature_for_vibrancy,
)
from colorkit.contract import DEFAULT_TEMPERATURE
from convert import sources
from convert.pins import describe_release_dir
from testkit.app_server import REPO_ROOT, app_command, app_env, free_port
from testkit.fixtures import colorfulness, shared_photos
from testkit.queue_client import call, upload

pytestmark = pytest.mark.slow  # the app's server and subprocesses: not in the quick subset

CORRUPT_MESSAGE = "not a recognised image format"  # colorizer.decode's wording for unknown bytes


def vibrancy_for_temperature(temperature: float) -> float:
    """The inverse of ``temperature_for_vibrancy`` (each half of the scale log-linear), 0.05..1.0."""
    if temperature >= DEFAULT_TEMPERATURE:
        return (
            VIBRANCY_DEFAULT
            * math.log(temperature / MUTED_TEMPERATURE)
            / math.log(DEFAULT_TEMPERATURE / MUTED_TEMPERATURE)
        )
    return VIBRANCY_DEFAULT * (
        1 + math.log(temperature / DEFAULT_TEMPERATURE) / math.log(VIVID_TEMPERATURE / DEFAULT_TEMPERATURE)
    )


def grey_photo(path, width: int = 640, height: int = 480):
    """A grey JPEG or PNG (by suffix) with structure: a gradient, a disc and a bar."""
    y, x = np.mgrid[0:height, 0:width]
    grey = (40 + 150 * x / width + 40 * np.sin(y / 23.0)).astype(np.uint8)
    cv2.circle(grey, (width // 3, height // 2), min(width, height) // 5, 230, -1)
    cv2.rectangle(grey, (width // 2, height // 4), (width // 2 + width // 6, height - height // 4), 20, -1)
    assert cv2.imwrite(str(path), grey)
    return path


def chroma(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> the Lab chroma of each pixel (0 for greys)."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    return np.hypot(lab[..., 1], lab[..., 2])


def read_png(path) -> np.ndarray:
    with open(path, "rb") as stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


# --- the module, without a server ---------------------------------------------------------------


def test_import_loads_no_model_starts_no_server_downloads_nothing(tmp_path):
    # A fresh interpreter: the model path does not exist and every download would fail (a dead proxy),
    # so loading or building the model on import would fail, and a server would keep it running.
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    probe = (
        "import app, gradio; assert isinstance(app.demo, gradio.Blocks); "
        "import gc, colorizer; assert not [o for o in gc.get_objects() if isinstance(o, colorizer.Colorizer)]; "
        "print('imported')"
    )
    done = subprocess.run(
        [app_command()[0], "-c", probe],
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=app_env(
            tmp_path,
            COLORIZER_MODEL=str(tmp_path / "absent.onnx"),
            COLORIZER_CACHE=str(tmp_path),
            HTTPS_PROXY=dead_proxy,
            HTTP_PROXY=dead_proxy,
            https_proxy=dead_proxy,
            http_proxy=dead_proxy,
        ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("imported")
    assert not (tmp_path / "absent.onnx").exists()


def test_app_holds_no_model_path_global():
    assert not hasattr(app, "_model_path") and not hasattr(app, "get_colorizer")


@pytest.fixture
def handlers(synthetic_model, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # the handlers read uploads only from here
    return Handlers(ModelSet(synthetic_model))


def test_handler_colorizes_at_full_size_once_named_after_the_upload(handlers, tmp_path):
    photo = grey_photo(tmp_path / "small.png", 96, 64)
    for value in (str(photo), {"path": str(photo), "orig_name": "My scan.tif"}):  # a path, Gradio's payload
        result = Path(handlers.colorize(value))
        assert result.parent.parent == tmp_path / RUN_FOLDER
        assert result.name == ("small_color.png" if isinstance(value, str) else "My scan_color.png")
        assert sorted(path.name for path in result.parent.iterdir()) == [result.name], "one file per API request"
        rgb = read_png(result)
        assert rgb.shape == (64, 96, 3) and rgb.dtype == np.uint8
        assert chroma(rgb).max() > 1, "no colour added"


def test_result_png_carries_its_provenance(handlers, synthetic_model, tmp_path):
    photo = grey_photo(tmp_path / "small.png", 48, 32)
    with Image.open(handlers.colorize(str(photo), 80, 232, "bicubic")) as image:
        text = dict(image.text)
    assert text["Model SHA-256"] == hashlib.sha256(synthetic_model.read_bytes()).hexdigest()
    assert text["Comment"] == "colorized: colours are predicted, not original"
    assert text["Software"].startswith("colorizer") and "onnxruntime" in text["Software"]
    settings = json.loads(text["Settings"])
    assert settings == {
        "temperature": round(temperature_for_vibrancy(80), 4),
        "render_size": 232,
        "upsample": "bicubic",
        "keep_color": False,
        "precision": "fp32",
    }


def test_page_handler_gives_the_previews_from_the_same_request(handlers, tmp_path):
    photo = grey_photo(tmp_path / "wide.png", 120, 40)
    result, (before, after), message = handlers.colorize_page(
        {"path": str(photo), "orig_name": "wide.png"}, 50, 224, "bilateral", False, "fp32", "eccv16"
    )
    assert Path(before).parent == Path(result).parent and after == result  # small: the result is its own preview
    before_pixels = np.array(Image.open(before))
    assert before_pixels.shape == (40, 120, 3)
    assert np.array_equal(before_pixels[..., 0], cv2.imread(str(photo), cv2.IMREAD_GRAYSCALE))
    assert message.startswith("Colorized 120×40 in ")


def test_page_handler_big_photo_gets_a_small_after_preview(handlers, tmp_path):
    photo = grey_photo(tmp_path / "big.png", PREVIEW_SIDE + 200, 300)
    result, (before, after), _ = handlers.colorize_page(str(photo), 50, 224, "bilinear", False, "fp32", "eccv16")
    with Image.open(before) as first, Image.open(after) as second, Image.open(result) as full:
        assert first.size == second.size == (PREVIEW_SIDE, round(300 * PREVIEW_SIDE / (PREVIEW_SIDE + 200)))
        assert full.size == (PREVIEW_SIDE + 200, 300)


def test_colour_note_only_when_keep_colour_is_off(handlers, tmp_path):
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[:, :40] = (200, 30, 30)
    rgb[:, 40:] = (30, 60, 200)
    path = tmp_path / "colour.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    *_, message = handlers.colorize_page(str(path), 50, 224, "bilinear", False, "fp32", "eccv16")
    assert "colour" in message.split(" s. ", 1)[1].lower()
    *_, kept = handlers.colorize_page(str(path), 50, 224, "bilinear", True, "fp32", "eccv16")
    assert " s. " not in kept and kept.endswith(" s."), "the hint must not repeat when the option is on"


def test_handler_refuses_corrupt_file_with_the_decoders_message(handlers, tmp_path):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(gr.Error) as caught:
        handlers.colorize(str(corrupt))
    assert CORRUPT_MESSAGE in caught.value.message and "broken.jpg" in caught.value.message
    assert not list((tmp_path / RUN_FOLDER).rglob("*.png")), "nothing written for a refused file"


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((None,), "Upload a photo first"),
        (("photo", 50, 224, "nearest"), "unknown upsampling"),
        (("photo", 50, 250), "multiple of 8"),
        (("photo", 50, "256"), "render size must be a number"),
        (("photo", 101), "vibrancy 101.0 must be from 0 to 100"),
        (("photo", float("nan")), "vibrancy must be a finite number"),
        (("photo", 0.001), "temperature"),
        (("photo", 50, 224, "bilinear", "yes"), "keep colour must be true or false"),
        (("photo", 50, 224, "bilinear", False, "fp16"), "unknown precision"),
    ],
    ids=[
        "no upload",
        "bad upsampling",
        "bad render size",
        "string size",
        "vibrancy over 100",
        "NaN",
        "temperature too low",
        "keep colour string",
        "bad precision",
    ],
)
def test_handler_refuses_bad_arguments(handlers, tmp_path, arguments, message):
    photo = str(grey_photo(tmp_path / "small.png", 32, 32))
    with pytest.raises(gr.Error, match=message):
        handlers.colorize(*(photo if argument == "photo" else argument for argument in arguments))


def test_handler_reads_only_regular_files_in_the_uploads(handlers, tmp_path, monkeypatch):
    outside = grey_photo(tmp_path / "outside.png", 32, 32)
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    (uploads / "folder").mkdir(parents=True)
    os.mkfifo(uploads / "fifo.png")
    (uploads / "link.png").symlink_to(outside)
    refused = [
        outside,
        REPO_ROOT / "app.py",
        Path("/etc/passwd"),
        uploads / ".." / "outside.png",
        app.EXAMPLES_DIR / "coffee.jpg",
        uploads,
        uploads / "folder",
        uploads / "fifo.png",
        uploads / "link.png",
        uploads / "absent.png",
        "a\0b.png",
        "x" * 5000,
    ]
    messages = set()
    for path in refused:
        with pytest.raises(gr.Error) as caught:
            handlers.colorize({"path": str(path)})
        messages.add(caught.value.message)
    assert messages == {"Send the photo as a file upload; paths on the server are not accepted."}
    inside = grey_photo(uploads / "inside.png", 32, 32)
    assert read_png(handlers.colorize({"path": str(inside)})).shape == (32, 32, 3)


def test_handler_refuses_files_over_the_size_limit(handlers, tmp_path, monkeypatch):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    monkeypatch.setattr("appkit.uploads.MAX_FILE_BYTES", 32)
    with pytest.raises(gr.Error, match="larger than the limit"):
        handlers.colorize(str(big))


def test_many_photos_keep_the_good_ones_and_list_the_failures(handlers, tmp_path):
    good = [grey_photo(tmp_path / "a.png", 64, 48), grey_photo(tmp_path / "b.jpg", 40, 40)]
    (tmp_path / "twin").mkdir()
    twin = grey_photo(tmp_path / "twin" / "a.png", 30, 20)  # the same name as good[0]
    case = grey_photo(tmp_path / "twin" / "B.JPG", 20, 30)  # good[1]'s name but for case (macOS, Windows)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    payloads = [{"path": str(path), "orig_name": path.name} for path in (good[0], broken, good[1], twin, case)]
    gallery, archive, report = handlers.colorize_many(
        payloads, 50, 224, "bilinear", False, "fp32", "eccv16", progress=lambda *args, **kwargs: None
    )
    names = ["a_png_color.png", "b_jpg_color.png", "a_png_color-2.png", "B_JPG_color-2.png"]  # the CLI's rule
    assert [caption for _, caption in gallery] == names
    with zipfile.ZipFile(archive) as opened:
        assert opened.namelist() == names
        sizes = [Image.open(io.BytesIO(opened.read(name))).size for name in opened.namelist()]
    assert len({name.casefold() for name in names}) == len(names)
    assert sizes == [(64, 48), (40, 40), (30, 20), (20, 30)]
    assert Path(archive).name == "colorized_photos.zip"
    assert report.startswith("Colorized 4 of 5 photos.") and "broken.jpg: not a recognised image format" in report


def test_many_photos_all_broken_is_an_error(handlers, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"")
    with pytest.raises(gr.Error, match="No photo could be colorized"):
        handlers.colorize_many(
            [{"path": str(broken)}], 50, 224, "bilinear", False, "fp32", "eccv16", progress=lambda *args, **kwargs: None
        )


def test_model_line_names_model_and_provider(handlers):
    line, speed = handlers.page_state()
    assert line == "Model `eccv16.onnx` on `CPUExecutionProvider`"
    assert speed["visible"] is False  # no int8 model beside it


@pytest.mark.parametrize("vibrancy, temperature", [(0, 1.0), (50, 0.38), (100, 0.05)])
def test_vibrancy_ends_and_middle(vibrancy, temperature):
    assert temperature_for_vibrancy(vibrancy) == pytest.approx(temperature, abs=1e-12)


def test_vibrancy_rises_with_vividness_and_old_temperatures_still_work():
    values = np.arange(0, 101)
    temperatures = [temperature_for_vibrancy(value) for value in values]
    assert all(later < earlier for earlier, later in itertools.pairwise(temperatures)), "not strictly falling"
    for value in (2, 17.5, 50, 83, 99):
        assert vibrancy_for_temperature(temperature_for_vibrancy(value)) == pytest.approx(value)
    for legacy in (0.05, 0.2, 0.38, 0.9, 1.0):  # version 1 sent the temperature in the same place
        assert Settings.from_request(legacy).temperature == legacy
    assert Settings.from_request(0).temperature == 1.0


def test_higher_vibrancy_is_more_colourful(handlers, tmp_path):
    photo = shared_photos()[0] if shared_photos() else grey_photo(tmp_path / "p.png", 160, 120)
    local = tmp_path / "photo.jpg"
    local.write_bytes(Path(photo).read_bytes())
    scores = [colorfulness(read_png(handlers.colorize(str(local), vibrancy))) for vibrancy in (10, 50, 90)]
    assert scores[0] < scores[1] < scores[2], scores


def test_preview_is_uint8_and_at_most_the_preview_side():
    deep = np.full((3000, 1500), 65535, np.uint16)
    small = preview(deep)
    assert small.dtype == np.uint8 and small.shape == (PREVIEW_SIDE, PREVIEW_SIDE // 2)
    assert small.min() == 255
    tiny = np.zeros((10, 20, 4), np.uint8)
    assert preview(tiny) is tiny  # never enlarged


def test_result_names():
    assert result_name("scan 1.tif") == "scan 1_color.png"
    assert result_name("../../etc/passwd") == "passwd_color.png"
    assert result_name(None) == result_name("") == "photo_color.png"
    assert len(result_name("é" * 300 + ".jpg").encode()) <= 255  # one length rule: a name common file systems take


# --- the command line -----------------------------------------------------------------------------


def test_release_dir_says_what_it_looked_for_and_which_file_differs(tmp_path, synthetic_release):
    (tmp_path / sources.CAFFEMODEL.name).write_bytes(synthetic_release.caffemodel.read_bytes())
    found, lines = describe_release_dir(tmp_path)
    assert found == {"caffemodel": tmp_path / sources.CAFFEMODEL.name}
    assert lines[0] == (
        f"{tmp_path}: looked for {sources.PROTOTXT.name}, {sources.CAFFEMODEL.name}, "
        f"{sources.HULL.name}; missing {sources.PROTOTXT.name}, {sources.HULL.name} "
        "(downloaded instead)"
    )
    assert len(lines) == 2 and lines[1].startswith(f"warning: {tmp_path / sources.CAFFEMODEL.name} ")
    assert f"the official {sources.CAFFEMODEL.name}" in lines[1] and "converting it anyway" in lines[1]


def test_missing_model_offline_exits_2_with_one_line(tmp_path):
    # Every download goes through a proxy that does not exist: fails at once, as offline.
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    model = tmp_path / "models" / "eccv16.onnx"
    done = subprocess.run(
        app_command("--model", str(model), "--port", str(free_port())),
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=app_env(
            tmp_path,
            COLORIZER_CACHE=str(tmp_path / "cache"),
            HTTPS_PROXY=dead_proxy,
            HTTP_PROXY=dead_proxy,
            https_proxy=dead_proxy,
            http_proxy=dead_proxy,
            NO_PROXY="",
            no_proxy="",
        ),
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: could not fetch") and "python -m convert" in last, done.stderr
    assert not model.exists() and "Running on" not in done.stdout


# --- the real server, through gradio_client ------------------------------------------------------


@pytest.fixture(scope="module")
def server_work(app_server):
    return app_server.work  # app.log, and the server's cache in gradio/


@pytest.fixture(scope="module")
def server_url(app_server):
    return app_server.url


@pytest.fixture(scope="module")
def client(server_url, tmp_path_factory):
    return Client(server_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    return grey_photo(tmp_path_factory.mktemp("photos") / "old.jpg", 640, 480)


def test_api_has_two_public_photo_endpoints_returning_one_image(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/colorize", "/colorize_with_hints", "/colorize_video"}
    assert not api["unnamed_endpoints"]
    assert [output["component"] for output in api["named_endpoints"]["/colorize_with_hints"]["returns"]] == ["Image"]
    endpoint = api["named_endpoints"]["/colorize"]
    assert [parameter["parameter_has_default"] for parameter in endpoint["parameters"]] == [False] + [True] * 5
    assert [output["component"] for output in endpoint["returns"]] == ["Image"]


def test_client_gets_a_full_size_png_in_colour(client, photo):
    rgb = read_png(client.predict(handle_file(str(photo)), api_name="/colorize"))
    assert rgb.shape == (480, 640, 3)
    assert chroma(rgb).max() > 1, "no colour added"


def test_download_is_named_after_the_upload_and_stored_once(client, server_work, tmp_path):
    photo = grey_photo(tmp_path / "Grandma 1952.jpg", 321, 203)  # no other test sends this photo
    result = Path(client.predict(handle_file(str(photo)), api_name="/colorize"))
    assert result.name == "Grandma 1952_color.png"
    data = result.read_bytes()
    copies = [path for path in (server_work / "gradio").rglob("*") if path.is_file() and path.read_bytes() == data]
    assert len(copies) == 1, copies


def test_version_1_calls_give_what_the_new_scale_gives(client, photo):
    """Version 1 took the temperature (0.05..1) where vibrancy (0..100) is now: positional and
    keyword calls of that time keep their meaning."""
    old_positional = read_png(client.predict(handle_file(str(photo)), 0.2, 256, "bicubic", api_name="/colorize"))
    old_keyword = read_png(
        client.predict(handle_file(str(photo)), vibrancy=0.2, render_size=256, upsample="bicubic", api_name="/colorize")
    )
    new = read_png(
        client.predict(handle_file(str(photo)), vibrancy_for_temperature(0.2), 256, "bicubic", api_name="/colorize")
    )
    assert np.array_equal(old_positional, old_keyword)
    assert np.abs(old_positional.astype(int) - new).max() <= 1
    default = read_png(client.predict(handle_file(str(photo)), api_name="/colorize"))
    assert np.array_equal(read_png(client.predict(handle_file(str(photo)), 0.38, api_name="/colorize")), default)
    assert np.array_equal(read_png(client.predict(handle_file(str(photo)), 50, api_name="/colorize")), default)


def test_upload_a_photo_first_is_logged_without_a_traceback(client, server_work):
    with pytest.raises(AppError, match="Upload a photo first."):
        client.predict(None, api_name="/colorize")
    log = (server_work / "app.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_client_options_change_the_result(client, photo):
    default = read_png(client.predict(handle_file(str(photo)), api_name="/colorize"))
    vivid = read_png(client.predict(handle_file(str(photo)), 0.1, api_name="/colorize"))
    assert np.abs(vivid.astype(int) - default).max() > 0, "temperature 0.1 gave the default result"
    tuned = read_png(client.predict(handle_file(str(photo)), 0.2, 256, "bicubic", api_name="/colorize"))
    assert tuned.shape == (480, 640, 3) and not np.array_equal(tuned, vivid)


def test_client_keep_colour_and_precision(client, tmp_path):
    """The later optional inputs: keep_colour keeps a colour photo's strong colour; int8 without
    an int8 model is a specific error, and the server goes on."""
    rgb = np.zeros((120, 160, 3), np.uint8)
    rgb[:, :80] = (200, 30, 30)  # strong red and blue halves
    rgb[:, 80:] = (30, 60, 200)
    path = tmp_path / "colour.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    kept = read_png(client.predict(handle_file(str(path)), keep_colour=True, api_name="/colorize"))
    assert np.abs(kept.astype(int) - rgb).max() <= 3, "strong original colour was not kept"
    plain = read_png(client.predict(handle_file(str(path)), api_name="/colorize"))
    assert np.abs(plain.astype(int) - rgb).max() > 20
    with pytest.raises(Exception, match="python -m convert --int8"):
        client.predict(handle_file(str(path)), precision="int8", api_name="/colorize")
    assert read_png(client.predict(handle_file(str(path)), api_name="/colorize")).shape == (120, 160, 3)


def test_client_corrupt_file_gets_the_decoders_message_then_service_goes_on(client, photo, tmp_path):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(Exception, match=CORRUPT_MESSAGE):
        client.predict(handle_file(str(corrupt)), api_name="/colorize")
    assert read_png(client.predict(handle_file(str(photo)), api_name="/colorize")).shape == (480, 640, 3)


@pytest.mark.parametrize("target", ["app.py", "model"])
def test_server_does_not_serve_files_outside_its_cache(server_url, synthetic_model, target):
    path = synthetic_model if target == "model" else REPO_ROOT / target
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"{server_url}gradio_api/file={path}", timeout=30)
    assert refused.value.code in (403, 404)


@pytest.mark.parametrize("route", ["monitoring", "monitoring/summary"])
def test_server_monitoring_is_off(server_url, route):
    # Gradio 6.31 serves these at the root; left at its default, /monitoring/summary answers anyone.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"{server_url}{route}", timeout=30)
    assert refused.value.code == 403


def test_many_photos_zip_names_differ_on_every_file_system(server_url, tmp_path):
    """Round three, item 16, through the page's own queue API: names that differ only in case or in
    Unicode normalisation (macOS takes "Ä" and "A" + a combining diaeresis as one name) get ZIP
    members that differ there too, and every photo is in the ZIP."""
    names = ["A.png", "a.png", "\u00c4.png", "A\u0308.png", "Photo.PNG", "photo.png"]
    files = [(grey_photo(tmp_path / f"{index}.png", 64, 48), name) for index, name in enumerate(names)]
    with httpx.Client(base_url=server_url, trust_env=False, timeout=120) as http:
        payloads = upload(http, files)
        success, output = call(http, "colorize_many", [payloads, 50, 224, "bilinear", False, "fp32", "eccv16"])
        assert success, output
        gallery, archive, report = output
        assert report == f"Colorized {len(names)} of {len(names)} photos."
        zipped = http.get(archive["url"])
        zipped.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as opened:
        members = opened.namelist()
    assert len(members) == len(names), members
    as_macos_compares = {unicodedata.normalize("NFD", member).casefold() for member in members}
    assert len(as_macos_compares) == len(names), members
    assert sorted(item["caption"] for item in gallery) == sorted(members)
