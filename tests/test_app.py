"""The Gradio app: its handlers called directly, then the real server driven through gradio_client."""
from __future__ import annotations

import subprocess
import urllib.error
from pathlib import Path
import urllib.request

import cv2
import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

import app
from testkit.app_server import REPO_ROOT, app_command, app_env, free_port, running_app

CORRUPT_MESSAGE = "not a recognised image format"  # colorizer.decode's wording for unknown bytes


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
    probe = ("import app, gradio; assert isinstance(app.demo, gradio.Blocks); "
             "assert app.get_colorizer.cache_info().currsize == 0; print('imported')")
    done = subprocess.run(
        [app_command()[0], "-c", probe], check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env=app_env(tmp_path, COLORIZER_MODEL=str(tmp_path / "absent.onnx"), COLORIZER_CACHE=str(tmp_path),
                    HTTPS_PROXY=dead_proxy, HTTP_PROXY=dead_proxy, https_proxy=dead_proxy, http_proxy=dead_proxy))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("imported")
    assert not (tmp_path / "absent.onnx").exists()


def test_demo_is_blocks():
    assert isinstance(app.demo, gr.Blocks)


@pytest.fixture
def app_on_synthetic_model(monkeypatch, synthetic_model, tmp_path):
    monkeypatch.setenv("COLORIZER_MODEL", str(synthetic_model))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # the handler reads uploads only from here
    monkeypatch.setattr(app, "_model_path", None)
    app.get_colorizer.cache_clear()
    yield app
    app.get_colorizer.cache_clear()


def test_handler_colorizes_at_full_size(app_on_synthetic_model, tmp_path):
    photo = grey_photo(tmp_path / "small.png", 96, 64)
    for value in (str(photo), {"path": str(photo), "orig_name": "small.png"}):  # a path, Gradio's payload
        result = app.colorize(value)
        assert Path(result).parent == tmp_path / "results"
        rgb = read_png(result)
        assert rgb.shape == (64, 96, 3) and rgb.dtype == np.uint8
        assert chroma(rgb).max() > 1, "no colour added"


def test_handler_refuses_corrupt_file_with_the_decoders_message(app_on_synthetic_model, tmp_path):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(gr.Error) as caught:
        app.colorize(str(corrupt))
    assert CORRUPT_MESSAGE in caught.value.message and "broken.jpg" in caught.value.message


@pytest.mark.parametrize("arguments, message", [
    ((None,), "Upload a photo first"),
    (("photo", 0.38, 224, "nearest"), "unknown colour upsampling"),
    (("photo", 0.38, 250), "multiple of 8"),
    (("photo", 0.0), "temperature"),
], ids=["no upload", "bad upsampling", "bad render size", "bad temperature"])
def test_handler_refuses_bad_arguments(app_on_synthetic_model, tmp_path, arguments, message):
    photo = str(grey_photo(tmp_path / "small.png", 32, 32))
    with pytest.raises(gr.Error, match=message):
        app.colorize(*(photo if argument == "photo" else argument for argument in arguments))


def test_handler_reads_only_uploads_and_examples(app_on_synthetic_model, tmp_path, monkeypatch):
    outside = grey_photo(tmp_path / "outside.png", 32, 32)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    for path in (outside, REPO_ROOT / "app.py", Path("/etc/passwd"), tmp_path / "uploads" / ".." / "outside.png",
                 app.EXAMPLES_DIR / "coffee.jpg"):
        with pytest.raises(gr.Error, match="paths on the server are not accepted"):
            app.colorize({"path": str(path)})
    (tmp_path / "uploads").mkdir()
    inside = grey_photo(tmp_path / "uploads" / "inside.png", 32, 32)
    assert read_png(app.colorize({"path": str(inside)})).shape == (32, 32, 3)


def test_handler_refuses_files_over_the_size_limit(app_on_synthetic_model, tmp_path, monkeypatch):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    monkeypatch.setattr(app, "MAX_FILE_BYTES", 32)
    with pytest.raises(gr.Error, match="larger than the limit"):
        app.colorize(str(big))


def test_model_line_names_model_and_provider(app_on_synthetic_model):
    assert app.model_line() == "Model `eccv16.onnx` on `CPUExecutionProvider`"


def test_preview_is_uint8_and_at_most_the_preview_side():
    deep = np.full((3000, 1500), 65535, np.uint16)
    small = app.preview(deep)
    assert small.dtype == np.uint8 and small.shape == (app.PREVIEW_SIDE, app.PREVIEW_SIDE // 2)
    assert small.min() == 255
    tiny = np.zeros((10, 20, 4), np.uint8)
    assert app.preview(tiny) is tiny  # never enlarged


# --- the command line -----------------------------------------------------------------------------

def test_missing_model_offline_exits_2_with_one_line(tmp_path):
    # Every download goes through a proxy that does not exist: fails at once, as offline.
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    model = tmp_path / "models" / "eccv16.onnx"
    done = subprocess.run(
        app_command("--model", str(model), "--port", str(free_port())), check=False, cwd=REPO_ROOT,
        capture_output=True,
        text=True, timeout=180,
        env=app_env(tmp_path, COLORIZER_CACHE=str(tmp_path / "cache"), HTTPS_PROXY=dead_proxy,
                    HTTP_PROXY=dead_proxy, https_proxy=dead_proxy, http_proxy=dead_proxy, NO_PROXY="", no_proxy=""))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: could not fetch") and "python -m convert" in last, done.stderr
    assert not model.exists() and "Running on" not in done.stdout


# --- the real server, through gradio_client ------------------------------------------------------

@pytest.fixture(scope="module")
def server_url(synthetic_model, tmp_path_factory):
    with running_app(synthetic_model, tmp_path_factory.mktemp("app_server")) as url:
        yield url


@pytest.fixture(scope="module")
def client(server_url, tmp_path_factory):
    return Client(server_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    return grey_photo(tmp_path_factory.mktemp("photos") / "old.jpg", 640, 480)


def test_api_has_one_public_endpoint_returning_one_image(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/colorize"} and not api["unnamed_endpoints"]
    endpoint = api["named_endpoints"]["/colorize"]
    assert [parameter["parameter_has_default"] for parameter in endpoint["parameters"]] == [False] + [True] * 5
    assert [output["component"] for output in endpoint["returns"]] == ["Image"]


def test_client_gets_a_full_size_png_in_colour(client, photo):
    rgb = read_png(client.predict(handle_file(str(photo)), api_name="/colorize"))
    assert rgb.shape == (480, 640, 3)
    assert chroma(rgb).max() > 1, "no colour added"


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
