"""The running app through the two protocols that need no Gradio client: plain HTTP (curl, as
docs/app.md shows it) and MCP (the ``mcp`` client package, as an assistant connects)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from testkit.app_server import REPO_ROOT
from testkit.hostile_corpus import scene

pytestmark = pytest.mark.slow  # curl and MCP against the app's server: not in the quick subset

CURL = shutil.which("curl")
DEFAULTS = [224, "bilateral", False, "fp32"]  # render_size, upsample, keep_colour, precision: raw calls send all


@pytest.fixture(scope="module")
def server_url(app_server):
    return app_server.url


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "street scene.png"
    Image.fromarray(scene(72, 40)).save(path)
    return path


def curl(*args: str) -> str:
    """curl with the flags docs/app.md uses; no proxy for 127.0.0.1."""
    assert CURL is not None, "curl is not installed"
    done = subprocess.run(
        [CURL, "--silent", "--show-error", "--fail", "--noproxy", "*", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def sse_events(text: str) -> list[tuple[str, str]]:
    """Server-sent events as (event, data) pairs."""
    events: list[tuple[str, str]] = []
    name = ""
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((name, line.split(":", 1)[1].strip()))
    return events


@pytest.mark.skipif(CURL is None, reason="needs curl")
def test_curl_upload_call_and_read_the_event_stream(server_url, photo, tmp_path):
    # 1. upload (multipart), 2. POST the call, 3. GET its event stream, 4. download the result.
    uploaded = json.loads(curl("-F", f"files=@{photo}", f"{server_url}gradio_api/upload"))[0]
    body = json.dumps({"data": [{"path": uploaded, "meta": {"_type": "gradio.FileData"}}, 80, *DEFAULTS]})
    event_id = json.loads(
        curl("-H", "Content-Type: application/json", "-d", body, f"{server_url}gradio_api/call/colorize")
    )["event_id"]
    events = sse_events(curl(f"{server_url}gradio_api/call/colorize/{event_id}"))
    assert events[-1][0] == "complete", events
    output = json.loads(events[-1][1])[0]
    assert output["orig_name"] == "street scene_color.png"
    result = tmp_path / "result.png"
    curl("-o", str(result), output["url"])
    with Image.open(result) as image:
        assert image.format == "PNG" and image.size == (72, 40)
        assert json.loads(image.text["Settings"])["temperature"] < 0.38  # vibrancy 80 is more vivid


@pytest.mark.skipif(CURL is None, reason="needs curl")
def test_curl_error_arrives_as_an_error_event(server_url):
    body = json.dumps({"data": [None, 50, *DEFAULTS]})
    event_id = json.loads(
        curl("-H", "Content-Type: application/json", "-d", body, f"{server_url}gradio_api/call/colorize")
    )["event_id"]
    events = sse_events(curl(f"{server_url}gradio_api/call/colorize/{event_id}"))
    assert events[-1][0] == "error" and "Upload a photo first." in events[-1][1], events


def mcp_session(url: str, work):
    """Run ``work(session)`` in an MCP client session against the app's streamable-HTTP endpoint."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run():
        async with (
            streamable_http_client(f"{url}gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return asyncio.run(asyncio.wait_for(run(), timeout=180))


def test_mcp_lists_the_tool_colorize_with_described_inputs(server_url):
    pytest.importorskip("mcp")
    tools = mcp_session(server_url, lambda session: session.list_tools()).tools
    assert sorted(tool.name for tool in tools) == ["colorize", "colorize_video", "colorize_with_hints"]
    said = (REPO_ROOT / "docs" / "app.md").read_text().split("## MCP")[1].split("\n## ")[0]
    assert "three tools" in said and all(f"`{tool.name}`" in said for tool in tools), "docs/app.md: the MCP tools"
    schema = next(tool for tool in tools if tool.name == "colorize").inputSchema
    assert schema["required"] == ["image"]
    assert set(schema["properties"]) == {"image", "vibrancy", "render_size", "upsample", "keep_colour", "precision"}
    assert "0 (muted) to 100 (vivid)" in schema["properties"]["vibrancy"]["description"]
    schema = next(tool for tool in tools if tool.name == "colorize_with_hints").inputSchema
    assert schema["required"] == ["image"]
    assert set(schema["properties"]) == {"image", "hints", "render_size", "upsample", "keep_colour"}
    assert "pixel coordinates" in schema["properties"]["hints"]["description"]


def test_mcp_colorizes_a_data_url(server_url, photo):
    pytest.importorskip("mcp")
    data_url = "data:image/png;base64," + base64.b64encode(photo.read_bytes()).decode()
    result = mcp_session(server_url, lambda session: session.call_tool("colorize", {"image": data_url}))
    assert not result.isError, result.content
    images = [item for item in result.content if item.type == "image"]
    assert len(images) == 1 and images[0].mimeType == "image/png"
    with Image.open(io.BytesIO(base64.b64decode(images[0].data))) as image:
        rgb = np.array(image.convert("RGB"))
    assert rgb.shape == (40, 72, 3)
    assert np.abs(rgb[..., 0].astype(int) - rgb[..., 2]).max() > 0, "no colour added"


def test_mcp_bad_input_is_an_error_result_and_service_goes_on(server_url, photo):
    pytest.importorskip("mcp")
    broken = "data:image/png;base64," + base64.b64encode(b"not a picture").decode()
    result = mcp_session(server_url, lambda session: session.call_tool("colorize", {"image": broken}))
    assert result.isError and "not a recognised image format" in " ".join(
        item.text for item in result.content if item.type == "text"
    )
    data_url = "data:image/png;base64," + base64.b64encode(photo.read_bytes()).decode()
    again = mcp_session(server_url, lambda session: session.call_tool("colorize", {"image": data_url}))
    assert not again.isError


def test_mcp_body_over_the_mcp_packages_limit_is_refused_with_advice(server_url):
    """A data: URL too large for the mcp package's own limit gets our 413 first, saying to send an
    https:// URL instead (item 12 of reliability round three: it got the package's bare 413)."""
    import httpx
    from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE

    from appkit.config import MCP_BODY_LIMIT

    assert MCP_BODY_LIMIT == DEFAULT_MAX_REQUEST_BODY_SIZE  # the limit that really holds is the package's
    data_url = "data:image/png;base64," + "A" * (MCP_BODY_LIMIT + 1000)
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "colorize", "arguments": {"image": data_url}},
    }
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    response = httpx.post(f"{server_url}gradio_api/mcp/", json=body, headers=headers, timeout=60, trust_env=False)
    assert response.status_code == 413
    assert "send the photo as an https:// URL, not a data: URL" in response.text
    assert mcp_session(server_url, lambda session: session.list_tools()).tools  # still serving
