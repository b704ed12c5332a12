"""Colour hints and the choice of model through the running app, as clients meet them: the Gradio
client (the API), MCP, and refusals that name what is wrong while the server goes on serving."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import cv2
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from colorizer.provenance import KEY_SETTINGS
from testkit.app_server import running_app
from testkit.fixtures import photo

pytestmark = pytest.mark.slow  # the app's server: not in the quick subset

WIDTH, HEIGHT = 480, 320
HINT = {"x": 400, "y": 60, "color": "#2f6fd6"}


@pytest.fixture(scope="module")
def server(synthetic_model, guided_model, tmp_path_factory):
    work = tmp_path_factory.mktemp("hints_server")
    with running_app(synthetic_model, work, "--guided-model", str(guided_model)) as url:
        yield url


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    return Client(server, verbose=False, download_files=str(tmp_path_factory.mktemp("hints_downloads")))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("hints_photo") / "harbour.png"
    Image.fromarray(photo(WIDTH, HEIGHT)).save(path)
    return path


def colorize(client, source, hints=""):
    """The API's user-guided endpoint (``colorize_with_hints``)."""
    return client.predict(handle_file(str(source)), hints, api_name="/colorize_with_hints")


def ab(path) -> np.ndarray:
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), np.float32) / 255
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., 1:]


def test_api_hints_with_the_user_guided_model_colour_where_they_point(client, source):
    automatic = colorize(client, source)
    hinted = colorize(client, source, json.dumps([HINT]))
    with Image.open(hinted) as image:
        assert image.size == (WIDTH, HEIGHT)
        assert json.loads(image.text[KEY_SETTINGS])["hints"] == [{"x": 400.0, "y": 60.0, "color": "#2f6fd6"}]
    change = np.hypot(*(ab(hinted) - ab(automatic)).transpose(2, 0, 1))
    rows, columns = np.mgrid[:HEIGHT, :WIDTH]
    near = np.hypot(columns - HINT["x"], rows - HINT["y"]) < 30
    assert change[near].mean() > 5 * change[~near].mean()


def test_api_classic_endpoint_is_unchanged_and_uses_the_classic_model(client, source):
    classic = client.predict(handle_file(str(source)), api_name="/colorize")
    guided = colorize(client, source)
    with Image.open(classic) as first, Image.open(guided) as second:
        assert first.size == second.size == (WIDTH, HEIGHT)
        assert first.text["Model SHA-256"] != second.text["Model SHA-256"]  # two models
        assert "hints" not in json.loads(first.text[KEY_SETTINGS])


@pytest.mark.parametrize(
    "hints, message",
    [
        ('[{"x": 900, "y": 10, "color": "#000000"}]', r"hints\[0\]: \(900, 10\) is outside the 480x320 photo"),
        ('[{"x": 1, "y": 1, "color": "blue"}]', r"hints\[0\]: color 'blue' is not #rrggbb"),
        ("[{", "hints are not JSON"),
        (json.dumps([HINT] * 65), "65 hints; at most 64"),
    ],
    ids=["outside", "colour", "json", "count"],
)
def test_api_bad_hints_are_refused_by_name_and_the_server_goes_on(client, source, hints, message):
    with pytest.raises(Exception, match=message):
        colorize(client, source, hints)
    assert colorize(client, source)  # still serving


def test_mcp_takes_hints_as_json(server, source):
    pytest.importorskip("mcp")
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    data_url = "data:image/png;base64," + base64.b64encode(source.read_bytes()).decode()

    async def call():
        async with (
            streamable_http_client(f"{server}gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            plain = await session.call_tool("colorize_with_hints", {"image": data_url})
            hinted = await session.call_tool("colorize_with_hints", {"image": data_url, "hints": json.dumps([HINT])})
            return plain, hinted

    plain, hinted = asyncio.run(asyncio.wait_for(call(), timeout=300))
    assert not plain.isError and not hinted.isError, hinted.content
    images = []
    for result in (plain, hinted):
        [item] = [item for item in result.content if item.type == "image"]
        with Image.open(io.BytesIO(base64.b64decode(item.data))) as image:
            images.append(np.asarray(image.convert("RGB")))
    assert images[0].shape == images[1].shape == (HEIGHT, WIDTH, 3)
    near = np.abs(images[1][40:80, 380:420].astype(int) - images[0][40:80, 380:420]).mean()
    far = np.abs(images[1][240:300, 20:100].astype(int) - images[0][240:300, 20:100]).mean()
    assert near > 3 * far
