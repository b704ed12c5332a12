"""A public server's budget for one film, frames times the pixels of one frame (reliability round
three, item 5): refused before any frame is colorized, with one line naming the film and the
budget, whatever the film's header says its length is; through the running app too."""

from __future__ import annotations

import struct
from dataclasses import replace

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from appkit import config, options
from appkit.film_budget import ServerFilmLimits, within_budget
from appkit.requests import colorize_upload_film
from colorizer.colorizer import Colorizer
from colorizer.errors import ColorizerError, VideoError, VideoTooLargeError
from colorizer.settings import Settings
from colorizer.video import FilmLimits
from testkit.app_server import running_app
from testkit.video_clips import write_clip

WIDTH, HEIGHT = 64, 48
FRAME = WIDTH * HEIGHT
LIMITS = ServerFilmLimits(max_seconds=60.0, max_pixels=1280 * 720, max_frames=3600, max_total_pixels=40 * FRAME)


def frames(count: int) -> list[np.ndarray]:
    """``count`` uint8 HEIGHT x WIDTH x 3 grey frames, a bar moving right."""
    film = []
    for index in range(count):
        grey = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
        grey[:, index % WIDTH] = 220
        film.append(grey)
    return film


def test_the_public_budget_is_a_minute_of_720p_at_30_frames_a_second():
    assert config.PUBLIC_FILM_LIMITS.max_total_pixels == config.PUBLIC_MAX_FILM_TOTAL_PIXELS == 1800 * 1280 * 720
    limits = options.film_limits_of(options.parse_args(["--max-film-total-pixels", "1000"]))
    assert limits.max_total_pixels == 1000 and limits.max_frames == config.PUBLIC_FILM_LIMITS.max_frames
    with pytest.raises(ColorizerError, match="must be positive"):
        ServerFilmLimits(max_total_pixels=0)


def test_a_film_over_the_budget_is_refused_before_any_frame(synthetic_model, tmp_path):
    film = write_clip(tmp_path / "reel.mp4", frames(41))
    seen = []
    with pytest.raises(VideoTooLargeError) as refused:
        colorize_upload_film(
            Colorizer(synthetic_model),
            film,
            tmp_path / "out",
            Settings(),
            original_name="Reel 1.mp4",
            limits=LIMITS,
            progress=lambda *done: seen.append(done),
        )
    assert str(refused.value) == (
        f"Reel 1.mp4: 41 frames of 64x48 are {41 * FRAME:,} pixels, more than the limit of {40 * FRAME:,} "
        "(40 frames of this size)"
    )
    assert not seen and not (tmp_path / "out").exists()


def test_a_film_within_the_budget_is_held_to_the_frames_of_its_size(synthetic_model, tmp_path):
    film = write_clip(tmp_path / "reel.mp4", frames(40))
    assert within_budget(film, "reel.mp4", LIMITS) == replace(LIMITS, max_frames=40)
    assert within_budget(film, "reel.mp4", replace(LIMITS, max_frames=12)).max_frames == 12  # the lower one
    plain = FilmLimits(max_frames=5)  # the library's limits have no budget: unchanged
    assert within_budget(film, "reel.mp4", plain) is plain
    done = colorize_upload_film(
        Colorizer(synthetic_model), film, tmp_path, Settings(), original_name="reel.mp4", limits=LIMITS
    )
    assert done.film is not None and done.film.frames == 40


def test_a_film_whose_header_says_it_is_short_is_counted_by_its_frames(tmp_path):
    """A Matroska header saying 0.1 s around 60 frames (2.4 s): the frames are counted, not declared."""
    write_clip(tmp_path / "long.mkv", frames(60), container="matroska")
    data = bytearray((tmp_path / "long.mkv").read_bytes())
    at = data.index(b"\x44\x89\x88")  # Segment Info Duration: an 8-byte float of milliseconds
    data[at + 3 : at + 11] = struct.pack(">d", 100.0)
    film = tmp_path / "short.mkv"
    film.write_bytes(bytes(data))
    with pytest.raises(VideoTooLargeError, match=r"^short\.mkv: 60 frames of 64x48 .* \(40 frames of this size\)$"):
        within_budget(film, "short.mkv", LIMITS)


def test_what_the_library_refuses_is_left_to_its_message(synthetic_model, tmp_path):
    still = tmp_path / "still.png"
    still.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    assert within_budget(still, "still.png", LIMITS) is LIMITS
    with pytest.raises(VideoError, match=r"^still\.png: not a video file"):
        colorize_upload_film(
            Colorizer(synthetic_model), still, tmp_path, Settings(), original_name="still.png", limits=LIMITS
        )


@pytest.mark.slow  # a server of its own
def test_the_running_app_refuses_a_film_over_its_budget_in_one_line(synthetic_model, tmp_path):
    budget = str(40 * FRAME)
    with running_app(synthetic_model, tmp_path / "server", "--max-film-total-pixels", budget) as url:
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        over = write_clip(tmp_path / "over.mp4", frames(41))
        with pytest.raises(AppError) as refused:
            client.predict(handle_file(str(over)), api_name="/colorize_video")
        assert str(refused.value).splitlines() == [
            f"over.mp4: 41 frames of 64x48 are {41 * FRAME:,} pixels, more than the limit of {40 * FRAME:,} "
            "(40 frames of this size)"
        ]
        within = write_clip(tmp_path / "within.mp4", frames(40))
        assert client.predict(handle_file(str(within)), api_name="/colorize_video").endswith("within_color.mp4")
