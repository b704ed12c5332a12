"""The app's film endpoint through gradio_client against a real server: a small film with sound
colorizes to an MP4 of the same frames, size and sound; films over the page's limits and photos are
refused with one line; the server still serves photos afterwards."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from appkit import config, options
from appkit.film_budget import ServerFilmLimits
from colorizer.errors import ColorizerError
from colorizer.naming import result_name
from colorizer.provenance import KEY_MODEL, KEY_SETTINGS, read_provenance
from colorizer.settings import Settings
from colorizer.video import FilmLimits
from colorkit.files import sha256_file
from testkit.hostile_films import Written
from testkit.video_clips import read_film, write_clip

pytestmark = pytest.mark.slow  # films through the app's server: not in the quick subset


def grey_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """``count`` uint8 height x width x 3 grey frames (R = G = B): a gradient with a disc moving right."""
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for index in range(count):
        grey = (50 + 140 * x / width + 20 * np.sin(y / 7.0)).astype(np.uint8)
        cv2.circle(grey, (width // 4 + 2 * index, height // 2), min(width, height) // 5, 225, -1)  # cv2: (x, y)
        frames.append(np.repeat(grey[..., None], 3, axis=2))
    return frames


def chroma(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> the Lab chroma of each pixel (0 for greys)."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    return np.hypot(lab[..., 1], lab[..., 2])


def first_frame(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("films")
    seconds = config.PUBLIC_FILM_LIMITS.max_seconds
    assert seconds is not None  # a public server's films are limited in duration
    long_frames = int(seconds) + 3  # one frame a second: just over the limit, cheap to make
    wide = (
        int(np.sqrt(config.PUBLIC_FILM_LIMITS.max_pixels * 16 / 9)) // 2 * 2 + 16
    )  # 16:9 frames just over the pixel limit
    photo = folder / "still.png"
    cv2.imwrite(str(photo), grey_frames(96, 64, 1)[0])
    return {
        "tone": write_clip(folder / "old reel.mp4", grey_frames(96, 64, 10), fps=10, audio="aac"),
        "long": write_clip(folder / "long.mp4", grey_frames(32, 32, long_frames), fps=1),
        "large": write_clip(folder / "large.mp4", grey_frames(wide, wide * 9 // 16 // 2 * 2, 2), fps=10),
        "photo": photo,
    }


@pytest.fixture(scope="module")
def client(app_server, tmp_path_factory):
    return Client(app_server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("film_downloads")))


def test_default_limits_suit_a_public_page():
    limits = config.PUBLIC_FILM_LIMITS
    assert limits.max_seconds is not None and limits.max_frames is not None
    assert limits.max_seconds <= 120 and limits.max_pixels <= 1920 * 1080 and limits.max_frames <= 60 * 60
    assert options.film_limits_of(options.parse_args([])) == limits
    assert FilmLimits().max_pixels > limits.max_pixels  # the library's own default is for a user's own files


def test_film_limits_come_from_the_command_line():
    args = options.parse_args(["--max-film-seconds", "5", "--max-film-pixels", "1000", "--max-film-frames", "7"])
    assert options.film_limits_of(args) == ServerFilmLimits(5, 1000, 7, config.PUBLIC_MAX_FILM_TOTAL_PIXELS)
    with pytest.raises(ColorizerError, match="must be positive"):
        options.film_limits_of(options.parse_args(["--max-film-frames", "0"]))


def test_film_endpoint_takes_a_film_and_settings_and_returns_a_video(client):
    endpoint = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/colorize_video"]
    assert [parameter["parameter_name"] for parameter in endpoint["parameters"]] == [
        "video",
        "vibrancy",
        "render_size",
        "upsample",
        "precision",
        "stabilize",
    ]
    assert [parameter["parameter_has_default"] for parameter in endpoint["parameters"]] == [False] + [True] * 5
    assert [output["component"] for output in endpoint["returns"]] == ["Video"]


def test_film_colorizes_with_its_frames_size_and_sound(client, clips):
    result = Path(client.predict(handle_file(str(clips["tone"])), api_name="/colorize_video"))
    assert result.name == result_name("old reel.mp4", ".mp4") == "old reel_color.mp4"
    source, film = read_film(clips["tone"]), read_film(result)
    assert film.container.startswith("mov") and film.codec == "h264"
    assert (film.width, film.height, film.frames) == (source.width, source.height, source.frames) == (96, 64, 10)
    assert film.audio_codec == source.audio_codec == "aac"
    assert film.audio_seconds == pytest.approx(source.audio_seconds, abs=0.1)
    assert film.audio_packets == source.audio_packets, "the sound was not copied unchanged"
    assert np.percentile(chroma(first_frame(result)), 90) > 5, "the film came back grey"


def test_film_settings_reach_the_colorizer(client, clips):
    muted = Path(
        client.predict(handle_file(str(clips["tone"])), 0, 224, "bicubic", "fp32", False, api_name="/colorize_video")
    )
    vivid = Path(
        client.predict(handle_file(str(clips["tone"])), 100, 224, "bicubic", "fp32", False, api_name="/colorize_video")
    )
    assert chroma(first_frame(vivid)).mean() > chroma(first_frame(muted)).mean() + 1


def test_film_carries_the_model_and_settings_that_made_it(client, clips, synthetic_model):
    result = Path(
        client.predict(handle_file(str(clips["tone"])), 0, 224, "bicubic", "fp32", False, api_name="/colorize_video")
    )
    text = read_provenance(result)
    assert text[KEY_MODEL] == sha256_file(synthetic_model)
    settings = json.loads(text[KEY_SETTINGS])
    assert settings["upsample"] == "bicubic" and settings["stabilize"] is False and "keep_color" not in settings
    assert settings["temperature"] == Settings.from_request(0).temperature


@pytest.mark.parametrize(
    ("clip", "limit"),
    [
        ("long", lambda: f"limit of {config.PUBLIC_FILM_LIMITS.max_seconds:g} s"),
        ("large", lambda: f"limit of {config.PUBLIC_FILM_LIMITS.max_pixels:,}"),
    ],
)
def test_film_over_a_limit_is_refused_naming_it(client, clips, clip, limit):
    with pytest.raises(AppError) as refused:
        client.predict(handle_file(str(clips[clip])), api_name="/colorize_video")
    message = str(refused.value)
    assert limit() in message and clips[clip].name in message, message
    assert "\n" not in message.strip(), message


def test_photo_sent_as_a_film_gets_one_line(client, clips):
    with pytest.raises(AppError) as refused:
        client.predict(handle_file(str(clips["photo"])), api_name="/colorize_video")
    message = str(refused.value)
    assert "still.png: not a video file" in message and "\n" not in message.strip(), message


def test_server_still_serves_photos_after_refused_films(client, clips):
    for clip in ("photo", "long"):
        with pytest.raises(AppError):
            client.predict(handle_file(str(clips[clip])), api_name="/colorize_video")
    result = client.predict(handle_file(str(clips["photo"])), api_name="/colorize")
    with open(result, "rb") as stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
    assert cv2.imread(result).shape[:2] == (64, 96)


def test_the_film_tabs_message_names_what_was_changed_on_the_way(synthetic_model, tmp_path, monkeypatch):
    """A film whose frames change size is written, and the Film tab's message says so (the warning
    the library keeps in VideoResult.warnings), as the command line prints it on stderr."""
    from appkit.handlers import Handlers
    from colorizer.models import ModelSet
    from testkit.hostile_films import film_cases

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # the handlers read uploads only from here
    case = next(case for case in film_cases(tmp_path / "films") if case.name == "size_change.avi")
    expect = case.expect_for("app")
    assert isinstance(expect, Written) and expect.warning
    film = tmp_path / "reel: take 2.avi"  # a name with ": " in it, as the warning's own text has
    shutil.copyfile(case.path, film)
    handlers = Handlers(ModelSet(synthetic_model))
    output, message = handlers.colorize_video_page(
        str(film), 50, 224, "bilinear", False, "fp32", "classic", True, 1, progress=lambda *a, **k: None
    )
    assert Path(output).is_file()
    assert re.search(r"Note: " + expect.warning, message), message
    assert "take 2" not in message, "the note does not name the film (its name has ': ' in it too)"
